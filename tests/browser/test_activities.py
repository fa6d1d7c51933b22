"""The activities feed in Chromium: filters swap the rows in place and the URL follows."""

import re
from datetime import timedelta

import pytest

from crm.extensions import db
from crm.models import User, utcnow
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in, url_path


@pytest.fixture
def contacts(live_app):
    """Two leads with a call and a meeting logged an hour ago; returns (call, meeting, kind ids)."""
    with live_app.app_context():
        admin = db.session.scalar(User.by_email(ADMIN_EMAIL))
        lead = factories.lead(title="Feed test: Baltic Timber", owner=admin)
        other = factories.lead(title="Feed test: Volga Glass", owner=admin)
        # Early today in UTC, whatever the hour the suite runs at.
        at = max(utcnow() - timedelta(hours=1), utcnow().replace(hour=0, minute=1))
        call = factories.activity(
            lead, admin, kind_code="call", body="Asked for a quote", occurred_at=at
        )
        meeting = factories.activity(
            other, admin, kind_code="meeting", body="Met at the office", occurred_at=at
        )
        found = (call.id, meeting.id, factories.kind("meeting").id)
        db.session.remove()
    return found


def test_kind_filter_updates_rows_without_a_reload(page, live_server, contacts):
    call_id, meeting_id, meeting_kind = contacts
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/activities/")
    expect(page.locator(f"#activity-{call_id}")).to_be_visible()
    expect(page.locator(f"#activity-{meeting_id}")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_label("Kind").select_option(label="Meeting")

    expect(page.locator(f"#activity-{call_id}")).to_have_count(0)
    expect(page.locator(f"#activity-{meeting_id}")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"[?&]kind={meeting_kind}(&|$)"))
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator(f"#activity-{meeting_id}")).to_contain_text("Met at the office")


def test_quick_range_fills_in_the_dates(page, live_server, contacts):
    call_id, _meeting_id, _kind = contacts
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/activities/")
    today = page.get_by_label("From", exact=True).input_value()
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("button", name="Yesterday").click()

    expect(page.get_by_role("button", name="Yesterday")).to_have_attribute("aria-current", "true")
    expect(page.locator(f"#activity-{call_id}")).to_have_count(0)
    assert page.get_by_label("From", exact=True).input_value() < today
    assert (
        page.get_by_label("From", exact=True).input_value()
        == page.get_by_label("To", exact=True).input_value()
    )
    expect(page).to_have_url(re.compile(r"range=yesterday"))
    assert page.evaluate("window.stillTheSamePage") is True

    page.get_by_role("button", name="Today").click()
    expect(page.locator(f"#activity-{call_id}")).to_be_visible()
    expect(page.get_by_label("From", exact=True)).to_have_value(today)


def test_feed_fits_a_phone(page, live_server, contacts, tmp_path):
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/activities/")
    expect(page).to_have_url(url_path("/activities/"))
    page.wait_for_load_state()

    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=tmp_path / "activities-phone.png", full_page=True)
