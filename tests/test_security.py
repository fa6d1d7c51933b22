"""CSRF, security headers, cookies and the secret key."""

import os
import stat

import pytest

from crm import create_app
from tests import factories

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def csrf_token_from(page):
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def test_form_post_without_csrf_token_gets_a_friendly_page(csrf_app, admin):
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "<html" in response.text
    assert "Reload the page and try again." in response.text


def test_htmx_post_without_csrf_token_gets_a_message_fragment(csrf_app, admin):
    client = csrf_app.test_client()
    response = client.post("/language", data={"language": "ru"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "<html" not in response.text
    assert "Reload the page" in response.text
    assert response.headers["HX-Retarget"] == "#messages"


def test_form_post_with_token_from_the_page_passes(csrf_app, admin):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/login"))
    response = client.post(
        "/login",
        data={"email": admin.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303


def test_htmx_post_with_header_token_passes(csrf_app, admin):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/login"))
    response = client.post(
        "/language",
        data={"language": "ru"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 303


def test_security_headers_on_every_response(client, admin):
    for path in ("/login", "/static/css/app.css", "/nowhere", "/healthz"):
        response = client.get(path)
        response.close()
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers


def test_pages_have_no_inline_scripts(logged_in):
    page = logged_in.get("/settings/users").text
    assert "<script>" not in page
    assert "onclick=" not in page


def test_session_cookie_is_httponly_and_samesite(client, auth, admin):
    response = auth.login(admin.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_https_mode_adds_hsts_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CRM_HTTPS", "1")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_upload_size_is_limited(app):
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 64 * 1024 * 1024


def test_secret_key_is_generated_once_with_private_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    first = create_app({"DATABASE_URL": "sqlite://"})
    second = create_app({"DATABASE_URL": "sqlite://"})
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert key_file.read_text().strip() == first.config["SECRET_KEY"]


def test_configuration_layers(tmp_path, monkeypatch):
    """Defaults, then instance/config.py, then CRM_* variables."""
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from file'\nPASSWORD_MIN_LENGTH = 12\nLOGIN_MAX_FAILURES = 5\n"
    )
    monkeypatch.setenv("CRM_LOGIN_MAX_FAILURES", "7")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from file"
    assert app.config["PASSWORD_MIN_LENGTH"] == 12
    assert app.config["LOGIN_MAX_FAILURES"] == 7
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    assert not (tmp_path / "secret_key").exists()


def test_database_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql+psycopg://crm@db.internal/crm")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://crm@db.internal/crm"
