"""Friendly error pages, and small fragments for htmx requests."""

import logging
import shutil

import pytest
from sqlalchemy import func, select, text

from crm import htmx
from crm.extensions import db
from crm.models import Lead
from tests import factories

pytestmark = pytest.mark.sqlite_only


def test_404_is_a_friendly_page(logged_in):
    response = logged_in.get("/no/such/page")
    assert response.status_code == 404
    assert "<html" in response.text
    assert "Page not found" in response.text
    assert 'href="/agenda/"' in response.text


def test_404_for_htmx_is_a_message_for_the_message_area(hx, admin):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    response = hx.get("/no/such/page")
    assert response.status_code == 404
    assert "<html" not in response.text
    assert "There is nothing at this address." in response.text
    assert response.headers["HX-Retarget"] == "#messages"
    assert "HX-Request" in response.headers["Vary"]


def test_405_is_friendly(client, admin):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "<html" in response.text


@pytest.mark.own_app
def test_500_rolls_back_and_shows_a_calm_page(app, stages):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    owner = factories.admin()

    def half_done():
        db.session.add(Lead(number=999, title="Half-saved", stage_id=stages[0].id))
        db.session.flush()
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", half_done)
    client = app.test_client()
    client.post("/login", data={"email": owner.email, "password": factories.PASSWORD})

    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "nothing was saved" in response.text
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0

    response = client.get("/boom", headers={"HX-Request": "true"})
    assert response.status_code == 500
    assert "<html" not in response.text


@pytest.mark.own_app
def test_render_gives_the_partial_to_htmx_and_the_page_otherwise(app, admin):
    app.add_url_rule(
        "/both",
        "both",
        lambda: htmx.render(
            "errors/error.html", "errors/_message.html", title="T", message="Hello", status=200
        ),
    )
    page = app.test_client().get("/both")
    fragment = app.test_client().get("/both", headers={"HX-Request": "true"})
    boosted = app.test_client().get(
        "/both", headers={"HX-Request": "true", "HX-Request-Type": "full"}
    )
    assert "<html" in page.text
    assert "<html" not in fragment.text and "Hello" in fragment.text
    assert "<html" in boosted.text
    for response in (page, fragment, boosted):
        assert "HX-Request" in response.headers["Vary"]


@pytest.mark.own_app
def test_redirect_to_uses_hx_redirect_for_htmx(app, admin):
    app.add_url_rule("/away", "away", lambda: htmx.redirect_to("/login"))
    plain = app.test_client().get("/away")
    assert (plain.status_code, plain.location) == (303, "/login")
    swapped = app.test_client().get("/away", headers={"HX-Request": "true"})
    assert swapped.status_code == 204
    assert swapped.headers["HX-Redirect"] == "/login"


def test_htmx_request_after_logout_reloads_to_the_login_page(hx, admin):
    response = hx.get("/settings/")
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def failing_page(app):
    """A logged-in client and a page that fails with an unexpected error."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def fails():
        raise RuntimeError("the printer is on fire")

    app.add_url_rule("/fails", "fails", fails)
    owner = factories.admin()
    client = app.test_client()
    client.post("/login", data={"email": owner.email, "password": factories.PASSWORD})
    return client


def logged_error(caplog):
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    return record


@pytest.mark.own_app
def test_500_page_shows_the_reference_of_the_logged_traceback(app, stages, caplog):
    client = failing_page(app)
    caplog.clear()
    response = client.get("/fails")

    assert response.status_code == 500
    reference = response.headers["X-Request-ID"]
    assert f"Error reference: {reference}" in response.text
    record = logged_error(caplog)
    assert reference in record.getMessage()
    assert "RuntimeError: the printer is on fire" in caplog.text  # the traceback
    [line] = [r.getMessage() for r in caplog.records if r.name == "crm.requests"]
    assert f"request_id={reference}" in line and "status=500" in line


@pytest.mark.own_app
def test_500_for_htmx_shows_the_reference_in_the_message(app, stages, caplog):
    client = failing_page(app)
    caplog.clear()
    response = client.get("/fails", headers={"HX-Request": "true"})
    assert response.status_code == 500
    assert "<html" not in response.text
    reference = response.headers["X-Request-ID"]
    assert f"Error reference: {reference}" in response.text
    assert reference in logged_error(caplog).getMessage()


def test_expected_errors_show_no_reference(logged_in):
    response = logged_in.get("/no/such/page")
    assert response.status_code == 404
    assert "Error reference" not in response.text


@pytest.mark.own_app
def test_a_full_disk_says_so_and_saves_nothing(app, stages, caplog):
    """SQLite refuses to grow past `max_page_count` as it does on a full disk (SQLITE_FULL)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    owner = factories.admin()

    def fill_the_disk():
        pages = db.session.execute(text("PRAGMA page_count")).scalar()
        db.session.execute(text(f"PRAGMA max_page_count = {pages}"))
        for n in range(200):
            db.session.add(Lead(number=1000 + n, title="x" * 2000, stage_id=stages[0].id))
        db.session.flush()
        return "saved"

    app.add_url_rule("/fill", "fill", fill_the_disk)
    client = app.test_client()
    client.post("/login", data={"email": owner.email, "password": factories.PASSWORD})
    with caplog.at_level(logging.ERROR):
        response = client.get("/fill")
    assert response.status_code == 503
    assert "disk is full; nothing was saved. Tell your administrator." in response.text
    assert "The disk is full" in caplog.text and "MB free" in caplog.text
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_healthz_says_degraded_when_the_disk_is_nearly_full(client, monkeypatch):
    assert client.get("/healthz").text == "ok"
    nearly_full = shutil._ntuple_diskusage(total=100_000, used=97_000, free=3_000)
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: nearly_full)
    assert client.get("/healthz").text == "degraded: 3.0% of the disk free"
