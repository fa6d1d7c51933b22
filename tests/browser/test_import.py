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
    # A column the lead has no field for would become a new field (made only if it holds
    # anything: this one holds dashes alone).
    notes = page.get_by_label("Column F: “Заметки”")
    expect(notes).to_have_value("new:text")
    # The user adjusts a guess: the number column is left out.
    page.get_by_label("Column A: “№”").select_option(label="Do not import")
    page.get_by_role("button", name="Check the file").click()

    # The check runs in the background; the page shows how far it has come.
    progress = page.locator("#import-progress")
    expect(page.get_by_role("heading", name="Checking the file…")).to_be_visible()
    expect(progress).to_be_visible()
    report = page.get_by_role("heading", name="What the import would do", exact=True)
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


# A Russian team moving in from its two sheets


RU_EMAIL = "petr@example.ru"


@pytest.fixture
def russian_server(tmp_path):
    """A CRM set up in Russian, its administrator reading it in Russian in Moscow, with the
    leads the team already has: #1 and #2, both "Холодный"."""
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel("ru")
        admin = factories.admin(
            name="Пётр",
            email=RU_EMAIL,
            password=ADMIN_PASSWORD,
            locale="ru",
            timezone="Europe/Moscow",
        )
        factories.lead(title="ООО «Ромашка»", owner=admin, phone="+7 999 123-45-67")
        factories.lead(title="ИП Сидоров", owner=admin)
        db.session.remove()
    with serving(app) as url:
        yield app, url


def russian_leads_sheet(tmp_path):
    """As a Russian Excel saves "CSV (разделители — точки с запятой)": Windows-1251."""
    path = tmp_path / "Лиды.csv"
    lines = [
        "№;Название;Телефон;Статус",
        "1;ООО «Ромашка»;+7 999 123-45-68;Холодный",
        "2;ИП Сидоров;;Интересуется",
        ";Стройка-М;;",
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    return path


def russian_contacts_sheet(tmp_path):
    """As a Russian Excel saves "CSV UTF-8": semicolons, and a byte order mark."""
    path = tmp_path / "Контакты.csv"
    lines = [
        "Клиент;Дата;Что сказали;Статус;Итог",
        "ООО «Ромашка»;28.10.2026 10:00;Интересуются автоматизацией склада;Интересуется;Ок",
        "ООО «Ромашка»;30.10.2026;Прислали запрос на оценку;Запросили оценку;Ждут",
        "ИП Сидоров;02.11.2026;Просили перезвонить;Холодный;",
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    return path


def changes_row(page, lead):
    return page.locator("table.import-changes tr", has_text=lead)


def upload_sheet(page, base, kind, path):
    page.goto(base + "/settings/import/")
    page.get_by_role("radio", name=kind).check()
    page.get_by_label("Файл (CSV или XLSX)").set_input_files(path)
    page.get_by_role("button", name="Загрузить и выбрать столбцы").click()
    expect(page.get_by_role("heading", name="Выберите столбцы")).to_be_visible()


def test_a_russian_team_moves_in_from_its_sheets(page, russian_server, tmp_path):
    app, base = russian_server
    log_in(page, base, RU_EMAIL, ADMIN_PASSWORD)

    # The leads sheet: the dry run says what happens to each lead, not only how many.
    upload_sheet(page, base, "Лиды: строка на каждого лида", russian_leads_sheet(tmp_path))
    expect(page.get_by_text("Windows-1251, точки с запятой")).to_be_visible()
    expect(page.get_by_label("Столбец D: «Статус»")).to_have_value("status")
    page.get_by_role("button", name="Проверить файл").click()
    expect(page.get_by_role("heading", name="Что импорт сделает с каждым лидом")).to_be_visible(
        timeout=WORK_MS
    )
    expect(page.locator("#import-updated")).to_have_text("2")
    romashka = changes_row(page, "#1 ООО «Ромашка»")
    expect(romashka).to_contain_text("Телефон")
    expect(romashka).to_contain_text("+7 999 123-45-67 → +7 999 123-45-68")
    expect(changes_row(page, "#2 ИП Сидоров").locator("dd")).to_have_text("Холодный → Интересуется")
    expect(changes_row(page, "#3 Стройка-М").locator("dt")).to_have_text("Новый лид, на этапе")
    expect(changes_row(page, "#3 Стройка-М").locator("dd")).to_have_text("Холодный")
    page.get_by_role("button", name="Импортировать файл").click()
    expect(page.get_by_role("heading", name="Импортировано")).to_be_visible(timeout=WORK_MS)
    assert lead_count(app) == 3

    # The contact log: "Что сказали" is what was said; "Итог" is warned about, not lost quietly.
    upload_sheet(
        page, base, "Активности: строка на каждый контакт с лидом", russian_contacts_sheet(tmp_path)
    )
    said = page.get_by_label("Столбец C: «Что сказали»")
    expect(said).to_have_value("body")
    warnings = page.locator("#column-warnings .message-warning")
    expect(warnings).to_have_count(1)
    expect(warnings).to_contain_text("Столбец E, «Итог», похож на заметки")
    # Leaving out the notes is warned about as soon as it is chosen, and choosing them back
    # takes the warning away.
    said.select_option(label="Не импортировать")
    expect(warnings).to_have_count(2)
    expect(warnings.first).to_contain_text("выберите для него «О чём говорили»")
    said.select_option(label="О чём говорили")
    expect(warnings).to_have_count(1)

    page.get_by_role("button", name="Проверить файл").click()
    expect(page.get_by_role("heading", name="Что импорт сделает с каждым лидом")).to_be_visible(
        timeout=WORK_MS
    )
    romashka = changes_row(page, "#1 ООО «Ромашка»")
    expect(romashka.locator("dt")).to_have_text(["Этап", "Добавлено контактов"])
    expect(romashka.locator("dd")).to_have_text(["Холодный → Интересуется → Запросили оценку", "2"])
    # Сидоров was moved on by the leads sheet, and goes back.
    expect(changes_row(page, "#2 ИП Сидоров")).to_contain_text("Интересуется → Холодный")
    page.get_by_role("button", name="Импортировать файл").click()
    expect(page.get_by_role("heading", name="Импортировано")).to_be_visible(timeout=WORK_MS)

    page.goto(base + "/leads/1")
    expect(page.get_by_text("Интересуются автоматизацией склада")).to_be_visible()
    expect(page.locator("#lead-1-stage")).to_have_text("Запросили оценку")
