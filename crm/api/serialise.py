"""What the API answers with: plain dicts of leads, activities and the funnel's lists.

Moments are ISO 8601 in UTC with "Z"; money is a string with two decimals, so no client's
floating point rounds a deal's value.
"""

from decimal import Decimal

from crm import custom_fields

CENT = Decimal("0.01")


def moment(value):
    if value is None:
        return None
    return value.isoformat(timespec="seconds") + "Z"


def money(value):
    if value is None:
        return None
    return str(Decimal(value).quantize(CENT))


def person(user):
    return None if user is None else {"id": user.id, "name": user.name}


def stage_ref(stage):
    if stage is None:
        return None
    return {
        "id": stage.id,
        "name": stage.name,
        "kind": stage.kind,
        "pipeline_id": stage.pipeline_id,
    }


def pipeline_ref(pipeline):
    return {"id": pipeline.id, "name": pipeline.name}


def lead(record):
    """A lead as its page shows it: details, stage, owner, next step and outcome."""
    reason = record.lost_reason
    return {
        "number": record.number,
        "title": record.title,
        "contact_name": record.contact_name,
        "phone": record.phone,
        "email": record.email,
        "source": record.source,
        "value": money(record.value),
        "stage": stage_ref(record.stage),
        "pipeline": pipeline_ref(record.stage.pipeline),
        "owner": person(record.owner),
        "next_step_at": moment(record.next_step_at),
        "next_step_note": record.next_step_note,
        "lost_reason": None if reason is None else {"id": reason.id, "name": reason.name},
        "lost_note": record.lost_note,
        "archived": bool(record.archived),
        "stage_changed_at": moment(record.stage_changed_at),
        "last_activity_at": moment(record.last_activity_at),
        "created_at": moment(record.created_at),
        "updated_at": moment(record.updated_at),
        "fields": field_values(record.fields),
        "people": [contact_person(one) for one in record.people],
    }


def contact_person(record):
    """One of the people at the client, as the lead page lists them."""
    return {
        "name": record.name,
        "job_title": record.job_title,
        "phones": list(record.phones or ()),
        "emails": list(record.emails or ()),
        "note": record.note,
    }


def field_values(values):
    """The lead's values of the team's fields, as stored, keyed by each field's key, in the
    team's order; a removed field's are left out, as the pages hide them."""
    values = values or {}
    return {
        field.key: values[field.key]
        for field in custom_fields.active_fields()
        if field.key in values
    }


def activity(record, lead_number):
    kind = record.kind
    return {
        "id": record.id,
        "lead_number": lead_number,
        "kind": {"id": kind.id, "code": kind.code, "name": kind.name},
        "body": record.body or "",
        "occurred_at": moment(record.occurred_at),
        "author": person(record.author),
        "stage_after": stage_ref(record.stage_after),
        "created_at": moment(record.created_at),
        "edited_at": moment(record.edited_at),
    }


def pipeline(record, stages):
    """A pipeline with its stages in order."""
    return {
        "id": record.id,
        "name": record.name,
        "position": record.position,
        "archived": record.archived_at is not None,
        "stages": [stage(each) for each in stages],
    }


def stage(record):
    return {
        "id": record.id,
        "pipeline_id": record.pipeline_id,
        "name": record.name,
        "colour": record.colour,
        "kind": record.kind,
        "position": record.position,
        "stuck_after_days": record.stuck_after_days,
    }


def activity_kind(record):
    return {
        "id": record.id,
        "code": record.code,
        "name": record.name,
        "position": record.position,
        "active": bool(record.active),
    }


def lost_reason(record):
    return {
        "id": record.id,
        "name": record.name,
        "position": record.position,
        "active": bool(record.active),
    }
