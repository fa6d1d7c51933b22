"""The calendar in Chromium: drag a planned call to another day, the keyboard's way, a refused
move, the feed's address, and the month on a phone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crm import funnel
from crm.extensions import db
from crm.models import Lead
from tests import factories
from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_NAME,
    ADMIN_PASSWORD,
    build_app,
    serving,
    stored,
)
from tests.browser.pages import expect, log_in

ZONE = "Asia/Vladivostok"
MONTH = "/agenda/calendar?date=2026-03-10"
PHONE = {"width": 375, "height": 800}


def utc_of(local):
    return local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def calendar(tmp_path):
    """A CRM of this test's own: an administrator in Vladivostok with three calls planned in
    March 2026, two on the 10th and one on the 12th.

    Returns (base URL, [lead ids], the app)."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel()
        admin = factories.admin(
            name=ADMIN_NAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, timezone=ZONE
        )
        leads = [
            factories.lead(
                title=title,
                owner=admin,
                stage=stages[stage],
                next_step_at=utc_of(at),
                next_step_note=note,
            )
            for title, stage, at, note in (
                ("Baltic Timber", 0, datetime(2026, 3, 10, 10, 0), "Ask about the volumes"),
                ("Volga Glass", 1, datetime(2026, 3, 10, 23, 30), "Send the estimate"),
                ("Oka Mill", 2, datetime(2026, 3, 12, 9, 0), None),
            )
        ]
        ids = [lead.id for lead in leads]
        db.session.remove()
    with serving(app) as url:
        yield url, ids, app


def day(page, iso):
    return page.locator(f"#cal-day-{iso}")


def count(page, iso):
    return day(page, iso).locator(".calendar-count")


def item(page, lead_id):
    return page.locator(f"#cal-lead-{lead_id}")


def next_step_of(app, lead_id):
    return stored(app, lead_id, "next_step_at")


def open_calendar(page, base, url=MONTH):
    log_in(page, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(base + url)
    expect(page.locator("#calendar")).to_be_visible()


def items_draggable(page):
    """Wait until calendar.js has made every day's list sortable: a redrawn day's list is new."""
    expect(page.locator("#calendar .calendar-items[data-sortable]").first).to_be_attached()
    expect(page.locator("#calendar .calendar-items:not([data-sortable])")).to_have_count(0)


def drag(page, source, target):
    """Drag `source` onto `target` with the mouse, in small steps, as a hand would."""
    items_draggable(page)
    box = source.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2 + 5, steps=5)
    end = target.bounding_box()
    x, y = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    page.mouse.move(x, y, steps=20)
    # Sortable ignores the pointer for a moment after each change it makes on the way.
    page.wait_for_timeout(100)
    page.mouse.move(x + 2, y + 2, steps=2)
    page.mouse.up()


def test_drag_a_planned_call_to_another_day(page, calendar):
    base, leads, app = calendar
    open_calendar(page, base)
    expect(count(page, "2026-03-10")).to_have_text("2 leads")
    expect(count(page, "2026-03-11")).to_have_count(0)
    expect(day(page, "2026-03-10").locator(".calendar-item")).to_have_count(2)
    expect(item(page, leads[1])).to_contain_text("11:30")

    drag(page, item(page, leads[1]), day(page, "2026-03-11").locator(".calendar-items"))

    expect(day(page, "2026-03-11").locator(f"#cal-lead-{leads[1]}")).to_be_visible()
    expect(count(page, "2026-03-11")).to_have_text("1 lead")
    expect(count(page, "2026-03-10")).to_have_text("1 lead")
    expect(day(page, "2026-03-10").locator(f"#cal-lead-{leads[1]}")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text(
        "next step moved to Mar 11, 2026", use_inner_text=True
    )
    # The time of day stays: half past eleven in the evening, in Vladivostok.
    assert next_step_of(app, leads[1]) == utc_of(datetime(2026, 3, 11, 23, 30))

    page.reload()
    expect(day(page, "2026-03-11").locator(f"#cal-lead-{leads[1]}")).to_be_visible()
    expect(count(page, "2026-03-10")).to_have_text("1 lead")

    # And on once more, into the day with a call already in it.
    drag(page, item(page, leads[1]), day(page, "2026-03-12").locator(".calendar-items"))
    expect(count(page, "2026-03-12")).to_have_text("2 leads")
    expect(count(page, "2026-03-11")).to_have_count(0)
    assert next_step_of(app, leads[1]) == utc_of(datetime(2026, 3, 12, 23, 30))


def test_move_a_planned_call_with_the_keyboard(page, calendar):
    base, leads, app = calendar
    open_calendar(page, base)
    reschedule = item(page, leads[0]).get_by_role("button", name=f"Reschedule #{leads[0]}")
    panel = page.locator("#calendar-day")

    reschedule.focus()
    expect(reschedule).to_be_visible()
    page.keyboard.press("Enter")

    date_field = panel.get_by_label("Move to").first
    expect(panel.get_by_role("heading")).to_contain_text("Tuesday, March 10, 2026")
    expect(panel.locator(f"#cal-move-{leads[0]}")).to_be_focused()
    # The field reads month/day/year in English: over to the day, and one up, the 11th.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    expect(date_field).to_have_value("2026-03-11")
    # Enter in the field sends its form.
    page.keyboard.press("Enter")

    expect(day(page, "2026-03-11").locator(f"#cal-lead-{leads[0]}")).to_be_visible()
    expect(count(page, "2026-03-11")).to_have_text("1 lead")
    expect(count(page, "2026-03-10")).to_have_text("1 lead")
    # The day's list lost it, and the focus followed the call to its new day.
    expect(panel.locator(f"#cal-list-lead-{leads[0]}")).to_have_count(0)
    expect(panel.locator(".calendar-day-lead")).to_have_count(1)
    expect(day(page, "2026-03-11").locator(f"#cal-lead-{leads[0]} a")).to_be_focused()
    assert next_step_of(app, leads[0]) == utc_of(datetime(2026, 3, 11, 10, 0))


def test_a_day_opens_its_whole_list(page, calendar):
    base, leads, app = calendar
    open_calendar(page, base)
    day(page, "2026-03-10").get_by_role("link", name="Mar 10, 2026").click()
    panel = page.locator("#calendar-day")
    expect(panel.get_by_role("heading")).to_be_focused()
    expect(panel.locator(".calendar-day-lead")).to_have_count(2)
    expect(panel).to_contain_text("Send the estimate")
    # It stays the calendar page: the list came into its place.
    expect(page.locator("#calendar")).to_be_visible()

    # A click on a call (not a drag) opens its lead.
    item(page, leads[2]).get_by_role("link").click()
    expect(page.get_by_role("heading", name="Oka Mill")).to_be_visible()


def test_a_refused_move_puts_the_call_back(page, page_errors, calendar):
    base, leads, app = calendar
    page_errors.allow_http_status(409, f"/agenda/calendar/leads/{leads[2]}/reschedule")
    open_calendar(page, base)
    # Archived in another window meanwhile.
    with app.app_context():
        lead = db.session.get(Lead, leads[2])
        funnel.archive_lead(lead, None)
        db.session.commit()
        db.session.remove()

    drag(page, item(page, leads[2]), day(page, "2026-03-13").locator(".calendar-items"))

    expect(page.locator("#messages")).to_contain_text("was archived meanwhile")
    # The server drew both days again: the archived call is in neither.
    expect(day(page, "2026-03-13").locator(".calendar-item")).to_have_count(0)
    expect(count(page, "2026-03-13")).to_have_count(0)
    expect(item(page, leads[2])).to_have_count(0)
    assert next_step_of(app, leads[2]) == utc_of(datetime(2026, 3, 12, 9, 0))


def test_the_feed_address_is_made_on_the_page(page, calendar):
    base, leads, app = calendar
    open_calendar(page, base)
    feed = page.locator("#calendar-feed")
    feed.get_by_role("button", name="Make an address").click()
    address = feed.get_by_label("Subscription address")
    expect(address).to_be_focused()
    url = address.input_value()
    assert url.startswith(base + "/agenda/calendar/") and url.endswith(".ics")
    answer = page.request.get(url)
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.text().count("BEGIN:VEVENT") == 0  # March 2026 is long past the window.

    feed.get_by_role("button", name="Make a new address").click()
    expect(feed).to_contain_text("the previous one no longer works")
    assert address.input_value() != url
    assert page.request.get(url).status == 404


def test_the_month_on_a_phone(browser, page_errors, calendar, tmp_path):
    base, leads, app = calendar
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    phone = context.new_page()
    phone.on("console", page_errors.on_console)
    phone.on("pageerror", page_errors.on_page_error)
    try:
        open_calendar(phone, base)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        expect(count(phone, "2026-03-10")).to_be_visible()
        day(phone, "2026-03-10").get_by_role("link", name="Mar 10, 2026").tap()
        expect(phone.locator("#calendar-day .calendar-day-lead")).to_have_count(2)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.screenshot(path=tmp_path / "calendar-phone.png", full_page=True)
    finally:
        context.close()
    assert page_errors.unexpected() == []
