"""Downloads in Chromium: the CSV link under a list takes the filters the list has now, even
after htmx changed them without reloading the page."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import ActivityKind, User, utcnow
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in


@pytest.fixture
def exported(live_app):
    """Two leads only this module's searches find, each with a contact today."""
    with live_app.app_context():
        admin = db.session.scalar(User.by_email(ADMIN_EMAIL))
        first = factories.lead(title="Экспорт-Ромашка", owner=admin)
        second = factories.lead(title="Экспорт-Лютик", owner=admin)
        factories.activity(first, admin, body="Звонок Ромашке", occurred_at=utcnow())
        factories.activity(second, admin, "meeting", body="Встреча с Лютиком", occurred_at=utcnow())
        meeting = db.session.scalar(select(ActivityKind.id).where(ActivityKind.code == "meeting"))
        db.session.remove()
    return meeting


def download(page, link_name):
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    data = Path(info.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_leads_download_follows_the_search(page, live_server, exported):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/leads/")
    page.get_by_label("Search leads").press_sequentially("экспорт-ром", delay=20)
    expect(page.locator("#lead-rows")).not_to_contain_text("Экспорт-Лютик")

    rows = download(page, "Download these leads (CSV)")

    assert [row["Title"] for row in rows] == ["Экспорт-Ромашка"]


def test_the_activities_download_follows_the_filters(page, live_server, exported):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/activities/")
    page.get_by_label("Kind").select_option(str(exported))
    expect(page.locator("#activity-results")).not_to_contain_text("Звонок Ромашке")

    rows = download(page, "Download these activities (CSV)")

    said = [row["What was said"] for row in rows]
    assert "Встреча с Лютиком" in said
    assert "Звонок Ромашке" not in said
