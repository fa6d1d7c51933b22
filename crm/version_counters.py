"""Numbers in the database that go up, once per transaction, whenever some models change.

Each is a row of `counters`, so every worker and every server reads the same number. Session
events move it on whenever a flush writes one of its models or a statement (`update(User)`)
writes one of their tables, so no write path can forget to; its row is made with the table. A
request reads each number in the statement that loads its user (crm.security.load_user) and
notes it on `g`, so asking costs no query.
"""

from flask import g, has_request_context
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from crm.database import table_written
from crm.models import Counter

counters = Counter.__table__


class VersionCounter:
    """The number `name`, moved on by any change to the `watched` models; `on_bump(version)`
    is told the new number when a request moves it."""

    def __init__(self, name, watched, on_bump=None):
        self.name = name
        self.watched = tuple(watched)
        self.tables = frozenset(model.__table__.name for model in self.watched)
        self.on_bump = on_bump
        # In session.info: moved on in this transaction. On `g`: as read with the user.
        self.bumped = f"crm_{name}_version_bumped"
        self.noted = f"crm_{name}_version"
        self.column = (
            select(counters.c.value).where(counters.c.name == name).scalar_subquery().label(name)
        )
        event.listen(Session, "before_flush", self._on_flush)
        event.listen(Session, "do_orm_execute", self._on_statement)
        for ended in ("after_commit", "after_rollback", "after_soft_rollback"):
            event.listen(Session, ended, self._on_end)
        event.listen(counters, "after_create", self._first_row)

    def read(self, session):
        return session.execute(select(self.column)).scalar() or 0

    def note(self, version):
        if has_request_context():
            setattr(g, self.noted, version or 0)

    def noted_version(self):
        """The number as read with the request's user, or None."""
        return g.get(self.noted) if has_request_context() else None

    def bumped_in(self, session):
        return session.info.get(self.bumped, False)

    def changes_watched(self, session):
        return any(
            isinstance(instance, self.watched)
            for instance in (*session.new, *session.dirty, *session.deleted)
        )

    def bump(self, session):
        """Move the number on, once per transaction: also for writes no event sees."""
        if self.bumped_in(session):
            return
        connection = session.connection()
        made = connection.execute(
            update(counters)
            .where(counters.c.name == self.name)
            .values(value=counters.c.value + 1)
            .returning(counters.c.value)
        ).scalar()
        if made is None:
            made = 1
            connection.execute(insert(counters).values(name=self.name, value=made))
        session.info[self.bumped] = True
        if self.on_bump and has_request_context():
            self.on_bump(made)

    def _on_flush(self, session, _flush_context, _instances):
        if self.changes_watched(session):
            self.bump(session)

    def _on_statement(self, state):
        if table_written(state) in self.tables:
            self.bump(state.session)

    def _on_end(self, session, *_args):
        session.info.pop(self.bumped, None)

    def _first_row(self, _target, connection, **_kw):
        connection.execute(insert(counters).values(name=self.name, value=0))
