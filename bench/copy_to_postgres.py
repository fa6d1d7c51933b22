"""The benchmark data moved from its SQLite file into PostgreSQL with COPY: the same rows, built
once by the demo generator, in a minute or two instead of the generator's quarter of an hour
of ORM inserts on PostgreSQL.

The PostgreSQL database is migrated to the head first, so its schema (indexes, the trigram
search) is the app's own; then every table of the models is streamed across in the order their
foreign keys need, and each id sequence is moved past the ids copied.
"""

import sqlite3
import time

import flask_migrate
import psycopg
from sqlalchemy import Boolean
from sqlalchemy.engine import make_url

from bench import run
from crm import custom_fields
from crm.extensions import db

# Rows read from SQLite and written to COPY at a time.
BATCH = 10_000
# Goes up when a copy made before would differ from one made now (a stored copy is redone).
# 2: the team's fields' own indexes, which the app makes as fields are defined.
VERSION = 2


def load(sqlite_path, url):
    """Migrate the empty database at `url`, then copy every model table from `sqlite_path`."""
    app = run.make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        tables = [table for table in db.metadata.sorted_tables if table.name != "alembic_version"]
        db.engine.dispose()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro&immutable=1", uri=True)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo) as target:
            # Rows arrive whole and consistent: foreign keys need not be checked row by row.
            target.execute("SET session_replication_role = replica")
            # What the migrations put in (the data-version counters ...) comes from the file.
            target.execute("TRUNCATE " + ", ".join(f'"{table.name}"' for table in tables))
            for table in tables:
                started = time.perf_counter()
                rows = copy_table(source, target, table)
                run.say(f"  {table.name}: {rows:,} rows in {time.perf_counter() - started:.1f} s")
            for table in tables:
                move_sequence(target, table)
            target.execute("SET session_replication_role = DEFAULT")
        with app.app_context():
            # The app indexes the fields marked filterable or identifying when they are
            # defined, not in a migration: the copy needs them as the file has them.
            with db.engine.begin() as connection:
                custom_fields.ensure_indexes(connection)
            db.session.remove()
            db.engine.dispose()
        analyse(conninfo)
    finally:
        source.close()


def copy_table(source, target, table):
    columns = [column.name for column in table.columns]
    converters = [converter(column.type) for column in table.columns]
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor = source.execute(f'SELECT {quoted} FROM "{table.name}"')  # noqa: S608 (model names)
    count = 0
    with target.cursor().copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        while batch := cursor.fetchmany(BATCH):
            for row in batch:
                copy.write_row(
                    [convert(value) for convert, value in zip(converters, row, strict=True)]
                )
            count += len(batch)
    return count


def converter(column_type):
    """SQLite keeps booleans as 0 and 1; times, JSON and numbers come as text PostgreSQL reads."""
    if isinstance(column_type, Boolean):
        return lambda value: None if value is None else bool(value)
    return lambda value: value


def move_sequence(target, table):
    """An integer id filled by a sequence goes on after the ids copied."""
    key = list(table.primary_key.columns)
    if len(key) != 1 or key[0].name != "id" or not key[0].autoincrement:
        return
    sequence = target.execute(
        "SELECT pg_get_serial_sequence(%s, 'id')", (f'"{table.name}"',)
    ).fetchone()[0]
    if sequence:
        target.execute(
            f'SELECT setval(%s, COALESCE((SELECT max(id) FROM "{table.name}"), 0) + 1, false)',  # noqa: S608
            (sequence,),
        )


def analyse(conninfo):
    """Fresh statistics, as autovacuum would gather them in time, so the first plans are the
    ones a live database gets."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
