"""Backups of a live SQLite database: `flask --app crm backup` and `flask --app crm restore`.

Copies are made with SQLite's online backup API, never by copying the file: a file copied while
the app writes can be torn, whereas the backup API copies a consistent snapshot of the committed
data, and waits for or restarts around writers. PostgreSQL has its own tool for this, `pg_dump`.
"""

import os
import re
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import abort, current_app, send_file
from sqlalchemy.engine import make_url

from crm.extensions import db

DEFAULT_KEEP = 7
SQLITE_HEADER = b"SQLite format 3\x00"
# Only files this command names are ever pruned: crm-YYYYMMDD-HHMMSS[-N].sqlite3.
BACKUP_NAME = re.compile(r"^crm-(\d{8}-\d{6})(?:-(\d+))?\.sqlite3\Z")


class BackupError(Exception):
    pass


def backup_name(now, n=1):
    stamp = now.strftime("%Y%m%d-%H%M%S")
    return f"crm-{stamp}.sqlite3" if n == 1 else f"crm-{stamp}-{n}.sqlite3"


def sqlite_path(url):
    """The file of a SQLite database URL; a BackupError for any other database."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        name = url.database or "crm"
        raise BackupError(
            "The database is PostgreSQL: back it up with pg_dump, for example\n"
            f"  pg_dump --format=custom --file=crm-$(date +%F).dump {name}\n"
            "and restore it with\n"
            f"  pg_restore --clean --if-exists --dbname={name} crm-YYYY-MM-DD.dump"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("The database is in memory: there is nothing to back up.")
    return Path(url.database)


def check_database(path, *, schema=False):
    """Fail unless `path` is a SQLite database passing integrity_check (and has our schema)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror}.") from error
    if header != SQLITE_HEADER:
        raise BackupError(f"{path} is not a SQLite database.")
    conn = sqlite3.connect(path)
    # A damaged file can hand back names that are not UTF-8.
    conn.text_factory = lambda value: value.decode(errors="replace")
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            problems = "; ".join(str(row[0]) for row in rows[:5])
            raise BackupError(f"{path} fails the integrity check: {problems}")
        if schema:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if not found:
                raise BackupError(f"{path} is a SQLite database, but not one of this CRM.")
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a usable SQLite database: {error}.") from error
    except UnicodeDecodeError as error:
        # SQLite's own report quoted bytes from the damaged file.
        raise BackupError(f"{path} is damaged: it fails the integrity check.") from error
    finally:
        conn.close()


def copy_database(source, target, busy_timeout):
    """Copy the committed contents of database file `source` into `target` (backup API)."""
    src = sqlite3.connect(source, timeout=busy_timeout)
    try:
        dst = sqlite3.connect(target, timeout=busy_timeout)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def make_backup(database, dest=None, *, keep=DEFAULT_KEEP, now=None, busy_timeout=10.0):
    """Back up the SQLite file `database` into `dest` (a file or a folder), verify, prune.

    `dest` defaults to the `backups` folder of the instance. Returns the backup's path and the
    list of older backups removed to keep the newest `keep` (0 keeps them all).
    """
    database = Path(database)
    if not database.is_file():
        raise BackupError(f"The database {database} does not exist.")
    now = now or datetime.now(UTC)
    if dest is None:
        dest = Path(current_app.instance_path) / "backups"
    dest = Path(dest)
    if dest.is_dir() or (dest.suffix == "" and not dest.exists()):
        dest.mkdir(parents=True, exist_ok=True)
        n = 1
        while (dest / backup_name(now, n)).exists():
            n += 1
        target = dest / backup_name(now, n)
    else:
        target = dest
        if target.exists():
            raise BackupError(f"{target} already exists; choose another name.")
        if not target.parent.is_dir():
            raise BackupError(f"The folder {target.parent} does not exist.")
    if target.resolve() == database.resolve():
        raise BackupError("The backup cannot be the database itself.")

    # Written under a temporary name and renamed once verified, so a backup that failed never
    # looks like one.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        copy_database(database, partial, busy_timeout)
        # The copy inherits WAL mode; a backup is better one self-contained file.
        conn = sqlite3.connect(partial)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
        check_database(partial)
        partial.rename(target)
    except sqlite3.Error as error:
        raise BackupError(f"The backup failed: {error}.") from error
    finally:
        for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return target, prune(target.parent, keep)


def prune(folder, keep):
    """Delete all but the newest `keep` backups this command made in `folder`."""
    if not keep:
        return []
    found = []
    for path in Path(folder).iterdir():
        match = BACKUP_NAME.match(path.name)
        if match and path.is_file():
            found.append(((match[1], int(match[2] or 1)), path))
    found.sort(reverse=True)
    removed = []
    for _key, path in found[keep:]:
        path.unlink()
        removed.append(path)
    return removed


def restore_backup(database, source, *, now=None, busy_timeout=10.0):
    """Replace the contents of the SQLite file `database` with the backup `source`.

    The backup is verified first, then the current database is itself backed up next to it
    (crm-before-restore-….sqlite3, never pruned). Returns that safety copy's path.
    """
    database, source = Path(database), Path(source)
    check_database(source, schema=True)
    if not database.is_file():
        raise BackupError(f"The database {database} does not exist.")
    if source.resolve() == database.resolve():
        raise BackupError("The backup is the live database itself.")
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    safety = database.with_name(f"crm-before-restore-{stamp}.sqlite3")
    n = 1
    while safety.exists():
        n += 1
        safety = database.with_name(f"crm-before-restore-{stamp}-{n}.sqlite3")
    make_backup(database, safety, keep=0, now=now, busy_timeout=busy_timeout)
    try:
        copy_database(source, database, busy_timeout)
    except sqlite3.Error as error:
        raise BackupError(
            f"The restore failed: {error}. The database is unchanged or can be restored "
            f"from {safety}."
        ) from error
    return safety


def download_response():
    """A fresh, verified backup as a file download (for the Settings page); 404 off SQLite."""
    try:
        database = sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"])
    except BackupError:
        abort(404)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        target, _ = make_backup(
            database, Path(folder) / "crm.sqlite3", keep=0, now=now, busy_timeout=_busy_timeout()
        )
        # The open handle keeps the file readable after its folder is removed.
        handle = open(target, "rb")  # noqa: SIM115 (closed by the response)
    return send_file(
        handle,
        mimetype="application/vnd.sqlite3",
        as_attachment=True,
        download_name=backup_name(now),
        max_age=0,
    )


def _busy_timeout():
    return current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000


def _live_database():
    try:
        return sqlite_path(current_app.config["SQLALCHEMY_DATABASE_URI"])
    except BackupError as error:
        raise click.ClickException(str(error)) from error


@click.command("backup")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    default=DEFAULT_KEEP,
    show_default=True,
    help="How many of this command's backups to keep in the folder (0 keeps all).",
)
def backup_command(path, keep):
    """Copy the live SQLite database to PATH (a file or a folder) and verify the copy.

    PATH defaults to instance/backups/crm-YYYYMMDD-HHMMSS.sqlite3. Older backups made by this
    command in the same folder are deleted, keeping the newest --keep.
    """
    database = _live_database()
    try:
        target, removed = make_backup(database, path, keep=keep, busy_timeout=_busy_timeout())
    except BackupError as error:
        raise click.ClickException(f"{error} No backup was made.") from error
    click.echo(f"Backed up {database} to {target} (integrity check: ok).")
    for old in removed:
        click.echo(f"Removed old backup {old}.")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path, yes):
    """Replace the live SQLite database with the backup at PATH.

    The current database is first backed up next to it as crm-before-restore-….sqlite3.
    """
    database = _live_database()
    try:
        check_database(path, schema=True)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    if not yes:
        click.confirm(f"Replace everything in {database} with the contents of {path}?", abort=True)
    # This process's own connections must not keep a page cache of the old contents.
    db.session.remove()
    db.engine.dispose()
    try:
        safety = restore_backup(database, path, busy_timeout=_busy_timeout())
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    db.engine.dispose()
    click.echo(f"Restored {database} from {path}. The previous contents are in {safety}.")
