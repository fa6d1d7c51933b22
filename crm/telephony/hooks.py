"""The phone systems' end: /hooks/calls/<token> takes a connection's call events, without a
login; the token in the address is the secret, and a signature too when the connection has
one. Whatever arrives, the answer is never a server error, and a refused request saves
nothing."""

import secrets

from flask import make_response, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from crm.extensions import csrf, db
from crm.models import PhoneConnection
from crm.telephony import adapters, bp, calls, events, throttle
from crm.telephony.delivery import Answer, Delivery, Refused
from crm.telephony.tokens import TOKEN_FORMAT

# An event is a few fields: anything larger is not one.
BODY_MAX = 64 * 1024


@bp.before_app_request
def limit_hook_bodies():
    if request.endpoint == "telephony.hook":
        request.max_content_length = BODY_MAX


def connection_by_token(token):
    if not TOKEN_FORMAT.fullmatch(token):
        return None
    connection = db.session.scalar(select(PhoneConnection).where(PhoneConnection.token == token))
    if connection is None or not secrets.compare_digest(connection.token, token):
        return None
    return connection


@bp.route("/hooks/calls/<token>", methods=["GET", "POST"])
@csrf.exempt
def hook(token):
    """Take a phone system's call events: each updates its call, and an ended call becomes a
    contact to write up, a new lead, a call back or a call to sort out."""
    connection = connection_by_token(token)
    if connection is None:
        return reply(adapters.of(None), Refused(404, _("There is no connection at this address.")))
    adapter = adapters.of(connection.provider)
    try:
        reading = adapter.read(connection, delivery())
        wait = throttle.admit(connection)
        if wait is not None:
            raise Refused(
                429, _("Too many events: try again in %(n)d seconds.", n=wait), retry_after=wait
            )
        received = [calls.receive(connection, event) for event in reading.events]
    except events.EventError as error:
        db.session.rollback()
        return reply(adapter, Refused(422, error.message, error.field))
    except Refused as refusal:
        db.session.rollback()
        return reply(adapter, refusal)
    answer = reading.answer
    if reading.events and hasattr(adapter, "answer"):
        answer = adapter.answer(received)
    db.session.commit()
    return respond(answer)


def delivery():
    """The request as the adapters read it; too large or unreadable is refused."""
    try:
        body = request.get_data(cache=True)
        form = request.form.to_dict() if request.mimetype != "application/json" else {}
    except RequestEntityTooLarge:
        raise Refused(413, _("The request is too large.")) from None
    except (BadRequest, ValueError):
        raise Refused(400, _("The request could not be read.")) from None
    return Delivery(
        method=request.method,
        args=request.args.to_dict(),
        form=form,
        body=body,
        headers=dict(request.headers),
    )


def reply(adapter, refusal):
    if hasattr(adapter, "refusal"):
        answer = adapter.refusal(refusal.status, refusal.message, refusal.field)
    else:
        answer = Answer(refusal.message, refusal.status)
    response = respond(answer)
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def respond(answer):
    response = make_response(answer.body, answer.status)
    response.headers["Content-Type"] = answer.content_type
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
