"""Each person's notifications: making one (once per key), what they chose to be sent, and
what is read.

A notification is recorded with its deliveries (one per channel the person wants it on) in the
caller's transaction; its key is unique, so making it again, on another server or in a pass run
twice, adds nothing. The person's inbox row keeps the unread count and a version that moves with
every change, for the bell's poll to read by primary key.
"""

from datetime import time

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from crm import security
from crm.database import insert, table_written
from crm.extensions import db
from crm.models import Delivery, Notification, NotificationInbox, Role, utcnow

# What each person gets unless they chose otherwise (My account → Notifications).
DEFAULTS = {
    "email": True,
    "digest": True,
    "digest_at": "08:30",
    "reminder": True,
    "reminder_minutes": 10,
    "given": True,
    "request": True,
    "missed_call": True,
    # Managers and administrators only.
    "weekly": True,
}
REMINDER_MINUTES = (5, 10, 15, 30, 60)
MANAGING_ROLES = (Role.MANAGER, Role.ADMIN)
INBOXES = NotificationInbox.__table__.name


def insert_new(model, values, unique):
    """INSERT … ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike: a row already there
    under the same `unique` columns is left as it is. Returns the new row's id, or None."""
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    primary = model.__table__.primary_key.columns[0]
    return db.session.execute(statement.returning(primary)).scalar()


def record(user_id, kind, key, channels, lead_id=None, params=None, at=None):
    """Make a notification for `user_id` with deliveries on `channels` (names); None when one
    with `key` exists already (it is then not made or sent again)."""
    notification_id = insert_new(
        Notification,
        {
            "key": key,
            "user_id": user_id,
            "kind": kind,
            "lead_id": lead_id,
            "params": params or {},
            "created_at": at or utcnow(),
        },
        ["key"],
    )
    if notification_id is None:
        return None
    now = utcnow()
    for channel in channels:
        db.session.add(
            Delivery(notification_id=notification_id, channel=channel, next_attempt_at=now)
        )
    changed(user_id, unread=1)
    return notification_id


def ensure_inbox(user_id):
    insert_new(
        NotificationInbox,
        {"user_id": user_id, "unread": 0, "version": 0, "preferences": {}},
        ["user_id"],
    )


def changed(user_id, unread=0):
    """Move the person's inbox version on (and the unread count by `unread`)."""
    ensure_inbox(user_id)
    db.session.execute(
        update(NotificationInbox)
        .where(NotificationInbox.user_id == user_id)
        .values(
            version=NotificationInbox.version + 1,
            unread=NotificationInbox.unread + unread,
        )
    )


def touch(user_ids):
    """Move these people's inbox versions on, unread counts unchanged: their bells redraw on
    the next poll. Two statements however many people."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    rows = [{"user_id": user_id, "unread": 0, "version": 0, "preferences": {}} for user_id in ids]
    db.session.execute(
        insert(NotificationInbox).values(rows).on_conflict_do_nothing(index_elements=["user_id"])
    )
    db.session.execute(
        update(NotificationInbox)
        .where(NotificationInbox.user_id.in_(ids))
        .values(version=NotificationInbox.version + 1)
    )


def bell(user_id):
    """(unread, version) of the person's inbox: as read with the user, else one read by
    primary key."""
    noted = security.noted_bell(user_id)
    if noted is not None:
        return noted
    row = db.session.execute(
        select(NotificationInbox.unread, NotificationInbox.version).where(
            NotificationInbox.user_id == user_id
        )
    ).first()
    return (row.unread, row.version) if row else (0, 0)


def mark_read(user_id, notification_id=None):
    """Mark one of the person's notifications read (or all of them, for None)."""
    found = [Notification.user_id == user_id, Notification.read_at.is_(None)]
    if notification_id is not None:
        found.append(Notification.id == notification_id)
    marked = db.session.execute(
        update(Notification).where(*found).values(read_at=utcnow())
    ).rowcount
    if marked:
        # Counted afresh rather than decremented: a count that ever drifted is put right.
        unread = db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        ensure_inbox(user_id)
        db.session.execute(
            update(NotificationInbox)
            .where(NotificationInbox.user_id == user_id)
            .values(version=NotificationInbox.version + 1, unread=unread)
        )
    return marked


def listed(user_id, before=None, limit=50):
    """The person's notifications, newest first, `limit` of them from `before` (an id) on."""
    query = select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        query = query.where(Notification.id < before)
    return db.session.scalars(query.order_by(Notification.id.desc()).limit(limit)).all()


def recent_unread(user_id, since, kinds, limit=5):
    """The person's unread notifications of `kinds` made since `since`: what an open tab
    shows as the browser's own notifications."""
    return db.session.scalars(
        select(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            Notification.created_at >= since,
            Notification.kind.in_(kinds),
        )
        .order_by(Notification.id.desc())
        .limit(limit)
    ).all()


# Choices


def preferences(inbox):
    """The person's choices, each missing one at its default."""
    return DEFAULTS | dict((inbox.preferences if inbox else None) or {})


def preferences_of(user_id):
    return preferences(db.session.get(NotificationInbox, user_id))


def inboxes_by_user():
    """{user id: inbox} of everyone who has one."""
    return {inbox.user_id: inbox for inbox in db.session.scalars(select(NotificationInbox))}


def save_preferences(user_id, chosen):
    """Keep the person's choices (a dict of DEFAULTS' names)."""
    ensure_inbox(user_id)
    inbox = db.session.get(NotificationInbox, user_id)
    inbox.preferences = {name: chosen[name] for name in DEFAULTS if name in chosen}
    return inbox


def digest_time(prefs):
    """The local time of day of the morning digest, 08:30 unless chosen otherwise."""
    try:
        hours, minutes = (int(part) for part in str(prefs["digest_at"]).split(":"))
        return time(hours, minutes)
    except (ValueError, TypeError):
        return time(8, 30)


def manages(user):
    return user.role in MANAGING_ROLES


@event.listens_for(Session, "do_orm_execute")
def _inbox_written(state):
    """Every change to an inbox is a statement (see above): after one, the bell is read again."""
    if table_written(state) == INBOXES:
        security.forget_noted_bell()
