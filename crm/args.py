"""Reading what a person typed into an address or a filter: ids, search words and days.

Every area reads its query strings and form values through these, so a hand-made address is
answered the same way everywhere: an id beyond the database's integers names nothing, NUL is
dropped, an impossible day is no day.
"""

import re
from datetime import date

# Ids and lead numbers are 32-bit integers in the database: a larger number names nothing, and
# PostgreSQL would refuse it in a query rather than find nothing.
MAX_ID = 2**31 - 1
SEARCH_MAX = 200
# The years the forms accept; beyond them a date is a typing slip or a hand-made URL.
FIRST_YEAR, LAST_YEAR = 1900, 2999
DAY_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_id(number):
    """Whether `number` could be the id (or the number) of a row."""
    return isinstance(number, int) and not isinstance(number, bool) and 0 < number <= MAX_ID


def id_arg(value):
    """The id written in `value`, or None."""
    value = (value or "").strip()
    if value.isdecimal() and value.isascii() and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


def text_arg(value, limit=SEARCH_MAX):
    """A search or filter text, trimmed and cut to `limit` characters."""
    # PostgreSQL refuses NUL in text: it can only come from a hand-made URL, so drop it.
    return (value or "").replace("\x00", "").strip()[:limit]


def day_arg(text):
    """A YYYY-MM-DD date, or None when it is no real day (2026-02-30) or not in the years."""
    day = read_day(text)
    return day if isinstance(day, date) else None


def read_day(text):
    """The day in `text`, or why there is none: "empty", "malformed" or "out of range"."""
    text = (text or "").strip()
    if not text:
        return "empty"
    if not DAY_FORMAT.fullmatch(text):
        return "malformed"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return "malformed"
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else "out of range"
