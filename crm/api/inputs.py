"""Reading what a client sends: a JSON object in the body, query parameters, and their fields.

Every check here runs before anything is written, and answers with the field at fault. Values
are checked for their type and shape only; the funnel service checks what they mean.
"""

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_babel import gettext as _

from crm.api.errors import ApiError, invalid
from crm.args import FIRST_YEAR, LAST_YEAR, MAX_ID
from crm.funnel import (
    CONTACT_NAME_MAX,
    EMAIL_MAX,
    JOB_TITLE_MAX,
    NOTE_MAX,
    PEOPLE_MAX,
    PHONE_MAX,
    PHONES_MAX,
    VALUE_MAX,
)

JSON_TYPES = ("application/json",)
# A lead or a contact is a few kilobytes even with an 8,000-character note written in \u escapes.
BODY_SIZE_MAX = 256 * 1024
# A page of a list: this many unless `limit` says, and at most PAGE_MAX.
PAGE_SIZE, PAGE_MAX = 50, 100
# Only the start of a search counts.
SEARCH_MAX = 200
# Stages sent in the one call that adds a pipeline.
STAGES_MAX = 30
# Longer than any ISO 8601 moment with microseconds and an offset.
MOMENT_MAX = 40
CURSOR_MAX = 200
# What `encode_cursor` writes: URL-safe base64 without its padding.
CURSOR_TEXT = re.compile(rf"^[A-Za-z0-9_-]{{1,{CURSOR_MAX}}}\Z")
# Anything longer than this is not a page size anyone meant.
NUMBER_MAX_DIGITS = 12
CENT = Decimal("0.01")
# An amount sent as text: digits, and cents if any, as the API writes amounts back.
MONEY_TEXT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?\Z")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def send_json_message():
    return _("Send a JSON object, with the header Content-Type: application/json.")


def _refuse_constant(name):
    # NaN and Infinity are not JSON, though Python's parser reads them.
    raise ValueError(name)


def json_object():
    """The body as a JSON object (a dict), or a 400 that says what to send."""
    if request.mimetype not in JSON_TYPES:
        raise ApiError(400, send_json_message())
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError(400, send_json_message())
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, _("The body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, send_json_message())
    return body


def check_fields(body, allowed, prefix=""):
    """Refuse a field the endpoint does not know: a typo should not be dropped in silence."""
    for name in body:
        if name not in allowed:
            field = prefix + name[:100]
            raise invalid(_("There is no field “%(name)s” here.", name=name[:100]), field)


# Field values. Each takes the value as sent and the field's name, and returns it checked.


def storable(value):
    """Text as the database can hold it. PostgreSQL cannot store NUL and no one means it, so
    it goes; a lone surrogate ("\\ud800" in JSON) is no character at all, so it reads as
    U+FFFD, as undecodable bytes in a form post do."""
    value = value.replace("\x00", "")
    return value if value.isascii() else LONE_SURROGATE.sub("\ufffd", value)


def text(value, field, limit=None):
    """Text of up to `limit` characters, counted as sent (as the OpenAPI document's maxLength
    counts them), so a client that keeps to the document is never refused for the length."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(_("This must be text."), field)
    if limit is not None and len(value) > limit:
        raise invalid(_("Keep it under %(n)d characters.", n=limit), field)
    return storable(value)


def text_of(limit):
    """A reader of text of up to `limit` characters."""
    return lambda value, field: text(value, field, limit)


def whole_number(value, field):
    """A whole number as JSON Schema's `integer` reads one: 7, or 7.0 (but not true or false,
    which are Python ints too)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(_("This must be a whole number."), field)
    return value


def identifier(value, field, not_found_message):
    """An id of something in the database: a positive whole number within an INTEGER."""
    value = whole_number(value, field)
    if not 0 < value <= MAX_ID:
        raise invalid(not_found_message, field)
    return value


def optional_identifier(value, field, not_found_message):
    return None if value is None else identifier(value, field, not_found_message)


def flag(value, field):
    if not isinstance(value, bool):
        raise invalid(_("This must be true or false."), field)
    return value


def amount(value, field):
    """Money as a string of digits with cents if any ("1250000.50"), or a number; null for
    none."""
    if value is None:
        return None
    message = _("Enter an amount of zero or more.")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(message, field)
    if isinstance(value, str) and not MONEY_TEXT.match(value):
        raise invalid(message, field)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(message, field) from None
    if not number.is_finite() or number < 0 or number > VALUE_MAX:
        raise invalid(message, field)
    # Cents, as stored; an exponent far below them would trip the rounding itself.
    try:
        return number.quantize(CENT)
    except InvalidOperation:
        raise invalid(message, field) from None


def moment_message():
    return _("Give a date and time in ISO 8601 with its zone, such as 2026-11-27T14:30:00Z.")


def moment(value, field):
    """An ISO 8601 date and time with its zone (Z or an offset), as stored: naive UTC."""
    if not isinstance(value, str) or len(value) > MOMENT_MAX:
        raise invalid(moment_message(), field)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise invalid(moment_message(), field) from None
    if parsed.tzinfo is None:
        raise invalid(moment_message(), field)
    # Checked before converting: no offset can then carry the year out of range.
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise invalid(_("Enter a date between 1900 and 2999."), field)
    return parsed.astimezone(UTC).replace(tzinfo=None)


def optional_moment(value, field):
    return None if value is None else moment(value, field)


def email(value, field):
    """An address as the lead form accepts it; null or "" for none."""
    value = text(value, field, EMAIL_MAX)
    if not value or not value.strip():
        return value
    try:
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise invalid(_("Enter an email address such as name@example.com."), field) from None
    return value


def field_values(value, name="fields"):
    """The team's fields as sent: an object of each field's key and its value (text, a number,
    true or false, a list of option keys, or null to clear it). Checked for its shape here, for
    what it means by the funnel service."""
    if not isinstance(value, dict):
        raise invalid(_("Send an object of the fields' keys and their values."), name)
    checked = {}
    for key, item in value.items():
        if isinstance(item, str):
            item = storable(item)
        elif isinstance(item, list) and all(isinstance(part, str) for part in item):
            item = [storable(part) for part in item]
        elif item is not None and not isinstance(item, bool | int | float):
            raise invalid(
                _("Send text, a number, true or false, a list of texts, or null."),
                f"{name}.{key[:100]}",
            )
        checked[key] = item
    return checked


# People: checked for their shape and lengths here, for what they mean by the funnel service.
PERSON_FIELDS = ("name", "job_title", "phones", "emails", "note")


def people(value, name="people"):
    """The lead's people as sent: a list of objects, the main contact first."""
    if not isinstance(value, list):
        raise invalid(_("Send a list of people, the main contact first."), name)
    if len(value) > PEOPLE_MAX:
        raise invalid(_("A lead can have at most %(n)d people.", n=PEOPLE_MAX), name)
    return [one_person(item, f"{name}.{index}") for index, item in enumerate(value)]


def one_person(value, name):
    if not isinstance(value, dict):
        raise invalid(_("Send an object with name, job_title, phones, emails and note."), name)
    check_fields(value, PERSON_FIELDS, prefix=f"{name}.")
    return {
        "name": text(value.get("name"), f"{name}.name", CONTACT_NAME_MAX),
        "job_title": text(value.get("job_title"), f"{name}.job_title", JOB_TITLE_MAX),
        "phones": texts(value.get("phones"), f"{name}.phones", text_of(PHONE_MAX)),
        "emails": texts(value.get("emails"), f"{name}.emails", email),
        "note": text(value.get("note"), f"{name}.note", NOTE_MAX),
    }


def texts(value, name, read):
    """A list of texts (a lone text is a list of one); null for none."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(_("Send a list of texts."), name)
    # Phones and emails alike.
    if len(value) > PHONES_MAX:
        message = _("At most %(n)d phones and %(n)d emails a person.", n=PHONES_MAX)
        raise invalid(message, name)
    return [read(item, name) for item in value]


# Query parameters. One left out takes its default; one sent empty, or sent twice where it
# takes one value, is refused, as the OpenAPI document says (OpenAPI allows no empty value
# unless told): a client's slip is not read as "no filter".


def query_value(name):
    """The one value of the parameter `name`, or None when it is left out."""
    values = query_values(name)
    if len(values) > 1:
        raise invalid(_("Give this parameter once."), name)
    return values[0] if values else None


def query_values(name):
    """Every value of the parameter `name`, none of them empty."""
    values = request.args.getlist(name)
    if "" in values:
        raise invalid(_("Give this parameter a value, or leave it out."), name)
    return values


def query_flag(name):
    value = query_value(name)
    if value in (None, "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise invalid(_("This must be true or false."), name)


def query_limit(name, default, largest):
    value = query_value(name)
    if value is None:
        return default
    value = value.strip()
    if (
        value.isdecimal()
        and value.isascii()
        and len(value) <= NUMBER_MAX_DIGITS
        and 1 <= int(value) <= largest
    ):
        return int(value)
    raise invalid(_("Give a whole number from 1 to %(largest)d.", largest=largest), name)


def query_id(value, name, not_found_message):
    value = value.strip()
    if value.isdecimal() and value.isascii() and len(value) <= NUMBER_MAX_DIGITS:
        number = int(value)
        if 0 < number <= MAX_ID:
            return number
    raise invalid(not_found_message, name)


# Cursors: opaque to the client, a few plain values inside.


def encode_cursor(values):
    text = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(name="cursor"):
    """The values a `cursor` parameter carries (a list), or None when it is absent."""
    raw = query_value(name)
    if raw is None:
        return None
    try:
        if not CURSOR_TEXT.match(raw):
            raise ValueError(raw)
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(values, list):
            raise ValueError(raw)
    except (ValueError, binascii.Error, RecursionError):
        raise broken_cursor(name) from None
    return values


def broken_cursor(name="cursor"):
    return invalid(
        _("This cursor is not one this API gave: start again from the first page."), name
    )
