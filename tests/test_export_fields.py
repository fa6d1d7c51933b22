"""The team's own fields in the exports: a column each in the CSV and XLSX files (removed fields
too: their values are still the team's), typed cells in a workbook, definitions and values in
the JSON export; memory and queries that do not grow with the leads."""

import json
import tracemalloc
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import csv_export, custom_fields, funnel
from crm.exports import queries
from crm.extensions import db
from crm.models import CustomField, utcnow
from tests import factories
from tests.test_export import LEAD_HEADER, cells, queries_for, records, speaks, table, workbook

OWN_HEADER = [
    "ИНН",
    "Город",
    "Сотрудников",
    "Бюджет",
    "Первая встреча",
    "VIP",
    "Каналы",
    "Сайт",
    "Старое поле",
]


@pytest.fixture
def own_fields(app, stages):
    """A field of every kind the files write their own way, and one removed since."""
    factories.field("ИНН", "text", identifies_client=True)
    factories.field("Город", "choice", ["Москва", "Казань"])
    factories.field("Сотрудников", "number")
    factories.field("Бюджет", "money")
    factories.field("Первая встреча", "date")
    factories.field("VIP", "yes_no")
    factories.field("Каналы", "choices", ["Telegram", "WhatsApp", "Почта"])
    factories.field("Сайт", "link")
    factories.field("Старое поле", "text")


def remove(key):
    row = db.session.scalar(select(CustomField).where(CustomField.key == key))
    row.removed_at = utcnow()
    db.session.commit()
    custom_fields.forget()


@pytest.fixture
def filled(own_fields, admin):
    lead = factories.lead(
        title="ООО «Ромашка»",
        owner=admin,
        fields={
            "inn": "0105012345",
            "gorod": "Казань",
            "sotrudnikov": "12,5",
            "byudzhet": "1 250 000,50",
            "pervaya_vstrecha": "31.12.2026",
            "vip": "да",
            "kanaly": "Почта; Telegram",
            "sayt": "romashka.ru",
            "staroe_pole": "=SUM(A1)",
        },
    )
    factories.lead(title="Пусто", owner=admin)
    remove("staroe_pole")
    return lead


def test_every_field_is_a_column_of_the_csv_file_a_removed_one_too(logged_in, filled):
    rows = records(logged_in.get("/export/leads.csv"))
    assert list(rows[0]) == LEAD_HEADER + OWN_HEADER
    values = {row["Title"]: [row[name] for name in OWN_HEADER] for row in rows}
    assert values == {
        "ООО «Ромашка»": [
            "0105012345",
            "Казань",
            "12.5",
            "1250000.50",
            "2026-12-31",
            "Yes",
            "Telegram; Почта",
            "https://romashka.ru",
            # Formula-like text is made inert, as in any other column.
            "'=SUM(A1)",
        ],
        "Пусто": [""] * len(OWN_HEADER),
    }


def test_a_russian_file_has_semicolons_and_decimal_commas(logged_in, admin, filled):
    speaks(admin, "ru")
    header, *rows = table(logged_in.get("/export/leads.csv"), ";")
    assert header[-len(OWN_HEADER) :] == OWN_HEADER
    row = next(row for row in rows if row[1] == "ООО «Ромашка»")
    assert row[-len(OWN_HEADER) :][:6] == [
        "0105012345",
        "Казань",
        "12,5",
        "1250000,50",
        "2026-12-31",
        "Да",
    ]


def test_a_workbook_has_cells_of_each_field_s_type(logged_in, filled):
    book = workbook(logged_in.get("/export/leads.xlsx"))
    header, *rows = list(book["Leads"].iter_rows())
    assert [cell.value for cell in header][-len(OWN_HEADER) :] == OWN_HEADER
    row = next(row for row in rows if row[1].value == "ООО «Ромашка»")
    own = row[-len(OWN_HEADER) :]
    assert [cell.value for cell in own] == [
        "0105012345",
        "Казань",
        12.5,
        1250000.5,
        datetime(2026, 12, 31),
        "Yes",
        "Telegram; Почта",
        "https://romashka.ru",
        "=SUM(A1)",
    ]
    inn, _city, staff, budget, met = own[:5]
    assert inn.data_type == "s"
    assert (staff.data_type, budget.data_type) == ("n", "n")
    assert budget.number_format == "#,##0.00"
    assert met.is_date and met.number_format == "yyyy-mm-dd"
    assert own[-1].data_type == "s"
    empty = next(row for row in rows if row[1].value == "Пусто")
    assert [cell.value for cell in empty[-len(OWN_HEADER) :]] == [None] * len(OWN_HEADER)


def test_the_export_command_writes_the_fields_too(runner, filled, tmp_path):
    path = tmp_path / "leads.xlsx"
    result = runner.invoke(args=["export", "--leads", str(path), "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    import openpyxl

    header = cells(openpyxl.load_workbook(path).active)[0]
    assert header[-len(OWN_HEADER) :] == OWN_HEADER


def test_the_json_export_keeps_the_definitions_and_the_stored_values(logged_in, filled):
    data = json.loads(logged_in.get("/export/everything.json").data)
    definitions = {field["key"]: field for field in data["custom_fields"]}
    assert list(definitions) == [
        "inn",
        "gorod",
        "sotrudnikov",
        "byudzhet",
        "pervaya_vstrecha",
        "vip",
        "kanaly",
        "sayt",
        "staroe_pole",
    ]
    assert definitions["inn"]["identifies_client"] is True
    assert definitions["staroe_pole"]["removed_at"].endswith("Z")
    assert [option["label"] for option in definitions["gorod"]["options"]] == ["Москва", "Казань"]
    lead = next(lead for lead in data["leads"] if lead["title"] == "ООО «Ромашка»")
    assert lead["fields"] == {
        "inn": "0105012345",
        "gorod": "kazan",
        "sotrudnikov": 12.5,
        "byudzhet": 1250000.5,
        "pervaya_vstrecha": "2026-12-31",
        "vip": True,
        "kanaly": ["telegram", "pochta"],
        "sayt": "https://romashka.ru",
        "staroe_pole": "=SUM(A1)",
    }


@pytest.mark.parametrize("url", ["/export/leads.csv", "/export/leads.xlsx"])
def test_fields_cost_no_query_per_lead(logged_in, admin, own_fields, url):
    def add(count):
        for n in range(count):
            factories.lead(owner=admin, fields={"inn": f"77{n:08d}", "gorod": "Москва"})

    add(2)
    few = queries_for(logged_in, url)
    add(20)
    assert queries_for(logged_in, url) == few


@pytest.mark.sqlite_only
def test_a_long_file_of_fields_is_streamed_in_flat_memory(
    logged_in, admin, own_fields, monkeypatch
):
    notes = "Заметка " * 450
    factories.field("Заметки", "long_text")
    for n in range(500):
        funnel.create_lead(admin, title=f"Lead {n}", fields={"zametki": f"{n} {notes}"})
    db.session.commit()
    # Smaller chunks and pieces than a real download's, so that 500 leads stand for 100,000.
    monkeypatch.setattr(queries, "CHUNK", 25)
    monkeypatch.setattr(csv_export, "STREAM_ROWS", 25)

    # Once unmeasured: what the first export in a process builds and keeps (compiled statements,
    # loaded templates) is not what grows with the file.
    with logged_in.get("/export/leads.csv", buffered=False) as first:
        for _piece in first.response:
            pass
    response = logged_in.get("/export/leads.csv", buffered=False)
    tracemalloc.start()
    try:
        written = sum(len(piece) for piece in response.response)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
    # Some 3 MB of file, read and written a chunk of leads at a time.
    assert written > 2_500_000
    assert peak < 1_500_000


def test_a_value_of_a_field_that_no_longer_says_its_option_is_kept_as_stored(logged_in, filled):
    """A choice's option renamed: the file says the new label."""
    row = db.session.scalar(select(CustomField).where(CustomField.key == "gorod"))
    row.options = [{**option, "label": option["label"].upper()} for option in row.options]
    db.session.commit()
    custom_fields.forget()
    rows = records(logged_in.get("/export/leads.csv"))
    assert {row["Title"]: row["Город"] for row in rows} == {"ООО «Ромашка»": "КАЗАНЬ", "Пусто": ""}


def test_stored_values_are_read_back_as_the_import_reads_them(app, filled):
    """What the files write, the import reads as the same stored values."""
    own = custom_fields.by_key()
    stored = filled.fields
    for key in ("sotrudnikov", "byudzhet", "pervaya_vstrecha", "kanaly", "vip"):
        field = own[key]
        written = custom_fields.as_text(field, stored[key])
        assert custom_fields.clean_value(field, written) == stored[key]
    assert custom_fields.clean_value(own["byudzhet"], str(Decimal("1250000.50"))) == 1250000.5
    assert custom_fields.clean_value(own["pervaya_vstrecha"], date(2026, 12, 31)) == "2026-12-31"
