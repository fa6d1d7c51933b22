"""Mango Office's virtual PBX notifications ("API Realtime" of its VPBX API documentation,
MangoOffice_VPBX_API v1.9/1.10 of 24.12.2017, and its "PHP examples for the MANGO OFFICE API"
v1.8; both kept in maxodrom/yii2-mango-office-api, docs/).

Mango Office sends each notification to the external system's address with the service's path
added (`<address>/events/call`, `/events/summary`, `/events/recording` ...), as a form POST of
three fields: `vpbx_api_key` (the PBX's API key), `json` (the notification) and `sign`, the
hex SHA-256 of vpbx_api_key + json + vpbx_api_salt, the salt being the key both sides sign
with ("Подписываются все запросы — как от внешней системы, так и от API ВАТС"). The
notifications are asynchronous: Mango Office reads only the HTTP status of the answer.

- /events/call, one for each state of each leg of a call: `entry_id` (the whole call, kept
  through transfers: the call id here), `call_id` (the leg), `timestamp` (Unix, UTC), `seq`,
  `call_state` (Appeared, Connected, OnHold, Disconnected), `location` (ivr, queue, abonent),
  `from` and `to` ({extension, number}; `to.line_number` the PBX's line), `disconnect_reason`.
  A leg whose caller is an employee (from.extension) and whose called party is not is an
  outgoing call; one from outside to the PBX, incoming; one between two employees, internal
  and left alone. Connected at an employee ("abonent") is the call answered.
- /events/summary, once when the whole call ended ("служит индикатором окончания
  разговора"): `entry_id`, `call_direction` (0 internal, 1 incoming, 2 outgoing), `from`,
  `to` (the employee who answered, or the first who missed it), `line_number`, `create_time`,
  `forward_time`, `talk_time` (when it was answered; 0 when nobody talked), `end_time` (all
  Unix, UTC), `entry_result` (1 talked, 0 missed) and `disconnect_reason`. The documentation's
  second example (a call that ended in the voice menu) has entry_result 1 with talk_time 0, so
  a call counts as answered when talk_time is set and entry_result is not 0.
- /events/recording: `recording_id`, `recording_state` (Started, Continued, Completed),
  `entry_id`, `call_id`, `extension`, `recipient` (Cloud, Mail, CloudAndMail; given when a
  completed recording was kept). A recording kept in Mango's cloud is opened, by a person
  signed in to Mango's account pages, at /vpbx/queries/recording/issa/<recording_id>/play/
  ("Прямая ссылка на запись разговора с авторизацией через Личный кабинет"): that link is what
  the call shows, and the server never fetches it.

Other notifications (/events/dtmf, /events/sms, /result/...) are answered and left alone.
"""

import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import quote

from flask_babel import gettext as _

from crm.telephony import events
from crm.telephony.delivery import Answer, Reading, Refused, check, only, same

TAKES_PATHS = True
RECORDING_LINK = "https://app.mango-office.ru/vpbx/queries/recording/issa/{id}/play/"
# Mango Office's ids are at most 128 bytes.
RECORDING_ID_MAX = 128
# A Unix moment past this is no call's (the year 2100).
MOMENT_MAX = 4102444800


def read(connection, delivery):
    only("POST", delivery)
    fields = delivery.form
    if connection.secret:
        given = fields.get("sign")
        if not given:
            raise Refused(401, _("Sign the body: the connection has a secret."))
        signed = fields.get("vpbx_api_key", "") + fields.get("json", "") + connection.secret
        check(same(hashlib.sha256(signed.encode()).hexdigest(), given.lower()))
    reader = READERS.get(delivery.path.strip("/"))
    if reader is None:
        return Reading([])
    notification = notification_of(fields.get("json"))
    found = reader(notification)
    return Reading([found] if found is not None else [])


def notification_of(text):
    """The `json` field: one JSON object."""
    try:
        data = json.loads(text or "")
    except (ValueError, RecursionError):
        raise events.EventError(_("The event is not JSON."), "json") from None
    if not isinstance(data, dict):
        raise events.EventError(_("Send the event as a JSON object."), "json")
    return data


def call_event(data):
    """A leg's state as the generic event: started, or answered once an employee talks;
    None for what the CRM does not need (an internal leg, a leg ending, a hold)."""
    state = data.get("call_state")
    caller, called = party(data, "from"), party(data, "to")
    direction = direction_of(caller, called)
    if direction is None or state not in ("Appeared", "Connected"):
        return None
    kind = "answered" if state == "Connected" and data.get("location") == "abonent" else "started"
    employee = caller if direction == "out" else called
    if direction == "in":
        to = called.get("line_number") or called.get("number")
    else:
        to = called.get("number")
    generic = {
        "call_id": data.get("entry_id"),
        "event": kind,
        "direction": direction,
        "from": caller.get("number"),
        "to": to,
        "user": employee.get("extension"),
    }
    # Only a leg's appearing tells when the call began, not its connecting (to the voice menu too).
    started_at = moment(data.get("timestamp")) if state == "Appeared" else None
    return with_start(events.read(generic), started_at)


def summary_event(data):
    """The whole call ended: the generic `ended`, answered when somebody talked."""
    direction = {1: "in", 2: "out"}.get(number_of(data.get("call_direction")))
    if direction is None:
        return None
    caller, called = party(data, "from"), party(data, "to")
    talked_at = number_of(data.get("talk_time"))
    ended_at = number_of(data.get("end_time"))
    answered = bool(talked_at) and number_of(data.get("entry_result")) != 0
    duration = None
    if answered and ended_at is not None and 0 <= ended_at - talked_at <= events.DURATION_MAX:
        duration = ended_at - talked_at
    generic = {
        "call_id": data.get("entry_id"),
        "event": "ended",
        "direction": direction,
        "from": caller.get("number"),
        "to": called.get("number") if direction == "out" else short(data.get("line_number")),
        "user": (caller if direction == "out" else called).get("extension"),
        "answered": answered,
        "duration_s": duration,
    }
    return with_start(events.read(generic), moment(data.get("create_time")))


def recording_event(data):
    """A completed recording kept in Mango's cloud: the link to it, for its call."""
    recipient = data.get("recipient")
    if data.get("recording_state") != "Completed" or not isinstance(recipient, str):
        return None
    if "Cloud" not in recipient:
        return None
    recording_id = events.text(data.get("recording_id"), RECORDING_ID_MAX, "recording_id")
    if recording_id is None:
        return None
    url = RECORDING_LINK.format(id=quote(recording_id, safe=""))
    return events.recording(data.get("entry_id"), url)


READERS = {
    "events/call": call_event,
    "events/summary": summary_event,
    "events/recording": recording_event,
}


def party(data, name):
    """`from` or `to`: a dict of its extension and numbers, as text; empty if not one."""
    value = data.get(name)
    if not isinstance(value, dict):
        return {}
    found = {key: short(value.get(key)) for key in ("extension", "number", "line_number")}
    return {key: text for key, text in found.items() if text}


def short(value):
    """A number or extension as text; a SIP address too long to be a number is left out
    rather than refusing the call."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= events.NUMBER_MAX else None


def direction_of(caller, called):
    """Out when an employee calls outside, in when outside calls the PBX; None between two
    employees."""
    if caller.get("extension") and called.get("extension"):
        return None
    return "out" if caller.get("extension") else "in"


def number_of(value):
    """An integer Mango Office sends as a number or as text; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value.strip())
    return None


def moment(value):
    """A Unix timestamp (UTC) as stored, naive UTC; None if it is not one."""
    seconds = number_of(value)
    if seconds is None or not 0 < seconds <= MOMENT_MAX:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def with_start(event, started_at):
    if started_at is None:
        return event
    return events.CallEvent(**{**fields_of(event), "started_at": started_at})


def fields_of(event):
    return {name: getattr(event, name) for name in event.__dataclass_fields__}


def answer(_calls):
    return Answer("")
