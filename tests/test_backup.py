"""`flask --app crm backup` and `restore`: consistent, verified copies of a live SQLite database."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from crm import create_app
from crm.backup import BackupError, check_database, make_backup, restore_backup
from crm.extensions import db
from crm.models import AppSetting
from tests import factories
from tests.conftest import RequestIsolatedClient


@pytest.fixture
def app(tmp_path, monkeypatch):
    """A SQLite app with our schema (alembic_version included, as after `flask db upgrade`)."""
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    app.test_client_class = RequestIsolatedClient
    with app.app_context():
        db.create_all()
        db.session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        db.session.execute(text("INSERT INTO alembic_version VALUES ('head')"))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live(tmp_path):
    return tmp_path / "live.sqlite3"


def put(key, value):
    db.session.add(AppSetting(key=key, value=value))
    db.session.commit()


def settings_in(path):
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT key, value FROM app_settings").fetchall())
    finally:
        conn.close()


def test_backup_is_consistent_during_an_open_write_transaction(app, runner, live, tmp_path):
    put("committed", "yes")
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO app_settings (key, value) VALUES ('uncommitted', 'no')")
    try:
        result = runner.invoke(args=["backup", str(tmp_path / "copies")])
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert result.exit_code == 0, result.output
    assert "integrity check: ok" in result.output
    (copy,) = (tmp_path / "copies").iterdir()
    assert copy.name.startswith("crm-") and copy.name.endswith(".sqlite3")
    check_database(copy, schema=True)
    assert settings_in(copy) == {"committed": "yes"}
    # One self-contained file: no WAL left beside it.
    assert sorted(p.name for p in (tmp_path / "copies").iterdir()) == [copy.name]


def test_backup_defaults_to_the_instance_folder(app, runner):
    put("a", "1")
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    (copy,) = (Path(app.instance_path) / "backups").iterdir()
    assert settings_in(copy) == {"a": "1"}


def test_backup_to_a_file(app, runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "mine.sqlite3")])
    assert result.exit_code == 0, result.output
    check_database(tmp_path / "mine.sqlite3", schema=True)
    again = runner.invoke(args=["backup", str(tmp_path / "mine.sqlite3")])
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_keeps_the_newest_n_and_leaves_other_files_alone(app, live, tmp_path):
    folder = tmp_path / "copies"
    folder.mkdir()
    foreign = [folder / "notes.txt", folder / "crm-important.sqlite3", folder / "other.sqlite3"]
    for path in foreign:
        path.write_text("mine")
    made = []
    for day in range(1, 6):
        target, _removed = make_backup(live, folder, keep=3, now=datetime(2026, 1, day, tzinfo=UTC))
        made.append(target)
    backups = sorted(p for p in folder.iterdir() if p not in foreign)
    assert backups == made[-3:]
    assert all(path.read_text() == "mine" for path in foreign)
    # Two in the same second do not overwrite each other, and the later one counts as newer.
    same = datetime(2026, 1, 9, tzinfo=UTC)
    first, _ = make_backup(live, folder, keep=2, now=same)
    second, removed = make_backup(live, folder, keep=2, now=same)
    assert first != second
    assert sorted(p for p in folder.iterdir() if p not in foreign) == sorted([first, second])
    assert made[-1] in removed


def test_keep_via_the_command(app, runner, tmp_path):
    folder = tmp_path / "copies"
    for _ in range(3):
        assert runner.invoke(args=["backup", str(folder), "--keep", "1"]).exit_code == 0
    assert len(list(folder.iterdir())) == 1


def test_a_copy_failing_the_integrity_check_is_refused(app, live, tmp_path, monkeypatch):
    from crm import backup

    def corrupt_check(path, *, schema=False):
        raise BackupError(f"{path} fails the integrity check: page 2 is never used")

    monkeypatch.setattr(backup, "check_database", corrupt_check)
    folder = tmp_path / "copies"
    with pytest.raises(BackupError, match="integrity check"):
        make_backup(live, folder)
    assert list(folder.iterdir()) == []


def test_check_database_finds_real_corruption(app, live, tmp_path):
    put("key", "x" * 5000)
    target, _ = make_backup(live, tmp_path / "copy.sqlite3")
    data = bytearray(target.read_bytes())
    page = 4096
    for offset in range(page * 2, len(data), 37):
        data[offset] = 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(BackupError):
        check_database(target)


def test_restore_round_trip(app, runner, live, tmp_path):
    put("before", "1")
    copy = tmp_path / "copy.sqlite3"
    assert runner.invoke(args=["backup", str(copy)]).exit_code == 0
    put("after", "2")

    result = runner.invoke(args=["restore", str(copy), "--yes"])
    assert result.exit_code == 0, result.output
    assert set(db.session.scalars(db.select(AppSetting.key))) == {"before"}
    (safety,) = tmp_path.glob("crm-before-restore-*.sqlite3")
    assert settings_in(safety) == {"before": "1", "after": "2"}
    # The live database still works as the app's: WAL, writable.
    put("later", "3")
    assert settings_in(live)["later"] == "3"
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_restore_function_makes_the_safety_copy_first(app, live, tmp_path):
    put("x", "1")
    copy, _ = make_backup(live, tmp_path / "copy.sqlite3")
    put("y", "2")
    db.session.remove()
    safety = restore_backup(live, copy)
    assert settings_in(safety) == {"x": "1", "y": "2"}
    assert settings_in(live) == {"x": "1"}


def test_restore_refuses_a_file_that_is_not_sqlite(app, runner, live, tmp_path):
    put("keep", "me")
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_text("not a database at all")
    result = runner.invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0
    assert "not a SQLite database" in result.output
    assert settings_in(live) == {"keep": "me"}
    assert not list(tmp_path.glob("crm-before-restore-*"))


def test_restore_refuses_a_database_without_our_schema(app, runner, live, tmp_path):
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE things (id INTEGER)")
    conn.commit()
    conn.close()
    result = runner.invoke(args=["restore", str(other), "--yes"])
    assert result.exit_code != 0
    assert "not one of this CRM" in result.output
    assert not list(tmp_path.glob("crm-before-restore-*"))


def test_restore_refuses_a_missing_file(app, runner, tmp_path):
    result = runner.invoke(args=["restore", str(tmp_path / "nope.sqlite3"), "--yes"])
    assert result.exit_code != 0
    assert "Cannot read" in result.output


def test_declining_the_confirmation_changes_nothing(app, runner, live, tmp_path):
    put("before", "1")
    copy = tmp_path / "copy.sqlite3"
    assert runner.invoke(args=["backup", str(copy)]).exit_code == 0
    put("after", "2")
    result = runner.invoke(args=["restore", str(copy)], input="n\n")
    assert result.exit_code != 0
    assert "Replace everything" in result.output
    assert settings_in(live) == {"before": "1", "after": "2"}
    assert not list(tmp_path.glob("crm-before-restore-*"))


def test_accepting_the_confirmation_restores(app, runner, live, tmp_path):
    put("before", "1")
    copy = tmp_path / "copy.sqlite3"
    assert runner.invoke(args=["backup", str(copy)]).exit_code == 0
    put("after", "2")
    result = runner.invoke(args=["restore", str(copy)], input="y\n")
    assert result.exit_code == 0, result.output
    assert settings_in(live) == {"before": "1"}


@pytest.mark.parametrize("command", [["backup"], ["restore", "x.sqlite3", "--yes"]])
def test_postgresql_is_refused_with_pg_dump(tmp_path, monkeypatch, command):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": "postgresql+psycopg://crm:secret@db.invalid:5432/crmprod",
        }
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code != 0
    assert "pg_dump --format=custom" in result.output
    assert "crmprod" in result.output
    assert "secret" not in result.output


def test_check_database_reports_what_integrity_check_finds(tmp_path):
    path = tmp_path / "damaged.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("CREATE INDEX t_v ON t (v)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(str(i) * 10,) for i in range(2000)])
    conn.commit()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    last = len(data) - page_size
    data[last + page_size - 60 : last + page_size - 40] = bytes(20)
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="fails the integrity check: .*missing from index"):
        check_database(path)


def login(client, user):
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code in (302, 303)


def test_admin_downloads_a_verified_backup_from_settings(app, tmp_path):
    admin = factories.admin()
    put("kept", "1")
    client = app.test_client()
    login(client, admin)
    assert "/settings/backup.sqlite3" in client.get("/settings/").get_data(as_text=True)
    response = client.get("/settings/backup.sqlite3")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.sqlite3"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=crm-") and ".sqlite3" in disposition
    copy = tmp_path / "downloaded.sqlite3"
    copy.write_bytes(response.get_data())
    response.close()
    check_database(copy, schema=True)
    assert settings_in(copy)["kept"] == "1"


def test_only_admins_download_a_backup(app):
    client = app.test_client()
    assert client.get("/settings/backup.sqlite3").status_code in (302, 303)
    seller = factories.user()
    login(client, seller)
    assert client.get("/settings/backup.sqlite3").status_code == 403
    assert "/settings/backup.sqlite3" not in client.get("/settings/").get_data(as_text=True)


def test_no_download_on_postgresql(tmp_path, monkeypatch):
    from werkzeug.exceptions import NotFound

    from crm import backup

    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "postgresql+psycopg://db.invalid/x"}
    )
    with app.test_request_context(), pytest.raises(NotFound):
        backup.download_response()
