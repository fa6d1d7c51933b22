"""The public end of intake forms: /intake/<token> takes a request from a site's form, posted
by a browser or sent by a script as JSON, without a login; the token in the address is the
secret. It answers as the form is set up to: a thank-you page, a redirect or JSON."""

import json
import secrets

from flask import jsonify, make_response, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from crm.extensions import csrf, db
from crm.idempotency import idempotent
from crm.intake import bp, origins, receiving, throttle
from crm.models import IntakeForm, IntakeReply

# A request is a few fields typed by a person: anything larger is not one.
BODY_MAX = 64 * 1024
# How long a browser may keep the answer to a preflight.
PREFLIGHT_SECONDS = 86400
ALLOWED_HEADERS = "Content-Type, Accept, Accept-Language, X-Requested-With"


class Refusal(Exception):
    """An answer other than success, with its status and message for the visitor."""

    def __init__(self, status, message, field=None, retry_after=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.retry_after = retry_after


def form_by_token(token):
    """The active form with this token, or None."""
    if not receiving.TOKEN_FORMAT.fullmatch(token):
        return None
    form = db.session.scalar(select(IntakeForm).where(IntakeForm.token == token))
    if form is None or not form.active or not secrets.compare_digest(form.token, token):
        return None
    return form


def wants_json(form=None):
    """JSON for scripts: a JSON body, a form set to answer JSON, or an Accept that prefers it."""
    if request.is_json or (form is not None and form.reply == IntakeReply.JSON):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def client_address():
    return (request.remote_addr or "unknown")[:64]


def refuse_key(status, message):
    return answer(None, status=status, message=message)


@bp.before_app_request
def limit_intake_bodies():
    # Before anything reads the body (the idempotency key's check does): a request is small.
    if request.endpoint == "intake.receive":
        request.max_content_length = BODY_MAX


@bp.route("/intake/<token>", methods=["POST", "OPTIONS"])
@csrf.exempt
@idempotent(refuse_key)
def receive(token):
    """Take a request from an intake form: a new lead, or an activity on the lead it is from."""
    form = form_by_token(token)
    if form is None:
        return answer(None, status=404, message=_("There is no form at this address."))
    origin = request.headers.get("Origin")
    if origin is not None and not origins.allowed(form, origin):
        return answer(
            None, status=403, message=_("This form does not accept requests from this site.")
        )
    if request.method == "OPTIONS":
        return preflight(origin)
    try:
        wait = throttle.admit(form, client_address())
        if wait is not None:
            raise Refusal(
                429,
                _("Too many requests from your address. Please try again in a few minutes."),
                retry_after=wait,
            )
        submission = receiving.read(fields())
        if not submission.trapped:
            receiving.receive(form, submission)
    except Refusal as refusal:
        db.session.commit()
        return answer(
            form, origin, refusal.status, refusal.message, refusal.field, refusal.retry_after
        )
    except receiving.IntakeError as error:
        db.session.commit()
        return answer(form, origin, 422, error.message, error.field)
    db.session.commit()
    return answer(form, origin)


def fields():
    """The request's fields as (name, value) pairs, from a form post or a JSON object."""
    request.max_content_length = BODY_MAX
    try:
        if request.is_json:
            return json_fields(request.get_data(cache=False))
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
            return list(request.form.items(multi=True))
    except RequestEntityTooLarge:
        raise Refusal(413, _("The request is too large.")) from None
    except (BadRequest, ValueError):
        raise Refusal(400, _("The request could not be read.")) from None
    raise Refusal(415, _("Send the form as a form post or as a JSON object."))


def json_fields(data):
    try:
        fields = json.loads(data)
    except (ValueError, RecursionError):
        raise Refusal(400, _("The request could not be read.")) from None
    if not isinstance(fields, dict):
        raise Refusal(400, _("Send the fields as a JSON object."))
    return [(name, json_text(value)) for name, value in fields.items()]


def json_text(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def preflight(origin):
    """The answer to a browser asking whether a script on `origin` may send JSON here."""
    response = make_response("", 204)
    response.headers["Allow"] = "POST, OPTIONS"
    if origin is not None:
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_SECONDS)
    return with_cors(response, origin)


def with_cors(response, origin):
    """Let a script on an allowed site read the answer (no cookies are involved)."""
    response.vary.add("Origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def answer(form, origin=None, status=200, message=None, field=None, retry_after=None):
    """Success or refusal, as the form answers: JSON, a redirect or a page."""
    success = status == 200
    thanks = _("Thank you! We have your request and will get back to you soon.")
    if wants_json(form):
        body = {"ok": True, "message": thanks} if success else {"ok": False, "error": message}
        if field:
            body["field"] = field
        response = make_response(jsonify(body), status)
    elif success and form.reply == IntakeReply.REDIRECT and form.redirect_url:
        response = redirect(form.redirect_url, 303)
    else:
        page = render_template(
            "intake/answer.html",
            success=success,
            title=_("Thank you!") if success else _("The request was not sent"),
            message=thanks if success else message,
            status=status,
        )
        response = make_response(page, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    # Refusals before the origin is known to be allowed give a script nothing to read.
    return with_cors(response, origin if form is not None else None)
