"""The audit trail: every change to a lead, an activity, a stage or a user, as it is flushed.

A session event reads what each flush writes (the ORM's own record of every attribute's old
and new value) and adds one row per changed field to `audit_entries`, in the same transaction:
a change is recorded exactly when it is saved, whichever page, command or API call made it.
Bulk inserts that pass the ORM by (the demo data, an import's activities) are not recorded,
but for an import's new leads, recorded as created by `record_new_leads`.
"""

import json
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE

from crm.extensions import db
from crm.models import Activity, AuditEntry, Lead, LeadPerson, Stage, User, utcnow
from crm.security import acting_user_id

# What is recorded of each kind of row. Caches kept by the service (search text, the newest
# contact, when the stage changed) and bookkeeping (session versions) are left out.
# A lead's contact name, phone and email are its main person's, recorded with the person.
FIELDS = {
    Lead: (
        *("title", "source", "owner_id", "stage_id"),
        *("value", "next_step_at", "next_step_note", "lost_reason_id", "lost_note", "archived"),
    ),
    LeadPerson: ("name", "job_title", "phones", "emails", "note"),
    Activity: ("kind_id", "occurred_at", "body", "deleted_at"),
    Stage: ("name", "colour", "position", "kind", "stuck_after_days"),
    User: (
        *("email", "name", "role", "active", "locale", "timezone", "password_hash"),
        # That two-step sign-in was turned on or off and that recovery codes were made; never
        # the secret or the codes.
        *("two_factor_enabled_at", "recovery_codes_made_at"),
    ),
}
SUBJECTS = {
    Lead: "lead",
    LeadPerson: "person",
    Activity: "activity",
    Stage: "stage",
    User: "user",
}
# How a new or deleted row is named in the log.
NAMES = {Lead: "title", LeadPerson: "name", Activity: "body", Stage: "name", User: "name"}
# Fields whose change is an action of its own rather than an old → new value.
ACTIONS = {
    (Lead, "archived"): {True: "archived", False: "restored"},
    (Activity, "deleted_at"): {True: "deleted", False: "restored"},
    (User, "two_factor_enabled_at"): {True: "two_factor_on", False: "two_factor_off"},
    # The time is kept when two-step sign-in is turned off: it only ever gets a new one.
    (User, "recovery_codes_made_at"): {True: "recovery_codes_made"},
}
# Never written down, only that it changed.
SECRET_FIELDS = {"password_hash"}
PAUSED = "audit_paused"


@contextmanager
def paused(session):
    """Record nothing for a while: for writing through the ORM to a database that predates the
    audit trail, as the migrations' tests do."""
    session.info[PAUSED] = True
    try:
        yield
    finally:
        session.info.pop(PAUSED, None)


def as_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        # A person's phones or emails, one after another.
        return "; ".join(map(str, value)) or None
    if hasattr(value, "id"):
        return str(value.id)
    return str(value)


def lead_of(instance):
    if isinstance(instance, Lead):
        return instance.id
    if isinstance(instance, Activity | LeadPerson):
        return instance.lead_id
    return None


def entry(instance, action, field=None, old=None, new=None):
    return {
        "subject": SUBJECTS[type(instance)],
        "subject_id": instance.id,
        "lead_id": lead_of(instance),
        "action": action,
        "field": field,
        "old": old,
        "new": new,
    }


def changes(instance):
    """The entries for an updated row: one per recorded field that really changed."""
    model = type(instance)
    state = inspect(instance)
    # Only an attribute set since the row was loaded has its old value kept, so only those can
    # have changed: an import moving 10,000 leads asks for the history of two or three fields
    # of each, not of all twelve.
    touched = state.committed_state
    if model is Lead and "fields" in touched:
        yield from field_changes(instance, state.get_history("fields", PASSIVE_NO_INITIALIZE))
    for field in FIELDS[model]:
        if field not in touched:
            continue
        history = state.get_history(field, PASSIVE_NO_INITIALIZE)
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        actions = ACTIONS.get((model, field))
        # An action's time is compared whole: new recovery codes made twice in one second are
        # two actions, where a value shown to the second would seem unchanged.
        if (old == new) if actions else (as_text(old) == as_text(new)):
            continue
        if actions:
            yield entry(instance, actions[new is not None and new is not False])
        elif field in SECRET_FIELDS:
            yield entry(instance, "changed", field)
        else:
            yield entry(instance, "changed", field, as_text(old), as_text(new))


def field_changes(lead, history):
    """One entry per field of the team's own whose value changed, named "fields.<key>", the
    values as JSON."""
    if not history.has_changes():
        return
    old = (history.deleted[0] if history.deleted else None) or {}
    new = (history.added[0] if history.added else None) or {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            yield entry(
                lead, "changed", f"fields.{key}", as_json(old.get(key)), as_json(new.get(key))
            )


def as_json(value):
    return None if value is None else json.dumps(value, ensure_ascii=False)


def entries(session):
    new_leads = {id(instance) for instance in session.new if isinstance(instance, Lead)}
    for instance in session.new:
        if type(instance) in SUBJECTS and not isinstance(instance, Activity):
            # A new activity is its own record, with author and time; its lead's changes are.
            # The people a new lead comes with are part of its creation.
            if isinstance(instance, LeadPerson) and id(instance.lead) in new_leads:
                continue
            yield entry(instance, "created", new=getattr(instance, NAMES[type(instance)]))
    for instance in session.dirty:
        if type(instance) in SUBJECTS and session.is_modified(instance):
            yield from changes(instance)
    for instance in session.deleted:
        if type(instance) in SUBJECTS:
            yield entry(instance, "deleted", old=getattr(instance, NAMES[type(instance)]))


def record_new_leads(leads):
    """Record leads written without the ORM (an import's new ones) as created, as the session
    event records a new lead: its people are part of its creation."""
    if db.session.info.get(PAUSED) or not leads:
        return
    actor_id, at = acting_user_id(), utcnow()
    db.session.execute(
        insert(AuditEntry.__table__),
        [
            {
                "subject": SUBJECTS[Lead],
                "subject_id": lead.id,
                "lead_id": lead.id,
                "action": "created",
                "field": None,
                "old": None,
                "new": getattr(lead, NAMES[Lead]),
                "actor_id": actor_id,
                "at": at,
            }
            for lead in leads
        ],
    )


def record_field_changes(changes, actor):
    """Record (lead id, field key, old value, new value) changes written without the ORM, as
    the session event would have, by `actor` (None: the system)."""
    at = utcnow()
    rows = [
        {
            "subject": SUBJECTS[Lead],
            "subject_id": lead_id,
            "lead_id": lead_id,
            "action": "changed",
            "field": f"fields.{key}",
            "old": as_json(old),
            "new": as_json(new),
            "actor_id": actor.id if actor is not None else None,
            "at": at,
        }
        for lead_id, key, old, new in changes
    ]
    if rows:
        db.session.execute(insert(AuditEntry.__table__), rows)


@event.listens_for(Session, "after_flush")
def record(session, _flush_context):
    if session.info.get(PAUSED):
        return
    rows = list(entries(session))
    if not rows:
        return
    actor_id, at = acting_user_id(), utcnow()
    for row in rows:
        row.update(actor_id=actor_id, at=at)
    session.connection().execute(insert(AuditEntry.__table__), rows)
