"""Fixtures in the flaskr style: app, client, hx, runner, auth; on SQLite and PostgreSQL."""

import os

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.analytics import cache as analytics_cache
from crm.extensions import db
from tests import factories

POSTGRES_URL = os.environ.get("CRM_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def ensure_database(url):
    """Create the PostgreSQL database named in `url` when it does not exist yet."""
    url = make_url(url)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        found = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
        if not found:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    server.dispose()


@pytest.fixture(scope="session")
def postgres_schema():
    """Build the schema once per run on a clean PostgreSQL database."""
    ensure_database(POSTGRES_URL)
    app = create_app({"TESTING": True, "DATABASE_URL": POSTGRES_URL, "SECRET_KEY": "test"})
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        db.engine.dispose()
    return POSTGRES_URL


def empty_postgres():
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    # A transaction a test left open would make TRUNCATE wait for ever: fail instead.
    db.session.execute(text("SET LOCAL lock_timeout = '10s'"))
    db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


def database_url(backend, request, tmp_path):
    if backend == "postgresql":
        return request.getfixturevalue("postgres_schema")
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


class RequestIsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    The test itself holds an app context for its database work; without this, requests would
    share its `g` and database session. Pending test data is committed first, which also ends
    the test's read transaction so it sees what the request wrote.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path, monkeypatch):
    backend = request.param
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret key",
            "DATABASE_URL": database_url(backend, request, tmp_path),
            "WTF_CSRF_ENABLED": False,
            # Hashing as slowly as in production would only slow the suite down.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    app.test_client_class = RequestIsolatedClient
    # Kept reports are keyed on the data version, which starts afresh in every test database.
    analytics_cache.forget_all()
    with app.app_context():
        if backend == "sqlite":
            db.create_all()
        yield app
        db.session.remove()
        if backend == "postgresql":
            empty_postgres()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def hx(app):
    """A client that sends what htmx 4 sends for a partial swap."""
    client = app.test_client()
    client.environ_base.update({"HTTP_HX_REQUEST": "true", "HTTP_HX_REQUEST_TYPE": "partial"})
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email, password=factories.PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def stages(app):
    return factories.funnel()


@pytest.fixture
def admin(app, stages):
    return factories.admin(name="Ada Admin", email="ada@example.com")


@pytest.fixture
def logged_in(client, auth, admin):
    """A client logged in as the administrator."""
    auth.login(admin.email)
    return client
