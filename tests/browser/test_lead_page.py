"""The lead page in a real browser: logging a call updates the page in place."""

import pytest

from crm.extensions import db
from crm.models import Stage, utcnow
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in


@pytest.fixture
def lead(live_app):
    with live_app.app_context():
        stages = db.session.scalars(Stage.in_funnel_order()).all()
        record = factories.lead(
            title="Northwind Traders",
            stage=stages[0],
            email="purchasing.department@northwind-traders.example",
            next_step_at=utcnow(),
            next_step_note="Send the signed estimate and agree on a date for the kick-off",
        )
        found = record.number, record.id, {s.name: (s.id, s.colour) for s in stages}
        db.session.remove()
        return found


def rgb(hex_colour):
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_log_a_call_with_a_stage_change_without_reload(page, live_server, lead):
    number, lead_id, stages = lead
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/leads/{number}")
    page.evaluate("window.stillTheSamePage = true")
    badge = page.locator(f"#lead-{lead_id}-stage")
    expect(badge).to_have_text("Cold")

    page.keyboard.press("n")
    body = page.get_by_label("What was said")
    expect(body).to_be_focused()
    body.fill("Asked for an estimate of the website.\nCall back on Friday.")
    page.get_by_role("radio", name="Interested").check()
    # The step planned for now is what this call answers: the next one is asked for.
    page.get_by_role("button", name="Tomorrow").click()
    body.press("Control+Enter")

    item = page.locator("#timeline-items li").first
    expect(item).to_contain_text("Asked for an estimate of the website.")
    expect(badge).to_have_text("Interested")
    interested_id, interested_colour = stages["Interested"]
    expect(badge).to_have_css("background-color", rgb(interested_colour))
    expect(page.locator("#messages")).to_contain_text("Contact logged.")
    expect(page.get_by_label("What was said")).to_have_value("")
    expect(page.get_by_label("What was said")).to_be_focused()
    assert page.evaluate("window.stillTheSamePage") is True


def test_lost_reason_fields_show_for_a_lost_stage(page, page_errors, live_server, lead):
    number, _lead_id, _stages = lead
    page_errors.allow_http_status(422, f"/leads/{number}/log")
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/leads/{number}")
    reason = page.get_by_label("Why lost")
    expect(reason).to_be_hidden()
    page.get_by_role("radio", name="Lost").check()
    expect(reason).to_be_visible()

    page.get_by_role("button", name="Log contact").click()
    expect(page.get_by_text("Say why the lead was lost.")).to_be_visible()
    expect(reason).to_be_visible()


def test_edit_details_in_place(page, live_server, lead):
    number, _lead_id, _stages = lead
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/leads/{number}")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Phone").fill("+7 (999) 765-43-21")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="+7 (999) 765-43-21")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True


def test_lead_page_fits_a_phone(browser, page_errors, live_server, lead, tmp_path):
    number, _lead_id, _stages = lead
    context = browser.new_context(viewport={"width": 375, "height": 740})
    phone = context.new_page()
    try:
        log_in(phone, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
        phone.goto(f"{live_server}/leads/{number}")
        phone.screenshot(path=tmp_path / "lead-phone.png", full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
