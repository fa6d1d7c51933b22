"""The OpenAPI 3.1 document of the API, written as data: what /api/v1/openapi.json serves.

The tests check every answer they get against it, so it says what the API does, not what it
was meant to.
"""

import copy

from crm import custom_fields, lists, pipelines
from crm.api import inputs
from crm.args import FIRST_YEAR, LAST_YEAR, MAX_ID
from crm.funnel import (
    BODY_MAX,
    CONTACT_NAME_MAX,
    EMAIL_MAX,
    EMAILS_MAX,
    JOB_TITLE_MAX,
    NOTE_MAX,
    PEOPLE_MAX,
    PHONE_MAX,
    PHONES_MAX,
    SOURCE_MAX,
    TITLE_MAX,
    VALUE_MAX,
)
from crm.funnel_defaults import KIND_CODES
from crm.models import FieldType


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def or_null(schema):
    return {"anyOf": [schema, {"type": "null"}]}


def anchored(regex):
    """The app's whole-value regex (`^...\\Z`) as JSON Schema writes it (`^...$`): in a JSON
    Schema pattern `$` ends the value, as `\\Z` does in Python, whose own `$` would let a
    newline follow."""
    return regex.pattern.removesuffix(r"\Z") + "$"


def obj(properties, required=None, description=None):
    """An object with exactly these properties; all of them always there unless told."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
MOMENT = {
    "type": "string",
    "format": "date-time",
    "pattern": "Z$",
    "description": "ISO 8601, in UTC.",
    "examples": ["2026-11-27T14:30:00Z"],
}
MONEY = {
    "type": "string",
    "pattern": r"^[0-9]{1,12}\.[0-9]{2}$",
    "description": "An amount with two decimals, as a string so that no float rounds it.",
    "examples": ["1250000.50"],
}
STAGE_KIND = {"type": "string", "enum": ["open", "won", "lost"]}
MOMENT_IN = {
    "type": "string",
    "format": "date-time",
    "maxLength": inputs.MOMENT_MAX,
    "pattern": "^(19|2[0-9])[0-9]{2}-",
    "description": "ISO 8601 with a zone (Z or an offset), between the years "
    f"{FIRST_YEAR} and {LAST_YEAR}.",
    "examples": ["2026-11-27T14:30:00Z", "2026-11-27T17:30:00+03:00"],
}
MONEY_IN = {
    "description": f"Zero to {VALUE_MAX}, as a string of digits with cents if any "
    '("1250000.50"), or a number, rounded to cents.',
    "anyOf": [
        {"type": "string", "pattern": anchored(inputs.MONEY_TEXT)},
        {"type": "number", "minimum": 0, "maximum": float(VALUE_MAX)},
    ],
}
# A character that is not blank. The app trims whitespace (what Python's str.strip() takes
# away) and drops NUL, so required text needs one other character. Not anchored: a JSON Schema
# pattern is found anywhere in the value.
NOT_BLANK = (
    "[^\\u0000\\t-\\r\\u001c- \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000]"
)


def text_in(limit, description=None):
    """Optional text: null, or up to `limit` characters (empty or blank: none)."""
    schema = {
        "type": ["string", "null"],
        "maxLength": limit,
        "description": f"Up to {limit} characters; empty or blank means none.",
    }
    if description:
        schema["description"] = f"{description} {schema['description']}"
    return schema


def required_text(limit, description=None):
    """Text that must be there: up to `limit` characters, not all blank."""
    schema = {
        "type": "string",
        "minLength": 1,
        "maxLength": limit,
        "pattern": NOT_BLANK,
        "description": f"Required: up to {limit} characters, not all blank.",
    }
    if description:
        schema["description"] = f"{description} {schema['description']}"
    return schema


def texts_in(limit, most, description):
    """A list of texts, or a lone text as a list of one, or null for none."""
    each = {"type": "string", "maxLength": limit}
    return {
        "anyOf": [{"type": "array", "items": each, "maxItems": most}, each, {"type": "null"}],
        "description": description,
    }


# The team's own fields, whatever the team has defined: the document served describes each
# (see `fields_schemas`).
FIELD_VALUE = {
    "anyOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": {"type": "string"}},
    ]
}
FIELDS_DESCRIPTION = (
    "The team's own fields (Settings → Fields), keyed by each field's key: text, a number, "
    'a date as "YYYY-MM-DD", true or false, an option\'s key, or a list of option keys. '
    "An empty field has no key."
)
FIELDS_IN_DESCRIPTION = (
    "The team's own fields to set, keyed by each field's key; only the keys sent change, and "
    "null empties a field. A value the field cannot hold, or a key no field has, is refused "
    "with field `fields.<key>`."
)

LEAD_DETAILS_IN = {
    "title": required_text(TITLE_MAX),
    "contact_name": text_in(CONTACT_NAME_MAX),
    "phone": text_in(PHONE_MAX),
    "email": text_in(EMAIL_MAX, "An email address."),
    "source": text_in(SOURCE_MAX, "Where the lead came from."),
    "value": or_null(MONEY_IN),
    "owner_id": or_null(
        {**ID, "description": "An active account. A salesperson may give only their own id."}
    ),
    "next_step_at": or_null(MOMENT_IN),
    "next_step_note": text_in(NOTE_MAX, "What to do at the next step."),
    "fields": ref("LeadFieldsIn"),
    "people": {
        "type": "array",
        "items": ref("ContactPersonIn"),
        "maxItems": PEOPLE_MAX,
        "description": f"Up to {PEOPLE_MAX} people at the client, the main contact first: the "
        "whole list, replacing the lead's. An empty person is left out. contact_name, phone "
        "and email sent along change the main contact. A refusal names the field as "
        "`people.<index>.<field>`.",
    },
}

SCHEMAS = {
    "Error": obj(
        {
            "error": obj(
                {
                    "message": {
                        "type": "string",
                        "description": "What went wrong, in the token owner's language.",
                    },
                    "field": {
                        "type": ["string", "null"],
                        "description": "The field or parameter at fault, if one is: "
                        "`fields.<key>` for one of the team's fields.",
                    },
                    "duplicates": {
                        "type": "array",
                        "items": {"type": "integer"},
                        "description": "On a 409 from creating a lead: the numbers of the "
                        "leads it may duplicate.",
                    },
                },
                required=["message", "field"],
            )
        }
    ),
    "Person": obj({"id": ID, "name": {"type": "string"}}),
    "ContactPerson": obj(
        {
            "name": {"type": ["string", "null"]},
            "job_title": {"type": ["string", "null"]},
            "phones": {"type": "array", "items": {"type": "string"}},
            "emails": {"type": "array", "items": {"type": "string"}},
            "note": {"type": ["string", "null"]},
        },
        description="Someone at the client; a lead's first is its main contact.",
    ),
    "ContactPersonIn": obj(
        {
            "name": text_in(CONTACT_NAME_MAX),
            "job_title": text_in(JOB_TITLE_MAX),
            "phones": texts_in(
                PHONE_MAX,
                PHONES_MAX,
                f"Up to {PHONES_MAX} phones, each up to {PHONE_MAX} characters.",
            ),
            "emails": texts_in(
                EMAIL_MAX,
                EMAILS_MAX,
                f"Up to {EMAILS_MAX} email addresses, each up to {EMAIL_MAX} characters.",
            ),
            "note": text_in(NOTE_MAX),
        },
        required=[],
    ),
    "StageRef": obj({"id": ID, "name": {"type": "string"}, "kind": STAGE_KIND, "pipeline_id": ID}),
    "PipelineRef": obj({"id": ID, "name": {"type": "string"}}),
    "Pipeline": obj(
        {
            "id": ID,
            "name": {"type": "string"},
            "position": {"type": "integer"},
            "archived": {
                "type": "boolean",
                "description": "No longer offered; its leads' history stays.",
            },
            "stages": {"type": "array", "items": ref("Stage")},
        }
    ),
    "PipelineCreate": obj(
        {
            "name": required_text(pipelines.NAME_MAX, "A name no other pipeline has."),
            "stages": {
                "type": "array",
                "minItems": 1,
                "maxItems": inputs.STAGES_MAX,
                "description": "In order; at least one open. Without it: a stage of each kind.",
                "items": obj(
                    {
                        "name": required_text(
                            lists.STAGE_NAME_MAX, "A name no other stage of the pipeline has."
                        ),
                        "colour": or_null(
                            {
                                "type": "string",
                                "pattern": anchored(lists.COLOUR),
                                "description": "Left out or null: slate grey.",
                            }
                        ),
                        "kind": or_null({**STAGE_KIND, "description": "Left out or null: open."}),
                        "stuck_after_days": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "maximum": lists.STUCK_DAYS_MAX,
                        },
                    },
                    required=["name"],
                ),
            },
        },
        required=["name"],
    ),
    "LostReasonRef": obj({"id": ID, "name": {"type": "string"}}),
    "Lead": obj(
        {
            "number": {"type": "integer", "minimum": 1, "description": "Shown as #123."},
            "title": {"type": "string"},
            "contact_name": {"type": ["string", "null"]},
            "phone": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "source": {"type": ["string", "null"]},
            "value": or_null(MONEY),
            "stage": ref("StageRef"),
            "pipeline": ref("PipelineRef"),
            "owner": or_null(ref("Person")),
            "next_step_at": or_null(MOMENT),
            "next_step_note": {"type": ["string", "null"]},
            "lost_reason": or_null(ref("LostReasonRef")),
            "lost_note": {"type": ["string", "null"]},
            "archived": {"type": "boolean"},
            "stage_changed_at": MOMENT,
            "last_activity_at": or_null(MOMENT),
            "created_at": MOMENT,
            "updated_at": MOMENT,
            "fields": ref("LeadFields"),
            "people": {
                "type": "array",
                "items": ref("ContactPerson"),
                "description": "The people at the client, the main contact first; "
                "contact_name, phone and email are the main contact's.",
            },
        }
    ),
    "LeadFields": {
        "type": "object",
        "additionalProperties": FIELD_VALUE,
        "description": FIELDS_DESCRIPTION,
    },
    "LeadFieldsIn": {
        "type": "object",
        "additionalProperties": or_null(FIELD_VALUE),
        "description": FIELDS_IN_DESCRIPTION,
    },
    "LeadPage": obj(
        {
            "leads": {"type": "array", "items": ref("Lead"), "maxItems": inputs.PAGE_MAX},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last one.",
            },
        }
    ),
    "Activity": obj(
        {
            "id": ID,
            "lead_number": {"type": "integer", "minimum": 1},
            "kind": obj(
                {"id": ID, "code": {"type": ["string", "null"]}, "name": {"type": "string"}}
            ),
            "body": {"type": "string", "description": "What was said."},
            "occurred_at": MOMENT,
            "author": or_null(ref("Person")),
            "stage_after": or_null(
                {**ref("StageRef"), "description": "The stage the contact moved the lead to."}
            ),
            "created_at": MOMENT,
            "edited_at": or_null(MOMENT),
        }
    ),
    "ActivityPage": obj(
        {
            "activities": {"type": "array", "items": ref("Activity"), "maxItems": inputs.PAGE_MAX},
            "next_cursor": {"type": ["string", "null"]},
        }
    ),
    "Stage": obj(
        {
            "id": ID,
            "pipeline_id": ID,
            "name": {"type": "string"},
            "colour": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
            "kind": STAGE_KIND,
            "position": {"type": "integer"},
            "stuck_after_days": {"type": ["integer", "null"]},
        }
    ),
    "ActivityKind": obj(
        {
            "id": ID,
            "code": {
                "type": ["string", "null"],
                "description": "The built-in kinds' code (call, email, meeting, message, note).",
            },
            "name": {"type": "string"},
            "position": {"type": "integer"},
            "active": {"type": "boolean"},
        }
    ),
    "LostReason": obj(
        {
            "id": ID,
            "name": {"type": "string"},
            "position": {"type": "integer"},
            "active": {"type": "boolean"},
        }
    ),
    "LeadCreate": obj(
        {
            **LEAD_DETAILS_IN,
            "stage_id": {**ID, "description": "An open stage; the funnel's first by default."},
            "allow_duplicates": {
                "type": "boolean",
                "default": False,
                "description": "Register the lead even if it looks like one already there.",
            },
        },
        required=["title"],
        description="A salesperson's lead is their own: owner_id, if given, is their id.",
    ),
    "LeadUpdate": obj(
        {
            **LEAD_DETAILS_IN,
            "stage_id": {
                **ID,
                "description": "Move the lead to this stage. A lost stage needs "
                "lost_reason_id; a won one a value, if the lead has none.",
            },
            "lost_reason_id": or_null({**ID, "description": "With stage_id: why it was lost."}),
            "lost_note": text_in(NOTE_MAX, "With stage_id: details of the loss."),
        },
        required=[],
        description="Only the fields sent change.",
    ),
    "ActivityCreate": obj(
        {
            "kind": {
                "description": 'The kind of contact, by its code ("call"; "request" once a web '
                "form has recorded a request) or its id. One switched off is refused.",
                "anyOf": [{"type": "string", "enum": list(KIND_CODES)}, ID],
            },
            "body": text_in(BODY_MAX, "What was said."),
            "occurred_at": or_null(
                {**MOMENT_IN, "description": "When it happened; now if left out."}
            ),
            "stage_id": or_null({**ID, "description": "The lead's stage after the contact."}),
            "next_step_at": or_null(
                {
                    **MOMENT_IN,
                    "description": "The next step. The contact answers the step that was "
                    "due, so a lead that stays open must come out of it with a step ahead: "
                    "give one (later than now, or the start of today in the token owner's "
                    "zone: a step for the whole of today), or leave this out to keep the "
                    "planned one while it is ahead, or send no_next_step. Anything else "
                    "(null, a moment gone by, a planned step that is due) is refused with "
                    "field next_step_at.",
                }
            ),
            "next_step_note": text_in(NOTE_MAX),
            "no_next_step": {
                "type": "boolean",
                "default": False,
                "description": "true: the lead has no next step after this contact (it "
                "then shows under the agenda's No next step). Sent with a next_step_at, "
                "the contact is refused with field no_next_step.",
            },
            "lost_reason_id": or_null({**ID, "description": "Needed for a lost stage."}),
            "lost_note": text_in(NOTE_MAX),
            "value": or_null(
                {**MONEY_IN, "description": "The deal's final value, for a won stage."}
            ),
        },
        required=["kind"],
    ),
}


def error_response(description, **extra):
    return {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
        **extra,
    }


RESPONSES = {
    "BadRequest": error_response(
        "The body is not a JSON object, or not sent as application/json; or the "
        "Idempotency-Key is not 1 to 80 visible characters."
    ),
    "Unauthorized": error_response(
        "No token, or one that is wrong, revoked, or whose account is deactivated.",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    ),
    "Forbidden": error_response("The token's owner may not do this (someone else's lead)."),
    "NotFound": error_response("No lead with this number."),
    "Conflict": error_response("The lead is archived, or the new one may be a duplicate."),
    "TooLarge": error_response(f"The body is larger than {inputs.BODY_SIZE_MAX // 1024} KiB."),
    "Invalid": error_response("A field or parameter is wrong: `field` names it."),
    "UriTooLong": {
        "description": "The address is longer than the HTTP server takes (gunicorn: a request "
        "line over 4094 bytes; a reverse proxy in front may take less). The server answers "
        "before the API is reached, with a page of its own, not JSON.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
}


def responses(success_status, success, *errors):
    answers = {str(success_status): success}
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "Conflict": "409",
        "TooLarge": "413",
        "UriTooLong": "414",
        "Invalid": "422",
    }
    for name in ("Unauthorized", *errors, "UriTooLong"):
        answers[codes[name]] = {"$ref": f"#/components/responses/{name}"}
    return answers


def json_answer(description, schema, **extra):
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def json_body(schema):
    return {"required": True, "content": {"application/json": {"schema": schema}}}


NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "The lead's number (#123).",
    "schema": {"type": "integer", "minimum": 1},
}
LIMIT = {
    "name": "limit",
    "in": "query",
    "description": "How many to answer with.",
    "schema": {
        "type": "integer",
        "minimum": 1,
        "maximum": inputs.PAGE_MAX,
        "default": inputs.PAGE_SIZE,
    },
}
CURSOR = {
    "name": "cursor",
    "in": "query",
    "description": "The `next_cursor` of the previous page.",
    "schema": {"type": "string", "pattern": anchored(inputs.CURSOR_TEXT)},
}
LEAD_WRITTEN = json_answer("The lead as it is now.", ref("Lead"))

PATHS = {
    "/leads": {
        "get": {
            "operationId": "listLeads",
            "summary": "Leads, newest first, filtered as the lead list filters them.",
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "description": "Search: number, title, contact person, email or phone "
                    f"(its first {inputs.SEARCH_MAX} characters; blank finds every lead).",
                    "schema": {"type": "string", "minLength": 1},
                },
                {
                    "name": "stage",
                    "in": "query",
                    "description": "Only leads in these stages (repeat for several: "
                    "`stage=1&stage=2`).",
                    "schema": {"type": "array", "items": ID},
                    "style": "form",
                    "explode": True,
                },
                {
                    "name": "pipeline",
                    "in": "query",
                    "description": "Only the leads in this pipeline now.",
                    "schema": ID,
                },
                {
                    "name": "owner",
                    "in": "query",
                    "description": "An account's id, `me`, or `none` for leads nobody owns.",
                    "schema": {"anyOf": [{"type": "string", "enum": ["me", "none"]}, ID]},
                },
                {
                    "name": "archived",
                    "in": "query",
                    "description": "1: archived leads too.",
                    "schema": {"type": "string", "enum": ["0", "1", "false", "true"]},
                },
                LIMIT,
                CURSOR,
            ],
            "responses": responses(
                200, json_answer("A page of leads.", ref("LeadPage")), "Invalid"
            ),
        },
        "post": {
            "operationId": "createLead",
            "summary": "Register a lead.",
            "requestBody": json_body(ref("LeadCreate")),
            "responses": responses(
                201,
                json_answer(
                    "The lead registered.",
                    ref("Lead"),
                    headers={
                        "Location": {
                            "description": "The lead's address in the API.",
                            "schema": {"type": "string"},
                            "required": True,
                        }
                    },
                ),
                "BadRequest",
                "Forbidden",
                "Conflict",
                "TooLarge",
                "Invalid",
            ),
        },
    },
    "/leads/{number}": {
        "parameters": [NUMBER],
        "get": {
            "operationId": "getLead",
            "summary": "One lead.",
            "responses": responses(200, json_answer("The lead.", ref("Lead")), "NotFound"),
        },
        "patch": {
            "operationId": "updateLead",
            "summary": "Change a lead's details, or move it to another stage.",
            "requestBody": json_body(ref("LeadUpdate")),
            "responses": responses(
                200,
                LEAD_WRITTEN,
                "BadRequest",
                "Forbidden",
                "NotFound",
                "Conflict",
                "TooLarge",
                "Invalid",
            ),
        },
    },
    "/leads/{number}/archive": {
        "parameters": [NUMBER],
        "post": {
            "operationId": "archiveLead",
            "summary": "Archive a lead: out of the lists and the board, its history kept.",
            "responses": responses(200, LEAD_WRITTEN, "Forbidden", "NotFound"),
        },
    },
    "/leads/{number}/activities": {
        "parameters": [NUMBER],
        "get": {
            "operationId": "listActivities",
            "summary": "A lead's contacts, newest first.",
            "parameters": [LIMIT, CURSOR],
            "responses": responses(
                200,
                json_answer("A page of contacts.", ref("ActivityPage")),
                "NotFound",
                "Invalid",
            ),
        },
        "post": {
            "operationId": "logActivity",
            "summary": "Log a contact, with the stage after it and the next step.",
            "requestBody": json_body(ref("ActivityCreate")),
            "responses": responses(
                201,
                json_answer("The contact logged.", ref("Activity")),
                "BadRequest",
                "Forbidden",
                "NotFound",
                "TooLarge",
                "Invalid",
            ),
        },
    },
    "/pipelines": {
        "get": {
            "operationId": "listPipelines",
            "summary": "The pipelines in order, each with its stages.",
            "responses": responses(
                200,
                json_answer(
                    "The pipelines.",
                    obj({"pipelines": {"type": "array", "items": ref("Pipeline")}}),
                ),
            ),
        },
        "post": {
            "operationId": "createPipeline",
            "summary": "Add a pipeline with its stages (administrators).",
            "requestBody": json_body(ref("PipelineCreate")),
            "responses": responses(
                201,
                json_answer("The pipeline added.", ref("Pipeline")),
                "BadRequest",
                "Forbidden",
                "TooLarge",
                "Invalid",
            ),
        },
    },
    "/stages": {
        "get": {
            "operationId": "listStages",
            "summary": "Every pipeline's stages, pipeline after pipeline, each in its order.",
            "responses": responses(
                200,
                json_answer(
                    "The stages.",
                    obj({"stages": {"type": "array", "items": ref("Stage")}}),
                ),
            ),
        }
    },
    "/activity-kinds": {
        "get": {
            "operationId": "listActivityKinds",
            "summary": "The kinds of contact.",
            "responses": responses(
                200,
                json_answer(
                    "The kinds.",
                    obj({"activity_kinds": {"type": "array", "items": ref("ActivityKind")}}),
                ),
            ),
        }
    },
    "/lost-reasons": {
        "get": {
            "operationId": "listLostReasons",
            "summary": "Why leads are lost.",
            "responses": responses(
                200,
                json_answer(
                    "The reasons.",
                    obj({"lost_reasons": {"type": "array", "items": ref("LostReason")}}),
                ),
            ),
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": json_answer("The OpenAPI document.", {"type": "object"}),
                "414": {"$ref": "#/components/responses/UriTooLong"},
            },
        }
    },
}


def value_schema(field):
    """What a field of the team's holds, as JSON Schema."""
    keys = [option.key for option in field.options]
    return {
        FieldType.TEXT: {"type": "string", "maxLength": custom_fields.TEXT_MAX},
        FieldType.LONG_TEXT: {"type": "string", "maxLength": custom_fields.LONG_TEXT_MAX},
        FieldType.NUMBER: {
            "type": "number",
            "exclusiveMinimum": -float(custom_fields.NUMBER_MAX),
            "exclusiveMaximum": float(custom_fields.NUMBER_MAX),
        },
        FieldType.MONEY: {
            "type": "number",
            "minimum": 0,
            "maximum": float(custom_fields.MONEY_MAX),
        },
        FieldType.DATE: {"type": "string", "format": "date", "examples": ["2026-12-31"]},
        FieldType.YES_NO: {"type": "boolean"},
        FieldType.CHOICE: {"type": "string", "enum": keys},
        FieldType.CHOICES: {
            "type": "array",
            "items": {"type": "string", "enum": keys},
            "uniqueItems": True,
        },
        FieldType.LINK: {"type": "string", "format": "iri", "maxLength": custom_fields.TEXT_MAX},
        FieldType.PHONE: {"type": "string", "maxLength": 50},
        FieldType.EMAIL: {"type": "string", "format": "email", "maxLength": 254},
    }[field.type]


def field_description(field):
    """The field's label and help, and for a choice its options by key and label."""
    parts = [field.label]
    if field.help_text:
        parts.append(field.help_text)
    if field.has_options:
        options = ", ".join(
            f"{option.key} ({option.label}{', no longer offered' if option.retired else ''})"
            for option in field.options
        )
        parts.append(f"Options: {options}.")
    if field.required:
        parts.append("Required on a new lead.")
    if field.identifies_client:
        parts.append("Identifies the client.")
    return " — ".join(parts)


def fields_schemas(fields):
    """The schemas of the team's fields as they are defined now: each key with its type."""
    shown, sent = {}, {}
    for field in fields:
        schema = {**value_schema(field), "title": field.label}
        schema["description"] = field_description(field)
        shown[field.key] = schema
        sent[field.key] = {**or_null(value_schema(field)), "description": schema["description"]}
    return {
        "LeadFields": obj(shown, required=[], description=FIELDS_DESCRIPTION),
        "LeadFieldsIn": obj(sent, required=[], description=FIELDS_IN_DESCRIPTION),
    }


def filter_parameters(fields):
    """The list's filters on the team's filterable fields, as `GET /leads` reads them."""
    parameters = []
    for field in fields:
        if not field.filterable:
            continue
        name = f"f.{field.key}"
        if field.type in custom_fields.CHOICE_TYPES:
            keys = [option.key for option in field.options]
            parameters.append(
                query_parameter(
                    name,
                    f"{field.label}: any of these choices (repeat for several).",
                    {"type": "array", "items": {"type": "string", "enum": keys}},
                    style="form",
                    explode=True,
                )
            )
        elif field.type == FieldType.YES_NO:
            schema = {"type": "string", "enum": ["0", "1"]}
            parameters.append(query_parameter(name, f"{field.label}: 1 yes, 0 no.", schema))
        elif field.type in (FieldType.NUMBER, FieldType.MONEY, FieldType.DATE):
            schema = value_schema(field)
            parameters += [
                query_parameter(f"{name}.min", f"{field.label}: at least this.", schema),
                query_parameter(f"{name}.max", f"{field.label}: at most this.", schema),
            ]
        else:
            schema = {"type": "string"}
            parameters.append(query_parameter(name, f"{field.label}: holds this text.", schema))
    return parameters


def query_parameter(name, description, schema, **extra):
    return {"name": name, "in": "query", "description": description, "schema": schema, **extra}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "Any string of 1 to 80 visible characters, new for each change (a UUID). "
    "Sent again within 24 hours with the same request, it answers as the first time, with "
    "`Idempotent-Replayed: true`, and changes nothing more; with a different request, 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": "^[!-~]+$"},
}
WRITES = ("post", "patch")


def with_idempotency_keys(described):
    """Every change takes an Idempotency-Key, so a client may retry it safely; a key that
    cannot be one is a 400, one sent before with another request a 422."""
    for path in described.values():
        for method in WRITES:
            if method in path:
                operation = path[method]
                operation["parameters"] = [*operation.get("parameters", ()), IDEMPOTENCY_KEY]
                answers = operation["responses"]
                answers.setdefault("400", {"$ref": "#/components/responses/BadRequest"})
                answers.setdefault("422", {"$ref": "#/components/responses/Invalid"})
    return described


# Built once: only the filters on the team's fields change from one document to the next.
DESCRIBED_PATHS = with_idempotency_keys(copy.deepcopy(PATHS))


def paths(fields):
    """The paths, the list's filters on the team's fields among `GET /leads`'s parameters."""
    filters = filter_parameters(fields or ())
    if not filters:
        return DESCRIBED_PATHS
    described = copy.deepcopy(DESCRIBED_PATHS)
    listing = described["/leads"]["get"]["parameters"]
    listing[-2:-2] = filters  # before the page's limit and cursor
    return described


def document(fields=None):
    """The whole document, as /api/v1/openapi.json serves it: with `fields` (the team's active
    fields), each described by its key and filterable ones as the list's filters; without,
    any field's values."""
    schemas = SCHEMAS if fields is None else {**copy.deepcopy(SCHEMAS), **fields_schemas(fields)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CRM API",
            "version": "1",
            "description": "Leads, their contacts and the funnel, for the owner of a personal "
            "token (Settings → API tokens), with what that person may do on the pages. "
            'Errors are `{"error": {"message": ..., "field": ...}}` with a 4xx status, the '
            "message in the token owner's language. A query parameter left out takes its "
            "default; one sent empty (`owner=`), or sent twice where it takes one value (all but "
            "`stage` and the filters on choices), is refused with a 422 naming it. A method an "
            "address does not take is answered 405 with `Allow` listing those it does.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "paths": paths(fields),
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token: `Authorization: Bearer crm_...`.",
                }
            },
            "schemas": schemas,
            "responses": RESPONSES,
        },
    }
