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
# What a provider adds to the address: Mango Office's "events/summary" and alike.
PATH_MAX = 100


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


@bp.route("/hooks/calls/<token>", methods=["GET", "POST"], defaults={"rest": ""})
@bp.route("/hooks/calls/<token>/<path:rest>", methods=["GET", "POST"])
@csrf.exempt
def hook(token, rest):
    """Take a phone system's call events: each updates its call, and an ended call becomes a
    contact to write up, a new lead, a call back or a call to sort out. Only a provider that
    adds its own path to the address (Mango Office) is answered past the address itself."""
    connection = connection_by_token(token)
    adapter = adapters.of(connection.provider) if connection is not None else None
    if adapter is None or (rest and not adapters.takes_paths(adapter)) or len(rest) > PATH_MAX:
        return reply(adapters.of(None), Refused(404, _("There is no connection at this address.")))
    try:
        reading = adapter.read(connection, delivery(rest))
        wait = throttle.admit(connection)
        if wait is not None:
            raise Refused(
                429, _("Too many events: try again in %(n)d seconds.", n=wait), retry_after=wait
            )
        received = [take(connection, event) for event in reading.events]
        received = [call for call in received if call is not None]
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


def take(connection, event):
    """What one event does: a recording joins its call, anything else updates its call."""
    if isinstance(event, events.Recording):
        return calls.record(connection, event)
    return calls.receive(connection, event)


def delivery(path=""):
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
        path=path,
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
