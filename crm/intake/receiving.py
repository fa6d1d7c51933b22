"""Requests from intake forms: read from whatever a site sends, checked, and recorded as a new
lead or as an activity on the lead they come from, through the funnel service.

Like the funnel service, this knows nothing of HTTP: it takes the fields as (name, value)
pairs and raises IntakeError with a message fit for the person who filled the form in.

A posted name equal to the key or the label of one of the team's own fields (any case) fills
that field. A value that does not fit its field is not stored there: the request is still
taken, the value kept in the activity's text with a note saying why, so nothing sent is lost.
"""

import re
import secrets
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, false, func, select

from crm import clients, custom_fields, funnel, funnel_defaults
from crm.extensions import db
from crm.i18n import team_language
from crm.models import ActivityKind, Lead, Stage, StageKind, utcnow
from crm.notifications import notices

# The names a site may give each field (compared lower-cased); the first is the documented one.
FIELD_NAMES = {
    "name": ("name", "contact", "contact_name", "full_name", "fullname", "your_name"),
    "phone": ("phone", "tel", "telephone", "phone_number", "mobile"),
    "email": ("email", "e-mail", "mail", "email_address"),
    "company": ("company", "title", "organization", "organisation", "company_name"),
    "message": ("message", "comment", "comments", "text", "question", "body"),
}
# Hidden from people by the snippet's markup: only a program filling every field fills it.
HONEYPOT = "homepage"
# What a browser or a form builder sends along that says nothing about the request.
IGNORED = frozenset({"csrf_token", "_token", "submit", "g-recaptcha-response", "idempotency_key"})
# Beyond these, further fields a site sends are not kept: the activity stays readable.
EXTRA_FIELDS_MAX = 30
EXTRA_NAME_MAX = 60
EXTRA_VALUE_MAX = 1000
# A phone matches a lead's on its last digits only when there are enough of them.
MATCH_PHONE_DIGITS = 7
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{20,64}")


class IntakeError(ValueError):
    """A request refused, with the reason for the person who sent it and the field it concerns."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


def new_token():
    return secrets.token_urlsafe(32)


def plain(text):
    """Text any database stores: no NUL, no lone surrogates (JSON can carry both)."""
    return str(text).replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


@dataclass
class Submission:
    """What a visitor sent, sorted into the fields a lead has and the rest."""

    values: dict = field(default_factory=dict)
    # The name each known field came under, for messages about it.
    names: dict = field(default_factory=dict)
    # The team's own fields: [(field, the name it came under, the value as sent)].
    own: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    trapped: bool = False

    def get(self, key):
        return self.values.get(key, "")

    def name_of(self, key):
        return self.names.get(key, key)


def own_field_names(fields):
    """{a posted name, lower-cased: the field it fills}: each field's key and label."""
    names = {}
    for own in fields:
        names.setdefault(own.label.strip().casefold(), own)
        names.setdefault(own.key, own)
    return names


def read(pairs, own_fields=None):
    """Sort (name, value) pairs into a Submission; several values of one name are joined.
    The names of the standard fields come first, then the team's own fields (`own_fields`,
    the active ones unless given)."""
    joined = {}
    for name, value in pairs:
        name, value = plain(name).strip(), plain(value).strip()
        if name in joined:
            joined[name] = f"{joined[name]}, {value}" if value else joined[name]
        else:
            joined[name] = value
    aliases = {alias: key for key, names in FIELD_NAMES.items() for alias in names}
    own_names = own_field_names(
        own_fields if own_fields is not None else custom_fields.active_fields()
    )
    submission = Submission()
    filled = set()
    for name, value in joined.items():
        lowered = name.casefold()
        if lowered == HONEYPOT:
            submission.trapped = bool(value)
        elif lowered in aliases and aliases[lowered] not in submission.values:
            submission.values[aliases[lowered]] = value
            submission.names[aliases[lowered]] = name
        elif lowered in own_names and own_names[lowered].key not in filled:
            filled.add(own_names[lowered].key)
            if value:
                submission.own.append((own_names[lowered], name, shorten(value, EXTRA_VALUE_MAX)))
        elif value and lowered not in IGNORED and len(submission.extra) < EXTRA_FIELDS_MAX:
            submission.extra.append(
                (shorten(name, EXTRA_NAME_MAX), shorten(value, EXTRA_VALUE_MAX))
            )
    return submission


def shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check(submission):
    """Refuse what cannot be answered: no way to tell who sent it, or a broken email."""
    email = submission.get("email")
    if email and not EMAIL.fullmatch(email):
        raise IntakeError(_("Enter a valid email address."), submission.name_of("email"))
    if not (submission.get("name") or email or funnel.phone_digits(submission.get("phone"))):
        raise IntakeError(
            _("Give your name, phone or email, so that we can get back to you."), "name"
        )


def title_of(submission):
    """The lead's title: the company, or else whoever sent the request."""
    for key in ("company", "name", "email", "phone"):
        if submission.get(key):
            return key, submission.get(key)
    return "name", ""


def own_values(submission):
    """The team's own fields as they will be stored, and a note for each value that does not
    fit its field (said in the team's language: the team reads it)."""
    values, notes = {}, []
    with force_locale(team_language()):
        for own, _name, sent in submission.own:
            try:
                value = custom_fields.clean_value(own, sent)
            except custom_fields.FieldValueError as error:
                notes.append(_("Not kept in the lead's fields: %(reason)s", reason=error.message))
                continue
            if value is not None:
                values[own.key] = value
    return values, notes


def body_of(submission, form, notes=()):
    """The activity's text: the message, then every field as it was sent (with a note on those
    not kept), and the form."""
    lines = [
        f"{submission.name_of(key)}: {submission.get(key)}"
        for key in FIELD_NAMES
        if key != "message" and submission.get(key)
    ]
    lines += [f"{name}: {sent}" for _own, name, sent in submission.own]
    lines += notes
    lines += [f"{name}: {value}" for name, value in submission.extra]
    lines.append(f"form: {form.name}")
    details = "\n".join(lines)
    message = submission.get("message")
    if len(message) > funnel.BODY_MAX:
        raise IntakeError(
            _("Keep it under %(n)d characters.", n=funnel.BODY_MAX), submission.name_of("message")
        )
    room = funnel.BODY_MAX - len(message) - 2
    if len(details) > room:
        details = shorten(details, room) if room > 1 else ""
    return f"{message}\n\n{details}".strip()


def request_kind(language=None):
    """The "incoming request" kind, added (named in `language`) the first time it is needed."""
    kind = db.session.scalar(
        select(ActivityKind).where(ActivityKind.code == funnel_defaults.INCOMING_REQUEST)
    )
    if kind is None:
        last = db.session.scalar(select(func.max(ActivityKind.position)))
        with force_locale(language or current_app.config["BABEL_DEFAULT_LOCALE"]):
            name = funnel_defaults.incoming_request_name()
        kind = ActivityKind(
            code=funnel_defaults.INCOMING_REQUEST, name=name, position=(last or 0) + 1
        )
        db.session.add(kind)
        db.session.flush()
    return kind


def matching_lead(email, phone, identity=()):
    """The newest lead, not archived, with this email or, failing that, this phone; failing
    both, the client's lead that an identifying field's value (ИНН) names: its open lead, or
    the newest one. `identity`: [(field, stored value)]."""
    candidates = select(Lead).where(Lead.archived == false()).order_by(Lead.id.desc()).limit(1)
    email = (email or "").strip().lower()
    if email:
        lead = db.session.scalar(candidates.where(clients.reached_at("email", email)))
        if lead is not None:
            return lead
    tail = funnel.phone_tail(phone)
    if tail and len(tail) >= MATCH_PHONE_DIGITS:
        lead = db.session.scalar(candidates.where(clients.reached_at("phone", tail)))
        if lead is not None:
            return lead
    if identity:
        return db.session.scalar(
            select(Lead)
            .join(Lead.stage)
            .where(Lead.archived == false(), clients.sharing_any(identity))
            .order_by(case((Stage.kind == StageKind.OPEN, 0), else_=1), Lead.id.desc())
            .limit(1)
        )
    return None


def start_stage(form):
    """The stage the form's new leads start in: its own while open and offered, else the
    first pipeline's first (None)."""
    stage = form.start_stage
    if stage is None or not stage.is_open or stage.pipeline.archived_at is not None:
        return None
    return stage


def default_owner_id(form):
    owner = form.owner
    return owner.id if owner is not None and owner.active else None


def receive(form, submission):
    """Record a request: an "incoming request" activity on the lead it matches (by email or
    phone), or on a new lead with the form's source. Returns the lead.

    All or nothing: a refusal leaves no lead and no activity behind.
    """
    check(submission)
    fields, notes = own_values(submission)
    body = body_of(submission, form, notes)
    lead = matching_lead(submission.get("email"), submission.get("phone"), clients.identity(fields))
    title_key, title = title_of(submission)
    blame = {
        "title": submission.name_of(title_key),
        "contact_name": submission.name_of("name"),
        "phone": submission.name_of("phone"),
        "email": submission.name_of("email"),
        "body": submission.name_of("message"),
    }
    try:
        with db.session.begin_nested():
            # Inside the savepoint: a refused request adds no kind of contact either.
            kind = request_kind()
            is_new = lead is None
            if is_new:
                lead = funnel.create_lead(
                    None,
                    stage=start_stage(form),
                    ask_required=False,
                    title=title,
                    contact_name=submission.get("name"),
                    phone=submission.get("phone"),
                    email=submission.get("email"),
                    source=form.source,
                    owner_id=default_owner_id(form),
                    fields=fields,
                )
            activity = funnel.log_activity(lead, None, kind, body, occurred_at=utcnow())
            notices.request_came_in(form, lead, activity, is_new)
    except funnel.FunnelError as error:
        raise IntakeError(error.message, blame.get(error.field, error.field)) from None
    return lead
