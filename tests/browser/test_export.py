"""Downloads in Chromium: the links under a list take the filters the list has now, even after
htmx changed them without reloading the page, and the separator chosen on the page; each
file is saved under its own name."""

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import ActivityKind, User, utcnow
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in

DAY = r"\d{4}-\d{2}-\d{2}"


@pytest.fixture(scope="module")
def exported(live_app):
    """Two leads only this module's searches find, each with a contact today."""
    with live_app.app_context():
        admin = db.session.scalar(User.by_email(ADMIN_EMAIL))
        first = factories.lead(title="Экспорт-Ромашка", owner=admin, source="Экспорт-сайт")
        second = factories.lead(title="Экспорт-Лютик", owner=admin)
        factories.activity(first, admin, body="Звонок Ромашке", occurred_at=utcnow())
        factories.activity(second, admin, "meeting", body="Встреча с Лютиком", occurred_at=utcnow())
        meeting = db.session.scalar(select(ActivityKind.id).where(ActivityKind.code == "meeting"))
        db.session.remove()
    return meeting


def download(page, link_name):
    """Click the link and wait for its download: the name it is saved as and its bytes."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name, exact=True).click()
    return info.value.suggested_filename, Path(info.value.path()).read_bytes()


def csv_records(data, separator=","):
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=separator))


def sheet_rows(data):
    """The rows of the workbook's one sheet, by header."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    (sheet,) = book.worksheets
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def search_leads(page, live_server, typed):
    page.goto(live_server + "/leads/")
    page.get_by_label("Search leads").press_sequentially(typed, delay=20)
    expect(page.locator("#lead-rows")).not_to_contain_text("Экспорт-Лютик")


def test_the_leads_download_follows_the_search(page, live_server, exported):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    search_leads(page, live_server, "экспорт-ром")

    name, data = download(page, "Download these leads as CSV")

    assert re.fullmatch(rf"leads-{DAY}\.csv", name)
    assert [row["Title"] for row in csv_records(data)] == ["Экспорт-Ромашка"]


def test_the_leads_workbook_follows_the_search(page, live_server, exported):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    search_leads(page, live_server, "экспорт-ром")

    name, data = download(page, "Download these leads as XLSX")

    assert re.fullmatch(rf"leads-{DAY}\.xlsx", name)
    (row,) = sheet_rows(data)
    assert (row["Title"], row["Source"]) == ("Экспорт-Ромашка", "Экспорт-сайт")


def test_the_separator_chosen_reaches_every_csv_link(page, live_server, exported):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    search_leads(page, live_server, "экспорт-ром")
    choice = page.get_by_label("CSV separator")
    # An English account: commas, unless chosen otherwise.
    expect(choice).to_have_value("comma")
    choice.select_option(label="Semicolons (Excel with Russian settings)")

    _name, data = download(page, "Download these leads as CSV")
    assert [row["Title"] for row in csv_records(data, ";")] == ["Экспорт-Ромашка"]
    _name, data = download(page, "Download all leads, archived too, as CSV")
    titles = [row["Title"] for row in csv_records(data, ";")]
    assert {"Экспорт-Ромашка", "Экспорт-Лютик"} <= set(titles)


def test_the_activities_downloads_follow_the_filters(page, live_server, exported):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/activities/")
    page.get_by_label("Kind").select_option(str(exported))
    expect(page.locator("#activity-results")).not_to_contain_text("Звонок Ромашке")

    name, data = download(page, "Download these activities as CSV")
    said = [row["What was said"] for row in csv_records(data)]
    assert re.fullmatch(rf"activities-{DAY}-{DAY}\.csv", name)
    assert "Встреча с Лютиком" in said
    assert "Звонок Ромашке" not in said

    name, data = download(page, "Download these activities as XLSX")
    said = [row["What was said"] for row in sheet_rows(data)]
    assert re.fullmatch(rf"activities-{DAY}-{DAY}\.xlsx", name)
    assert "Встреча с Лютиком" in said
    assert "Звонок Ромашке" not in said


def test_a_reports_table_downloads_as_either_file(page, live_server, exported):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/analytics/sources?period=30")
    page.get_by_label("CSV separator").select_option("semicolon")

    name, data = download(page, "Download CSV")
    assert re.fullmatch(rf"sources-sources-{DAY}-{DAY}\.csv", name)
    sources = [row["Source"] for row in csv_records(data, ";")]
    assert "Экспорт-сайт" in sources

    name, data = download(page, "Download XLSX")
    assert re.fullmatch(rf"sources-sources-{DAY}-{DAY}\.xlsx", name)
    assert "Экспорт-сайт" in [row["Source"] for row in sheet_rows(data)]
