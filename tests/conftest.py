"""Fixtures in the flaskr style: app, client, hx, runner, auth; on SQLite and PostgreSQL."""

import copy
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import has_app_context, session
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app, custom_fields, kept_settings, security
from crm.analytics import cache as analytics_cache
from crm.auth import two_step
from crm.extensions import db
from tests import factories


def per_worker(url):
    """The database of this pytest-xdist worker: `crm_test_gw0` for `crm_test` and so on, so
    that workers running at the same time never share one (without xdist, the name as given)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url:
        # Unset or empty (as `make test-fast` sets it): SQLite alone.
        return None
    if not worker:
        return url
    url = make_url(url)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = per_worker(os.environ.get("CRM_TEST_DATABASE_URL"))
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
# Memory-backed, where the system has it: every commit's fsync on a real disk adds up over
# thousands of tests, and what the tests check does not depend on the data reaching a disk.
MEMORY_DIR = "/dev/shm"  # noqa: S108 (private folders of each worker and test in it)
# A test that left more rows than this in a table gets it truncated rather than deleted from,
# so later tests do not scan its dead rows.
MANY_ROWS = 1000


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """A test marked `sqlite_only` gets the `app` fixture on SQLite alone: its PostgreSQL
    variant is never made, rather than made and skipped. A parametrize mark on a fixture's
    name takes the place of the fixture's own params."""
    if "app" in metafunc.fixturenames and metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.definition.add_marker(pytest.mark.parametrize("app", ["sqlite"], indirect=True))
    # A test of PostgreSQL's own behaviour is made on PostgreSQL alone (when one is set up).
    if "app" in metafunc.fixturenames and metafunc.definition.get_closest_marker("postgresql_only"):
        backends = [backend for backend in BACKENDS if backend == "postgresql"]
        metafunc.definition.add_marker(pytest.mark.parametrize("app", backends, indirect=True))


# Hypothesis. A test on the `app` fixture tries this share of its examples on PostgreSQL, which
# runs the same code as SQLite with every example slower. In CI (CI=true) Hypothesis runs its
# built-in "ci" profile: the same examples every run, no deadline.
EXAMPLES_ON_POSTGRESQL = 1 / 4


def fewer_on_postgresql(settings_, given_):
    """`@settings_ @given_` on SQLite, and on PostgreSQL with a quarter of the examples.

    Hypothesis fixes a test's settings when it is decorated, so the test is decorated twice
    and the PostgreSQL items run the second (see pytest_collection_modifyitems). Explicit
    examples are never counted, and the tests that type each fixed payload of
    tests/hostile_inputs.py in turn run in full on both databases.
    """

    def decorate(test):
        on_sqlite = settings_(given_(test))
        examples = math.ceil(settings_.max_examples * EXAMPLES_ON_POSTGRESQL)
        on_sqlite.on_postgresql = settings(settings_, max_examples=examples)(given_(test))
        return on_sqlite

    return decorate


def pytest_collection_modifyitems(items):
    """The PostgreSQL items of a `fewer_on_postgresql` test run its PostgreSQL decoration."""
    for item in items:
        on_postgresql = getattr(item.obj, "on_postgresql", None)
        callspec = getattr(item, "callspec", None)
        if on_postgresql and callspec and callspec.params.get("app") == "postgresql":
            item.obj = on_postgresql


# How many hostile inputs each module tried (tests/hostile_inputs.py), in this process.
HOSTILE_INPUTS_TRIED = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[HOSTILE_INPUTS_TRIED] = {}


def pytest_sessionfinish(session):
    """A pytest-xdist worker sends its counts to the main process."""
    config = session.config
    if hasattr(config, "workeroutput"):
        config.workeroutput["hostile_inputs_tried"] = config.stash[HOSTILE_INPUTS_TRIED]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """In the main process: add up what each worker counted, module by module."""
    tried = node.config.stash[HOSTILE_INPUTS_TRIED]
    for module, count in node.workeroutput.get("hostile_inputs_tried", {}).items():
        tried[module] = tried.get(module, 0) + count


def pytest_terminal_summary(terminalreporter, config):
    for module, count in sorted(config.stash[HOSTILE_INPUTS_TRIED].items()):
        terminalreporter.write_line(f"{module}: {count} hostile inputs tried")


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
def postgres_schema(tmp_path_factory):
    """Build the schema once per worker on its clean PostgreSQL database."""
    ensure_database(POSTGRES_URL)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_INSTANCE_PATH", str(tmp_path_factory.mktemp("postgres_schema")))
        app = create_app({"TESTING": True, "DATABASE_URL": POSTGRES_URL, "SECRET_KEY": "test"})
    with app.app_context():
        with db.engine.begin() as conn:
            # A commit need not wait for the disk: no test checks what survives a crash of
            # PostgreSQL itself, and every test commits many times.
            name = make_url(POSTGRES_URL).database
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        with db.engine.begin() as conn:
            conn.execute(text(EMPTY_TABLES_FUNCTION))
        db.engine.dispose()
    return POSTGRES_URL


# Empties the test database in one round trip, as `empty_postgres` says; made once per worker.
EMPTY_TABLES_FUNCTION = """
CREATE FUNCTION empty_test_tables(tables text[], many integer) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    name text;
    found integer;
    filled text[] := '{}';
    crowded text[] := '{}';
    sequence text;
BEGIN
    FOREACH name IN ARRAY tables LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I LIMIT %s) AS sample', name, many + 1)
            INTO found;
        IF found > 0 THEN filled := filled || name; END IF;
        IF found > many THEN crowded := crowded || name; END IF;
    END LOOP;
    IF cardinality(crowded) > 0 THEN
        EXECUTE 'TRUNCATE ' || (SELECT string_agg(format('%I', t), ', ') FROM unnest(crowded) t)
            || ' RESTART IDENTITY CASCADE';
    END IF;
    FOREACH name IN ARRAY filled LOOP
        IF NOT name = ANY (crowded) THEN EXECUTE format('DELETE FROM %I', name); END IF;
    END LOOP;
    FOR sequence IN
        SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences
        WHERE schemaname = current_schema() AND last_value IS NOT NULL
    LOOP
        EXECUTE 'ALTER SEQUENCE ' || sequence || ' RESTART';
    END LOOP;
    RETURN filled;
END
$$
"""


def empty_postgres():
    """Leave every table empty and every id starting at 1 again, as in a new database.

    Only the tables the test filled are emptied, and with DELETE: TRUNCATE makes new files for
    every table it names and waits for autovacuum, which costs far more than the few rows a
    test leaves. A table with many rows is truncated, so its dead rows do not slow later tests.
    The sequences that handed out an id, even for a row rolled back since, start again. All of
    it runs in the server (EMPTY_TABLES_FUNCTION), not a statement per table from here.
    """
    # A transaction a test left open would make the emptying wait for ever: fail instead.
    db.session.execute(text("SET LOCAL lock_timeout = '10s'"))
    # Children before parents, so no foreign key is ever left dangling.
    tables = [table.name for table in reversed(db.metadata.sorted_tables)]
    filled = db.session.scalar(
        text("SELECT empty_test_tables(:tables, :many)"), {"tables": tables, "many": MANY_ROWS}
    )
    if "custom_fields" in filled:
        # The indexes of the fields the test made go with them.
        custom_fields.drop_indexes(db.session.connection())
    db.session.commit()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory):
    """A SQLite file with the schema built once per worker; each test starts from a copy of it.

    Copying a file is far cheaper than building the tables, indexes, search index and
    triggers again for every test, and the copy is byte for byte what `create_all` made.
    """
    folder = tmp_path_factory.mktemp("sqlite_schema")
    path = folder / "schema.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_INSTANCE_PATH", str(folder / "instance"))
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "x"})
    with app.app_context():
        db.create_all()
        # Closing the last connection moves everything into the file and removes the WAL.
        db.engine.dispose()
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(path.name + "-")]
    assert not leftovers, f"the schema is not all in {path.name}: {leftovers}"
    return path


@contextmanager
def memory_folder(fallback):
    """A private folder in memory when the system offers it, else `fallback`."""
    if not os.access(MEMORY_DIR, os.W_OK):
        yield fallback
        return
    folder = Path(tempfile.mkdtemp(prefix="crm-test-", dir=MEMORY_DIR))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def copy_sqlite_schema(request, path):
    """Make `path` a fresh copy of the schema, with no write-ahead log of an earlier copy."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(request.getfixturevalue("sqlite_schema"), path)


def database_url(backend, request, folder):
    """The test database of `backend`: on SQLite a copy of the schema in `folder`."""
    if backend == "postgresql":
        return request.getfixturevalue("postgres_schema")
    path = folder / "test.sqlite3"
    copy_sqlite_schema(request, path)
    return f"sqlite:///{path}"


@contextmanager
def own_database(backend, tmp_path, suffix):
    """The URL of an empty database of a test's own: a SQLite file, or on PostgreSQL a sibling
    of the test database (named with `suffix`), which the other tests keep using."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / (suffix + '.sqlite3')}"
        return
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_{suffix}"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


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


def make_app(url, instance):
    """The app as the tests run it: on `url`, with its instance folder, CSRF off."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_INSTANCE_PATH", str(instance))
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test secret key",
                "DATABASE_URL": url,
                "WTF_CSRF_ENABLED": False,
                # Hashing as slowly as in production would only slow the suite down.
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                # Tests write through the database as often as through the pages, and then
                # read the reports: those show every write (test_analytics says how they lag).
                "REPORTS_MAY_LAG_SECONDS": 0,
            }
        )
    app.test_client_class = RequestIsolatedClient
    return app


class SharedApp:
    """One app per database for all the tests of a worker, put back as it was after each.

    Making an app compiles a URL builder for each of its routes, most of what `create_app`
    costs, and each template again when first rendered; thousands of tests use one. What a
    test may change is put back: the configuration, what the app keeps in `app.extensions`
    (whether setup is done) and its instance folder; its database starts from the schema as
    for an app of its own. A test that changes what the app is made of (its routes) is marked
    `own_app` and gets an app to itself.
    """

    def __init__(self, backend, request, folder):
        self.backend = backend
        self.folder = folder
        self.instance = folder / "instance"
        self.app = make_app(database_url(backend, request, folder), self.instance)
        self.config = copy.deepcopy(dict(self.app.config))
        self.extensions = set(self.app.extensions)

    def start(self, request):
        """Ready for the next test: an empty instance folder and, on SQLite, a fresh database
        (PostgreSQL is emptied after each test)."""
        shutil.rmtree(self.instance, ignore_errors=True)
        self.instance.mkdir()
        if self.backend == "sqlite":
            copy_sqlite_schema(request, self.folder / "test.sqlite3")

    def restore(self):
        """Back to the configuration and extensions the app was made with."""
        self.app.config.clear()
        self.app.config.update(copy.deepcopy(self.config))
        for name in set(self.app.extensions) - self.extensions:
            del self.app.extensions[name]


@pytest.fixture(scope="session")
def shared_apps(tmp_path_factory):
    """{backend: its SharedApp}, each made when a test first needs it."""
    with memory_folder(tmp_path_factory.mktemp("shared")) as folder:
        apps = {}
        yield folder, apps
        for shared in apps.values():
            with shared.app.app_context():
                db.engine.dispose()


@pytest.fixture
def own_folder(tmp_path):
    """Where an app of a test's own keeps its SQLite file: in memory when the system offers it."""
    with memory_folder(tmp_path) as folder:
        yield folder


def shared_app(backend, request):
    folder, apps = request.getfixturevalue("shared_apps")
    if backend not in apps:
        (folder / backend).mkdir()
        apps[backend] = SharedApp(backend, request, folder / backend)
    shared = apps[backend]
    shared.start(request)
    return shared


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path, monkeypatch):
    backend = request.param
    if request.node.get_closest_marker("own_app"):
        shared, instance = None, tmp_path / "instance"
        url = database_url(backend, request, request.getfixturevalue("own_folder"))
        app = make_app(url, instance)
    else:
        shared = shared_app(backend, request)
        app, instance = shared.app, shared.instance
    # For the apps a test makes itself, as for this one.
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(instance))
    # Kept reports are keyed on the data version, which starts afresh in every test database.
    analytics_cache.forget_all()
    # So are the pick lists each worker keeps, on the settings' version.
    kept_settings.forget(app)
    try:
        with app.app_context():
            yield app
            db.session.remove()
            if backend == "postgresql":
                empty_postgres()
            # The SQLite file is replaced for the next test. A shared app keeps its PostgreSQL
            # connections: a new one costs the server a dozen milliseconds before its first row.
            if backend == "sqlite" or not shared:
                db.engine.dispose()
    finally:
        if shared:
            shared.restore()


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


def signed_in(client, user):
    """`client` signed in as `user`, with what the login page leaves in the session written
    into it directly: a sign-in through the page is a request and a password check in each of
    the thousand tests that start signed in (the page itself is tested in test_auth)."""
    app = client.application
    db.session.commit()
    # A context of its own, so the test's `g` does not take the signed-in user with it.
    with app.app_context(), app.test_request_context(environ_base=client.environ_base):
        # As the login page would have found, so the first request counted asks no more.
        security.setup_done()
        security.rotate_session()
        security.log_in(db.session.merge(user, load=False))
        two_step.note_set_up_first(user)
        written = dict(session)
    with client.session_transaction() as kept:
        kept.clear()
        kept.update(written)
    return client


@pytest.fixture
def logged_in(client, admin):
    """A client logged in as the administrator."""
    return signed_in(client, admin)
