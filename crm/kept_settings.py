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
from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from crm.extensions import db
from crm.models import (
    ActivityKind,
    AppSetting,
    CustomField,
    LostReason,
    Pipeline,
    Stage,
    User,
)
from crm.version_counters import VersionCounter

# On `g`: this request changed a setting, so it reads afresh for the rest of it.
CHANGED = "crm_settings_changed"
# Where an app keeps its worker's copies: each app its own, as each has its own database.
EXTENSION = "crm.kept_settings"


def _changed(_made):
    setattr(g, CHANGED, True)


VERSION = VersionCounter(
    "settings",
    (Stage, Pipeline, ActivityKind, LostReason, User, CustomField, AppSetting),
    on_bump=_changed,
)
version_column = VERSION.column
# The version read with the request's user (crm.security.load_user).
note_version = VERSION.note


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


def version():
    noted = VERSION.noted_version()
    if noted is None:
        noted = VERSION.read(db.session)
        note_version(noted)
    return noted


# Reading through the copies


def may_keep():
    """Outside a request (commands, the import), or once this request changed a setting or is
    about to, everything is read from the database."""
    if not has_request_context() or g.get(CHANGED):
        return False
    return not VERSION.changes_watched(db.session)


def kept(name, read):
    """What `read()` gives, kept while the settings stay as they are; a value no caller changes
    (rows, tuples, plain objects)."""
    return through_store(name, read, keep=lambda value: value, hand_out=lambda value: value)


def kept_objects(name, load):
    """The model objects `load()` gives, kept as the worker's own detached copies and handed
    out as this session's own: merged without a query, or the one it already holds."""

    def keep(loaded):
        memo = {}
        return [detached_copy(item, memo) for item in loaded]

    return through_store(
        name, load, keep=keep, hand_out=lambda copies: [attached(copy) for copy in copies]
    )


def through_store(name, read, keep, hand_out):
    """`read()` the first time for this version, storing `keep(what was read)`; after that,
    `hand_out(what was stored)`."""
    if not may_keep():
        return read()
    store, current = current_app.extensions[EXTENSION], version()
    stored = store.get(current, name)
    if stored is not None:
        return hand_out(stored)
    value = read()
    store.put(current, name, keep(value))
    return value


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
