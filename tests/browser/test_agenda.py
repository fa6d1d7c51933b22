"""The agenda in Chromium: log a call in place, reschedule with one click."""

from datetime import timedelta

import pytest

from crm.extensions import db
from crm.models import utcnow
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


@pytest.fixture
def agenda(tmp_path):
    """A CRM of this test's own: two overdue calls of the administrator's.

    Returns (base URL, [lead ids], the app)."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel()
        admin = factories.admin(name=ADMIN_NAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        leads = [
            factories.lead(
                title=title,
                owner=admin,
                stage=stages[0],
                next_step_at=utcnow() - timedelta(days=2),
                next_step_note="Call about the estimate",
            )
            for title in ("Baltic Timber", "Volga Glass")
        ]
        ids = [lead.id for lead in leads]
        db.session.remove()
    with serving(app) as url:
        yield url, ids, app


def open_agenda(page, base):
    log_in(page, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(base + "/agenda/")
    expect(page.locator("#section-overdue")).to_be_visible()


def overdue_count(page):
    return page.locator("#count-overdue")


def test_log_a_call_from_the_agenda(page, agenda):
    base, leads, app = agenda
    open_agenda(page, base)
    expect(overdue_count(page)).to_have_text("2")
    row = page.locator(f"#agenda-overdue-{leads[0]}")
    row.get_by_role("button", name="Log contact").click()

    body = row.locator("#log-body")
    expect(body).to_be_focused()
    body.fill("Agreed to meet on Monday")
    row.get_by_role("button", name="Tomorrow").click()
    body.press("Control+Enter")

    expect(overdue_count(page)).to_have_text("1")
    expect(page.locator(f"#agenda-overdue-{leads[0]}")).to_have_count(0)
    expect(page.locator(f"#agenda-week-{leads[0]}")).to_be_visible()
    expect(page.get_by_text("logged.")).to_be_visible()
    assert stored(app, leads[0], "last_activity_at") is not None


def test_reschedule_with_one_click(page, agenda):
    base, leads, app = agenda
    open_agenda(page, base)
    row = page.locator(f"#agenda-overdue-{leads[1]}")
    row.get_by_role("button", name="1 day").click()
    expect(overdue_count(page)).to_have_text("1")
    expect(page.locator(f"#agenda-week-{leads[1]}")).to_be_visible()
    expect(page.locator("#count-week")).to_have_text("1")


def test_only_one_log_form_is_open(page, agenda):
    base, leads, _app = agenda
    open_agenda(page, base)
    for lead_id in leads:
        page.locator(f"#agenda-overdue-{lead_id}").get_by_role("button", name="Log contact").click()
        expect(page.locator(f"#agenda-overdue-{lead_id} #log-form")).to_be_visible()
    expect(page.locator("#log-form")).to_have_count(1)
