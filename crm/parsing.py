"""Values as people type them in spreadsheets: dates, amounts, lead numbers and plain text.

Each parser takes what a cell holds (text, or a number or date from an XLSX file) and returns the
value, or raises ValueProblem with a message fit for the user. Nothing else ever escapes them:
the import shows the message next to the row's line number.
"""

import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from crm.args import FIRST_YEAR, LAST_YEAR, MAX_ID

DAY_FIRST = "day-first"
MONTH_FIRST = "month-first"
DATE_ORDERS = (DAY_FIRST, MONTH_FIRST)

# More digits than any amount a lead can hold: refused before Decimal has to work on them.
AMOUNT_DIGITS_MAX = 30
LEAD_NUMBER_MAX = MAX_ID
# What a spreadsheet reads as the start of a formula; our CSV export puts "'" before it.
FORMULA_STARTS = ("=", "+", "-", "@")
# A cell of dashes alone means "nothing" in many hand-kept sheets.
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
NOTHING = re.compile(r"^[-\u2010-\u2015\u2212\s]*$")


class ValueProblem(ValueError):
    """A cell that cannot be read as what its column holds; the message says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class AmbiguousDate(ValueProblem):
    """A date like 03/04/2026 that reads either way: the user must say which comes first."""


def shown(value, limit=40):
    """A cell's value quoted in a message, cut short."""
    text = str(value).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text(value):
    """A cell as text: stripped, NUL characters dropped, our export's formula escape undone.

    Empty cells and cells of dashes alone are None.
    """
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        # Phone numbers and numbers typed into an XLSX sheet arrive as floats.
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    result = str(value)
    if "\x00" in result:
        result = result.replace("\x00", "")
    result = result.strip()
    if not result:
        return None
    first = result[0]
    if first == "'" and result[1:2] in FORMULA_STARTS:
        result = result[1:]
    elif first in DASHES and NOTHING.match(result):
        return None
    return result


# Dates

_TIME = r"(?:[T\s,]+(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,]\d{1,6})?)?\s*([AaPp]\.?[Mm]\.?)?)?"
_ZONE = r"\s*(Z|[+-]\d{2}:?\d{2})?"
ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + _ZONE + r"$")
DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?:\s*г\.?)?" + _TIME + r"$")
SLASHED = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})" + _TIME + r"$")


def not_a_date(value):
    return ValueProblem(
        _(
            "“%(value)s” is not a date: write it like 27.11.2026, 27.11.2026 14:30 or 2026-11-27.",
            value=shown(value),
        )
    )


def full_year(digits):
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 70 else 1900
    return year


def slash_order(value):
    """Which order a slashed date like 27/11/2026 proves: DAY_FIRST, MONTH_FIRST, or None when
    it reads either way or is not such a date."""
    if not isinstance(value, str):
        return None
    match = SLASHED.match(value.strip())
    if not match:
        return None
    first, second = int(match[1]), int(match[2])
    if first > 12 >= second:
        return DAY_FIRST
    if second > 12 >= first:
        return MONTH_FIRST
    return None


def is_slashed(value):
    return isinstance(value, str) and SLASHED.match(value.strip()) is not None


def parse_date(value, order=None):
    """A moment as a naive datetime in the writer's zone (aware when the text names its zone).

    Day-first with dots (27.11.2026), ISO (2026-11-27, 2026-11-27T14:30), and with slashes or
    dashes either way (27/11/2026, 11/27/2026): `order` says which when both read as a date,
    else AmbiguousDate is raised. A time may follow, with AM/PM too.
    """
    if isinstance(value, datetime):
        return check_year(value, value)
    if isinstance(value, date):
        return check_year(datetime.combine(value, time.min), value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise not_a_date(value)
    raw = str(value).strip()
    if match := ISO.match(raw):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
        moment = build(raw, year, month, day, match.groups()[3:7])
        return with_zone(raw, moment, match[8])
    if match := DOTTED.match(raw):
        day, month, year = int(match[1]), int(match[2]), full_year(match[3])
        return build(raw, year, month, day, match.groups()[3:7])
    if match := SLASHED.match(raw):
        first, second, year = int(match[1]), int(match[2]), full_year(match[3])
        proven = slash_order(raw)
        if first != second and proven is None and order not in DATE_ORDERS:
            raise AmbiguousDate(
                _(
                    "“%(value)s” reads as a date either way: say whether the day or the month "
                    "comes first.",
                    value=shown(raw),
                )
            )
        day_first = (proven or order) == DAY_FIRST
        day, month = (first, second) if day_first else (second, first)
        return build(raw, year, month, day, match.groups()[3:7])
    raise not_a_date(raw)


def build(raw, year, month, day, clock):
    hour, minute, second, half = clock
    hour, minute, second = int(hour or 0), int(minute or 0), int(second or 0)
    if half:
        pm = half[0] in "Pp"
        if not 1 <= hour <= 12:
            raise not_a_date(raw)
        hour = hour % 12 + (12 if pm else 0)
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise not_a_date(raw) from None
    return check_year(moment, raw)


def with_zone(raw, moment, zone):
    if not zone:
        return moment
    if zone == "Z":
        offset = timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise not_a_date(raw)
        offset = sign * timedelta(hours=hours, minutes=minutes)
    return moment.replace(tzinfo=timezone(offset))


def check_year(moment, raw):
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueProblem(
            _(
                "“%(value)s”: enter a date between %(first)d and %(last)d.",
                value=shown(raw),
                first=FIRST_YEAR,
                last=LAST_YEAR,
            )
        )
    return moment


# Amounts

# Spaces of every width and apostrophes group digits: 1 250 000, 1 250 000, 1'250'000.
GROUPING = re.compile(r"[\s\u00a0\u2007\u2009\u202f'’]")
CURRENCY = r"[^\d.,+\-−]*"
AMOUNT = re.compile(
    r"^(" + CURRENCY + r")([+\-−]?)(" + CURRENCY + r")([\d.,]+)(" + CURRENCY + r"\.?)$"
)
SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d{1,3}$")
# No amount takes more to write; AMOUNT tries every split of a long run of non-digits between
# its currency groups, which grows with the square of the length, so longer text is no amount.
AMOUNT_MAX_LENGTH = 100
# What may stand before or after the digits: currency signs and words, such as "₽", "руб.", "$".
CURRENCY_WORD = re.compile(r"^[^\W\d_]*\.?$|^[$€£¥₽₴₸]$")


def not_an_amount(value):
    return ValueProblem(
        _(
            "“%(value)s” is not an amount: write it like 1 250 000,50 or 1250000.50.",
            value=shown(value),
        )
    )


def parse_number(value):
    """An amount as a Decimal: spaces and apostrophes group digits; the last of "," and "." is
    the decimal mark when both appear; a lone "," is one too unless three digits follow it
    (1,250 is a thousand and more; 1250,50 has cents). Currency signs around it are ignored."""
    if isinstance(value, bool):
        raise not_an_amount(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise not_an_amount(value)
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise not_an_amount(value)
        return value
    raw = str(value).strip()
    compact = GROUPING.sub("", raw)
    if len(compact) > AMOUNT_MAX_LENGTH:
        raise not_an_amount(raw)
    if SCIENTIFIC.match(compact):
        return to_decimal(compact, raw)
    match = AMOUNT.match(compact)
    if not match:
        raise not_an_amount(raw)
    before, sign, between, digits, after = match.groups()
    for word in (before, between, after):
        if word and not CURRENCY_WORD.match(word):
            raise not_an_amount(raw)
    if before and between:
        raise not_an_amount(raw)
    negative = sign in ("-", "−")
    number = plain_digits(digits, raw)
    return to_decimal(("-" if negative else "") + number, raw)


def plain_digits(digits, raw):
    """ "1.250.000,50" → "1250000.50"."""
    if not any(ch.isdigit() for ch in digits):
        raise not_an_amount(raw)
    commas, dots = digits.count(","), digits.count(".")
    if commas and dots:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        if digits.count(decimal_mark) > 1:
            raise not_an_amount(raw)
        whole, _mark, cents = digits.partition(decimal_mark)
        check_groups(whole, grouping, raw)
        return whole.replace(grouping, "") + "." + cents
    if commas > 1 or dots > 1:
        mark = "," if commas else "."
        check_groups(digits, mark, raw)
        return digits.replace(mark, "")
    if commas == 1:
        whole, _mark, tail = digits.partition(",")
        if len(tail) == 3 and whole and whole.lstrip("0"):
            return whole + tail
        return whole + "." + tail
    return digits


def check_groups(whole, mark, raw):
    """Grouped digits come in threes after the first group: 1.250.000, not 1.25.000."""
    groups = whole.split(mark)
    if not groups[0] or any(len(group) != 3 for group in groups[1:]):
        raise not_an_amount(raw)


def to_decimal(number, raw):
    if sum(ch.isdigit() for ch in number) > AMOUNT_DIGITS_MAX:
        raise not_an_amount(raw)
    try:
        result = Decimal(number)
    except InvalidOperation:
        raise not_an_amount(raw) from None
    if not result.is_finite() or abs(result.adjusted()) > AMOUNT_DIGITS_MAX:
        raise not_an_amount(raw)
    return result


# Lead numbers

LEAD_NUMBER = re.compile(r"^(?:#|№|N[oº]?\.?)?\s*(\d{1,12})(?:\.0+)?$", re.IGNORECASE)


def parse_lead_number(value):
    """A lead's number as written: 12, #12, №12 (or 12.0 from a spreadsheet)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        match = LEAD_NUMBER.match(str(value).strip())
        if not match:
            raise ValueProblem(
                _("“%(value)s” is not a lead number such as 12 or #12.", value=shown(value))
            )
        number = int(match[1])
    if not 1 <= number <= LEAD_NUMBER_MAX:
        raise ValueProblem(
            _("“%(value)s” is not a lead number such as 12 or #12.", value=shown(value))
        )
    return number
