"""Engine set-up: SQLite tuned for a web app with several writers; PostgreSQL's dropped
connections replaced before a request uses them."""

import select
from contextlib import contextmanager

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import any_, bindparam, event, exc
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db

# Set in `g` while `writing()` runs.
WRITER = "crm_writer"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The SQL name of Python's str.casefold on SQLite connections.
CASEFOLD = "crm_casefold"


def init_app(app):
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        elif engine.dialect.name == "postgresql":
            event.listen(engine, "checkout", replace_if_dropped)


def configure_sqlite(engine, busy_timeout_ms):
    # pysqlite's own transaction handling is switched off so we can say BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: a committed call note survives a power cut, not only a crash of the app.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()
        # SQLite's lower() and LIKE fold ASCII letters only: "contains" filters on the team's
        # own text fields compare casefolded copies instead, so "москва" finds "Москва".
        dbapi_connection.create_function(CASEFOLD, 1, casefold, deterministic=True)

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if may_write() else "BEGIN")


def replace_if_dropped(dbapi_connection, _record, _proxy):
    """A pooled connection the server closed (a restart, pg_terminate_backend) is replaced
    before a request uses it, rather than failing that request.

    An idle connection has nothing to read unless the server said goodbye (its "terminating
    connection" notice, or the socket's end), so a look at the socket tells, without the round
    trip of a ping (SQLAlchemy's pool_pre_ping), which cost every request a third of a
    millisecond. The pool takes a fresh connection on DisconnectionError. A server gone without
    a word (a network cut) is found by the first statement, as the README says."""
    if dbapi_connection.closed:
        raise exc.DisconnectionError("closed")
    waiting = select.poll()
    waiting.register(dbapi_connection.fileno(), select.POLLIN)
    if waiting.poll(0):
        raise exc.DisconnectionError("the server closed the connection")


def insert(model):
    """An INSERT into `model` that takes ON CONFLICT clauses, in the database's own dialect
    (SQLite and PostgreSQL write them alike)."""
    dialect = db.engine.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def one_of(column, values):
    """`column IN values`, for a list that runs to hundreds (a board's cards): on PostgreSQL one
    array parameter, `= ANY(%s)`, which psycopg sends and the server reads as one value rather
    than one per id; SQLite's IN stays."""
    values = list(values)
    if db.session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))


def table_written(state):
    """The name of the table an INSERT, UPDATE or DELETE sent through the session writes (from
    a `do_orm_execute` event), or None for anything else."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    return getattr(getattr(state.statement, "table", None), "name", None)


def casefold(value):
    return value.casefold() if isinstance(value, str) else value


@event.listens_for(db.session, "after_commit")
@event.listens_for(db.session, "after_rollback")
def note_transaction_end(_session):
    # Once a request has saved (or given up) its changes it only reads to render the answer.
    if has_request_context():
        g.crm_saved = True


def may_write():
    """Whether this transaction should take the write lock up front.

    A deferred transaction that reads and then writes fails at once with "database is locked"
    when another writer committed in between; BEGIN IMMEDIATE waits for the lock instead.
    Requests that change things (POST ...) take it until they have committed; page views, the
    rendering after a save and commands outside a request stay deferred, so readers never queue
    behind writers.
    """
    if has_app_context() and g.get(WRITER):
        return True
    return (
        has_request_context() and request.method not in READ_ONLY_METHODS and not g.get("crm_saved")
    )


@contextmanager
def writing():
    """Work outside a request that reads and then writes (the notifications' pass): each of
    its transactions takes the write lock up front, as a POST's does."""
    previous = g.get(WRITER)
    setattr(g, WRITER, True)
    try:
        yield
    finally:
        setattr(g, WRITER, previous)
