"""The JSON API: leads, their activities and the funnel's lists, for a token's owner.

Every request carries a personal token; it acts as that person, with what they may do on the
pages. Writes go through the funnel service, as the pages' do, and a refusal is a 4xx with the
reason in the owner's language and the field at fault.
"""

from datetime import datetime

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm import access, api_tokens, custom_fields, field_filters, funnel, lists, pipelines
from crm.access import may_see, restricted_to
from crm.api import bp, inputs, openapi, queries, serialise
from crm.api.errors import ApiError, error_response, invalid
from crm.extensions import db, login_manager
from crm.idempotency import HEADER, idempotent
from crm.leads import queries as register
from crm.models import ActivityKind, LostReason, Pipeline, Stage, StageKind, User
from crm.security import acting_as

# The funnel service names some fields by what they are; the API by the ids it takes.
SERVICE_FIELDS = {"stage": "stage_id", "lost_reason": "lost_reason_id"}


def someone_message():
    return _("Choose someone from the list.")


def pipeline_message():
    return _("Choose a pipeline from the list.")


def stage_message():
    return _("Choose a stage from the list.")


def reason_message():
    return _("Choose a lost reason from the list.")


def kind_message():
    return _("Choose a kind of contact.")


def bearer_token():
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@login_manager.request_loader
def load_token_user(request):
    """The token's owner is an API request's user: their language, their zone, their rights.
    (The session cookie never counts here: `crm.security` refuses it for this area.)"""
    if request.blueprint != bp.name or not bearer_token():
        return None
    user = api_tokens.authenticate(bearer_token())
    return acting_as(user) if user is not None else None


@bp.before_request
def authenticate():
    """Every request but the OpenAPI document carries a token that works."""
    request.max_content_length = inputs.BODY_SIZE_MAX
    if request.endpoint == "api.openapi_document":
        return
    if not bearer_token():
        raise ApiError(401, _("Send your API token in the header Authorization: Bearer <token>."))
    if not current_user.is_authenticated:
        raise ApiError(
            401,
            _("This API token does not work: it is wrong, revoked, or its account is deactivated."),
        )


@bp.after_request
def never_kept(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi.document(custom_fields.active_fields()))


def refuse_key(status, message):
    return error_response(status, message, HEADER)


# A write sent again with the same Idempotency-Key answers as the first time and saves nothing.
once_per_key = idempotent(refuse_key)


def refusal(error):
    """A refusal of the funnel service as the API answers it."""
    status = 403 if isinstance(error, funnel.NotAllowed) else 422
    return ApiError(status, error.message, SERVICE_FIELDS.get(error.field, error.field))


def check_may_change(lead):
    if not access.may_change(lead, current_user):
        raise ApiError(403, access.not_allowed_message())


def get_lead_or_404(number):
    lead = queries.lead_by_number(number)
    if lead is None or not may_see(lead, current_user):
        raise ApiError(404, _("There is no lead #%(number)d.", number=number))
    return lead


def lead_response(number, status=200, **headers):
    """The lead as it is now, read afresh after the commit with everything it shows."""
    return serialise.lead(queries.lead_by_number(number)), status, headers


# Leads


def lead_filters():
    """The register's filters from the query string: q, stage (repeatable), owner, archived,
    and the team's fields."""
    stage_ids = tuple(
        dict.fromkeys(
            inputs.query_id(value, "stage", stage_message())
            for value in inputs.query_values("stage")
        )
    )
    owner = inputs.query_value("owner")
    owner_id, unassigned = None, False
    if owner == "me":
        owner_id = current_user.id
    elif owner == "none":
        unassigned = True
    elif owner is not None:
        owner_id = inputs.query_id(owner, "owner", someone_message())
    search = (inputs.query_value("q") or "").replace("\x00", "").strip()[: inputs.SEARCH_MAX]
    pipeline = inputs.query_value("pipeline")
    return register.LeadFilters(
        pipeline_id=None
        if pipeline is None
        else inputs.query_id(pipeline, "pipeline", pipeline_message()),
        fields=field_filters_of(request.args),
        search=search,
        stage_ids=stage_ids,
        owner_id=owner_id,
        unassigned=unassigned,
        include_archived=inputs.query_flag("archived"),
        restricted_to=restricted_to(current_user),
    )


def field_filters_of(args):
    """The team's fields filtered as the list's address writes it (`f.gorod=moskva`,
    `f.sotrudnikov.min=10`); where the page leaves a filter out, the API refuses it, and as
    for the other parameters an empty one, or a second value where a field takes one."""
    for field in field_filters.filterable():
        for name in field_filters.param_names(field):
            if field.type in custom_fields.CHOICE_TYPES:
                inputs.query_values(name)
            else:
                inputs.query_value(name)
    reading = field_filters.read(args)
    if reading.faults:
        name, message = reading.faults[0]
        raise inputs.invalid(message, name)
    return reading.filters


def positive_ids(values, count):
    return len(values) == count and all(
        isinstance(value, int) and not isinstance(value, bool) and 0 < value <= register.MAX_ID
        for value in values
    )


def lead_cursor():
    values = inputs.decode_cursor()
    if values is None:
        return None
    if not positive_ids(values, 2):
        raise inputs.broken_cursor()
    return register.Cursor(values[0], values[1])


@bp.get("/leads")
def list_leads():
    """Leads, newest first, filtered as the lead register filters them, a page at a time."""
    filters = lead_filters()
    size = inputs.query_limit("limit", inputs.PAGE_SIZE, inputs.PAGE_MAX)
    cursor = lead_cursor()
    leads, following = queries.lead_page(filters, cursor, size)
    return {
        "leads": [serialise.lead(lead) for lead in leads],
        "next_cursor": inputs.encode_cursor([following.key, following.id]) if following else None,
    }


@bp.get("/leads/<int:number>")
def get_lead(number):
    """One lead by its number."""
    return serialise.lead(get_lead_or_404(number))


def optional_owner(value, field):
    return inputs.optional_identifier(value, field, someone_message())


DETAIL_READERS = {
    "title": inputs.text_of(funnel.TITLE_MAX),
    "contact_name": inputs.text_of(funnel.CONTACT_NAME_MAX),
    "phone": inputs.text_of(funnel.PHONE_MAX),
    "email": inputs.email,
    "source": inputs.text_of(funnel.SOURCE_MAX),
    "value": inputs.amount,
    "owner_id": optional_owner,
    "next_step_at": inputs.optional_moment,
    "next_step_note": inputs.text_of(funnel.NOTE_MAX),
}


def read_details(body):
    """The lead's details in `body`, checked for their types, as the funnel service takes them;
    the team's fields as an object of keys and values."""
    details = {
        name: read(body[name], name) for name, read in DETAIL_READERS.items() if name in body
    }
    if "fields" in body:
        details["fields"] = inputs.field_values(body["fields"])
    if "people" in body:
        details["people"] = inputs.people(body["people"])
    return details


def check_owner(owner_id):
    """Leads go to someone on the team, as on the lead page: an active account."""
    if owner_id is None:
        return
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.active:
        raise invalid(someone_message(), "owner_id")


def open_stage(value):
    """A new lead starts in an open stage (won or lost comes after some contact) of a pipeline
    still offered."""
    stage = any_stage(value)
    if not stage.is_open:
        raise invalid(stage_message(), "stage_id")
    return stage


def any_stage(value, lead=None):
    """A stage of a pipeline still offered (or the one `lead` is in already)."""
    stage_id = inputs.identifier(value, "stage_id", stage_message())
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        raise invalid(stage_message(), "stage_id")
    if lead is not None and lead.stage_id == stage.id:
        return stage
    if stage.pipeline.archived_at is not None:
        raise invalid(_("That pipeline is archived: choose a stage of another."), "stage_id")
    if not access.may_use_pipeline(current_user, stage.pipeline_id):
        raise invalid(stage_message(), "stage_id")
    return stage


def active_reason(value):
    reason_id = inputs.optional_identifier(value, "lost_reason_id", reason_message())
    if reason_id is None:
        return None
    reason = db.session.get(LostReason, reason_id)
    if reason is None or not reason.active:
        raise invalid(reason_message(), "lost_reason_id")
    return reason


def duplicates_of(lead):
    """Leads that may be this new one, as the new lead form warns of them."""
    # The main contact's, whether sent as people or as contact_name, phone and email.
    found = register.possible_duplicates(
        lead.title,
        lead.email,
        lead.phone,
        fields=lead.fields,
        limit=register.DUPLICATES_SHOWN + 1,
    )
    told = access.warns_of_hidden_duplicates()
    return [
        d.lead.number
        for d in found
        if d.lead.id != lead.id and (told or access.may_see(d.lead, current_user))
    ][: register.DUPLICATES_SHOWN]


@bp.post("/leads")
@once_per_key
def create_lead():
    """Register a lead (a salesperson's own or nobody's, see funnel.check_handing). Possible
    duplicates are a 409 unless allowed."""
    body = inputs.json_object()
    inputs.check_fields(body, {*DETAIL_READERS, "fields", "people", "stage_id", "allow_duplicates"})
    details = read_details(body)
    if details.get("title") is None:
        raise invalid(_("This field is required."), "title")
    stage = open_stage(body["stage_id"]) if "stage_id" in body else None
    allow_duplicates = inputs.flag(body.get("allow_duplicates", False), "allow_duplicates")
    if "owner_id" in details:
        check_owner(details["owner_id"])
    try:
        lead = funnel.create_lead(current_user, stage=stage, **details)
    except funnel.FunnelError as error:
        raise refusal(error) from None
    # Checked once the service accepted the lead, so a mistake in it is told first.
    duplicates = [] if allow_duplicates else duplicates_of(lead)
    if duplicates:
        numbers = ", ".join(f"#{number}" for number in duplicates)
        raise ApiError(
            409,
            _(
                "This may be a lead already registered: %(numbers)s. "
                "Send allow_duplicates: true to register it all the same.",
                numbers=numbers,
            ),
            duplicates=duplicates,
        )
    number = lead.number
    db.session.commit()
    return lead_response(number, 201, Location=url_for("api.get_lead", number=number))


@bp.patch("/leads/<int:number>")
@once_per_key
def update_lead(number):
    """Change a lead's details, and with stage_id move it to another stage."""
    lead = get_lead_or_404(number)
    check_may_change(lead)
    body = inputs.json_object()
    inputs.check_fields(
        body, {*DETAIL_READERS, "fields", "people", "stage_id", "lost_reason_id", "lost_note"}
    )
    details = read_details(body)
    if "owner_id" in details:
        check_owner(details["owner_id"])
    stage = any_stage(body["stage_id"], lead) if "stage_id" in body else None
    if stage is None:
        for field in ("lost_reason_id", "lost_note"):
            if field in body:
                raise invalid(_("Send it with stage_id, moving the lead to a lost stage."), field)
    reason = active_reason(body.get("lost_reason_id"))
    lost_note = inputs.text(body.get("lost_note"), "lost_note", funnel.NOTE_MAX)
    if stage is not None and lead.archived and stage.id != lead.stage_id:
        raise ApiError(
            409,
            _("Lead #%(number)d is archived: it stays in its stage.", number=number),
            "stage_id",
        )
    try:
        funnel.hold(lead)
        funnel.update_lead(lead, current_user, **details)
        if stage is not None:
            funnel.move_lead(lead, stage, current_user, lost_reason=reason, lost_note=lost_note)
    except funnel.FunnelError as error:
        raise refusal(error) from None
    db.session.commit()
    return lead_response(number)


@bp.post("/leads/<int:number>/archive")
@once_per_key
def archive_lead(number):
    """Archive a lead: out of the lists and the board, its history kept."""
    lead = get_lead_or_404(number)
    try:
        funnel.archive_lead(lead, current_user)
    except funnel.FunnelError as error:
        raise refusal(error) from None
    db.session.commit()
    return lead_response(number)


# Activities


def activity_cursor():
    values = inputs.decode_cursor()
    if values is None:
        return None
    if len(values) != 2 or not isinstance(values[0], str) or not positive_ids(values[1:], 1):
        raise inputs.broken_cursor()
    try:
        occurred_at = datetime.fromisoformat(values[0])
    except ValueError:
        raise inputs.broken_cursor() from None
    if occurred_at.tzinfo is not None:
        raise inputs.broken_cursor()
    return queries.ActivityCursor(occurred_at, values[1])


@bp.get("/leads/<int:number>/activities")
def list_activities(number):
    """A lead's contacts, newest first, a page at a time."""
    lead = get_lead_or_404(number)
    size = inputs.query_limit("limit", inputs.PAGE_SIZE, inputs.PAGE_MAX)
    cursor = activity_cursor()
    page, following = queries.activity_page(lead, cursor, size)
    next_cursor = None
    if following:
        next_cursor = inputs.encode_cursor([following.occurred_at.isoformat(), following.id])
    return {
        "activities": [serialise.activity(activity, lead.number) for activity in page],
        "next_cursor": next_cursor,
    }


def active_kind(value):
    """A kind of contact on offer, by its code ("call") or its id (3, or 3.0 as JSON Schema's
    integer allows)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(kind_message(), "kind")
    kinds = db.session.scalars(select_active_kinds()).all()
    if isinstance(value, str):
        kind = next((k for k in kinds if k.code is not None and k.code == value), None)
    else:
        kind = next((k for k in kinds if k.id == value), None)
    if kind is None:
        raise invalid(kind_message(), "kind")
    return kind


def select_active_kinds():
    return select(ActivityKind).where(ActivityKind.active)


ACTIVITY_FIELDS = {
    "kind",
    "body",
    "occurred_at",
    "stage_id",
    "next_step_at",
    "next_step_note",
    "no_next_step",
    "lost_reason_id",
    "lost_note",
    "value",
}


@bp.post("/leads/<int:number>/activities")
@once_per_key
def log_activity(number):
    """Log a contact: what was said, the stage after it and the next step, at once."""
    lead = get_lead_or_404(number)
    check_may_change(lead)
    body = inputs.json_object()
    inputs.check_fields(body, ACTIVITY_FIELDS)
    if body.get("kind") is None:
        raise invalid(kind_message(), "kind")
    kind = active_kind(body["kind"])
    said = inputs.text(body.get("body"), "body", funnel.BODY_MAX)
    occurred_at = inputs.optional_moment(body.get("occurred_at"), "occurred_at")
    stage = None if body.get("stage_id") is None else any_stage(body["stage_id"], lead)
    next_step_note = inputs.text(body.get("next_step_note"), "next_step_note", funnel.NOTE_MAX)
    if "next_step_at" in body:
        next_step_at = inputs.optional_moment(body["next_step_at"], "next_step_at")
    elif "next_step_note" in body:
        # A new note for the step already planned.
        next_step_at = lead.next_step_at
    else:
        next_step_at = funnel.KEEP
    no_next_step = inputs.flag(body.get("no_next_step", False), "no_next_step")
    reason = active_reason(body.get("lost_reason_id"))
    lost_note = inputs.text(body.get("lost_note"), "lost_note", funnel.NOTE_MAX)
    value = inputs.amount(body.get("value"), "value")
    try:
        activity = funnel.log_activity(
            lead,
            current_user,
            kind,
            said,
            occurred_at=occurred_at,
            stage=stage,
            next_step_at=next_step_at,
            next_step_note=next_step_note,
            no_next_step=no_next_step,
            lost_reason=reason,
            lost_note=lost_note,
            value=value,
        )
    except funnel.FunnelError as error:
        raise refusal(error) from None
    activity_id = activity.id
    db.session.commit()
    return serialise.activity(queries.activity_with_everything(activity_id), number), 201


# The funnel's lists


@bp.get("/stages")
def list_stages():
    """Every pipeline's stages, pipeline after pipeline, each in its order."""
    return {"stages": [serialise.stage(stage) for stage in lists.stages_in_order()]}


@bp.get("/pipelines")
def list_pipelines():
    """The pipelines in order (archived ones too, said so), each with its stages."""
    stages = lists.stages_in_order()
    return {
        "pipelines": [
            serialise.pipeline(each, [s for s in stages if s.pipeline_id == each.id])
            for each in db.session.scalars(Pipeline.in_order())
        ]
    }


STAGE_READERS = {
    "name": inputs.text_of(lists.STAGE_NAME_MAX),
    "colour": inputs.text,
    "kind": inputs.text,
    "stuck_after_days": lambda value, field: (
        None if value is None else inputs.whole_number(value, field)
    ),
}


@bp.post("/pipelines")
@once_per_key
def create_pipeline():
    """A pipeline with its stages in one call (administrators)."""
    if not current_user.is_admin:
        raise ApiError(403, _("Only an administrator can add a pipeline."))
    body = inputs.json_object()
    inputs.check_fields(body, {"name", "stages"})
    name = inputs.text(body.get("name"), "name", pipelines.NAME_MAX)
    stages = None
    if "stages" in body:
        most = inputs.STAGES_MAX
        if not isinstance(body["stages"], list) or len(body["stages"]) > most:
            raise invalid(_("Send the stages as a list of at most %(n)d.", n=most), "stages")
        stages = [read_stage(each, index) for index, each in enumerate(body["stages"])]
    try:
        created = pipelines.add_pipeline(name, stages)
    except lists.SettingsError as error:
        raise invalid(error.message, error.field) from None
    db.session.commit()
    return serialise.pipeline(created, lists.pipeline_stages(created.id)), 201


def read_stage(sent, index):
    where = f"stages.{index}."
    if not isinstance(sent, dict):
        raise invalid(_("Send each stage as an object."), where.rstrip("."))
    inputs.check_fields(sent, set(STAGE_READERS), prefix=where)
    values = {name: read(sent.get(name), where + name) for name, read in STAGE_READERS.items()}
    # Left out or null takes the default; "" is no colour or kind, and is refused as one.
    return (
        values["name"],
        DEFAULT_STAGE_COLOUR if values["colour"] is None else values["colour"],
        StageKind.OPEN if values["kind"] is None else values["kind"],
        values["stuck_after_days"],
    )


DEFAULT_STAGE_COLOUR = "#64748b"


@bp.get("/activity-kinds")
def list_activity_kinds():
    """The kinds of contact; a switched-off one is no longer accepted for new contacts."""
    return {"activity_kinds": [serialise.activity_kind(k) for k in queries.activity_kinds()]}


@bp.get("/lost-reasons")
def list_lost_reasons():
    """Why leads are lost; a switched-off reason is no longer accepted."""
    return {"lost_reasons": [serialise.lost_reason(r) for r in queries.lost_reasons()]}
