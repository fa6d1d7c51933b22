"""Sipuni's PBX events ("Отправка событий HTTP", doc.sipuni.com/articles/626-636-640, and
"Отправка событий АТС на скрипт. HTTP API", help.sipuni.com/articles/134-182-110).

Sipuni's documentation says: the events are turned on in Settings → API → "События на АТС"
with the address to call; each event is a GET or POST request of URL-encoded UTF-8
parameters in any order, `event` (its kind) in every one; the address must answer with a
JSON string holding `success`, true when the event was taken, false otherwise, at least
`{"success": true}`, and "if a correct answer is not received, sending may be suspended".
It names no signature: the secret address is the only key.

The copies of those pages at hand stop before their list of parameters. The parameters
read here are the ones Sipuni's deliveries carry as integrations that take them read them
(xoptov/sipuni-bundle: Service/Factory/CallEventFactory.php, HangupEventFactory.php and
Controller/CallbackController.php, which answers {"success": true}) and as a log of
deliveries captured from a Sipuni account shows them; they agree with each other:

- every event: `event`, `call_id` (the call's id, kept by all its events), `timestamp` (Unix,
  seconds), `src_num` and `dst_num` (the caller's and the called number), `src_type` and
  `dst_type` (1 an outside number, 2 an extension), `short_src_num` and `short_dst_num` (the
  extension itself), `treeName`, `channel`;
- event=1, a call begins (incoming, or an extension calls out);
- event=3, it is answered;
- event=2, it ended: `status` (ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL),
  `call_start_timestamp`, `call_answer_timestamp` (0 or empty when nobody answered),
  `last_called` (the extension that took the call, or the last one tried) and
  `call_record_link` (the recording, shown as a link and never fetched);
- event=4, a transferred leg ended, which the CRM does not need.

A call between two extensions is answered and left alone, and so is any other event.
"""

import json
from datetime import UTC, datetime

from crm.telephony import events
from crm.telephony.delivery import Answer, Reading

KINDS = {"1": "started", "3": "answered", "2": "ended"}
OUTSIDE, EXTENSION = "1", "2"
# A Unix moment past this is no call's (the year 2100).
MOMENT_MAX = 4102444800


def read(_connection, delivery):
    fields = {**delivery.args, **delivery.form}
    kind = KINDS.get(str(fields.get("event", "")).strip())
    if kind is None or not fields.get("call_id"):
        return Reading([], answer(None))
    direction = direction_of(fields.get("src_type"), fields.get("dst_type"))
    if direction == "internal":
        return Reading([], answer(None))
    return Reading([event_of(fields, kind, direction)], answer(None))


def direction_of(src_type, dst_type):
    """In from an outside number, out from an extension to one; "internal" between two
    extensions; None when the event does not say (it then only updates a known call)."""
    src_type, dst_type = str(src_type or "").strip(), str(dst_type or "").strip()
    if src_type == OUTSIDE:
        return "in"
    if src_type == EXTENSION:
        return "out" if dst_type != EXTENSION else "internal"
    return None


def event_of(fields, kind, direction):
    """The generic event an event of Sipuni's tells."""
    generic = {
        "call_id": fields.get("call_id"),
        "event": kind,
        "direction": direction,
        "from": number(fields.get("src_num")),
        "to": number(fields.get("dst_num")),
        "user": number(fields.get("short_src_num")) if direction == "out" else None,
    }
    started_at = moment(fields.get("timestamp")) if kind == "started" else None
    if kind == "ended":
        answered = str(fields.get("status", "")).strip().upper() == "ANSWER"
        generic["answered"] = answered
        generic["duration_s"] = duration(fields) if answered else 0
        generic["recording_url"] = recording(fields.get("call_record_link"))
        if direction == "in":
            generic["user"] = number(fields.get("last_called")) or number(
                fields.get("short_dst_num")
            )
        started_at = moment(fields.get("call_start_timestamp"))
    event = events.read(generic, direction_known=False)
    if started_at is None:
        return event
    return events.CallEvent(**{**fields_of(event), "started_at": started_at})


def number(value):
    """A number as Sipuni gives it; one too long to be a number is left out rather than
    refusing the call (an inside number may carry a suffix such as "_id265648")."""
    value = str(value or "").strip()
    return value if 0 < len(value) <= events.NUMBER_MAX else None


def recording(value):
    """The recording's address; one that is not an http(s) address is left out rather than
    refusing the call, as Sipuni stops sending to an address that refuses."""
    value = str(value or "").strip()
    if len(value) > events.URL_MAX or not events.SAFE_LINK.fullmatch(value):
        return None
    return value


def duration(fields):
    """Seconds from the answer (never before the start) to the end; None if unknown."""
    ended = seconds(fields.get("timestamp"))
    answered = seconds(fields.get("call_answer_timestamp"))
    started = seconds(fields.get("call_start_timestamp"))
    talk_from = max(filter(None, (answered, started)), default=None)
    if not ended or talk_from is None or ended < talk_from:
        return None
    return min(ended - talk_from, events.DURATION_MAX)


def seconds(value):
    value = str(value or "").strip()
    if not (value.isascii() and value.isdecimal()):
        return None
    found = int(value)
    return found if 0 < found <= MOMENT_MAX else None


def moment(value):
    """A Unix timestamp as stored, naive UTC; None if it is not one."""
    found = seconds(value)
    return datetime.fromtimestamp(found, UTC).replace(tzinfo=None) if found else None


def fields_of(event):
    return {name: getattr(event, name) for name in event.__dataclass_fields__}


def answer(_calls):
    """What Sipuni wants, or it stops sending."""
    return Answer(json.dumps({"success": True}), 200, "application/json")


def refusal(status, message, field=None):
    body = {"success": False, "error": message} | ({"field": field} if field else {})
    return Answer(json.dumps(body, ensure_ascii=False), status, "application/json")
