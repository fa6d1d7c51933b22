"""Settings → Import in Chromium: upload a sheet, map its columns, check it, import it, and
watch the progress on the page while the server works in the background."""

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Lead
from tests import factories
from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_NAME,
    ADMIN_PASSWORD,
    build_app,
    serving,
)
from tests.browser.pages import expect, log_in, url_path

# Enough rows that checking and importing take a moment, so the progress can be seen.
ROWS = 20_000
# How long the server may take over them on a busy machine.
WORK_MS = 120_000


@pytest.fixture
def own_server(tmp_path):
    """A CRM of this test's own, importing in background threads as in production."""
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel()
        factories.admin(name=ADMIN_NAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        db.session.remove()
    with serving(app) as url:
        yield app, url


def leads_sheet(tmp_path):
    """The leads sheet as a Russian Excel saves it: Windows-1251, semicolons, decimal commas."""
    path = tmp_path / "Лиды.csv"
    lines = ["№;Название;Телефон;Сумма;Статус;Заметки"]
    lines += [
        f"{n};ООО Компания {n};+7 999 {n:07d};{n} 250,50;{'Interested' if n % 2 else 'Cold'};-"
        for n in range(1, ROWS + 1)
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    return path


def lead_count(app):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Lead))
        db.session.remove()
    return count


def test_upload_map_check_and_import_with_progress(page, own_server, tmp_path):
    app, base = own_server
    log_in(page, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(base + "/settings/")
    page.get_by_role("link", name="Import leads and activities from a spreadsheet").click()
    expect(page).to_have_url(url_path("/settings/import/"))

    page.get_by_role("radio", name="Leads: one row per lead").check()
    page.get_by_label("File (CSV or XLSX)").set_input_files(leads_sheet(tmp_path))
    page.get_by_role("button", name="Upload and choose columns").click()

    # Each column has a labelled select, guessed from its header.
    expect(page.get_by_role("heading", name="Choose the columns")).to_be_visible()
    expect(page.get_by_text("Windows-1251, semicolons")).to_be_visible()
    expect(page.get_by_label("Column B: “Название”")).to_have_value("title")
    expect(page.get_by_label("Column D: “Сумма”")).to_have_value("value")
    notes = page.get_by_label("Column F: “Заметки”")
    expect(notes).to_have_value("")
    # The user adjusts a guess: the number column is left out.
    page.get_by_label("Column A: “№”").select_option(label="Do not import")
    page.get_by_role("button", name="Check the file").click()

    # The check runs in the background; the page shows how far it has come.
    progress = page.locator("#import-progress")
    expect(page.get_by_role("heading", name="Checking the file…")).to_be_visible()
    expect(progress).to_be_visible()
    report = page.get_by_role("heading", name="What the import would do")
    expect(report).to_be_visible(timeout=WORK_MS)
    expect(page.locator("#import-created")).to_have_text("20,000")
    expect(page.locator("#import-failed")).to_have_text("0")
    assert lead_count(app) == 0

    page.get_by_role("button", name="Import the file").click()
    expect(page.get_by_role("heading", name="Importing…")).to_be_visible()
    expect(progress).to_be_visible()
    expect(page.get_by_role("heading", name="Imported")).to_be_visible(timeout=WORK_MS)
    expect(progress).to_have_count(0)
    assert lead_count(app) == ROWS

    page.get_by_role("link", name="See the leads").click()
    expect(page).to_have_url(url_path("/leads/"))
    expect(page.get_by_role("link", name="ООО Компания 20000", exact=True)).to_be_visible()
