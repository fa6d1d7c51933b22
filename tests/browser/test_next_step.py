"""The next step in Chromium, as a Russian team in Moscow meets it: a logged call never leaves
its lead overdue unless someone says so, and the agenda logs a call with a new status and a
next step in three clicks besides what is typed."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Activity, Lead, utcnow
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, build_app, serving
from tests.browser.pages import expect, url_path

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1280, "height": 800},
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture
def crm(tmp_path):
    """A CRM of this test's own, in Russian, in Moscow: two leads whose call is overdue.

    Returns (base URL, [(lead id, lead number)], the app)."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel("ru")
        admin = factories.admin(
            name="Анна",
            email=ADMIN_EMAIL,
            password=ADMIN_PASSWORD,
            locale="ru",
            timezone="Europe/Moscow",
        )
        leads = [
            factories.lead(
                title=title,
                owner=admin,
                stage=stages[0],
                next_step_at=utcnow() - timedelta(days=2),
                next_step_note="Позвонить насчёт сметы",
            )
            for title in ("Балтийский лес", "Волжское стекло")
        ]
        ids = [(lead.id, lead.number) for lead in leads]
        db.session.remove()
    with serving(app) as url:
        yield url, ids, app


def log_in(page, base):
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(ADMIN_EMAIL)
    page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    expect(page).to_have_url(url_path("/agenda/"))
    # The agenda's buttons answer once htmx has loaded: wait for it, as a person would.
    page.wait_for_load_state()


def lead_now(app, lead_id):
    """The lead and how many contacts it has, as the database holds them now."""
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        contacts = db.session.scalar(
            select(func.count()).select_from(Activity).where(Activity.lead_id == lead_id)
        )
        found = (lead.stage_id, lead.next_step_at, lead.next_step_note, contacts)
        db.session.remove()
    return found


def moscow_day(stored):
    return stored.replace(tzinfo=UTC).astimezone(MOSCOW).date()


def tomorrow_in_moscow():
    return datetime.now(MOSCOW).date() + timedelta(days=1)


def test_a_call_on_an_overdue_lead_cannot_leave_it_overdue_unsaid(page, page_errors, crm):
    base, leads, app = crm
    lead_id, number = leads[0]
    page_errors.allow_http_status(422, f"/leads/{number}/log")
    stage, due, _note, _contacts = lead_now(app, lead_id)
    log_in(page, base)
    page.goto(f"{base}/leads/{number}")
    expect(page.get_by_text("этот контакт его закрывает")).to_be_visible()

    # "n", type, Ctrl+Enter: as a salesperson logs a call without looking.
    page.locator("body").press("n")
    body = page.locator("#log-body")
    expect(body).to_be_focused()
    body.fill("Не дозвонился")
    body.press("Control+Enter")
    error = page.locator("#log-next-step-when-error")
    expect(error).to_have_text("Запланируйте следующий шаг или отметьте, что его нет.")
    expect(page.locator("#log-next-step-when")).to_be_focused()
    expect(body).to_have_value("Не дозвонился")
    assert lead_now(app, lead_id) == (stage, due, "Позвонить насчёт сметы", 0)

    # Said in one click: no next step. The lead waits under "No next step" in the agenda.
    page.get_by_label("Нет следующего шага").check()
    body.press("Control+Enter")
    expect(page.locator("#timeline-items")).to_contain_text("Не дозвонился")
    expect(page.locator(f"#lead-{lead_id}-next-step")).to_have_text("Нет следующего шага")
    assert lead_now(app, lead_id) == (stage, None, None, 1)


def test_the_day_typed_is_read_back_before_saving(page, crm):
    base, leads, app = crm
    log_in(page, base)
    page.goto(f"{base}/leads/{leads[1][1]}")
    day = page.locator("#log-next-step-when")
    preview = page.locator("#log-next-step-when-preview")
    expect(preview).to_have_attribute("aria-live", "polite")
    day.fill("завтра 10")
    tomorrow = tomorrow_in_moscow()
    expect(preview).to_contain_text(f"{tomorrow.day} ")
    expect(preview).to_contain_text("10:00")
    day.fill("когда-нибудь")
    expect(preview).to_contain_text("Не понятно.")
    # A quick day fills the field, says what it means and moves on to what to do.
    page.get_by_role("button", name="Завтра").click()
    expect(day).to_have_value(f"{tomorrow:%d.%m.%Y}")
    expect(page.get_by_role("button", name="Завтра")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#log-next-step-note")).to_be_focused()
    expect(preview).not_to_contain_text("Не понятно.")


class Counted:
    """The page, with every click and every key other than typed text counted."""

    def __init__(self, page):
        self.page = page
        self.clicks = 0
        self.keys = []

    def click(self, locator):
        self.clicks += 1
        locator.click()

    def press(self, key):
        self.keys.append(key)
        self.page.keyboard.press(key)

    def type(self, text):
        self.page.keyboard.type(text)


def open_agenda_row(page, base, lead_id):
    log_in(page, base)
    row = page.locator(f"#agenda-overdue-{lead_id}")
    expect(row).to_be_visible()
    return row


def check_logged(app, lead_id, stages_before, note):
    stage, step, saved_note, contacts = lead_now(app, lead_id)
    assert stage != stages_before
    assert moscow_day(step) == tomorrow_in_moscow()
    assert (saved_note, contacts) == (note, 1)


def test_agenda_to_a_logged_call_with_status_and_next_step_in_three_clicks(page, crm):
    base, leads, app = crm
    lead_id = leads[0][0]
    stage, *_rest = lead_now(app, lead_id)
    row = open_agenda_row(page, base, lead_id)
    user = Counted(page)

    user.click(row.get_by_role("button", name="Записать"))
    expect(row.locator("#log-body")).to_be_focused()
    user.type("Обсудили смету, ждут договор")
    user.click(row.locator(".status-option").nth(1))
    user.click(row.get_by_role("button", name="Завтра"))
    user.type("Отправить договор")
    user.press("Enter")

    expect(page.get_by_text("записан")).to_be_visible()
    expect(page.locator(f"#agenda-overdue-{lead_id}")).to_have_count(0)
    assert (user.clicks, user.keys) == (3, ["Enter"])
    check_logged(app, lead_id, stage, "Отправить договор")


def test_the_same_from_the_keyboard_alone(page, crm):
    base, leads, app = crm
    lead_id = leads[1][0]
    stage, *_rest = lead_now(app, lead_id)
    row = open_agenda_row(page, base, lead_id)
    row.get_by_role("button", name="Записать").focus()
    user = Counted(page)

    user.press("Enter")
    expect(row.locator("#log-body")).to_be_focused()
    user.type("Обсудили смету")
    user.press("Tab")  # to the status: the current one is checked
    user.press("ArrowRight")  # the next status
    user.press("Tab")  # to the quick days: one stop for the row
    user.press("ArrowRight")  # from Today to Tomorrow
    user.press("Enter")  # picks it, and goes on to what to do
    expect(row.locator("#log-next-step-note")).to_be_focused()
    user.type("Отправить договор")
    user.press("Enter")

    expect(page.get_by_text("записан")).to_be_visible()
    assert (user.clicks, len(user.keys)) == (0, 7)
    check_logged(app, lead_id, stage, "Отправить договор")


def test_typing_the_day_leaves_the_note_in_its_own_field(page, crm):
    base, leads, app = crm
    lead_id = leads[0][0]
    stage, *_rest = lead_now(app, lead_id)
    row = open_agenda_row(page, base, lead_id)
    row.get_by_role("button", name="Записать").focus()
    user = Counted(page)

    user.press("Enter")
    expect(row.locator("#log-body")).to_be_focused()
    user.type("Обсудили смету")
    user.press("Tab")
    user.press("ArrowRight")
    user.press("Tab")  # the quick days
    user.press("Tab")  # the day, typed
    expect(row.locator("#log-next-step-when")).to_be_focused()
    user.type("завтра 10")
    user.press("Tab")
    expect(row.locator("#log-next-step-note")).to_be_focused()
    user.type("Отправить договор")
    user.press("Enter")

    expect(page.get_by_text("записан")).to_be_visible()
    check_logged(app, lead_id, stage, "Отправить договор")
    _stage, step, _note, _contacts = lead_now(app, lead_id)
    assert step.replace(tzinfo=UTC).astimezone(MOSCOW).time() == time(10)
