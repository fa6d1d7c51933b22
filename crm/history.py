"""Reading the audit trail back: a lead's history and the administrators' log, in words.

Entries keep ids and raw values; here they become names, dates in the reader's zone and
amounts, with the few small lists they name (people, stages, kinds, reasons) read once a page.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm import custom_fields
from crm.args import MAX_ID
from crm.extensions import db
from crm.formatting import first_line, money, when
from crm.i18n import LANGUAGE_NAMES
from crm.models import Activity, ActivityKind, AuditEntry, Lead, LostReason, Stage, User

PAGE_SIZE = 50

SUBJECT_LABELS = {
    "lead": _l("Lead"),
    "person": _l("Person at the client"),
    "activity": _l("Activity"),
    "stage": _l("Stage"),
    "user": _l("User"),
}
# Whole phrases, so each language can make the words agree.
WHAT = {
    ("lead", "created"): _l("Lead created"),
    ("lead", "changed"): _l("Lead changed"),
    ("lead", "archived"): _l("Lead archived"),
    ("lead", "restored"): _l("Lead restored"),
    ("person", "created"): _l("Person added"),
    ("person", "changed"): _l("Person changed"),
    ("person", "deleted"): _l("Person removed"),
    ("activity", "changed"): _l("Activity changed"),
    ("activity", "deleted"): _l("Activity deleted"),
    ("activity", "restored"): _l("Activity restored"),
    ("stage", "created"): _l("Stage created"),
    ("stage", "changed"): _l("Stage changed"),
    ("stage", "deleted"): _l("Stage deleted"),
    ("user", "created"): _l("User created"),
    ("user", "changed"): _l("User changed"),
    ("user", "two_factor_on"): _l("Two-step sign-in turned on"),
    ("user", "two_factor_off"): _l("Two-step sign-in turned off"),
    ("user", "recovery_codes_made"): _l("New recovery codes made"),
}
FIELD_LABELS = {
    "title": _l("Title"),
    "contact_name": _l("Contact person"),
    "job_title": _l("Job title"),
    "phones": _l("Phones"),
    "emails": _l("Emails"),
    "note": _l("Note"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "source": _l("Source"),
    "owner_id": _l("Owner"),
    "stage_id": _l("Stage"),
    "value": _l("Value"),
    "next_step_at": _l("Next step"),
    "next_step_note": _l("Next step note"),
    "lost_reason_id": _l("Why lost"),
    "lost_note": _l("Lost note"),
    "kind_id": _l("Kind"),
    "occurred_at": _l("When"),
    "body": _l("What was said"),
    "name": _l("Name"),
    "colour": _l("Colour"),
    "position": _l("Place in the funnel"),
    "kind": _l("Kind"),
    "stuck_after_days": _l("Stuck after, days"),
    "role": _l("Role"),
    "active": _l("Active"),
    "locale": _l("Language"),
    "timezone": _l("Time zone"),
    "password_hash": _l("Password"),
}
# Fields that hold the id of a row in one of the small lists.
NAMED_BY = {
    "owner_id": "users",
    "stage_id": "stages",
    "lost_reason_id": "reasons",
    "kind_id": "kinds",
}
MOMENTS = {"next_step_at", "occurred_at"}
# The team's own fields are recorded as "fields.<key>", their values as JSON.
OWN_FIELD = "fields."


@dataclass(frozen=True)
class Filters:
    """What the administrators' log shows: plain values, checked by the view."""

    subject: str = ""
    actor_id: int | None = None
    # Stored (UTC) bounds of the period.
    start: datetime | None = None
    end: datetime | None = None
    lead_number: int | None = None


class Names:
    """The small lists an entry's ids name, read once for a page of entries."""

    def __init__(self):
        # The team's own fields, removed ones too, read when an entry names one.
        self.own_fields = None
        self.users = dict(db.session.execute(select(User.id, User.name)).all())
        self.stages = dict(db.session.execute(select(Stage.id, Stage.name)).all())
        self.reasons = dict(db.session.execute(select(LostReason.id, LostReason.name)).all())
        self.kinds = dict(db.session.execute(select(ActivityKind.id, ActivityKind.name)).all())

    def own_field(self, name):
        """The field of the team's own an entry's "fields.<key>" names, or None."""
        if self.own_fields is None:
            self.own_fields = custom_fields.by_key()
        return self.own_fields.get(name.removeprefix(OWN_FIELD))

    def label(self, name):
        """What the reader calls the field an entry names."""
        if name.startswith(OWN_FIELD):
            field = self.own_field(name)
            return field.label if field else name.removeprefix(OWN_FIELD)
        return FIELD_LABELS.get(name, name)

    def value(self, field, text):
        """A stored value as the reader reads it."""
        if text is None or text == "":
            return "—"
        if field and field.startswith(OWN_FIELD):
            return self.own_value(field, text)
        if field in NAMED_BY:
            found = getattr(self, NAMED_BY[field]).get(int(text)) if text.isdigit() else None
            return found or f"#{text}"
        if field in MOMENTS:
            return when(datetime.fromisoformat(text))
        if field == "locale":
            return LANGUAGE_NAMES.get(text, text)
        if field == "value":
            try:
                return money(Decimal(text))
            except InvalidOperation:
                return text
        if text in ("true", "false"):
            return _("yes") if text == "true" else _("no")
        return first_line(text, 120)

    def own_value(self, name, text):
        """A field of the team's own's value, kept as JSON, as it is typed (a choice by its
        option's label, a date as 31.12.2026)."""
        try:
            value = json.loads(text)
        except ValueError:
            return first_line(text, 120)
        field = self.own_field(name)
        if field is None:
            shown = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
        else:
            try:
                shown = custom_fields.as_text(field, value)
            except (TypeError, ValueError, ArithmeticError):
                # A value kept before the field's type changed.
                shown = str(value)
        return first_line(shown, 120) or "—"


@dataclass
class Line:
    """An entry in words."""

    entry: AuditEntry
    who: str
    what: str
    field: str | None
    old: str | None
    new: str | None
    # The lead it belongs to, for a link: (number, title), or None.
    lead: tuple | None = None
    # A deleted activity an administrator may bring back.
    restorable_activity_id: int | None = None
    # Whose account changed, for a change to a user.
    person: str | None = None


def describe(entry, names, leads=None, deleted_activities=frozenset()):
    who = names.users.get(entry.actor_id) if entry.actor_id else None
    field = names.label(entry.field) if entry.field else None
    old = new = None
    if entry.field == "password_hash":
        pass
    elif entry.action == "changed":
        old, new = names.value(entry.field, entry.old), names.value(entry.field, entry.new)
    elif entry.action in ("created", "deleted"):
        new = first_line(entry.new or entry.old or "", 120) or None
    restorable = (
        entry.subject_id
        if entry.subject == "activity"
        and entry.action == "deleted"
        and entry.subject_id in deleted_activities
        else None
    )
    return Line(
        entry=entry,
        who=who or _("the system"),
        what=WHAT.get((entry.subject, entry.action), SUBJECT_LABELS[entry.subject]),
        field=field,
        old=old,
        new=new,
        lead=(leads or {}).get(entry.lead_id),
        restorable_activity_id=restorable,
        person=names.users.get(entry.subject_id) if entry.subject == "user" else None,
    )


def read_before(text):
    """The entry id a page of entries starts before, from the address; None for the first."""
    text = text or ""
    return int(text) if text.isdecimal() and 0 < int(text) <= MAX_ID else None


def page(statement, before=None, size=PAGE_SIZE):
    """Newest first, `size` entries before the entry id `before`; and the id to go on from."""
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    found = db.session.scalars(statement.order_by(AuditEntry.id.desc()).limit(size + 1)).all()
    more = found[size - 1].id if len(found) > size else None
    return found[:size], more


def deleted_activities_of(lead_ids):
    if not lead_ids:
        return frozenset()
    return frozenset(
        db.session.scalars(
            select(Activity.id).where(
                Activity.lead_id.in_(lead_ids), Activity.deleted_at.isnot(None)
            )
        )
    )


def lead_history(lead, before=None):
    """The changes to a lead and its activities, newest first, a page at a time."""
    statement = select(AuditEntry).where(AuditEntry.lead_id == lead.id)
    entries, more = page(statement, before)
    names = Names()
    deleted = deleted_activities_of([lead.id])
    return [describe(e, names, deleted_activities=deleted) for e in entries], more


def log_conditions(filters):
    found = []
    if filters.subject in SUBJECT_LABELS:
        found.append(AuditEntry.subject == filters.subject)
    if filters.actor_id is not None:
        found.append(AuditEntry.actor_id == filters.actor_id)
    if filters.start is not None:
        found.append(AuditEntry.at >= filters.start)
    if filters.end is not None:
        found.append(AuditEntry.at < filters.end)
    if filters.lead_number is not None:
        lead_id = select(Lead.id).where(Lead.number == filters.lead_number).scalar_subquery()
        found.append(AuditEntry.lead_id == lead_id)
    return found


def log_page(filters, before=None):
    """The administrators' log: every change, newest first, narrowed by `filters`."""
    entries, more = page(select(AuditEntry).where(*log_conditions(filters)), before)
    lead_ids = {e.lead_id for e in entries if e.lead_id is not None}
    leads = {}
    if lead_ids:
        rows = db.session.execute(
            select(Lead.id, Lead.number, Lead.title).where(Lead.id.in_(lead_ids))
        ).all()
        leads = {row.id: (row.number, row.title) for row in rows}
    names = Names()
    deleted = deleted_activities_of(lead_ids)
    return [describe(e, names, leads, deleted) for e in entries], more
