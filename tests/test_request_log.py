"""One logfmt line per request: method, path, status, timing, user, address and request id."""

import logging
import re
import shlex

import pytest

from crm import create_app, request_log
from crm.extensions import db
from tests import factories
from tests.querycount import counting_queries

pytestmark = pytest.mark.sqlite_only

REQUEST_ID = re.compile(r"[0-9a-f]{8}")


def request_lines(caplog, level=logging.INFO):
    """Each request line logged at `level`, as a dict of its fields."""
    return [
        dict(field.partition("=")[::2] for field in shlex.split(record.getMessage()))
        for record in caplog.records
        if record.name == "crm.requests" and record.levelno == level
    ]


def test_a_page_logs_one_line_with_its_timing_user_and_id(logged_in, admin, caplog):
    caplog.set_level(logging.INFO, logger="crm.requests")
    response = logged_in.get("/leads/?q=Ivanov+79161234567")

    [line] = request_lines(caplog)
    assert line["method"] == "GET"
    assert line["path"] == "/leads/"  # a search holds names and phone numbers: left out
    assert line["status"] == "200"
    assert float(line["duration_ms"]) > 0
    assert line["user"] == str(admin.id)
    assert line["remote"] == "127.0.0.1"
    assert REQUEST_ID.fullmatch(line["request_id"])
    assert response.headers["X-Request-ID"] == line["request_id"]
    assert "Ivanov" not in caplog.text


def test_each_request_gets_its_own_id(client, admin, caplog):
    caplog.set_level(logging.INFO, logger="crm.requests")
    client.get("/login")
    client.get("/login")
    first, second = request_lines(caplog)
    assert first["user"] == second["user"] == "-"
    assert first["request_id"] != second["request_id"]


def test_a_refused_form_is_logged_too(app, admin, caplog):
    """The CSRF check runs before any other hook; its refusal still gets a line."""
    app.config["WTF_CSRF_ENABLED"] = True
    caplog.set_level(logging.INFO, logger="crm.requests")
    app.test_client().post("/login", data={"email": admin.email, "password": "x"})
    [line] = request_lines(caplog)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/login", "400")


def test_static_files_are_not_logged(client, caplog):
    caplog.set_level(logging.DEBUG, logger="crm.requests")
    with client.get("/static/favicon.svg") as response:
        assert response.status_code == 200
    assert request_lines(caplog, logging.INFO) == request_lines(caplog, logging.DEBUG) == []


def test_health_checks_log_only_at_debug(client, caplog):
    """A proxy asking every few seconds would otherwise fill the log."""
    caplog.set_level(logging.INFO, logger="crm.requests")
    client.get("/healthz")
    assert request_lines(caplog) == []

    caplog.set_level(logging.DEBUG, logger="crm.requests")
    client.get("/healthz")
    [line] = request_lines(caplog, logging.DEBUG)
    assert (line["path"], line["status"]) == ("/healthz", "200")


def test_health_check_needs_no_login_and_reads_no_data(client, admin):
    """What a proxy polls: no cookie, so not even the user is looked up."""
    with counting_queries() as statements:
        response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")
    assert statements == []


def test_a_secret_in_the_address_is_not_logged(client, caplog):
    caplog.set_level(logging.INFO, logger="crm.requests")
    token = "s3cr3t-calendar-key-0123456789abcdef"
    client.get(f"/agenda/calendar/{token}.ics")
    client.post(f"/intake/{token}", data={"name": "Ann"})
    paths = [line["path"] for line in request_lines(caplog)]
    assert paths == ["/agenda/calendar/***.ics", "/intake/***"]
    assert token not in caplog.text


def test_odd_characters_in_a_path_cannot_forge_a_field(client, caplog):
    caplog.set_level(logging.INFO, logger="crm.requests")
    client.get("/no such%0Apage status=200")
    [record] = [r for r in caplog.records if r.name == "crm.requests"]
    assert "\n" not in record.getMessage()
    [line] = request_lines(caplog)
    assert line["path"] == "/no such\\npage status=200"
    assert line["status"] == "404"


def test_logging_costs_no_query(logged_in, caplog):
    """The user in the line is the one the request loaded anyway."""
    counts = []
    for level in (logging.CRITICAL, logging.INFO):
        caplog.set_level(level, logger="crm.requests")
        with counting_queries() as statements:
            logged_in.get("/healthz")
            logged_in.get("/leads/")
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert len(request_lines(caplog)) == 1


def test_behind_a_proxy_the_clients_address_is_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'proxied.sqlite3'}",
            "PROXY_COUNT": 1,
        }
    )
    with app.app_context():
        db.create_all()
        factories.admin()
        db.session.commit()
        caplog.set_level(logging.INFO, logger="crm.requests")
        app.test_client().get("/login", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
        db.session.remove()
        db.engine.dispose()
    [line] = request_lines(caplog)
    # One trusted proxy: the address it saw, not what the client claimed before it.
    assert line["remote"] == "203.0.113.9"


@pytest.mark.parametrize(
    ("value", "written"),
    [("/leads/", "/leads/"), ("", '""'), (None, "-"), ('a "b"', '"a \\"b\\""')],
)
def test_values_are_quoted_only_when_they_must_be(value, written):
    assert request_log.logfmt_value(value) == written
