"""The funnel's writes: creating leads, logging contacts and moving leads between stages.

Every page, the board, the import and the API change leads through these functions, so a stage
change is always recorded the same way. They know nothing of requests or forms: they take plain
values and the acting user, and raise FunnelError with a message fit for the user.
"""

import dataclasses
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.orm.attributes import set_committed_value

from crm import access, audit, custom_fields, data_version
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityRevision,
    ContactPoint,
    Counter,
    Lead,
    LeadPerson,
    LostReason,
    Pipeline,
    PlannedStep,
    Stage,
    StageChange,
    StageKind,
    utcnow,
)
from crm.timezones import day_bounds, local_today

TITLE_MAX = 200
CONTACT_NAME_MAX = 200
PHONE_MAX = 50
EMAIL_MAX = 254
SOURCE_MAX = 80
BODY_MAX = 8000
NOTE_MAX = 500
VALUE_MAX = Decimal("999999999999.99")
# Phones are compared on their last ten digits: "+7 999 ..." and "8 999 ..." are the same line.
PHONE_TAIL = 10


class FunnelError(ValueError):
    """A change refused, with the reason for the user and the field it concerns."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(FunnelError):
    """The user may not change this lead."""


def check_may_change(lead, actor):
    if not access.may_change(lead, actor):
        raise NotAllowed(access.not_allowed_message())


def phone_digits(phone):
    return re.sub(r"\D", "", phone or "") or None


def phone_tail(phone):
    digits = phone_digits(phone)
    return digits[-PHONE_TAIL:] if digits else None


def search_text(number, title, people=(), fields=None):
    """What the lead search matches against: one lower-cased line with every person's name,
    emails and phone digits (part of a number finds anyone's), and the text of the team's own
    fields."""
    words = [f"#{number}", title or ""]
    words += [word for person in people for word in person_words(person)]
    if fields:
        words.append(custom_fields.search_words(fields))
    return " ".join(words).casefold()


def person_words(person):
    yield person.name or ""
    yield from person.emails or ()
    yield from filter(None, map(phone_digits, person.phones or ()))


# The details in the search line besides the people (`people_changed` sees to theirs).
SEARCHED_DETAILS = frozenset({"title", "fields"})


def refresh_search_text(lead):
    lead.search_text = search_text(lead.number, lead.title, lead.people, lead.fields)


def clean(text, limit, field, required=False):
    # NUL characters cannot be stored by PostgreSQL and mean nothing to a person.
    text = (text or "").replace("\x00", "").strip()
    if required and not text:
        raise FunnelError(_("This field is required."), field)
    if len(text) > limit:
        raise FunnelError(_("Keep it under %(n)d characters.", n=limit), field)
    return text or None


def check_value(value, field="value"):
    if value is None:
        return None
    value = Decimal(value)
    if value < 0 or value > VALUE_MAX or not value.is_finite():
        raise FunnelError(_("Enter an amount of zero or more."), field)
    return value.quantize(Decimal("0.01"))


LEAD_FIELDS = (
    "title",
    "contact_name",
    "phone",
    "email",
    "source",
    "value",
    "owner_id",
    "next_step_at",
    "next_step_note",
    # The team's own fields: {key: value as typed or sent}; only the keys given change.
    "fields",
    # The people at the client, the main contact first: the whole list, as `set_people` takes it.
    "people",
)


def set_details(lead, details, actor=None):
    """Validate and apply the identifying fields of a lead and its next step."""
    if "title" in details:
        lead.title = clean(details["title"], TITLE_MAX, "title", required=True)
    if "source" in details:
        lead.source = clean(details["source"], SOURCE_MAX, "source")
    # The people first: a contact name, phone or email given along changes the main one.
    if "people" in details:
        set_people(lead, details["people"])
    if MAIN_CONTACT.intersection(details):
        set_main_contact(lead, details)
    if "value" in details:
        lead.value = check_value(details["value"])
    if "fields" in details:
        set_fields(lead, details["fields"])
    if "owner_id" in details:
        check_handing(lead, details["owner_id"], actor)
        hand_over_step(lead, details["owner_id"])
        if details["owner_id"] != lead.owner_id:
            # Imported here: the notifications' package reads the funnel's lists.
            from crm.notifications import notices

            notices.lead_given(db.session, lead, details["owner_id"], actor)
        lead.owner_id = details["owner_id"]
    if "next_step_at" in details or "next_step_note" in details:
        note = lead.next_step_note
        if "next_step_note" in details:
            note = clean(details["next_step_note"], NOTE_MAX, "next_step_note")
        plan_next_step(lead, actor, details.get("next_step_at", lead.next_step_at), note)
    # A new lead gets its search line once numbered (`mark_new`): made twice, it cost the demo
    # and the import more than the fields it now holds.
    if lead.number is not None and SEARCHED_DETAILS.intersection(details):
        refresh_search_text(lead)


def set_fields(lead, changes):
    """Check the team's own fields given and keep them on the lead; a required one cannot be
    emptied."""
    try:
        cleaned = custom_fields.clean_values(changes, current=lead.fields)
    except custom_fields.FieldValueError as error:
        raise FunnelError(error.message, f"fields.{error.key}") from None
    emptied = [key for key, value in cleaned.items() if value is None]
    for field in custom_fields.active_fields() if emptied else ():
        if field.required and field.key in emptied:
            raise FunnelError(required_message(field), f"fields.{field.key}")
    lead.fields = custom_fields.merged(lead.fields, cleaned)


def required_message(field):
    return _("%(field)s: this field is required.", field=field.label)


def check_required_fields(lead, pipeline_id=None):
    """A person registering a lead fills in the fields the team made required for its
    pipeline (an import or a web form's request records what came, and a person completes it
    later)."""
    fields = custom_fields.fields_for(pipeline_id)
    for field in custom_fields.missing_required(lead.fields or {}, fields):
        raise FunnelError(required_message(field), f"fields.{field.key}")


# The details that are the main contact's: the first of the lead's people.
MAIN_CONTACT = frozenset({"contact_name", "phone", "email"})
PEOPLE_MAX = 20
PHONES_MAX = EMAILS_MAX = 5
JOB_TITLE_MAX = 120


def set_main_contact(lead, details):
    """Change the main contact's name, first phone or first email, as the details give them."""
    main = lead.people[0] if lead.people else new_person(lead)
    if "contact_name" in details:
        main.name = clean(details["contact_name"], CONTACT_NAME_MAX, "contact_name")
    if "phone" in details:
        main.phones = with_first(main.phones, clean(details["phone"], PHONE_MAX, "phone"))
    if "email" in details:
        email = clean(details["email"], EMAIL_MAX, "email")
        main.emails = with_first(main.emails, email.lower() if email else None)
    if not any((main.name, main.job_title, main.phones, main.emails, main.note)):
        lead.people = lead.people[1:]
    people_changed(lead)


def with_first(items, first):
    """`items` with its first one replaced by `first` (or dropped, when None): a new list."""
    rest = list(items or ())[1:]
    return [first, *rest] if first else rest


def set_people(lead, people):
    """Make `people` (dicts of name, job_title, phones, emails, note) the lead's, in order: the
    first is the main contact. Empty ones are left out; the rows kept are reused in order."""
    cleaned = [person for person in map(clean_person, people, range(len(people))) if person]
    if len(cleaned) > PEOPLE_MAX:
        raise FunnelError(_("A lead can have at most %(n)d people.", n=PEOPLE_MAX), "people")
    rows = list(lead.people)[: len(cleaned)]
    while len(rows) < len(cleaned):
        rows.append(new_person(lead))
    for position, (row, person) in enumerate(zip(rows, cleaned, strict=True)):
        row.position = position
        for name, value in person.items():
            setattr(row, name, value)
    lead.people = rows
    people_changed(lead)


def clean_person(person, index):
    """A person as given, checked (FunnelError names "people.<index>.<field>"); None if empty."""
    where = f"people.{index}"
    phones = [clean(phone, PHONE_MAX, f"{where}.phones") for phone in as_list(person.get("phones"))]
    emails = [clean(email, EMAIL_MAX, f"{where}.emails") for email in as_list(person.get("emails"))]
    cleaned = {
        "name": clean(person.get("name"), CONTACT_NAME_MAX, f"{where}.name"),
        "job_title": clean(person.get("job_title"), JOB_TITLE_MAX, f"{where}.job_title"),
        "phones": [phone for phone in phones if phone],
        "emails": [email.lower() for email in emails if email],
        "note": clean(person.get("note"), NOTE_MAX, f"{where}.note"),
    }
    if len(cleaned["phones"]) > PHONES_MAX or len(cleaned["emails"]) > EMAILS_MAX:
        raise FunnelError(_("At most %(n)d phones and %(n)d emails a person.", n=PHONES_MAX), where)
    return cleaned if any(cleaned.values()) else None


def person_details(person):
    """One of a lead's people as `set_people` takes them: to copy to another lead."""
    return {
        "name": person.name,
        "job_title": person.job_title,
        "phones": list(person.phones or ()),
        "emails": list(person.emails or ()),
        "note": person.note,
    }


def as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def new_person(lead):
    """A person added to the lead's people, at the end."""
    person = PastPerson() if isinstance(lead, PastLead) else LeadPerson(phones=[], emails=[])
    person.position = len(lead.people)
    lead.people.append(person)
    return person


def people_changed(lead):
    """Keep the main contact's columns on the lead, and the phones and emails matched, in step
    with the lead's people."""
    main = lead.people[0] if lead.people else None
    lead.contact_name = main.name if main else None
    lead.phone = main.phones[0] if main and main.phones else None
    lead.phone_digits = phone_digits(lead.phone)
    lead.email = main.emails[0] if main and main.emails else None
    if lead.number is not None:
        refresh_search_text(lead)
    if lead.id is None:
        # A new lead's phones and emails are matched once it is saved (`save_new_leads`,
        # `Backfill`): made here, they cost an import a third of its time to check a row.
        return
    wanted = contact_points_of(lead.people)
    if wanted != sorted((point.kind, point.value) for point in lead.contact_points):
        point = PastContactPoint if isinstance(lead, PastLead) else ContactPoint
        lead.contact_points = [point(kind=kind, value=value) for kind, value in wanted]


def contact_points_of(people):
    """The (kind, value) pairs `ContactPoint` keeps for `people`, in order, each once."""
    return sorted(set(reachable_at(people)))


def reachable_at(people):
    """(kind, value) of every phone and email of `people`, as matching compares them."""
    for person in people:
        for phone in person.phones or ():
            tail = phone_tail(phone)
            if tail:
                yield "phone", tail
        for email in person.emails or ():
            yield "email", email.lower()


REASSIGN_BATCH = 500


def reassign_leads(lead_ids, owner_id, actor):
    """Give every lead in `lead_ids` to `owner_id` (None leaves them unclaimed): a manager's
    work. Each goes through `update_lead`, so its next step follows and the change is recorded;
    returns how many changed hands."""
    if actor is not None and not access.manages_the_team(actor):
        raise NotAllowed(_("Only a manager or an administrator can reassign leads."))
    changed = 0
    for start in range(0, len(lead_ids), REASSIGN_BATCH):
        chunk = lead_ids[start : start + REASSIGN_BATCH]
        batch = db.session.scalars(select(Lead).where(Lead.id.in_(chunk))).all()
        for lead in batch:
            if lead.owner_id != owner_id:
                update_lead(lead, actor, owner_id=owner_id)
                changed += 1
        # Flushed and let go a batch at a time, so thousands of leads do not pile up in memory.
        db.session.flush()
        for lead in batch:
            db.session.expunge(lead)
    return changed


CONVERT_BATCH = 5000


def convert_field_values(old, new, actor, clear_misfits=False):
    """After a field's type changed from `old` to `new` (definitions; the new one saved): each
    lead's value written again as the new type reads it (custom_fields.converted). A value
    that does not fit is cleared when `clear_misfits`, else the whole change is refused.

    Read and written a batch at a time with a statement per batch, each change recorded in
    the audit trail: through the ORM, 100,000 values took longer than a proxy waits for a
    page. Returns (how many values fit, how many were cleared).
    """
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_("Only an administrator can change a field's type."))
    converted = cleared = 0
    last_id = 0
    while True:
        batch = db.session.execute(
            select(Lead.id, Lead.number, Lead.title, Lead.fields, Lead.search_text)
            .where(Lead.id > last_id, custom_fields.stored(old.key).is_not(None))
            .order_by(Lead.id)
            .limit(CONVERT_BATCH)
        ).all()
        people = people_of([lead.id for lead in batch])
        changes = []
        for lead in batch:
            value = lead.fields[old.key]
            try:
                new_value = custom_fields.converted(old, new, value)
            except custom_fields.FieldValueError as error:
                if not clear_misfits:
                    why = error.message
                    problem = _("Lead #%(number)d: %(problem)s", number=lead.number, problem=why)
                    raise FunnelError(problem, "clear_misfits") from None
                new_value = None
                cleared += 1
            converted += new_value is not None
            changes.append(converted_row(lead, people.get(lead.id, ()), old.key, new_value))
        save_converted(old.key, [change for change in changes if change], actor)
        if len(batch) < CONVERT_BATCH:
            return converted, cleared
        last_id = batch[-1].id


def people_of(lead_ids):
    """{lead id: its people (name, emails, phones), in order} for `lead_ids`, in one query."""
    found = {}
    for person in db.session.execute(
        select(LeadPerson.lead_id, LeadPerson.name, LeadPerson.emails, LeadPerson.phones)
        .where(LeadPerson.lead_id.in_(lead_ids))
        .order_by(LeadPerson.lead_id, LeadPerson.position)
    ):
        found.setdefault(person.lead_id, []).append(person)
    return found


def converted_row(lead, people, key, new_value):
    """What changes on `lead` (a row read by `convert_field_values`, with its `people`) with
    its value of `key` converted to `new_value`: None when the value and the search line stay
    as they are."""
    value = lead.fields[key]
    fields = custom_fields.merged(lead.fields, {key: new_value})
    searched = search_text(lead.number, lead.title, people, fields)
    if new_value == value and searched == lead.search_text:
        return None
    return {"lead_id": lead.id, "old": value, "new": new_value, "fields": fields, "text": searched}


def save_converted(key, changes, actor):
    """Write converted values, a statement for the batch, and record each in the audit trail."""
    if not changes:
        return
    db.session.execute(
        update(Lead.__table__)
        .where(Lead.__table__.c.id == bindparam("lead_id"))
        .values(fields=bindparam("fields"), search_text=bindparam("text"), updated_at=utcnow()),
        changes,
    )
    audit.record_field_changes(
        [
            (row["lead_id"], key, row["old"], row["new"])
            for row in changes
            if row["old"] != row["new"]
        ],
        actor,
    )


def first_stage():
    return db.session.scalar(
        Stage.in_funnel_order()
        .where(Stage.kind == StageKind.OPEN, Pipeline.archived_at.is_(None))
        .limit(1)
    )


def create_lead(actor, stage=None, at=None, ask_required=True, **details):
    """Register a lead with the next number; its first stage change is recorded too. `at` dates
    its arrival (now, unless said); `ask_required=False` lets the team's required fields wait
    (an import, a web form's request)."""
    check_lead_fields(details)
    lead = Lead(title="", owner_id=actor_id(actor), fields={})
    set_details(lead, details, actor)
    stage = stage or first_stage()
    if ask_required:
        check_required_fields(lead, stage.pipeline_id if stage else None)
    enter_lead(lead, actor, stage, at)
    save_new_leads([lead], actor)
    return lead


def enter_lead(lead, actor, stage=None, at=None, number=None):
    """Make `lead`, its details set by `set_details`, a new lead: entered by `actor` at `at`
    (now) in `stage` (the first open one), numbered `number` (the next free one). Not saved
    yet: `save_new_leads` saves it. `lead` may be a PastLead, saved without the ORM."""
    lead.stage = stage or first_stage()
    if lead.stage is not None:
        # The ORM would set it on saving: a lead written in bulk has it now.
        lead.stage_id = lead.stage.id
    number = Counter.take("lead") if number is None else number
    mark_new(lead, actor_id(actor), at or utcnow(), number)
    return lead


def mark_new(lead, by_id, at, number):
    """What makes a lead new: who entered it and when (in its first stage since then), its
    number, and the search line that has it."""
    lead.created_by_id = by_id
    lead.created_at = lead.stage_changed_at = at
    lead.number = number
    refresh_search_text(lead)


def save_new_leads(leads, actor, planned_at=None):
    """Save leads made by `enter_lead`: each enters the funnel at its stage, recorded as a stage
    change, and its next step, if it has one, starts the history of its steps, planned at
    `planned_at` (when the lead came in, unless said). One statement for each kind of row,
    however many leads.

    The leads are Leads, or PastLeads with their ids given (see `assign_ids`): an import's
    thousands, written with no bookkeeping of the ORM's for each (`insert_leads`)."""
    if not leads:
        return
    if isinstance(leads[0], PastLead):
        people = [lead.people for lead in leads]
        insert_leads(leads)
    else:
        # Their people are written in bulk as well: through the ORM, each person and each phone
        # cost an import of 10,000 leads more than its leads did.
        people = [take_people(lead) for lead in leads]
        db.session.add_all(leads)
        db.session.flush()
    save_people(leads, people)
    db.session.execute(
        insert(StageChange.__table__), [arrival(lead, actor_id(actor)) for lead in leads]
    )
    steps = [
        first_step(lead, actor, planned_at or lead.created_at) for lead in leads if has_a_step(lead)
    ]
    if steps:
        db.session.execute(insert(PlannedStep.__table__), steps)


PERSON_COLUMNS = ("position", "name", "job_title", "phones", "emails", "note")
LEAD_COLUMNS = tuple(column.key for column in Lead.__table__.columns)


def insert_leads(leads):
    """Write new leads made as PastLeads, their ids given, with one statement: the row the ORM
    would write for each, and its creation in the audit trail, as the session event records a
    lead's. Through the ORM, the flush cost an import of 10,000 leads more than reading them.
    They stay PastLeads: to change one further, load it."""
    now = utcnow()
    rows = []
    for lead in leads:
        row = {name: getattr(lead, name) for name in LEAD_COLUMNS}
        if row["updated_at"] is None:
            row["updated_at"] = now
        rows.append(row)
    db.session.execute(insert(Lead.__table__), rows)
    audit.record_new_leads(leads)
    # Open boards and kept reports see them, as they see what the ORM writes.
    data_version.bump(db.session)


def take_people(lead):
    """A new lead's people, taken off it unsaved to be written in bulk."""
    people = list(lead.people)
    set_committed_value(lead, "people", [])
    return people


def save_people(leads, people):
    """Write the people taken off `leads` (now saved) and their phones and emails as matching
    compares them, then let the leads read them back."""
    person_rows, point_rows = [], []
    for lead, persons in zip(leads, people, strict=True):
        person_rows += [
            {"lead_id": lead.id, **{name: getattr(person, name) for name in PERSON_COLUMNS}}
            for person in persons
        ]
        point_rows += [
            {"lead_id": lead.id, "kind": kind, "value": value}
            for kind, value in contact_points_of(persons)
        ]
        if not isinstance(lead, PastLead):
            db.session.expire(lead, ["people", "contact_points"])
    for model, rows in ((LeadPerson, person_rows), (ContactPoint, point_rows)):
        if rows:
            db.session.execute(insert(model.__table__), rows)


def arrival(lead, by_id):
    """The stage change that records a lead coming into the funnel."""
    return {
        "lead_id": lead.id,
        "to_stage_id": lead.stage_id,
        "changed_at": lead.created_at,
        "changed_by_id": by_id,
    }


def check_lead_fields(details):
    unknown = set(details) - set(LEAD_FIELDS)
    if unknown:
        raise TypeError(f"unknown lead fields: {sorted(unknown)}")


def actor_id(actor):
    """Whose change it is, as stored: None for the system itself."""
    return actor.id if actor else None


def update_lead(lead, actor, **details):
    """Change a lead's details (not its stage: that is `move_lead`)."""
    check_may_change(lead, actor)
    unknown = set(details) - set(LEAD_FIELDS)
    if unknown:
        raise TypeError(f"unknown lead fields: {sorted(unknown)}")
    set_details(lead, details, actor)
    return lead


def move_lead(
    lead, stage, actor, at=None, activity=None, lost_reason=None, lost_note=None, value=None
):
    """Move a lead to another stage: the one place where a lead changes stage.

    A lost stage needs a reason; a won stage needs the deal's value if the lead has none.
    Returns the StageChange, or None when the lead is already in that stage.
    """
    change = moved(lead, stage, actor, at, activity, lost_reason, lost_note, value)
    if change is None:
        return None
    change = StageChange(**change)
    db.session.add(change)
    return change


def moved(lead, stage, actor, at=None, activity=None, lost_reason=None, lost_note=None, value=None):
    """What `move_lead` does to the lead, under its rules; returns the row of the stage change
    for the caller to write (None when the lead is already in that stage)."""
    check_may_change(lead, actor)
    if stage is None:
        raise FunnelError(_("Choose a stage from the list."), "stage")
    if stage.id == lead.stage_id:
        return None
    check_closing(stage.kind, lost_reason, value, lead.value)
    record_outcome(lead, stage.kind, lost_reason.id if lost_reason else None, lost_note, value)
    if stage.kind != StageKind.OPEN:
        plan_next_step(lead, actor, None, None, activity)
    change = stage_change(lead, stage.id, at or utcnow(), actor_id(actor), activity)
    lead.stage = stage
    return change


def check_closing(kind, lost_reason, value, lead_value):
    """Refuse a move to a lost stage without a reason, or to a won one when the deal has no
    value, neither given nor the lead's own."""
    if kind == StageKind.LOST and lost_reason is None:
        raise FunnelError(_("Say why the lead was lost."), "lost_reason")
    if kind == StageKind.WON and value is None and lead_value is None:
        raise FunnelError(_("Enter the final value of the deal."), "value")


def record_outcome(lead, kind, lost_reason_id, lost_note, value):
    """Why the lead was lost, or the value it was won with, as it moves to a stage of `kind`;
    back in an open stage, it was not lost after all."""
    if kind == StageKind.LOST:
        lead.lost_reason_id = lost_reason_id
        lead.lost_note = clean(lost_note, NOTE_MAX, "lost_note")
    else:
        lead.lost_reason_id = None
        lead.lost_note = None
    if kind == StageKind.WON and value is not None:
        lead.value = check_value(value, "value")


def stage_change(lead, stage_id, at, by_id, activity=None):
    """The record of `lead` moving to `stage_id` at `at`, with how long it stayed in the stage
    it leaves; the lead is moved too."""
    change = {
        "lead_id": lead.id,
        "from_stage_id": lead.stage_id,
        "to_stage_id": stage_id,
        "changed_at": at,
        "changed_by_id": by_id,
        "activity_id": activity.id if activity else None,
        "seconds_in_from_stage": seconds_between(at, lead.stage_changed_at),
    }
    lead.stage_id = stage_id
    lead.stage_changed_at = at
    return change


def seconds_between(later, earlier):
    """Whole seconds from `earlier` to `later`; a move dated before the last one counts 0."""
    if earlier is None:
        return None
    return max(0, int((later - earlier).total_seconds()))


KEEP = object()


def hold(lead):
    """Lock the lead until the save commits, and read it afresh.

    Without this, on PostgreSQL two contacts logged on one lead at once both start from the
    stage, next step and newest contact read before either saved, and the later one undoes the
    earlier's. On SQLite a saving request already began with BEGIN IMMEDIATE, before it read.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return
    db.session.scalars(
        select(Lead)
        .where(Lead.id == lead.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def log_activity(
    lead,
    actor,
    kind,
    body,
    occurred_at=None,
    stage=None,
    next_step_at=KEEP,
    next_step_note=None,
    lost_reason=None,
    lost_note=None,
    value=None,
    no_next_step=False,
):
    """Record a contact: what was said, the stage after it and the next step, all at once.

    `next_step_at` is the step planned after it (KEEP: the one planned stays); `no_next_step`
    says there is none. A person's contact answers the step that was due, so an open lead
    comes out of it with a step still ahead, or with none because the person said so (see
    `check_next_step`).
    """
    hold(lead)
    check_may_change(lead, actor)
    if kind is None:
        raise FunnelError(_("Choose a kind of contact."), "kind")
    occurred_at = occurred_at or utcnow()
    moving = stage is not None and stage.id != lead.stage_id
    values = contact_values(
        lead, actor_id(actor), kind.id, body, occurred_at, stage.id if moving else None
    )
    if actor is not None and (stage or lead.stage).kind == StageKind.OPEN:
        check_next_step(lead, next_step_at, no_next_step)
    activity = Activity(**values)
    db.session.add(activity)
    db.session.flush()
    apply_contact(lead, actor, activity, stage, lost_reason, lost_note, value)
    plan_after_contact(lead, actor, activity, next_step_at, next_step_note, no_next_step)
    return activity


def plan_after_contact(lead, actor, activity, next_step_at, next_step_note, no_next_step):
    """Plan the step a contact set (KEEP: leave the one planned), ending the one it answers."""
    if no_next_step:
        next_step_at = next_step_note = None
    if next_step_at is not KEEP and lead.stage.kind == StageKind.OPEN:
        note = clean(next_step_note, NOTE_MAX, "next_step_note")
        plan_next_step(lead, actor, next_step_at, note, activity)


def log_call(lead, author_id, kind, occurred_at):
    """A call the phone system told of, as a contact on its lead with nothing said yet: a
    person writes it up (`write_up`). Like any contact it answers the steps that were due, but
    it plans nothing: the next step is for the person writing it up to set."""
    hold(lead)
    activity = Activity(**contact_values(lead, author_id, kind.id, "", occurred_at))
    db.session.add(activity)
    db.session.flush()
    apply_contact(lead, None, activity)
    return activity


def write_up(
    activity,
    actor,
    kind,
    body,
    occurred_at=None,
    stage=None,
    next_step_at=KEEP,
    next_step_note=None,
    lost_reason=None,
    lost_note=None,
    value=None,
    no_next_step=False,
):
    """Complete a contact logged with nothing said (`log_call`): what was said, the status after
    it and the next step, on the same contact, under the rules of `log_activity`."""
    lead = activity.lead
    hold(lead)
    check_may_change(lead, actor)
    if kind is None:
        raise FunnelError(_("Choose a kind of contact."), "kind")
    if (stage or lead.stage).kind == StageKind.OPEN:
        check_next_step(lead, next_step_at, no_next_step)
    activity.kind_id = kind.id
    activity.body = clean(body, BODY_MAX, "body") or ""
    activity.author_id = activity.author_id or actor_id(actor)
    retimed = occurred_at is not None and occurred_at != activity.occurred_at
    if retimed:
        check_not_future(occurred_at)
        activity.occurred_at = occurred_at
    if stage is not None and stage.id != lead.stage_id:
        activity.stage_after_id = stage.id
        move_lead(
            lead,
            stage,
            actor,
            at=activity.occurred_at,
            activity=activity,
            lost_reason=lost_reason,
            lost_note=lost_note,
            value=value,
        )
    if retimed:
        refresh_last_activity(lead)
        recheck_steps(activity)
    plan_after_contact(lead, actor, activity, next_step_at, next_step_note, no_next_step)
    return activity


def check_next_step(lead, next_step_at, no_next_step):
    """Refuse a contact that would leave its open lead with a step already due, or with no
    step without saying so: the step it answers must not silently stay. A request that came
    in by itself (no actor) leaves the step for a person to answer, and so does the past told
    by the import and the Backfill."""
    if no_next_step:
        if next_step_at is not KEEP and next_step_at is not None:
            raise FunnelError(_("Plan a next step or say there is none, not both."), "no_next_step")
        return
    now = utcnow()
    if next_step_at is KEEP:
        if lead.next_step_at is None:
            raise next_step_needed()
        if lead.next_step_at <= now:
            raise FunnelError(
                _("The planned next step is due: plan the next one, or say there is none."),
                "next_step_at",
            )
    elif next_step_at is None:
        raise next_step_needed()
    elif not step_ahead(next_step_at, now):
        raise FunnelError(_("The next step cannot be in the past."), "next_step_at")


def next_step_needed():
    return FunnelError(_("Plan the next step, or say there is none."), "next_step_at")


def step_ahead(due_at, now):
    """Whether a step newly planned for `due_at` is still to come: later than now, or for the
    whole of today (planned for the day's start in the user's zone), whose day is not over."""
    return due_at > now or due_at == day_bounds(local_today())[0]


def contact_values(
    lead, author_id, kind_id, body, occurred_at, moves_to=None, logged_at=None, now=None
):
    """A contact's columns as it is logged: not dated in the future, its text cleaned, and the
    stage it moves `lead` to, if it does; `logged_at` is when it was written down (now), `now`
    the time it is (for a batch, when it began)."""
    check_not_future(occurred_at, now)
    return {
        "lead_id": lead.id,
        "author_id": author_id,
        "kind_id": kind_id,
        "occurred_at": occurred_at,
        "body": clean(body, BODY_MAX, "body") or "",
        "stage_after_id": moves_to,
        "created_at": logged_at or utcnow(),
    }


def apply_contact(
    lead,
    actor,
    contact,
    stage=None,
    lost_reason=None,
    lost_note=None,
    value=None,
    steps_waiting=True,
    in_bulk=False,
):
    """What a contact just written (an Activity, or a Contact) does to its lead: it answers the
    steps whose time had come, moves the lead to `stage` if that is another, and is kept as the
    lead's newest contact if it is. `steps_waiting` False spares the search for steps to answer
    on a lead known to have none. Returns the stage change, or None; `in_bulk`, the row of it,
    for `write_stage_changes` to write with others."""
    if steps_waiting:
        keep_steps(lead, contact)
    change = None
    if stage is not None and stage.id != lead.stage_id:
        change = (moved if in_bulk else move_lead)(
            lead,
            stage,
            actor,
            at=contact.occurred_at,
            activity=contact,
            lost_reason=lost_reason,
            lost_note=lost_note,
            value=value,
        )
    note_newest_contact(lead, contact)
    return change


def note_newest_contact(lead, contact):
    """Keep the lead's newest contact at hand, so lists, cards and the agenda need no lookups."""
    if lead.last_activity_at is None or contact.occurred_at >= lead.last_activity_at:
        lead.last_activity_id = contact.id
        lead.last_activity_at = contact.occurred_at


def reschedule(lead, actor, next_step_at):
    """Move a lead's planned next step to another moment (the agenda's +1 day, the calendar's
    drag); its note stays. Only an open lead has a next step."""
    hold(lead)
    check_may_change(lead, actor)
    if lead.stage.kind != StageKind.OPEN or lead.archived:
        raise FunnelError(_("Only an open lead has a next step."), "next_step_at")
    if next_step_at is None:
        raise FunnelError(_("Choose a date for the next step."), "next_step_at")
    plan_next_step(lead, actor, next_step_at, lead.next_step_note)
    return lead


# The history of next steps: each one planned is kept in PlannedStep after it is moved, replaced
# or cleared, with whose it was and the contact that answered it, so the missed contacts page
# can tell a call that was made from one quietly moved to another day.


def plan_next_step(lead, actor, due_at, note, activity=None):
    """Make `due_at` (None: nothing) with `note` the lead's next step.

    The step it replaces ends now, answered by `activity` when logging that contact is what
    replaced it. The same moment with another note is the same step, its note corrected. Only
    an open lead has steps in the history.
    """
    if (due_at, note) == (lead.next_step_at, lead.next_step_note):
        return
    moved = due_at != lead.next_step_at
    lead.next_step_at, lead.next_step_note = due_at, note
    if lead.id is None:
        # A lead being created: `create_lead` opens its first step once it has an id.
        return
    if not moved:
        db.session.execute(current_step(lead).values(note=note))
        return
    now = utcnow()
    ended = {"ended_at": now}
    if activity is not None:
        ended |= {
            "ended_by_activity_id": activity.id,
            "kept_by_activity_id": func.coalesce(PlannedStep.kept_by_activity_id, activity.id),
        }
    db.session.execute(current_step(lead).values(**ended))
    open_step(lead, actor, now)


def current_step(lead):
    """An update of the lead's step that stands, in the history."""
    return (
        update(PlannedStep)
        .where(PlannedStep.lead_id == lead.id, PlannedStep.ended_at.is_(None))
        .execution_options(synchronize_session=False)
    )


def open_step(lead, actor, now):
    """Record the lead's next step as planned now, if it has one and is open."""
    if has_a_step(lead):
        db.session.add(PlannedStep(**first_step(lead, actor, now)))


def has_a_step(lead):
    return lead.next_step_at is not None and lead.stage.kind == StageKind.OPEN


def first_step(lead, actor, now):
    """The row of the lead's next step, planned `now` by `actor`."""
    return {
        "lead_id": lead.id,
        "owner_id": lead.owner_id,
        "due_at": lead.next_step_at,
        "note": lead.next_step_note,
        "planned_at": now,
        "planned_by_id": actor_id(actor),
    }


def check_handing(lead, owner_id, actor):
    """One rule for every path (the forms, the API): a salesperson's leads are their own or
    nobody's; only managers and administrators give a lead to someone else, unless the team
    lets salespeople pass leads on. No actor is the system itself (an import, the demo)."""
    if actor is None or access.gives_leads_to_others(actor):
        return
    if owner_id in (None, actor.id, lead.owner_id):
        return
    raise NotAllowed(
        _(
            "A salesperson's leads are their own or nobody's: a manager gives a lead to "
            "someone else."
        ),
        "owner_id",
    )


def hand_over_step(lead, owner_id):
    """A lead changing hands takes its next step along, unless that came due already: a step
    due and missed stays missed by whoever had the lead then."""
    if lead.id is None or owner_id == lead.owner_id:
        return
    db.session.execute(
        current_step(lead).where(PlannedStep.due_at > utcnow()).values(owner_id=owner_id)
    )


def window_holds(moment):
    """The lead's steps whose time had come by `moment` and still stood then: a contact made
    at that moment answers them (a late call is a call made)."""
    return [
        PlannedStep.due_at <= moment,
        or_(PlannedStep.ended_at.is_(None), PlannedStep.ended_at >= moment),
    ]


def keep_steps(lead, activity):
    """Mark the steps a newly logged contact answers."""
    db.session.execute(
        update(PlannedStep)
        .where(
            PlannedStep.lead_id == lead.id,
            PlannedStep.kept_by_activity_id.is_(None),
            *window_holds(activity.occurred_at),
        )
        .values(kept_by_activity_id=activity.id)
        .execution_options(synchronize_session=False)
    )


def recheck_steps(activity):
    """After a contact is moved in time or deleted, find again what answered the steps it
    answered, and whether it now answers others."""
    db.session.execute(
        update(PlannedStep)
        .where(
            PlannedStep.lead_id == activity.lead_id,
            or_(
                PlannedStep.kept_by_activity_id.is_(None),
                PlannedStep.kept_by_activity_id == activity.id,
            ),
        )
        .values(kept_by_activity_id=answering_contact())
        .execution_options(synchronize_session=False)
    )


def answering_contact():
    """The contact that answers a step (correlated to PlannedStep): the one whose logging
    replaced it if it still stands, else the first made while the step stood and at or after
    its time."""
    return (
        select(Activity.id)
        .where(
            Activity.lead_id == PlannedStep.lead_id,
            Activity.deleted_at.is_(None),
            or_(
                Activity.id == PlannedStep.ended_by_activity_id,
                and_(*window_holds(Activity.occurred_at)),
            ),
        )
        .order_by(Activity.occurred_at, Activity.id)
        .limit(1)
        .correlate(PlannedStep)
        .scalar_subquery()
    )


def check_not_future(occurred_at, now=None):
    # A day's grace: clocks and time zones differ, but a contact next week is a mistake.
    if occurred_at > (now or utcnow()) + timedelta(days=1):
        raise FunnelError(_("A contact cannot be in the future."), "occurred_at")


def keep_revision(activity, actor):
    db.session.add(
        ActivityRevision(
            activity_id=activity.id,
            kind_id=activity.kind_id,
            occurred_at=activity.occurred_at,
            body=activity.body,
            revised_by_id=actor.id,
        )
    )


def edit_activity(activity, actor, kind, body, occurred_at):
    """Correct one's own activity; the previous wording is kept as a revision."""
    if not access.can_change_activity(activity, actor):
        raise FunnelError(_("Only the author can change an activity, within a day."))
    if kind is None:
        raise FunnelError(_("Choose a kind of contact."), "kind")
    check_not_future(occurred_at)
    keep_revision(activity, actor)
    activity.kind_id = kind.id
    activity.body = clean(body, BODY_MAX, "body") or ""
    activity.occurred_at = occurred_at
    activity.edited_at = utcnow()
    refresh_last_activity(activity.lead)
    recheck_steps(activity)
    return activity


def delete_activity(activity, actor):
    """Hide one's own activity from the timeline; it stays in the database with its history."""
    if not access.can_change_activity(activity, actor):
        raise FunnelError(_("Only the author can change an activity, within a day."))
    keep_revision(activity, actor)
    activity.deleted_at = utcnow()
    refresh_last_activity(activity.lead)
    recheck_steps(activity)


def restore_activity(activity, actor):
    """Bring a deleted activity back to its timeline: administrators undo a deletion."""
    if not access.may_restore_activities(actor):
        raise NotAllowed(_("Only an administrator can restore a deleted activity."))
    if activity.deleted_at is None:
        return
    activity.deleted_at = None
    refresh_last_activity(activity.lead)
    recheck_steps(activity)


def refresh_last_activity(lead):
    db.session.flush()
    last = db.session.execute(
        select(Activity.id, Activity.occurred_at)
        .where(Activity.lead_id == lead.id, Activity.deleted_at.is_(None))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(1)
    ).first()
    lead.last_activity_id = last.id if last else None
    lead.last_activity_at = last.occurred_at if last else None


def archive_lead(lead, actor):
    """Take a lead out of the lists and the board; its history stays."""
    check_may_change(lead, actor)
    lead.archived = True


def restore_lead(lead, actor):
    check_may_change(lead, actor)
    lead.archived = False


def lost_reason_by_id(reason_id):
    return db.session.get(LostReason, reason_id) if reason_id else None


# Batches: the import writes thousands of leads and contacts in one transaction. These write
# them under the same rules as the functions above, with one statement for many rows instead
# of a flush for each.


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact written by `write_contacts`, as the funnel's rules need it: which one, and
    when it happened."""

    id: int
    occurred_at: datetime


def write_contacts(rows):
    """Write contacts made by `contact_values` with one statement; then `apply_contact` does
    what each does to its lead, in the order they happened. Returns a Contact for each row."""
    if not rows:
        return []
    for row, contact_id in zip(rows, reserve_ids(Activity, len(rows)), strict=True):
        row["id"] = contact_id
    db.session.execute(insert(Activity.__table__), rows)
    return [Contact(row["id"], row["occurred_at"]) for row in rows]


def write_stage_changes(rows):
    """Write the stage changes `apply_contact` made in bulk, with one statement."""
    if rows:
        db.session.execute(insert(StageChange.__table__), rows)


def leads_with_steps_to_answer(lead_ids):
    """Which of these leads have a planned step that no contact answered yet."""
    return set(
        db.session.scalars(
            select(PlannedStep.lead_id)
            .where(PlannedStep.lead_id.in_(lead_ids), PlannedStep.kept_by_activity_id.is_(None))
            .distinct()
        )
    )


def backdate_arrivals(firsts):
    """A lead with no history of its own (no contact, no move since it came in) came in no
    later than its first contact, so the funnel's reports see it enter before it moves on.
    `firsts` holds each lead with the time of its first contact."""
    arrivals = []
    for lead, first_contact in firsts:
        if (
            lead.last_activity_at is None
            and first_contact < lead.created_at
            and lead.stage_changed_at == lead.created_at
        ):
            lead.created_at = lead.stage_changed_at = first_contact
            arrivals.append({"lead": lead.id, "at": first_contact})
    if arrivals:
        changes = StageChange.__table__
        db.session.execute(
            update(changes)
            .where(changes.c.lead_id == bindparam("lead"), changes.c.from_stage_id.is_(None))
            .values(changed_at=bindparam("at")),
            arrivals,
        )


def assign_ids(records, model=None):
    """Give new records of one model their ids before the flush (see `reserve_ids`), which then
    writes them with one statement instead of one each, asking for its id back. `model`: the
    records' own type unless said (PastLeads become Leads)."""
    if not records:
        return
    ids = reserve_ids(model or type(records[0]), len(records))
    for record, record_id in zip(records, ids, strict=True):
        record.id = record_id


def reserve_ids(model, count):
    """Ids for `count` rows about to be written to `model`'s table. Only in a transaction that
    took SQLite's write lock before reading (as the import's does), where nobody else can take
    the next ids meanwhile; PostgreSQL's sequence gives them out."""
    table = model.__table__
    with db.session.no_autoflush:
        if db.session.get_bind().dialect.name == "postgresql":
            return db.session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"table": table.name, "count": count},
            ).all()
        first = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
    return range(first, first + count)


# Backfilling: leads with a past, written in bulk (the demo's made-up two years). Each lead's
# story is told in the order it happened, event by event, through the same rules and helpers
# as the functions above; the rows wait in memory, with ids given up front, until the caller
# takes them to insert a batch at a time. So: only into a database nobody else writes to
# meanwhile, and by the system, with whoever did each thing in the story as a plain user id.


@dataclass(slots=True, eq=False)
class PastPerson:
    """One of a backfilled lead's people, with the columns of `lead_people`."""

    id: int | None = None
    lead_id: int | None = None
    position: int = 0
    name: str | None = None
    job_title: str | None = None
    phones: list = dataclasses.field(default_factory=list)
    emails: list = dataclasses.field(default_factory=list)
    note: str | None = None


@dataclass(slots=True, eq=False)
class PastContactPoint:
    """A phone or email of a backfilled lead, with the columns of `lead_contacts`."""

    kind: str
    value: str
    id: int | None = None
    lead_id: int | None = None


@dataclass(slots=True, eq=False)
class PastLead:
    """A lead being backfilled: its columns as the funnel keeps them, and its story so far. An
    import's new leads are PastLeads too, written by `save_new_leads` (with `stage` set)."""

    id: int | None = None
    number: int | None = None
    title: str = ""
    contact_name: str | None = None
    phone: str | None = None
    phone_digits: str | None = None
    email: str | None = None
    source: str | None = None
    owner_id: int | None = None
    created_by_id: int | None = None
    stage_id: int | None = None
    value: Decimal | None = None
    lost_reason_id: int | None = None
    lost_note: str | None = None
    next_step_at: datetime | None = None
    next_step_note: str | None = None
    archived: bool = False
    search_text: str = ""
    stage_changed_at: datetime | None = None
    last_activity_id: int | None = None
    last_activity_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    fields: dict = dataclasses.field(default_factory=dict)
    people: list = dataclasses.field(default_factory=list)
    contact_points: list = dataclasses.field(default_factory=list)
    # The Stage of a lead `enter_lead` enters (a backfilled one knows only its stage's id).
    stage: object = None
    # Its contacts in the order they happened, its steps, and the one that stands.
    contacts: list = dataclasses.field(default_factory=list)
    steps: list = dataclasses.field(default_factory=list)
    standing: object = None


@dataclass(slots=True, eq=False)
class PastContact:
    """A contact being backfilled, with the lead it was with."""

    lead: PastLead
    id: int
    lead_id: int
    author_id: int | None
    kind_id: int
    occurred_at: datetime
    body: str
    stage_after_id: int | None
    created_at: datetime
    edited_at: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(slots=True, eq=False)
class PastStep:
    """A next step being backfilled, as PlannedStep keeps it."""

    id: int
    lead_id: int
    owner_id: int | None
    due_at: datetime
    note: str | None
    planned_at: datetime
    planned_by_id: int | None
    ended_at: datetime | None = None
    ended_by_activity_id: int | None = None
    kept_by_activity_id: int | None = None


class Backfill:
    """Leads and their past, told event by event in the order it happened: each method does
    what the service function of the same name does, at the moment `at` and by the user id
    `by`. `rows_told` hands over the rows, a batch of leads at a time."""

    MODELS = (
        *(Lead, LeadPerson, ContactPoint),
        *(Activity, StageChange, ActivityRevision, PlannedStep),
    )

    def __init__(self):
        self.now = utcnow()
        self.stage_kinds = dict(db.session.execute(select(Stage.id, Stage.kind)).all())
        self.open_stages = {id for id, kind in self.stage_kinds.items() if kind == StageKind.OPEN}
        self.next_ids = {model: next_id(model) for model in self.MODELS}
        self.rows = {model: [] for model in self.MODELS}

    def take_id(self, model):
        taken = self.next_ids[model]
        self.next_ids[model] = taken + 1
        return taken

    def kind_of(self, stage_id):
        kind = self.stage_kinds.get(stage_id)
        if kind is None:
            raise FunnelError(_("Choose a stage from the list."), "stage")
        return kind

    def create_lead(self, by, at, stage_id, number, **details):
        """A lead that came in at `at` in `stage_id`, numbered `number`, entered by `by`."""
        check_lead_fields(details)
        self.kind_of(stage_id)
        lead = PastLead(owner_id=by)
        set_details(lead, details)
        lead.stage_id = stage_id
        mark_new(lead, by, at, number)
        lead.updated_at = at
        lead.id = self.take_id(Lead)
        lead.contact_points = [
            PastContactPoint(kind=kind, value=value)
            for kind, value in contact_points_of(lead.people)
        ]
        self.rows[Lead].append(lead)
        for model, rows in ((LeadPerson, lead.people), (ContactPoint, lead.contact_points)):
            for row in rows:
                row.id, row.lead_id = self.take_id(model), lead.id
            self.rows[model] += rows
        self.add_change(arrival(lead, by))
        self.open_step(lead, by, at)
        return lead

    def move_lead(
        self, lead, stage_id, by, at, contact=None, lost_reason_id=None, lost_note=None, value=None
    ):
        """Move the lead to another stage, as on the board (or by `contact`)."""
        kind = self.kind_of(stage_id)
        if stage_id == lead.stage_id:
            return
        check_closing(kind, lost_reason_id, value, lead.value)
        record_outcome(lead, kind, lost_reason_id, lost_note, value)
        if kind != StageKind.OPEN:
            self.plan_next_step(lead, by, at, None, None, contact)
        self.add_change(stage_change(lead, stage_id, at, by, contact))
        self.touch(lead, at)

    def log_activity(
        self,
        lead,
        by,
        kind_id,
        body,
        at,
        stage_id=None,
        next_step_at=KEEP,
        next_step_note=None,
        lost_reason_id=None,
        lost_note=None,
        value=None,
    ):
        """A contact `by` made at `at`: what was said, the stage after it and the next step
        (None: none). The past is told as it happened, so no step is asked for here (see
        `check_next_step`)."""
        if kind_id is None:
            raise FunnelError(_("Choose a kind of contact."), "kind")
        moving = stage_id is not None and stage_id != lead.stage_id
        values = contact_values(
            lead, by, kind_id, body, at, stage_id if moving else None, logged_at=at, now=self.now
        )
        contact = PastContact(lead, self.take_id(Activity), **values)
        lead.contacts.append(contact)
        self.rows[Activity].append(contact)
        if moving:
            self.move_lead(lead, stage_id, by, at, contact, lost_reason_id, lost_note, value)
        if next_step_at is not KEEP and lead.stage_id in self.open_stages:
            note = clean(next_step_note, NOTE_MAX, "next_step_note")
            self.plan_next_step(lead, by, at, next_step_at, note, contact)
        note_newest_contact(lead, contact)
        self.touch(lead, at)
        return contact

    def plan_next_step(self, lead, by, at, due_at, note, contact=None):
        """Make `due_at` with `note` the lead's next step; the one it replaces ends at `at`,
        replaced by `contact` if logging it is what replaced it."""
        if (due_at, note) == (lead.next_step_at, lead.next_step_note):
            return
        moved = due_at != lead.next_step_at
        lead.next_step_at, lead.next_step_note = due_at, note
        self.touch(lead, at)
        standing = lead.standing
        if not moved:
            if standing is not None:
                standing.note = note
            return
        if standing is not None:
            standing.ended_at = at
            if contact is not None:
                standing.ended_by_activity_id = contact.id
            lead.standing = None
        self.open_step(lead, by, at)

    def open_step(self, lead, by, at):
        if lead.next_step_at is None or lead.stage_id not in self.open_stages:
            return
        step = PastStep(
            self.take_id(PlannedStep),
            lead.id,
            lead.owner_id,
            lead.next_step_at,
            lead.next_step_note,
            planned_at=at,
            planned_by_id=by,
        )
        lead.steps.append(step)
        lead.standing = step
        self.rows[PlannedStep].append(step)

    def edit_activity(self, contact, at, body):
        """Its author corrects what a contact says; the earlier wording is kept."""
        self.keep_revision(contact, at)
        contact.body = clean(body, BODY_MAX, "body") or ""
        contact.edited_at = at

    def delete_activity(self, contact, at):
        """Its author deletes a contact: hidden from the timeline, kept with its history."""
        self.keep_revision(contact, at)
        contact.deleted_at = at
        lead = contact.lead
        newest = next((c for c in reversed(lead.contacts) if c.deleted_at is None), None)
        if newest is not None and newest.id == lead.last_activity_id:
            return
        lead.last_activity_id = newest.id if newest else None
        lead.last_activity_at = newest.occurred_at if newest else None
        self.touch(lead, at)

    def archive_lead(self, lead, at):
        lead.archived = True
        self.touch(lead, at)

    def keep_revision(self, contact, at):
        self.rows[ActivityRevision].append(
            {
                "id": self.take_id(ActivityRevision),
                "activity_id": contact.id,
                "kind_id": contact.kind_id,
                "occurred_at": contact.occurred_at,
                "body": contact.body,
                "revised_at": at,
                "revised_by_id": contact.author_id,
            }
        )

    def add_change(self, change):
        change["id"] = self.take_id(StageChange)
        self.rows[StageChange].append(change)

    @staticmethod
    def touch(lead, at):
        if at > lead.updated_at:
            lead.updated_at = at

    def rows_told(self):
        """The rows told since the last call, by model (records with the table's columns as
        attributes, or dicts), each step with the contact that answered it; forgotten here, to
        be inserted by the caller as they are, ids and all."""
        for lead in self.rows[Lead]:
            answer_steps(lead)
            # Nothing refers back to the contacts any longer: they are freed once written.
            lead.contacts = lead.steps = lead.standing = None
            lead.people = lead.contact_points = None
        told = self.rows
        self.rows = {model: [] for model in self.MODELS}
        return told


def answer_steps(lead):
    """Find what answered each of a backfilled lead's steps, as `answering_contact` finds it in
    the database: the first contact made while the step stood and at or after its time, or the
    one whose logging replaced it; a deleted contact answers nothing."""
    contacts = lead.contacts
    moments = [contact.occurred_at for contact in contacts]
    by_id = {contact.id: contact for contact in contacts}
    for step in lead.steps:
        found = []
        for index in range(bisect_left(moments, step.due_at), len(contacts)):
            contact = contacts[index]
            if step.ended_at is not None and contact.occurred_at > step.ended_at:
                break
            if contact.deleted_at is None:
                found.append(contact)
                break
        replaced_by = by_id.get(step.ended_by_activity_id)
        if replaced_by is not None and replaced_by.deleted_at is None:
            found.append(replaced_by)
        answer = min(found, key=attrgetter("occurred_at", "id"), default=None)
        step.kept_by_activity_id = answer.id if answer else None


def next_id(model):
    """The id after the highest one taken."""
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1
