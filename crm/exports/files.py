"""What the exported files hold: the leads and activities tables as a person reads them, and
the full JSON export of everything, for a backup or for moving to another tool.

The tables show dates in the reader's zone and names instead of ids, as typed values that the
CSV and XLSX writers each write their own way; their headers are those the import recognises,
so an exported file can be imported back. The JSON export keeps ids and
UTC times, so nothing is lost or reinterpreted. Both are generators: nothing is read from the
database before it is written out.
"""

import json
from datetime import UTC, date, time
from decimal import Decimal

from flask_babel import gettext as _

from crm import custom_fields, lists
from crm.exports import queries
from crm.models import (
    Activity,
    ActivityKind,
    ActivityRevision,
    AppSetting,
    CustomField,
    FieldType,
    IntakeForm,
    Lead,
    LeadPerson,
    LostReason,
    Pipeline,
    PlannedStep,
    Stage,
    StageChange,
    User,
    utcnow,
)

FORMAT = "crm-export"
VERSION = 1


def local_moment(moment, zone):
    """A stored (naive UTC) moment as the time on a clock in `zone`, to the minute: what a
    spreadsheet shows, which knows nothing of zones."""
    if moment is None:
        return None
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    return local.replace(tzinfo=None, second=0, microsecond=0)


def local_step(moment, zone):
    """A next step: a whole day (midnight, as the lead page takes it) is the date alone."""
    local = local_moment(moment, zone)
    if local is not None and local.time() == time():
        return local.date()
    return local


def field_cell(field, value):
    """A value of the team's field as the files hold it: a date as a date, an amount or a number
    as a number (each file writes them its way), anything else as a person types it."""
    if value is None:
        return None
    if field.type == FieldType.DATE:
        return date.fromisoformat(value)
    if field.type == FieldType.MONEY:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if field.type == FieldType.NUMBER and not isinstance(value, bool):
        return value
    return custom_fields.as_text(field, value)


# The people after the main contact that get columns of their own: a sheet stays readable.
MORE_PEOPLE_MAX = 5
# Several phones or emails of one person in one cell, as the import splits them again.
JOINED = "; "


def people_header(more):
    """The columns of the people after the main contact: "Contact 2", "Phone 2" …"""
    header = []
    for n in range(2, more + 2):
        header += [_("Contact %(n)d", n=n), _("Phone %(n)d", n=n)]
        header += [_("Email %(n)d", n=n), _("Job title %(n)d", n=n)]
    return header


def people_cells(people, more):
    """The main contact's job title, then name, phones, emails and job title of each of the
    `more` people after it (empty cells for those a lead does not have)."""
    main = people[0] if people else None
    cells = [main.job_title if main else None]
    for n in range(1, more + 1):
        person = people[n] if n < len(people) else None
        if person is None:
            cells += [None] * 4
            continue
        cells += [
            person.name,
            JOINED.join(person.phones or ()) or None,
            JOINED.join(person.emails or ()) or None,
            person.job_title,
        ]
    return cells


def leads_table(filters, zone, sort=queries.list_queries.DEFAULT_SORT, descending=None):
    """The header and rows of the leads file: the lead list's filter, all its pages. Every field
    of the team's has a column, a removed one too: its values are still the team's. The people
    after the main contact have columns when a lead exported has them."""
    own = custom_fields.all_fields()
    more = min(max(queries.most_people(filters) - 1, 0), MORE_PEOPLE_MAX)
    # The pipeline has a column once the team has more than one: the import reads it back.
    pipelines = len(lists.pipelines()) > 1
    header = [
        _("Number"),
        _("Title"),
        _("Contact person"),
        _("Phone"),
        _("Email"),
        _("Job title"),
        *people_header(more),
        _("Source"),
        *([_("Pipeline")] if pipelines else []),
        _("Stage"),
        _("Owner"),
        _("Value"),
        _("Next step"),
        _("Next step note"),
        _("Lost reason"),
        _("Lost note"),
        _("Last contact"),
        _("Created"),
        _("Archived"),
        *(field.label for field in own),
    ]
    rows = (
        (
            row.number,
            row.title,
            row.contact_name,
            row.phone,
            row.email,
            *people_cells(people, more),
            row.source,
            *([row.pipeline] if pipelines else []),
            row.stage,
            row.owner,
            row.value,
            local_step(row.next_step_at, zone),
            row.next_step_note,
            row.lost_reason,
            row.lost_note,
            local_moment(row.last_activity_at, zone),
            local_moment(row.created_at, zone),
            row.archived,
            *(field_cell(field, (row.fields or {}).get(field.key)) for field in own),
        )
        for row, people in queries.lead_rows(filters, sort, descending, with_people=True)
    )
    return header, rows


def activities_table(filters, zone):
    """The header and rows of the activities file: the feed's filter, all its pages."""
    header = [
        _("Lead number"),
        _("Lead"),
        _("When"),
        _("Kind"),
        _("Author"),
        _("What was said"),
        _("Status after"),
    ]
    rows = (
        (
            row.lead_number,
            row.lead_title,
            local_moment(row.occurred_at, zone),
            row.kind,
            row.author,
            row.body,
            row.stage_after,
        )
        for row in queries.activity_rows(filters)
    )
    return header, rows


# The full export


def columns(model, leave_out=()):
    return [column for column in model.__table__.c if column.name not in leave_out]


def whole(model, leave_out=(), key="id"):
    """Every row of a model's table, but the columns left out."""
    table = model.__table__
    return queries.table_rows(columns(model, leave_out), table.c[key])


def sections():
    """(name, rows) of each part of the full export, in an order an import can follow.

    Accounts are listed by what identifies a person: never a password hash, a session version
    or the secret of a calendar feed. API tokens, login attempts and the secret addresses of
    intake forms are left out; derived columns (the search line, cached last contact) too.
    """
    users = User.__table__.c
    return [
        ("users", queries.table_rows([users[name] for name in PERSON], users.id)),
        ("pipelines", whole(Pipeline)),
        ("stages", whole(Stage)),
        ("activity_kinds", whole(ActivityKind)),
        ("lost_reasons", whole(LostReason)),
        ("settings", whole(AppSetting, key="key")),
        ("intake_forms", whole(IntakeForm, {"token"})),
        # The team's fields, removed ones too: the leads' `fields` hold values keyed by them.
        ("custom_fields", whole(CustomField)),
        ("leads", whole(Lead, LEAD_CACHES)),
        # Each lead's people, the main contact (position 0) first; where the leads' own
        # contact_name, phone and email come from.
        ("lead_people", whole(LeadPerson)),
        ("activities", (with_deleted_flag(row) for row in whole(Activity))),
        ("activity_revisions", whole(ActivityRevision)),
        ("stage_changes", whole(StageChange)),
        ("planned_steps", whole(PlannedStep)),
    ]


# What is written, not what is left out: a secret column added to `users` later stays out of
# the export until someone decides otherwise.
PERSON = ("id", "email", "name", "role", "active", "locale", "timezone", "created_at")
LEAD_CACHES = {"search_text", "phone_digits", "last_activity_id", "last_activity_at"}


def with_deleted_flag(row):
    return {**row, "deleted": row["deleted_at"] is not None}


def json_value(value):
    if isinstance(value, Decimal):
        # As text: a float would round a sum of money.
        return str(value)
    if hasattr(value, "isoformat"):
        # Stored naive in UTC: said so, so that no reader takes it for local time.
        return value.isoformat() + "Z"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def as_json(value):
    return json.dumps(value, ensure_ascii=False, default=json_value)


def everything():
    """The full export as JSON text, in pieces: one object with a list for each section."""
    yield "{\n"
    yield f'"format": {as_json(FORMAT)},\n"version": {VERSION},\n'
    yield f'"exported_at": {as_json(utcnow())}'
    for name, rows in sections():
        yield f",\n{as_json(name)}: ["
        written = 0
        batch = []
        for row in rows:
            batch.append(("\n" if written == 0 else ",\n") + as_json(dict(row)))
            written += 1
            if len(batch) == queries.CHUNK:
                yield "".join(batch)
                batch = []
        yield "".join(batch) + ("\n]" if written else "]")
    yield "\n}\n"
