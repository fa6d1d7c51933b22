"""An iCalendar (RFC 5545) writer: the text of a calendar of events, and nothing else.

It knows no request, database or user: the feed's view says what the events are, this says
how a phone's calendar wants them written (escaped, folded, lines ended with CRLF).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

# A timed event shows as a block of this length, not as a line a phone can hardly tap.
TIMED_LENGTH = "PT30M"
LINE_OCTETS = 75
# Control characters other than tab have no place in an iCalendar TEXT value.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Event:
    """One VEVENT: at a moment (`starts`, naive UTC) for `TIMED_LENGTH`, or all day (`day`)."""

    uid: str
    stamp: datetime
    summary: str
    url: str
    starts: datetime | None = None
    day: date | None = None


def calendar(name, events, product="-//CRM//Planned calls//EN", refresh="PT1H"):
    """The VCALENDAR text: one VEVENT per event, lines folded and ended as RFC 5545 says."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{product}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:" + text(name),
        f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}",
        f"X-PUBLISHED-TTL:{refresh}",
    ]
    for event in events:
        lines.extend(event_lines(event))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def event_lines(event):
    if event.day is not None:
        when = [f"DTSTART;VALUE=DATE:{event.day:%Y%m%d}"]
    else:
        when = [f"DTSTART:{event.starts:%Y%m%dT%H%M%SZ}", f"DURATION:{TIMED_LENGTH}"]
    return [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{event.stamp:%Y%m%dT%H%M%SZ}",
        *when,
        "SUMMARY:" + text(event.summary),
        f"URL:{event.url}",
        "END:VEVENT",
    ]


def text(value):
    """A TEXT value escaped as RFC 5545 (3.3.11) says: backslash, semicolon, comma, newline."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = CONTROLS.sub("", value)
    for char, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\n", "\\n")):
        value = value.replace(char, escaped)
    return value


def fold(line):
    """A content line cut into lines of at most 75 octets, each continuation starting with a
    space (RFC 5545, 3.1); never inside a character's UTF-8 bytes."""
    if len(line.encode()) <= LINE_OCTETS:
        return line
    parts, current, size, limit = [], [], 0, LINE_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append("".join(current))
            # The leading space of a continuation line counts too.
            current, size, limit = [], 0, LINE_OCTETS - 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)
