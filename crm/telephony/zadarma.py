"""Zadarma's PBX notifications (its API documentation, "External server notifications", and
its own PHP library, zadarma/user-api-v1: lib/Webhook/*.php and Api::getWebhookEvent).

Zadarma checks the address first with a GET carrying `zd_echo`, and expects that value back
as the body. Then each event is a form POST whose `Signature` header is
base64(hex(HMAC-SHA1(fields, the API secret))) of the fields each event names:

- NOTIFY_START (an incoming call reaches the PBX): caller_id, called_did, call_start;
- NOTIFY_ANSWER (an extension answered it): caller_id, destination, call_start;
- NOTIFY_END (it ended): caller_id, called_did, call_start; also internal, duration and
  disposition ("answered", "busy", "cancel", "no answer", ...);
- NOTIFY_OUT_START / NOTIFY_OUT_END (an outgoing call from an extension): internal,
  destination, call_start; the end adds duration and disposition.

Every event carries pbx_call_id, the call's id. call_start is "YYYY-MM-DD HH:MM:SS" in the
account's time zone, taken as the team's. Other events (NOTIFY_INTERNAL, NOTIFY_IVR,
NOTIFY_RECORD, whose recording is fetched through the API) are answered and left alone.
"""

import base64
import hashlib
from datetime import datetime

from flask_babel import gettext as _

from crm.telephony import events
from crm.telephony.delivery import Answer, Reading, Refused, check, hmac_hex, same
from crm.timezones import to_utc

# Each event: (what it is in the generic event, direction, the fields its signature joins).
EVENTS = {
    "NOTIFY_START": ("started", "in", ("caller_id", "called_did", "call_start")),
    "NOTIFY_ANSWER": ("answered", "in", ("caller_id", "destination", "call_start")),
    "NOTIFY_END": ("ended", "in", ("caller_id", "called_did", "call_start")),
    "NOTIFY_OUT_START": ("started", "out", ("internal", "destination", "call_start")),
    "NOTIFY_OUT_END": ("ended", "out", ("internal", "destination", "call_start")),
}
MOMENT = "%Y-%m-%d %H:%M:%S"
ECHO_MAX = 200


def read(connection, delivery):
    if delivery.method == "GET":
        echo = delivery.args.get("zd_echo")
        if not echo or len(echo) > ECHO_MAX:
            raise Refused(400, _("Zadarma checks the address with zd_echo."))
        return Reading([], Answer(echo))
    fields = delivery.form
    known = EVENTS.get(fields.get("event"))
    if known is None:
        return Reading([])
    kind, direction, signed = known
    if connection.secret:
        given = delivery.header("Signature")
        if not given:
            raise Refused(401, _("Sign the body: the connection has a secret."))
        joined = "".join(fields.get(name, "") for name in signed).encode()
        expected = base64.b64encode(hmac_hex(connection.secret, joined, hashlib.sha1).encode())
        check(same(expected.decode(), given))
    return Reading([event_of(fields, kind, direction)])


def event_of(fields, kind, direction):
    """The generic event a notification tells."""
    if direction == "in":
        numbers = {"from": fields.get("caller_id"), "to": fields.get("called_did")}
        user = fields.get("destination") if kind == "answered" else fields.get("internal")
    else:
        numbers = {"from": fields.get("caller_id") or fields.get("internal")}
        numbers["to"] = fields.get("destination")
        user = fields.get("internal")
    generic = {
        "call_id": fields.get("pbx_call_id"),
        "event": kind,
        "direction": direction,
        **numbers,
        "user": user,
        "duration_s": fields.get("duration"),
    }
    if kind == "ended":
        generic["answered"] = fields.get("disposition") == "answered"
    return events.CallEvent(
        **{
            **fields_of(events.read(generic)),
            "started_at": call_start(fields.get("call_start")),
        }
    )


def fields_of(event):
    return {name: getattr(event, name) for name in event.__dataclass_fields__}


def call_start(text):
    """Zadarma's call_start (the account's local time) as stored; None if it does not read."""
    try:
        return to_utc(datetime.strptime((text or "").strip(), MOMENT))
    except ValueError:
        return None


def answer(_calls):
    return Answer("")
