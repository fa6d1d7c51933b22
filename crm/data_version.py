"""One number that goes up with every change to what the pages show.

Open boards poll it to learn, for the price of one primary-key read, whether anything changed;
caches key on it. It lives in the database, so every worker and every app server sees the same
number. A session event bumps it once per transaction that writes leads, activities or the
funnel's settings, so no write path can forget to.
"""

from flask import g, has_request_context
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from crm.models import (
    Activity,
    ActivityKind,
    Counter,
    Lead,
    LostReason,
    Stage,
    StageChange,
    User,
)

NAME = "data"
WATCHED = (Lead, Activity, StageChange, Stage, ActivityKind, LostReason, User)
BUMPED = "data_version_bumped"
# Kept on `g`: the version this request's latest write made (crm.analytics.cache reads it).
WROTE = "crm_wrote_version"
# Kept on `g`: the version read with the request's user, in the same statement.
NOTED = "crm_data_version"
counters = Counter.__table__
version_column = select(counters.c.value).where(counters.c.name == NAME).scalar_subquery()


def note(version):
    """The version read with the request's user (crm.security.load_user): an open board's poll
    then answers "nothing new" with that one statement."""
    if has_request_context():
        setattr(g, NOTED, version or 0)


def current(session):
    """The version now: the one read with the user, unless this request has written since."""
    if has_request_context() and NOTED in g and not written_here(session):
        return g.get(NOTED)
    return session.execute(select(version_column)).scalar() or 0


def written_here(session):
    return WROTE in g or session.info.get(BUMPED, False)


def _changes_watched(session):
    return any(
        isinstance(instance, WATCHED)
        for instance in (*session.new, *session.dirty, *session.deleted)
    )


def bump(session):
    """Move the version on, once per transaction: for writes the ORM does not see, such as bulk
    inserts."""
    if session.info.get(BUMPED):
        return
    connection = session.connection()
    made = connection.execute(
        update(counters)
        .where(counters.c.name == NAME)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    ).scalar()
    if made is None:
        made = 1
        connection.execute(insert(counters).values(name=NAME, value=made))
    session.info[BUMPED] = True
    if has_request_context():
        setattr(g, WROTE, max(g.get(WROTE, 0), made))


@event.listens_for(Session, "before_flush")
def _bump(session, flush_context, instances):
    if _changes_watched(session):
        bump(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _reset(session, *args):
    session.info.pop(BUMPED, None)


@event.listens_for(counters, "after_create")
def _first_row(target, connection, **kw):
    connection.execute(insert(counters).values(name=NAME, value=0))
