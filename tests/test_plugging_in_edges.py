"""Moving in and plugging in at the edges: odd input, permissions and leaks in the API, the
import, the export and intake forms."""

import io

import pytest
from sqlalchemy import func, select

from crm import api_tokens as tokens
from crm.extensions import db
from crm.intake import receiving
from crm.models import ActivityKind, IntakeForm, Lead, Role
from tests import factories


def bearer(user):
    _record, token = tokens.issue(user, "Edges")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com", role=Role.SALESPERSON)


@pytest.fixture
def intake_form(app, stages):
    form = IntakeForm(name="Contact", token=receiving.new_token(), source="Web")
    db.session.add(form)
    db.session.commit()
    return form


ODD_PATHS = [
    "/api/v1/leads/99999999999999999999",
    "/api/v1/leads?limit=%00",
    "/api/v1/leads?stage=1&stage=x",
    "/api/v1/leads?owner=%ff",
    "/api/v1/leads?q=%00%ff",
    "/api/v1/leads?cursor=%00",
    "/api/v1/leads?cursor=W1tdLFtdXQ",
    "/api/v1/leads/1/activities?cursor=WyJ4IiwxXQ",
    "/api/v1/leads?archived=2",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_odd_queries_are_never_500(client, admin, path):
    response = client.get(path, headers=bearer(admin))
    assert response.status_code < 500, response.text


ODD_BODIES = [
    ("application/json", b"\xff\xfe"),
    ("application/json", b'{"title": "x", "value": 1e400}'),
    ("application/json", b'{"title": "x", "value": "1e-999999999"}'),
    ("application/json", b'{"title": "x", "owner_id": 99999999999999999999}'),
    ("application/json", b'{"title": "x", "stage_id": 1.5}'),
    ("application/json", b'{"title": "x", "next_step_at": "2026-11-27T14:30:00+23:59"}'),
    ("application/json", b'{"title": "x", "next_step_at": "9999-12-31T23:59:59-23:59"}'),
    ("application/json", b'{"title": "\\ud800", "email": "\\u0000@x"}'),
    ("application/json", b'{"title": "x", "email": "a@\\ud800.com"}'),
    ("application/json", b'{"title": "x", "title": 5}'),
    ("application/json", b"[" * 100000),
    ("text/plain", b'{"title": "x"}'),
    ("application/json; charset=latin1", b'{"title": "x"}'),
]


@pytest.mark.parametrize(("content_type", "data"), ODD_BODIES)
def test_odd_bodies_are_never_500(client, admin, content_type, data):
    response = client.post(
        "/api/v1/leads",
        data=data,
        headers={**bearer(admin), "Content-Type": content_type},
    )
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "call", "occurred_at": "0001-01-01T00:00:00+00:00"},
        {"kind": "call", "value": "1e400"},
        {"kind": 99999999999999999999},
        {"kind": "call", "stage_id": 99999999999999999999},
        {"kind": "call", "lost_reason_id": True},
        {"kind": "call", "next_step_note": "x"},
        {"kind": "call", "body": "a" * 100000},
    ],
)
def test_odd_activities_are_never_500(client, admin, body):
    lead = factories.lead(owner=admin)
    db.session.commit()
    response = client.post(
        f"/api/v1/leads/{lead.number}/activities", json=body, headers=bearer(admin)
    )
    assert response.status_code < 500, response.text


def test_a_salesperson_cannot_touch_anothers_lead(client, admin, seller):
    lead = factories.lead(owner=admin, title="Admin's")
    db.session.commit()
    headers = bearer(seller)
    number = lead.number
    assert (
        client.patch(f"/api/v1/leads/{number}", json={"title": "Mine"}, headers=headers).status_code
        == 403
    )
    assert client.post(f"/api/v1/leads/{number}/archive", headers=headers).status_code == 403
    assert (
        client.post(
            f"/api/v1/leads/{number}/activities", json={"kind": "call"}, headers=headers
        ).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).title == "Admin's"


@pytest.mark.parametrize(
    "path",
    [
        "/settings/import/",
        "/export/everything.json",
        "/settings/intake-forms",
        "/settings/intake-forms/new",
    ],
)
def test_a_salesperson_does_not_reach_admin_pages(client, auth, seller, path):
    auth.login(seller.email)
    response = client.get(path)
    assert response.status_code in (302, 303, 403, 404), (path, response.status_code)


ODD_INTAKE = [
    ("application/json", b"\xff\xfe"),
    ("application/json", b'{"name": "\\ud800", "email": "x@\\ud800.com"}'),
    ("application/json", b'{"name": {"a": [1, {"b": null}]}}'),
    ("application/json", b'{"name": "x", "phone": 1e400}'),
    ("application/json", b"[" * 100000),
    ("application/x-www-form-urlencoded", b"name=%00%ff&email=a%40b.c&email=d%40e.f"),
    ("application/x-www-form-urlencoded", b"name=x&message=" + b"a" * 60000),
    ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
    ("text/xml", b"<a/>"),
]


@pytest.mark.parametrize(("content_type", "data"), ODD_INTAKE)
def test_odd_intake_is_never_500(client, intake_form, content_type, data):
    response = client.post(
        f"/intake/{intake_form.token}", data=data, headers={"Content-Type": content_type}
    )
    assert response.status_code < 500, response.text


def test_intake_answer_page_escapes(client, intake_form):
    response = client.post(
        f"/intake/{intake_form.token}",
        data={"email": "<script>alert(1)</script>"},
        headers={"Accept": "text/html"},
    )
    assert "<script>alert(1)" not in response.text


def test_a_refused_intake_leaves_nothing_behind(client, intake_form):
    before = count(ActivityKind)
    response = client.post(
        f"/intake/{intake_form.token}",
        data={"name": "x", "message": "a" * 20000},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert count(Lead) == 0
    assert count(ActivityKind) == before


def upload(client, content, name="leads.csv", kind="leads"):
    return client.post(
        "/settings/import/",
        data={"kind": kind, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x00\x00",
        b"\xff\xfe\x00\xd8",
        b"a,b\n" + b"x" * 200000,
        b'"unterminated\n',
        "Название\n\x00".encode(),
    ],
)
def test_odd_uploads_are_never_500(logged_in, content):
    response = upload(logged_in, content)
    assert response.status_code < 500
    if response.status_code == 303:
        assert logged_in.get(response.headers["Location"]).status_code < 500


@pytest.mark.parametrize("job", ["..", "%2e%2e", "x" * 300, "%00", "a/b"])
def test_odd_job_ids_are_never_500(logged_in, job):
    assert logged_in.get(f"/settings/import/{job}").status_code < 500
    assert logged_in.post(f"/settings/import/{job}/import").status_code < 500


def test_export_escapes_formulas(logged_in, admin):
    for title in [
        '=HYPERLINK("x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1)",
        "\t=1",
        "\r=1",
        "\n=1+1",
        " =1",
        "＝1",
        "+7 (999) 123-45-67",
    ]:
        factories.lead(owner=admin, title=title)
    db.session.commit()
    text = logged_in.get("/export/leads.csv").text
    import csv

    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    titles = [row[1] for row in rows[1:]]
    for title in titles:
        assert (
            not title.startswith(("=", "+", "-", "@", "\t", "\r")) or title == "+7 (999) 123-45-67"
        ), titles


@pytest.mark.parametrize(
    "query",
    [
        "?stage=%00",
        "?stage=99999999999999999999",
        "?owner=x&owner=y",
        "?q=%ff%00",
        "?sort=%00",
        "?page=99999999999999999999",
    ],
)
def test_odd_export_queries_are_never_500(logged_in, query):
    assert logged_in.get("/export/leads.csv" + query).status_code < 500
    assert logged_in.get("/export/activities.csv" + query).status_code < 500


XSS = "<script>alert(1)</script>"


def test_import_pages_escape_the_file(logged_in, admin, stages):
    content = f"Title;{XSS}\n{XSS};{XSS}\n;\n".encode()
    response = upload(logged_in, content)
    assert response.status_code == 303
    columns_url = response.headers["Location"]
    assert XSS not in logged_in.get(columns_url).text
    job_id = columns_url.rstrip("/").split("/")[-2]
    logged_in.post(
        columns_url,
        data={"column_0": "title", "column_1": "email", "owner_id": str(admin.id)},
    )
    page = logged_in.get(f"/settings/import/{job_id}").text
    assert XSS not in page


def test_intake_admin_pages_escape_the_form(logged_in, intake_form):
    intake_form.name = XSS
    intake_form.source = XSS
    intake_form.redirect_url = 'https://x.example/"><script>alert(1)</script>'
    db.session.commit()
    assert XSS not in logged_in.get("/settings/intake-forms").text
    assert XSS not in logged_in.get(f"/settings/intake-forms/{intake_form.id}").text


def test_reimporting_the_same_file_makes_no_duplicates(logged_in, admin, stages):
    content = (
        b"Title;Email;Phone\nAcme;Boss@Acme.example;+7 999 123-45-67\nAcme 2;;8 (999) 765-43-21\n"
    )
    for _attempt in range(2):
        response = upload(logged_in, content)
        columns_url = response.headers["Location"]
        job_id = columns_url.rstrip("/").split("/")[-2]
        logged_in.post(
            columns_url,
            data={
                "column_0": "title",
                "column_1": "email",
                "column_2": "phone",
                "owner_id": str(admin.id),
            },
        )
        logged_in.post(f"/settings/import/{job_id}/import", data={})
    assert count(Lead) == 2


def test_the_api_lead_list_costs_the_same_for_more_leads(client, admin, stages):
    from tests.querycount import counting_queries

    headers = bearer(admin)
    for i in range(3):
        lead = factories.lead(owner=admin, title=f"L{i}")
        factories.activity(lead, author=admin)
    db.session.commit()
    # The first use notes the token's last use: a write of its own, not counted.
    client.get("/api/v1/stages", headers=headers)
    with counting_queries() as few:
        assert client.get("/api/v1/leads", headers=headers).status_code == 200
    for i in range(15):
        other = factories.user(email=f"u{i}@example.com")
        lead = factories.lead(owner=other, title=f"M{i}")
        factories.activity(lead, author=other)
    db.session.commit()
    with counting_queries() as many:
        assert client.get("/api/v1/leads", headers=headers).status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize(
    "extra",
    [
        {"won_value": "abc"},
        {"won_value": "1e999"},
        {"won_value": "99999999999999999999999"},
        {"won_value": "\x00"},
        {"won_value": "-5"},
        {"owner_id": "99999999999999999999"},
        {"owner_id": "x"},
        {"column_0": "bogus"},
        {"date_order": "x"},
        {"lost_reason_id": "\x00"},
    ],
)
def test_odd_mappings_are_never_500(logged_in, admin, stages, extra):
    response = upload(logged_in, b"Title;Status\nAcme;Strange\n")
    columns_url = response.headers["Location"]
    job_id = columns_url.rstrip("/").split("/")[-2]
    data = {"column_0": "title", "column_1": "status", "owner_id": str(admin.id)} | extra
    response = logged_in.post(columns_url, data=data)
    assert response.status_code < 500
    assert logged_in.get(f"/settings/import/{job_id}").status_code < 500
    for answer in ("x", "new:", "stage:99999999999999999999", "\x00"):
        response = logged_in.post(f"/settings/import/{job_id}/answers", data={"status_0": answer})
        assert response.status_code < 500
    assert (
        logged_in.post(f"/settings/import/{job_id}/import", data={"skip_errors": "y"}).status_code
        < 500
    )
    assert logged_in.get(f"/settings/import/{job_id}").status_code < 500


@pytest.mark.parametrize(
    "data",
    [
        {"name": "\x00", "reply": "page"},
        {"name": "A", "reply": "x"},
        {"name": "A", "reply": "redirect", "redirect_url": "https://x.example/\x00"},
        {"name": "A", "reply": "page", "allowed_origins": "https://[::1\nhttps://x:99999\n\x00"},
        {"name": "A", "reply": "page", "owner_id": "99999999999999999999"},
        {"name": "A", "reply": "page", "owner_id": "\x00"},
        {"name": "A" * 10000, "reply": "page"},
    ],
)
def test_odd_intake_settings_are_never_500(logged_in, intake_form, data):
    assert logged_in.post("/settings/intake-forms/new", data=data).status_code < 500
    assert logged_in.post(f"/settings/intake-forms/{intake_form.id}", data=data).status_code < 500


@pytest.mark.parametrize(
    "origin", ["null", "https://[::1", "https://x.example:99999", "\x00", "https://é.example"]
)
def test_odd_origins_are_never_500(client, intake_form, origin):
    intake_form.allowed_origins = "https://site.example"
    db.session.commit()
    response = client.post(
        f"/intake/{intake_form.token}", data={"name": "x"}, headers={"Origin": origin}
    )
    assert response.status_code < 500


def test_an_exported_file_imports_back_unchanged(logged_in, admin, stages, tmp_path):
    from crm.imports import engine, fields, reading

    factories.lead(owner=admin, title="=1+1", email="a@example.com", phone="+7 999 123-45-67")
    factories.lead(owner=admin, title="-Minus", contact_name="@Ann")
    db.session.commit()
    path = tmp_path / "leads.csv"
    path.write_bytes(logged_in.get("/export/leads.csv").data)
    layout = reading.inspect(path)
    guessed = fields.guess("leads", layout.headers)
    mapping = {key: index for index, key in enumerate(guessed) if key}
    settings = engine.Settings(
        kind="leads", mapping=mapping, actor_id=admin.id, zone="UTC", skip_errors=True
    )
    report = engine.run(path, layout, settings, apply=True, scratch=tmp_path / "scratch")
    db.session.commit()
    assert (report.created, report.updated) == (0, 0)
    titles = sorted(db.session.scalars(select(Lead.title)))
    assert titles == ["-Minus", "=1+1"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"title": "   "},
        {"title": "x" * 10000},
        {"phone": "x" * 1000},
        {"contact_name": "x" * 1000},
        {"source": "x" * 1000},
        {"next_step_note": "x" * 100000},
        {"next_step_at": None, "next_step_note": "x"},
        {"stage_id": 99999999999999999999},
        {"lost_reason_id": 1},
        {"stage_id": 1, "lost_reason_id": 99999},
        {"owner_id": 0},
        {"value": "-0"},
        {"value": "1" * 39},
    ],
)
def test_odd_updates_are_4xx_and_change_nothing(client, admin, stages, body):
    lead = factories.lead(owner=admin, title="Keep")
    db.session.commit()
    response = client.patch(f"/api/v1/leads/{lead.number}", json=body, headers=bearer(admin))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        db.session.expire_all()
        assert db.session.get(Lead, lead.id).title == "Keep"


def test_lost_stage_with_updates_is_atomic(client, admin, stages):
    lead = factories.lead(owner=admin, title="Keep")
    db.session.commit()
    lost = next(s for s in stages if s.kind == "lost")
    response = client.patch(
        f"/api/v1/leads/{lead.number}",
        json={"title": "Changed", "stage_id": lost.id},
        headers=bearer(admin),
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        db.session.expire_all()
        assert db.session.get(Lead, lead.id).title == "Keep"


def zipped(files):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04garbage",
        zipped({"hello.txt": "hi"}),
        zipped({"xl/workbook.xml": "<not xml"}),
        zipped({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}),
    ],
)
def test_odd_workbooks_are_never_500(logged_in, content):
    response = upload(logged_in, content, name="leads.xlsx")
    assert response.status_code < 500
    if response.status_code == 303:
        assert logged_in.get(response.headers["Location"]).status_code < 500


ODD_VALUES = [
    "1e999",
    "NaN",
    "Infinity",
    "١٢٣",
    "９９",
    "1 250 000,50,1",
    "99999999999999999999999999",
    "-0",
    "\x00",
    "1_000",
    "0x10",
    "²",
]
ODD_DATES = [
    "31.02.2026",
    "٢٧.١١.٢٠٢٦",
    "27.11.99999",
    "0000-00-00",
    "2026-11-27T14:30:00+99:00",
    "27.11.2026 25:61",
    "１/２/２０２６",
    "\x00",
    "9999-12-31 23:59",
]
ODD_NUMBERS = ["99999999999999999999", "-1", "0", "١", "1.5", "²", "1e3"]


@pytest.mark.parametrize(
    ("value", "date", "number"),
    [
        (v, d, n)
        for v, d, n in zip(ODD_VALUES, ODD_DATES + ODD_DATES, ODD_NUMBERS * 2, strict=False)
    ],
)
def test_odd_cells_are_row_errors_not_crashes(app, admin, stages, tmp_path, value, date, number):
    from crm import parsing
    from crm.imports import engine, fields, reading

    path = tmp_path / "odd.csv"
    path.write_text(f"Number;Title;Value;Created\n{number};Acme;{value};{date}\n", encoding="utf-8")
    layout = reading.inspect(path)
    guessed = fields.guess("leads", layout.headers)
    mapping = {key: index for index, key in enumerate(guessed) if key}
    assert len(mapping) == 4, guessed
    settings = engine.Settings(
        kind="leads",
        mapping=mapping,
        actor_id=admin.id,
        zone="UTC",
        skip_errors=True,
        date_order=parsing.DAY_FIRST,
    )
    engine.run(path, layout, settings, apply=True, scratch=tmp_path / "scratch")
    db.session.commit()
    activities = tmp_path / "acts.csv"
    activities.write_text(
        f"Lead number;Date;Content\n{number};{date};x\n1;{date};{value}\n", encoding="utf-8"
    )
    layout = reading.inspect(activities)
    guessed = fields.guess("activities", layout.headers)
    mapping = {key: index for index, key in enumerate(guessed) if key}
    settings = engine.Settings(
        kind="activities",
        mapping=mapping,
        actor_id=admin.id,
        zone="UTC",
        skip_errors=True,
        date_order=parsing.DAY_FIRST,
    )
    engine.run(activities, layout, settings, apply=True, scratch=tmp_path / "scratch2")
    db.session.commit()


def test_the_questions_escape_unknown_statuses(logged_in, admin, stages):
    from crm import parsing

    response = upload(logged_in, f"Title;Status;Created\nAcme;{XSS};01/02/2026\n".encode())
    columns_url = response.headers["Location"]
    job_id = columns_url.rstrip("/").split("/")[-2]
    logged_in.post(
        columns_url,
        data={
            "column_0": "title",
            "column_1": "status",
            "column_2": "created_at",
            "owner_id": str(admin.id),
            "date_order": parsing.DAY_FIRST,
        },
    )
    page = logged_in.get(f"/settings/import/{job_id}").text
    assert "alert(1)" in page
    assert XSS not in page


@pytest.mark.parametrize("form_id", ["99999999999999999999", "2147483648", "0"])
def test_huge_intake_form_ids_are_404(logged_in, form_id):
    assert logged_in.get(f"/settings/intake-forms/{form_id}").status_code == 404
    assert (
        logged_in.post(f"/settings/intake-forms/{form_id}", data={"name": "x"}).status_code == 404
    )
    assert logged_in.post(f"/settings/intake-forms/{form_id}/address").status_code == 404


@pytest.mark.parametrize("number", ["99999999999999999999", "2147483648", "0"])
def test_huge_lead_numbers_are_404(client, admin, number):
    headers = bearer(admin)
    assert client.get(f"/api/v1/leads/{number}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/leads/{number}", json={}, headers=headers).status_code == 404
    assert client.post(f"/api/v1/leads/{number}/archive", headers=headers).status_code == 404
    assert client.get(f"/api/v1/leads/{number}/activities", headers=headers).status_code == 404


def test_the_upload_name_is_escaped(logged_in, admin, stages):
    response = upload(logged_in, b"Title\nAcme\n", name=f"../../{XSS}.csv")
    assert response.status_code == 303
    assert XSS not in logged_in.get(response.headers["Location"]).text
    assert XSS not in logged_in.get("/settings/import/").text
