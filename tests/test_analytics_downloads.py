"""The reports' downloads: each table as a CSV file in the viewer's separator and as an XLSX
workbook holding the same rows in typed cells, with the same filters and scope."""

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from crm.models import Role
from tests import factories
from tests.analytics_pages import csv_rows
from tests.test_analytics_edges import TABLES

PERIOD = "period=custom&from=2026-08-01&to=2026-10-31"
COLD, INTERESTED, WON, LOST = 0, 1, 7, 8
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def at(text):
    return datetime.fromisoformat(text)


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Сэм Продавцов", email="sam@example.com")


@pytest.fixture
def history(app, stages, admin, seller):
    """Sam won a lead and lost one from the website; Ada has one from a partner, still open.
    The won lead is from Москва, the others have no city."""
    s = stages
    factories.field("Город", "choice", ["Москва", "Казань"])
    won = factories.lead_with_history(
        seller,
        [(s[COLD], at("2026-08-05 10:00")), (s[WON], at("2026-09-01 10:00"))],
        source="Сайт",
        value=Decimal("1250000.50"),
        fields={"gorod": "Москва"},
    )
    factories.lead_with_history(
        seller,
        [(s[COLD], at("2026-08-06 10:00")), (s[LOST], at("2026-09-02 10:00"))],
        source="Сайт",
    )
    factories.lead_with_history(admin, [(s[INTERESTED], at("2026-09-01 10:00"))], source="Партнёр")
    factories.activity(won, seller, occurred_at=at("2026-08-20 10:00"))
    factories.activity(won, seller, "email", occurred_at=at("2026-08-21 10:00"))


def workbook_rows(client, url):
    """The sheet's name and the rows of the XLSX download at `url`."""
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    (name,) = book.sheetnames
    return name, [[cell.value for cell in row] for row in book[name].iter_rows()]


def same(typed, written):
    """Whether a workbook's cell holds what the CSV file (with commas) writes as `written`."""
    if typed is None:
        return written == ""
    if isinstance(typed, datetime):
        return written == typed.date().isoformat()
    if isinstance(typed, int | float):
        return float(written) == pytest.approx(typed)
    return typed == written


@pytest.mark.parametrize(
    ("slug", "table"), [(slug, table) for slug, tables in TABLES.items() for table in tables]
)
def test_every_table_is_a_workbook_of_the_csv_files_rows(logged_in, history, slug, table):
    url = f"/analytics/{slug}/{table}.%s?{PERIOD}"
    written = csv_rows(logged_in, url % "csv")
    _name, rows = workbook_rows(logged_in, url % "xlsx")
    assert rows[0] == written[0]
    assert len(rows) == len(written)
    for typed_row, written_row in zip(rows[1:], written[1:], strict=True):
        pairs = zip(typed_row, written_row, strict=True)
        assert all(same(typed, text) for typed, text in pairs), (typed_row, written_row)


def test_a_workbook_is_named_after_its_report_and_has_typed_cells(logged_in, history):
    response = logged_in.get(f"/analytics/won-lost/months.xlsx?{PERIOD}")
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="won-lost-months-2026-08-01-2026-10-31.xlsx"'
    )
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Won and lost"]
    sheet = book["Won and lost"]
    total = list(sheet.iter_rows())[-1]
    assert [cell.value for cell in total[:6]] == [
        "Total",
        datetime(2026, 8, 1),
        datetime(2026, 10, 31),
        1,
        1250000.5,
        1,
    ]
    assert total[1].number_format == "yyyy-mm-dd"
    assert total[4].number_format == "#,##0.00"
    assert total[6].value == 50.0 and total[6].data_type == "n"


def test_in_russian_semicolons_decimal_commas_and_a_russian_sheet(logged_in, admin, history):
    admin.locale = "ru"
    url = f"/analytics/sources/sources.%s?{PERIOD}"
    response = logged_in.get(url % "csv")
    assert response.data.decode("utf-8-sig").startswith("Источник;Лиды;")
    written = {row[0]: row for row in csv_rows(logged_in, url % "csv")}
    assert written["Сайт"][5:] == ["50,0", "1250000,50"]
    name, rows = workbook_rows(logged_in, url % "xlsx")
    assert name == "Источники"
    typed = {row[0]: row for row in rows}
    assert typed["Сайт"][1:] == [2, 1, 1, 0, 50.0, 1250000.5]
    assert typed["Партнёр"][:2] == ["Партнёр", 1]
    # Chosen on the page, commas: decimal points.
    assert csv_rows(logged_in, (url % "csv") + "&sep=comma")[1][5] in ("0.0", "50.0")


def test_a_week_is_a_date(logged_in, history):
    _name, rows = workbook_rows(logged_in, f"/analytics/activity/contacts.xlsx?{PERIOD}")
    assert rows[0] == ["Person", "Kind", "Week", "Contacts"]
    assert rows[1] == ["Сэм Продавцов", "Call", datetime(2026, 8, 17), 1]
    assert isinstance(rows[1][2], date)


def test_a_salesperson_downloads_their_own_numbers(client, auth, history, seller):
    auth.login(seller.email)
    url = f"/analytics/sources/sources.xlsx?{PERIOD}"
    _name, rows = workbook_rows(client, url)
    assert [row[:2] for row in rows[1:]] == [["Сайт", 2], ["Total", 2]]
    # Asking for everyone's changes nothing.
    assert workbook_rows(client, f"{url}&owner=")[1] == rows


def test_a_manager_downloads_the_teams_numbers(client, auth, history):
    boss = factories.user(name="Max", email="max@example.com", role=Role.MANAGER)
    auth.login(boss.email)
    _name, rows = workbook_rows(client, f"/analytics/sources/sources.xlsx?{PERIOD}")
    assert rows[-1][:2] == ["Total", 3]


def test_losses_narrowed_to_a_stage_download_narrowed(logged_in, history, stages):
    narrowed = f"/analytics/won-lost/losses.xlsx?{PERIOD}&stage={stages[COLD].id}"
    _name, rows = workbook_rows(logged_in, narrowed)
    assert [row[1] for row in rows[1:]] == [stages[COLD].name]
    _name, rows = workbook_rows(logged_in, f"{narrowed}0")
    assert len(rows) == 2


@pytest.mark.parametrize(
    "url",
    [
        f"/analytics/sources/nothing.xlsx?{PERIOD}",
        f"/analytics/nope/sources.xlsx?{PERIOD}",
        f"/analytics/sources/sources.pdf?{PERIOD}",
    ],
)
def test_what_is_not_a_table_is_not_found(logged_in, url):
    assert logged_in.get(url).status_code == 404


def test_the_pages_offer_both_files_and_the_separator(logged_in, admin, history):
    html = logged_in.get(f"/analytics/sources?{PERIOD}").text
    assert (
        'href="/analytics/sources/sources.csv?period=custom&amp;from=2026-08-01&amp;to=2026-10-31'
        '&amp;sep=comma"' in html
    )
    assert 'href="/analytics/sources/sources.xlsx?period=custom&amp;from=2026-08-01' in html
    assert '<option value="comma" selected>' in html
    admin.locale = "ru"
    html = logged_in.get(f"/analytics/won-lost?{PERIOD}&sep=semicolon").text
    assert '<option value="semicolon" selected>' in html
    assert "/analytics/won-lost/losses.xlsx?" in html
    assert html.count("Скачать XLSX") == 2
