"""Settings → Import in Chromium, with a sheet's columns of its own: the mapping page offers each
as a new field of the type its values suggest, the dry run lists the fields it will make and
each lead's values, and the import makes them."""

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import CustomField, Lead
from tests import factories
from tests.browser.conftest import ADMIN_PASSWORD, build_app, serving
from tests.browser.pages import expect, log_in

RU_EMAIL = "petr@example.ru"
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Нижний Новгород", "Владивосток"]
ROWS = 60
WORK_MS = 60_000


@pytest.fixture
def russian_server(tmp_path):
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel("ru")
        factories.admin(
            name="Пётр",
            email=RU_EMAIL,
            password=ADMIN_PASSWORD,
            locale="ru",
            timezone="Europe/Moscow",
        )
        db.session.remove()
    with serving(app) as url:
        yield app, url


def clients_sheet(tmp_path):
    """A team's sheet of clients as a Russian Excel saves it, with columns of its own."""
    path = tmp_path / "Клиенты.csv"
    lines = ["Название;Телефон;ИНН;Город;Сайт;Комментарий"]
    lines += [
        f"ООО «Клиент {n}»;+7 999 {n:07d};{'0105012345' if n == 1 else f'77{n:08d}'};"
        f"{CITIES[n % 5]};klient{n}.ru;Просили перезвонить после праздников, ждут КП"
        for n in range(1, ROWS + 1)
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    return path


def stored(app):
    with app.app_context():
        fields = {row.key: (row.label, row.type) for row in db.session.scalars(select(CustomField))}
        first = db.session.scalar(select(Lead.fields).where(Lead.title == "ООО «Клиент 1»"))
        db.session.remove()
    return fields, first


def test_columns_of_a_sheet_s_own_become_fields(page, russian_server, tmp_path):
    app, base = russian_server
    log_in(page, base, RU_EMAIL, ADMIN_PASSWORD)
    page.goto(base + "/settings/import/")
    page.get_by_role("radio", name="Лиды: строка на каждого лида").check()
    page.get_by_label("Файл (CSV или XLSX)").set_input_files(clients_sheet(tmp_path))
    page.get_by_role("button", name="Загрузить и выбрать столбцы").click()
    expect(page.get_by_role("heading", name="Выберите столбцы")).to_be_visible()

    # Each column the lead has no field for is offered as a new field, of the type guessed.
    inn = page.get_by_label("Столбец C: «ИНН»")
    expect(inn).to_have_value("new:text")
    expect(inn.locator("option:checked")).to_have_text("Новое поле: Текст")
    city = page.get_by_label("Столбец D: «Город»")
    expect(city).to_have_value("new:choice")
    expect(city.locator("option:checked")).to_have_text("Новое поле: Выбор из списка")
    expect(page.get_by_label("Столбец E: «Сайт»")).to_have_value("new:link")
    notes = page.get_by_label("Столбец F: «Комментарий»")
    expect(notes).to_have_value("new:long_text")
    expect(page.locator("optgroup[label='Новое поле из этого столбца']").first).to_be_attached()

    # Leaving the notes out is warned about as soon as it is chosen; kept, the warning goes.
    warnings = page.locator("#column-warnings .message-warning")
    expect(warnings).to_have_count(0)
    notes.select_option(label="Не импортировать")
    expect(warnings).to_have_count(1)
    expect(warnings).to_contain_text("Столбец F, «Комментарий», похож на заметки")
    notes.select_option(label="Новое поле: Длинный текст")
    expect(warnings).to_have_count(0)
    # The website column is taken as text instead.
    page.get_by_label("Столбец E: «Сайт»").select_option(label="Новое поле: Текст")

    page.get_by_role("button", name="Проверить файл").click()
    fields_table = page.locator("#import-new-fields")
    expect(page.get_by_role("heading", name="Новые поля, которые создаст импорт")).to_be_visible(
        timeout=WORK_MS
    )
    expect(fields_table.locator("tbody tr")).to_have_count(4)
    expect(fields_table.locator("tbody tr").nth(0)).to_contain_text("ИНН")
    expect(fields_table.locator("tbody tr").nth(1).locator("td")).to_have_text(
        ["Город", "Выбор из списка", "5 вариантов"]
    )
    expect(fields_table.locator("tbody tr").nth(2).locator("td")).to_have_text(
        ["Сайт", "Текст", "—"]
    )
    first = page.locator("table.import-changes tr", has_text="#1 ООО «Клиент 1»")
    expect(first).to_contain_text("ИНН")
    expect(first).to_contain_text("— → 0105012345")
    expect(first).to_contain_text("— → Санкт-Петербург")
    assert stored(app) == ({}, None)

    page.get_by_role("button", name="Импортировать файл").click()
    expect(page.get_by_role("heading", name="Импортировано")).to_be_visible(timeout=WORK_MS)
    expect(page.get_by_role("heading", name="Созданные поля")).to_be_visible()
    fields, values = stored(app)
    assert fields == {
        "inn": ("ИНН", "text"),
        "gorod": ("Город", "choice"),
        "sayt": ("Сайт", "text"),
        "kommentariy": ("Комментарий", "long_text"),
    }
    assert values["inn"] == "0105012345" and values["sayt"] == "klient1.ru"
