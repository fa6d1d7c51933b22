"""The team's lists and settings, kept in each worker from one request to the next.

Nearly every page reads the funnel's stages, the kinds of contact, the lost reasons, the team,
the team's own fields and the settings beside them: half a dozen queries with the same answer
almost every time, and on PostgreSQL a round trip each. They change only when someone changes
a setting or an account, so each worker keeps what it read under a number that every such
change moves on in the same transaction (the "settings" counter). Each request reads that
number in the statement that loads its user, so keeping costs no query, and what is kept is
never older than the number it is kept under.

A request that changes a setting reads afresh for the rest of it. The kept rows are the
worker's own and are never handed out: a page gets its own copies, in its own session
(`Session.merge` without loading), so nothing it does to them reaches another thread.
"""

import threading

from flask import current_app, g, has_request_context
from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from crm.extensions import db
from crm.models import (
    ActivityKind,
    AppSetting,
    Counter,
    CustomField,
    LostReason,
    Pipeline,
    Stage,
    User,
)

NAME = "settings"
WATCHED = (Stage, Pipeline, ActivityKind, LostReason, User, CustomField, AppSetting)
WATCHED_TABLES = frozenset(model.__table__.name for model in WATCHED)
# session.info: the version was moved on in this transaction.
BUMPED = "settings_version_bumped"
# On `g`: this request changed a setting (so it reads afresh), and the version read with the user.
CHANGED = "crm_settings_changed"
VERSION = "crm_settings_version"
# Where an app keeps its worker's copies: each app its own, as each has its own database.
EXTENSION = "crm.kept_settings"

counters = Counter.__table__
version_column = (
    select(counters.c.value).where(counters.c.name == NAME).scalar_subquery().label("settings")
)


class Kept:
    """One worker's copies for one version of the settings: {name: what was read}."""

    def __init__(self):
        self.lock = threading.Lock()
        self.version = None
        self.values = {}

    def get(self, version, name):
        with self.lock:
            return self.values.get(name) if version == self.version else None

    def put(self, version, name, value):
        with self.lock:
            if self.version is None or version > self.version:
                self.version, self.values = version, {}
            if version == self.version:
                self.values[name] = value


def init_app(app):
    forget(app)


def forget(app):
    """Drop this worker's copies (tests start each database afresh, its counter at 0 again)."""
    app.extensions[EXTENSION] = Kept()


# The version


def note_version(version):
    """The version read with the request's user (see crm.security.load_user)."""
    if has_request_context():
        setattr(g, VERSION, version or 0)


def version():
    if VERSION not in g:
        note_version(db.session.execute(select(version_column)).scalar())
    return g.get(VERSION)


def bump(session):
    """Move the version on, once per transaction."""
    if has_request_context():
        setattr(g, CHANGED, True)
    if session.info.get(BUMPED):
        return
    connection = session.connection()
    moved = connection.execute(
        update(counters).where(counters.c.name == NAME).values(value=counters.c.value + 1)
    )
    if moved.rowcount == 0:
        connection.execute(insert(counters).values(name=NAME, value=1))
    session.info[BUMPED] = True


def _changes_watched(session):
    return any(
        isinstance(instance, WATCHED)
        for instance in (*session.new, *session.dirty, *session.deleted)
    )


@event.listens_for(Session, "before_flush")
def _bump_on_flush(session, flush_context, instances):
    if _changes_watched(session):
        bump(session)


@event.listens_for(Session, "do_orm_execute")
def _bump_on_statement(state):
    """Updates and deletes sent as statements (two-step sign-in's last code, the demo's team)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        bump(state.session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _reset(session, *args):
    session.info.pop(BUMPED, None)


@event.listens_for(counters, "after_create")
def _first_row(target, connection, **kw):
    connection.execute(insert(counters).values(name=NAME, value=0))


# Reading through the copies


def may_keep():
    """Outside a request (commands, the import), or once this request changed a setting or is
    about to, everything is read from the database."""
    if not has_request_context() or g.get(CHANGED):
        return False
    return not _changes_watched(db.session)


def kept(name, read):
    """What `read()` gives, kept while the settings stay as they are; a value no caller changes
    (rows, tuples, plain objects)."""
    if not may_keep():
        return read()
    store, current = current_app.extensions[EXTENSION], version()
    value = store.get(current, name)
    if value is None:
        value = read()
        store.put(current, name, value)
    return value


def kept_objects(name, load):
    """The model objects `load()` gives, kept as the worker's own detached copies and handed
    out as this session's own: merged without a query, or the one it already holds."""
    if not may_keep():
        return load()
    store, current = current_app.extensions[EXTENSION], version()
    copies = store.get(current, name)
    if copies is None:
        loaded = load()
        memo = {}
        store.put(current, name, [detached_copy(item, memo) for item in loaded])
        return loaded
    return [attached(copy) for copy in copies]


def detached_copy(instance, memo):
    """A copy of `instance` outside any session, with its columns and the objects it refers to
    that are loaded (a stage's pipeline), as a query in no session would have given it."""
    state = inspect(instance)
    if state.key in memo:
        return memo[state.key]
    mapper = state.mapper
    copy = mapper.class_manager.new_instance()
    memo[state.key] = copy
    for column in mapper.column_attrs:
        if column.key in state.dict:
            set_committed_value(copy, column.key, state.dict[column.key])
    make_transient_to_detached(copy)
    for relation in mapper.relationships:
        target = state.dict.get(relation.key)
        if not relation.uselist and target is not None:
            set_committed_value(copy, relation.key, detached_copy(target, memo))
    return copy


def attached(copy):
    session = db.session()
    present = session.identity_map.get(inspect(copy).key)
    return present if present is not None else session.merge(copy, load=False)
