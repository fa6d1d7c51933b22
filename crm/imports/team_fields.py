"""The team's own fields in an import of leads: the type a column's values suggest for a new
field, the field of the team's a header already names, and the fields an import creates.

A sheet moving in has columns of its own (ИНН, Город, Сайт ...). Each column the lead has no
field for becomes a field of the team's, typed after what its first rows hold, unless the person
importing says otherwise; nothing is left behind without their saying so.
"""

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from crm import custom_fields, parsing
from crm.imports.fields import normal_header
from crm.models import FieldType

# Mapping values of the columns page and keys of `Settings.mapping` for the team's fields.
FIELD_PREFIX = "fields."
NEW_PREFIX = "new:"
# A column becomes a choice when its first rows, this many filled at least, hold no more than
# this many different values.
CHOICE_ROWS_MIN = 50
CHOICE_VALUES_MAX = 20
# Digits alone, this many or more, or starting with 0, are a code (ИНН, ОГРН, БИК, an account
# number), not a quantity: kept as text, so no leading zero is lost and nobody sums them.
CODE_DIGITS = 9
PLAIN_DIGITS = re.compile(r"^\d+$")
# A phone as people write one: a + or a trunk prefix, groups of digits, brackets and dashes.
PHONE = re.compile(r"^\+?[\d\s()\-.]{6,24}$")
PHONE_DIGITS = (10, 15)
# What tells a phone from a code or an amount written with digits alone: +7, (999), 123-45-67.
PHONE_MARKS = re.compile(r"^\+|[()]|\d-\d")
PHONE_HEADERS = ("телефон", "тел", "моб", "мобильный", "сотовый", "phone", "tel", "mobile")
# A web address with or without its scheme: example.ru, www.example.com/path, сайт.рф.
# The last part in lower case: "И.Петров" is a name.
LINK = re.compile(
    r"^(https?://)?(www\.)?([\w-]+\.)+([a-z]{2,}|[а-яё]{2,}|xn--[a-z0-9-]+)\.?(:\d+)?([/?#]\S*)?$"
)
EMAIL = custom_fields.EMAIL
# Headers whose values are codes, whatever digits they hold.
CODE_HEADERS = ("инн", "кпп", "огрн", "огрнип", "бик", "снилс", "окпо", "оквэд", "код", "id")
# A currency's sign or word beside an amount, not inside a word: "1 250 ₽", "300 руб.", "5р".
CURRENCY = re.compile(r"[$€£¥₽]|(?<![^\W\d_])(руб|р|rub|usd|eur)(?![^\W\d_])\.?", re.IGNORECASE)


def field_value(key):
    """The mapping's name of a column read into the team's field `key`."""
    return f"{FIELD_PREFIX}{key}"


def new_value(type_):
    return f"{NEW_PREFIX}{type_}"


def is_field(value):
    return bool(value) and value.startswith(FIELD_PREFIX)


def is_new(value):
    return bool(value) and value.startswith(NEW_PREFIX)


def key_of(value):
    return value.removeprefix(FIELD_PREFIX)


# Guessing a new field's type from a column's first rows


class ValueSample:
    """What a column's first rows hold, told value by value: which types every value so far
    fits, and its different values (up to one more than a choice may have)."""

    def __init__(self):
        self.filled = 0
        self.distinct = set()
        self.fits = {
            "date": True,
            "number": True,
            "money": False,
            "amount": True,
            "code": False,
            "yes_no": True,
            "yes_no_word": False,
            "email": True,
            "link": True,
            "phone": True,
            "phone_mark": False,
            "long": False,
            "short": True,
        }

    def add(self, value):
        text = parsing.text(value)
        if text is None:
            return
        self.filled += 1
        if len(self.distinct) <= CHOICE_VALUES_MAX:
            # Only counted: a hash stands for a value that may be 10,000 characters long.
            self.distinct.add(hash(" ".join(text.split()).casefold()))
        fits = self.fits
        if fits["date"]:
            fits["date"] = is_date(value)
        if fits["number"]:
            number = number_in(value)
            fits["number"] = number is not None
            if fits["number"]:
                fits["code"] = fits["code"] or is_code(value)
                fits["money"] = fits["money"] or bool(
                    isinstance(value, str) and CURRENCY.search(value)
                )
                fits["amount"] = fits["amount"] and 0 <= number <= custom_fields.MONEY_MAX
        if fits["yes_no"]:
            word = text.casefold()
            fits["yes_no"] = word in custom_fields.YES | custom_fields.NO
            # "да", "нет", "yes": a letter or a sign alone is too little to go by.
            fits["yes_no_word"] = fits["yes_no_word"] or (len(word) > 1 and word.isalpha())
        if fits["email"]:
            fits["email"] = isinstance(value, str) and len(text) <= 254 and bool(EMAIL.match(text))
        if fits["link"]:
            fits["link"] = isinstance(value, str) and is_link(text)
        if fits["phone"]:
            fits["phone"] = is_phone(value)
            fits["phone_mark"] = fits["phone_mark"] or bool(PHONE_MARKS.search(text))
        fits["long"] = fits["long"] or len(text) > custom_fields.TEXT_MAX or "\n" in text
        fits["short"] = fits["short"] and len(text) <= custom_fields.LABEL_MAX

    def guess(self, header="", prose=False):
        """The type a new field from this column most likely has."""
        fits, words = self.fits, normal_header(header).split()
        if not self.filled:
            return FieldType.TEXT
        if fits["date"]:
            return FieldType.DATE
        if fits["yes_no"] and fits["yes_no_word"]:
            return FieldType.YES_NO
        if fits["phone"] and (fits["phone_mark"] or set(words) & set(PHONE_HEADERS)):
            return FieldType.PHONE
        if fits["number"] and not fits["code"] and not set(words) & set(CODE_HEADERS):
            return FieldType.MONEY if fits["money"] and fits["amount"] else FieldType.NUMBER
        if fits["email"]:
            return FieldType.EMAIL
        if fits["link"]:
            return FieldType.LINK
        if fits["long"] or prose:
            return FieldType.LONG_TEXT
        if (
            self.filled >= CHOICE_ROWS_MIN
            and len(self.distinct) <= CHOICE_VALUES_MAX
            and fits["short"]
        ):
            return FieldType.CHOICE
        return FieldType.TEXT


def is_date(value):
    try:
        parsing.parse_date(value, parsing.DAY_FIRST)
    except parsing.ValueProblem:
        return False
    return True


def number_in(value):
    """The number a cell holds, if a number field can hold it; else None. The amounts parser
    reads "klient3.ru" as 3 (currency words around digits): a number column has no words but
    its currency."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and any(ch.isalpha() for ch in CURRENCY.sub("", value)):
        return None
    try:
        number = parsing.parse_number(value)
    except parsing.ValueProblem:
        return None
    return number if abs(number) < custom_fields.NUMBER_MAX else None


def is_code(value):
    """Digits that name something rather than count it: 0012, 7707083893."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return False
    value = value.strip()
    return bool(PLAIN_DIGITS.match(value)) and (
        len(value) >= CODE_DIGITS or (len(value) > 1 and value.startswith("0"))
    )


def is_link(text):
    if LINK.match(text):
        return True
    # Written with its scheme or "www.", an address may be in capitals.
    lowered = text.lower()
    return lowered.startswith(("http://", "https://", "www.")) and bool(LINK.match(lowered))


def is_phone(value):
    if not isinstance(value, str) or not PHONE.match(value.strip()):
        return False
    digits = sum(ch.isdigit() for ch in value)
    return PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]


# The team's fields a header names


def field_named(header, fields):
    """The active field of the team's whose label (or key) the header is, written plainly."""
    wanted = normal_header(header)
    if not wanted:
        return None
    for candidate in fields:
        if not candidate.removed and wanted in (normal_header(candidate.label), candidate.key):
            return candidate
    return None


# The fields an import creates


@dataclass
class NewField:
    """A column the import makes a field of: its label (the header) and type, and what the
    whole file holds in it: how many cells are filled, and for a choice, the options."""

    column: int
    label: str
    type: str
    # Cells with a value, as far as the file was read for them (see `read_columns`).
    filled: int = 0
    # Casefolded option → its label as first written.
    seen: dict = field(default_factory=dict)

    @property
    def has_options(self):
        return self.type in custom_fields.CHOICE_TYPES

    def add(self, value):
        text = parsing.text(value)
        if text is None:
            return
        self.filled += 1
        if not self.has_options:
            return
        parts = (
            custom_fields.CHOICE_SEPARATORS.split(text)
            if self.type == FieldType.CHOICES
            else [text]
        )
        for part in parts:
            label = " ".join(part.split())
            folded = label.casefold()
            if label and folded not in self.seen and len(self.seen) <= custom_fields.OPTIONS_MAX:
                self.seen[folded] = label

    def problem(self):
        """Why the column cannot be made a field of its type, or None."""
        if not self.has_options:
            return None
        if len(self.seen) > custom_fields.OPTIONS_MAX or any(
            len(label) > custom_fields.LABEL_MAX for label in self.seen.values()
        ):
            return _(
                "Column “%(header)s” has more than %(n)d different values, or values too long "
                "for a choice: import it as text.",
                header=self.label,
                n=custom_fields.OPTIONS_MAX,
            )
        return None

    def option_labels(self):
        return sorted(self.seen.values(), key=str.casefold)


def new_fields_of(settings, headers):
    """The fields `settings` asks the import to create, one per column, not filled in yet."""
    made = []
    for item in settings.new_fields:
        column = int(item["column"])
        if column >= len(headers):
            continue
        type_ = item.get("type") or FieldType.TEXT
        if type_ not in custom_fields.TYPE_LABELS:
            type_ = FieldType.TEXT
        label = (item.get("label") or headers[column]).strip()[: custom_fields.LABEL_MAX]
        made.append(NewField(column, label, type_))
    return made


def read_columns(rows, new_fields):
    """Go through the file's rows once, telling each new field its column's cells: a choice
    every one, for its options; any other its first value, which is enough to make it."""
    waiting = list(new_fields)
    if not waiting:
        return
    for _line, cells in rows:
        width = len(cells)
        for new in waiting:
            if new.column < width:
                new.add(cells[new.column])
        if any(new.filled and not new.has_options for new in waiting):
            waiting = [new for new in waiting if new.has_options or not new.filled]
            if not waiting:
                return


def planned(new_fields, fields):
    """The fields as the import will create them, keyed as `custom_fields.add_field` keys
    them, for a dry run to check the cells against: nothing is written."""
    taken = {existing.key for existing in fields}
    made = []
    for n, new in enumerate(new_fields):
        key = custom_fields.unique_key(new.label, taken)
        taken.add(key)
        options = tuple(
            custom_fields.Option(**row)
            for row in custom_fields.option_rows(new.option_labels() if new.has_options else ())
        )
        made.append(
            custom_fields.Field(
                id=-(n + 1), key=key, label=new.label, type=new.type, options=options
            )
        )
    return made


def summary(new, made):
    """A field to create as the report keeps it."""
    return {
        "key": made.key if made else None,
        "label": new.label,
        "type": new.type,
        "options": len(made.options) if made else 0,
    }


def unmatched_columns(layout, guesses, fields=()):
    """What the columns no field of the lead is known by become: the field of the team's their
    header names, else a new field of the type their first rows suggest. Returns
    ({"fields.<key>": column index}, [new fields as `Settings.new_fields` keeps them])."""
    existing, new_fields = {}, []
    taken = {guess for guess in guesses if guess}
    for column, guess in zip(layout.columns, guesses, strict=True):
        if guess is not None:
            continue
        named = field_named(column.header, fields)
        if named is not None and field_value(named.key) not in taken | set(existing):
            existing[field_value(named.key)] = column.index
            continue
        new_fields.append(
            {
                "column": column.index,
                "label": column.header[: custom_fields.LABEL_MAX],
                "type": column.value_type or FieldType.TEXT,
            }
        )
    return existing, new_fields
