"""The one event every phone system's calls are told in, whatever sent them.

The generic hook takes it as JSON; each provider's adapter turns its own requests into it.
Reading it checks every field and raises EventError with a message for whoever set the phone
system up: nothing is saved from an event that does not read.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext as _

KINDS = ("started", "answered", "ended")
DIRECTIONS = ("in", "out")
# Mango Office's entry ids run to 128 bytes; 200 leaves room for other systems' ids.
CALL_ID_MAX = 200
NUMBER_MAX = 50
USER_MAX = 254
URL_MAX = 1000
# A day: a longer call is a mistake of the sender.
DURATION_MAX = 86400
MOMENT_MAX = 40


class EventError(ValueError):
    """An event refused, with the reason and the field it concerns."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class CallEvent:
    """Something that happened to a call: it started, was answered or ended. Fields the
    sender did not give are None and change nothing already known of the call."""

    call_id: str
    event: str
    # None when the sender did not say: the event then only updates a call already known.
    direction: str | None
    from_number: str | None = None
    to_number: str | None = None
    # The extension, number or email naming the person who answered or made the call.
    user: str | None = None
    # Naive UTC, as the app stores moments.
    started_at: datetime | None = None
    answered: bool | None = None
    duration_s: int | None = None
    recording_url: str | None = None

    @property
    def outside_number(self):
        """The other party's number: the caller's on an incoming call, else the one called."""
        if self.direction is None:
            return None
        return self.from_number if self.direction == "in" else self.to_number

    @property
    def inside_number(self):
        if self.direction is None:
            return None
        return self.to_number if self.direction == "in" else self.from_number


def read_json(body):
    """The generic event from a request's raw body."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise EventError(_("The event is not JSON.")) from None
    if not isinstance(data, dict):
        raise EventError(_("Send the event as a JSON object."))
    return read(data)


@dataclass(frozen=True)
class Recording:
    """A call's recording, told of apart from the call's events (Mango Office does)."""

    call_id: str
    recording_url: str


def read(data, direction_known=True):
    """The generic event from a dict of its fields (as the README documents them). An
    adapter whose provider leaves the direction out of some events reads them with
    `direction_known=False`."""
    direction = data.get("direction")
    return CallEvent(
        call_id=text(data.get("call_id"), CALL_ID_MAX, "call_id", required=True),
        event=choice(data.get("event"), KINDS, "event"),
        direction=(
            None
            if direction is None and not direction_known
            else choice(direction, DIRECTIONS, "direction")
        ),
        from_number=text(data.get("from"), NUMBER_MAX, "from"),
        to_number=text(data.get("to"), NUMBER_MAX, "to"),
        user=text(data.get("user"), USER_MAX, "user"),
        started_at=moment(data.get("started_at"), "started_at"),
        answered=yes_no(data.get("answered"), "answered"),
        duration_s=duration(data.get("duration_s"), "duration_s"),
        recording_url=link(data.get("recording_url"), "recording_url"),
    )


def text(value, limit, field, required=False):
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None or value == "":
        if required:
            raise EventError(_("“%(field)s” is required.", field=field), field)
        return None
    if not isinstance(value, str):
        raise EventError(_("“%(field)s” must be text.", field=field), field)
    # NUL and lone surrogates: no database stores them, no phone system means them.
    value = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    if len(value) > limit:
        raise EventError(_("“%(field)s” is too long.", field=field), field)
    if required and not value:
        raise EventError(_("“%(field)s” is required.", field=field), field)
    return value or None


def choice(value, allowed, field):
    if value not in allowed:
        raise EventError(
            _("“%(field)s” must be one of: %(allowed)s.", field=field, allowed=", ".join(allowed)),
            field,
        )
    return value


def yes_no(value, field):
    if value is None or isinstance(value, bool):
        return value
    raise EventError(_("“%(field)s” must be true or false.", field=field), field)


def duration(value, field):
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdecimal():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= DURATION_MAX:
        raise EventError(_("“%(field)s” must be a number of seconds.", field=field), field)
    return value


def moment(value, field):
    """An ISO 8601 moment as naive UTC; one without an offset is taken as UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MOMENT_MAX:
        raise EventError(_("“%(field)s” must be a date and time (ISO 8601).", field=field), field)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise EventError(
            _("“%(field)s” must be a date and time (ISO 8601).", field=field), field
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    if not 2000 <= parsed.year <= 2200:
        raise EventError(_("“%(field)s” must be a date and time (ISO 8601).", field=field), field)
    return parsed.replace(microsecond=0)


def recording(call_id, url):
    """A recording's event, checked as the generic event's fields are."""
    return Recording(
        call_id=text(call_id, CALL_ID_MAX, "call_id", required=True),
        recording_url=link(url, "recording_url"),
    )


SAFE_LINK = re.compile(r"https?://[^\s\"'<>]+")


def link(value, field):
    """A recording's address: shown as a link, so only http(s), never javascript: and alike."""
    value = text(value, URL_MAX, field)
    if value is None:
        return None
    if not SAFE_LINK.fullmatch(value):
        raise EventError(_("“%(field)s” must be an http(s) address.", field=field), field)
    return value
