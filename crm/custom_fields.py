"""The team's own fields on leads (ИНН, город, сайт ...): their definitions, and the values a
lead holds, checked against them.

Values live in one JSON column, `leads.fields`, keyed by each field's stable key: nothing is
rebuilt when a field is added, every query that reads a lead reads its fields with it, and an
export or the API carries them as they are. The funnel service checks every write with
`clean_values`; a field marked filterable or identifying gets an index on its expression
(`ensure_indexes`), so filtering and matching on it stay quick at 100,000 leads.

Stored values: text types as text, number and money as JSON numbers, a date as "YYYY-MM-DD",
yes/no as true/false, a choice as its option's key, several choices as a list of keys.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from flask import g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal_column, select, text

from crm import parsing, search_index
from crm.extensions import db
from crm.models import CustomField, FieldType, Lead

FIELDS_MAX = 100
LABEL_MAX = 80
HELP_MAX = 300
OPTIONS_MAX = 200
# Short enough that "fields.<key>" fits the audit trail's field name.
KEY_MAX = 32
TEXT_MAX = 500
LONG_TEXT_MAX = 8000
NUMBER_MAX = Decimal("1e15")
MONEY_MAX = Decimal("999999999999.99")
INDEX_PREFIX = search_index.FIELD_INDEX_PREFIX
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

TYPE_LABELS = {
    FieldType.TEXT: _l("Text"),
    FieldType.LONG_TEXT: _l("Long text"),
    FieldType.NUMBER: _l("Number"),
    FieldType.MONEY: _l("Money"),
    FieldType.DATE: _l("Date"),
    FieldType.YES_NO: _l("Yes/no"),
    FieldType.CHOICE: _l("Choice"),
    FieldType.CHOICES: _l("Several choices"),
    FieldType.LINK: _l("Link"),
    FieldType.PHONE: _l("Phone"),
    FieldType.EMAIL: _l("Email"),
}
CHOICE_TYPES = (FieldType.CHOICE, FieldType.CHOICES)
NUMERIC_TYPES = (FieldType.NUMBER, FieldType.MONEY)
# Types whose values the lead search reads.
SEARCHED_TYPES = (
    *(FieldType.TEXT, FieldType.LONG_TEXT, FieldType.LINK, FieldType.PHONE, FieldType.EMAIL),
)
YES = frozenset({"yes", "y", "true", "1", "on", "+", "да", "д", "истина", "✓", "✔", "x"})
NO = frozenset({"no", "n", "false", "0", "off", "-", "нет", "н", "ложь"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FieldValueError(ValueError):
    """A value its field cannot hold; the message names the field and says why."""

    def __init__(self, message, key):
        super().__init__(message)
        self.message = message
        self.key = key


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    colour: str | None = None
    retired: bool = False


@dataclass(frozen=True)
class Field:
    """A field's definition as pages and the funnel read it: plain values, never expired by a
    commit, so a page can use it after saving without reading it again."""

    id: int
    key: str
    label: str
    type: str
    options: tuple = ()
    required: bool = False
    help_text: str | None = None
    position: int = 0
    in_list: bool = False
    on_card: bool = False
    on_new_form: bool = True
    filterable: bool = False
    identifies_client: bool = False
    removed: bool = False

    @property
    def type_label(self):
        return TYPE_LABELS[self.type]

    @property
    def has_options(self):
        return self.type in CHOICE_TYPES

    @property
    def offered_options(self):
        return [option for option in self.options if not option.retired]

    def option(self, key):
        return next((option for option in self.options if option.key == key), None)

    @property
    def indexed(self):
        return not self.removed and (self.filterable or self.identifies_client)

    @classmethod
    def of(cls, row):
        return cls(
            id=row.id,
            key=row.key,
            label=row.label,
            type=row.type,
            options=tuple(Option(**option) for option in row.options or ()),
            required=row.required,
            help_text=row.help_text,
            position=row.position,
            in_list=row.in_list,
            on_card=row.on_card,
            on_new_form=row.on_new_form,
            filterable=row.filterable,
            identifies_client=row.identifies_client,
            removed=row.removed_at is not None,
        )


# Definitions


def all_fields():
    """Every field, removed ones too, in the team's order: read once per request."""
    # One look at `g`: the funnel asks for them several times for each lead it writes, and
    # the demo and the import write a hundred thousand.
    kept = g.get("custom_fields") if has_app_context() else None
    if kept is not None:
        return kept
    rows = db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.id))
    fields = tuple(Field.of(row) for row in rows)
    if has_app_context():
        g.custom_fields = fields
    return fields


def forget():
    """After a definition changed: the next read of this request reads them afresh."""
    if has_app_context():
        g.pop("custom_fields", None)


def active_fields():
    """The fields a person sees and fills in (not the removed ones)."""
    return [field for field in all_fields() if not field.removed]


def by_key():
    return {field.key: field for field in all_fields()}


def identifying_fields():
    return [field for field in active_fields() if field.identifies_client]


# Keys

TRANSLITERATION = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            *("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o"),
            *("p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e"),
            *("yu", "ya"),
        ],
        strict=True,
    )
)


def slug(label, fallback="field"):
    """A key for a label: Latin letters, digits and "_" ("Откуда узнали" → "otkuda_uznali")."""
    latin = "".join(TRANSLITERATION.get(ch, ch) for ch in label.casefold())
    words = re.findall(r"[a-z0-9]+", latin)
    key = "_".join(words)[:KEY_MAX].strip("_")
    if not key or not key[0].isalpha():
        key = f"{fallback}_{key}".strip("_")[:KEY_MAX]
    return key


def unique_key(label, taken, fallback="field"):
    """A key for `label` not in `taken`: "city", then "city_2" ..."""
    base = slug(label, fallback)
    key, n = base, 1
    while key in taken:
        n += 1
        suffix = f"_{n}"
        key = base[: KEY_MAX - len(suffix)] + suffix
    return key


# Values


def clean_values(values, fields=None, current=None):
    """`values` ({key: what was typed or sent}) checked and made into what is stored; an empty
    value stands for "no value" (None). Unknown and removed fields are refused by name. A
    retired choice is accepted where `current` (the lead's values) already holds it."""
    # Removed fields are refused below: all of them will do, read once per request.
    known = {field.key: field for field in (fields or all_fields())}
    current = current or {}
    cleaned = {}
    for key, raw in values.items():
        field = known.get(key)
        if field is None or field.removed:
            raise FieldValueError(_("There is no field “%(key)s”.", key=parsing.shown(key)), key)
        cleaned[key] = clean_value(field, raw, kept_options(field, current.get(key)))
    return cleaned


def kept_options(field, value):
    """The options a lead already holds, which it may keep though they are retired."""
    if value is None or not field.has_options:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def merged(stored, changes):
    """The lead's values after `changes` (already cleaned): None removes a value. A new dict,
    so the change is seen and saved."""
    result = dict(stored or {})
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def missing_required(values, fields=None):
    """The required fields (active ones) that `values` leaves empty."""
    return [
        field
        for field in (fields or active_fields())
        if field.required and not field.removed and values.get(field.key) is None
    ]


def is_empty(raw):
    if raw is None:
        return True
    if isinstance(raw, str):
        return parsing.text(raw) is None
    if isinstance(raw, list | tuple):
        return all(is_empty(item) for item in raw)
    return False


def clean_value(field, raw, keep=()):
    """What `field` stores for `raw` (text as typed, or a JSON value), or None for empty.
    `keep`: retired options accepted all the same."""
    if is_empty(raw):
        return None
    try:
        if field.has_options:
            return CLEANERS[field.type](field, raw, keep)
        return CLEANERS[field.type](field, raw)
    except parsing.ValueProblem as problem:
        raise FieldValueError(f"{field.label}: {problem.message}", field.key) from None


def refuse(field, message):
    return FieldValueError(f"{field.label}: {message}", field.key)


def plain_text(raw):
    if not isinstance(raw, str | int | float | Decimal) or isinstance(raw, bool):
        raise parsing.ValueProblem(_("Write it as text."))
    return parsing.text(raw)


def clean_text(field, raw, limit=TEXT_MAX):
    value = plain_text(raw)
    if len(value) > limit:
        raise refuse(field, _("Keep it under %(n)d characters.", n=limit))
    return value


def clean_long_text(field, raw):
    return clean_text(field, raw, LONG_TEXT_MAX)


def clean_number(field, raw):
    if isinstance(raw, bool):
        raise refuse(field, _("Enter a number."))
    number = parsing.parse_number(raw)
    if abs(number) >= NUMBER_MAX:
        raise refuse(field, _("Enter a number of fewer than 16 digits."))
    return json_number(number)


def clean_money(field, raw):
    if isinstance(raw, bool):
        raise refuse(field, _("Enter an amount of zero or more."))
    amount = parsing.parse_number(raw)
    if amount < 0 or amount > MONEY_MAX:
        raise refuse(field, _("Enter an amount of zero or more."))
    return json_number(amount.quantize(Decimal("0.01")))


def json_number(number):
    """A Decimal as JSON stores it: a whole number as an int, else a float that reads back the
    same (at most 15 significant digits, as the bounds keep it)."""
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def clean_date(field, raw):
    if isinstance(raw, bool | int | float | Decimal):
        raise refuse(field, _("Enter a date such as 31.12.2026."))
    moment = parsing.parse_date(raw, parsing.DAY_FIRST)
    return moment.date().isoformat() if isinstance(moment, datetime) else moment.isoformat()


def clean_yes_no(field, raw):
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().casefold()
    if word in YES:
        return True
    if word in NO:
        return False
    raise refuse(field, _("Answer yes or no."))


def find_option(field, raw, keep=()):
    """The option `raw` names, by key or by label (any case); a retired one only if kept."""
    written = plain_text(raw)
    wanted = written.casefold()
    for option in field.options:
        if option.key == written or option.label.casefold() == wanted:
            if option.retired and option.key not in keep:
                raise refuse(
                    field, _("“%(value)s” is no longer offered.", value=parsing.shown(written))
                )
            return option.key
    raise refuse(field, _("“%(value)s” is not one of the choices.", value=parsing.shown(written)))


def clean_choice(field, raw, keep=()):
    return find_option(field, raw, keep)


# A cell or a posted text names several choices separated by these.
CHOICE_SEPARATORS = re.compile(r"\s*[;,\n]\s*")


def clean_choices(field, raw, keep=()):
    if isinstance(raw, str):
        raw = CHOICE_SEPARATORS.split(raw)
    if not isinstance(raw, list | tuple):
        raise refuse(field, _("Pick from the choices."))
    keys = [find_option(field, item, keep) for item in raw if not is_empty(item)]
    # Each once, in the order the options are offered.
    order = {option.key: i for i, option in enumerate(field.options)}
    return sorted(set(keys), key=order.__getitem__) or None


def clean_link(field, raw):
    value = clean_text(field, raw)
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or "." not in parts.netloc
        or " " in value
    ):
        raise refuse(field, _("Enter a web address such as example.ru."))
    return value


def clean_phone(field, raw):
    value = clean_text(field, raw, 50)
    if len(re.sub(r"\D", "", value)) < 3:
        raise refuse(field, _("Enter a phone number."))
    return value


def clean_email(field, raw):
    value = clean_text(field, raw, 254)
    if not EMAIL.match(value):
        raise refuse(field, _("“%(value)s” is not an email address.", value=parsing.shown(value)))
    return value.lower()


CLEANERS = {
    FieldType.TEXT: clean_text,
    FieldType.LONG_TEXT: clean_long_text,
    FieldType.NUMBER: clean_number,
    FieldType.MONEY: clean_money,
    FieldType.DATE: clean_date,
    FieldType.YES_NO: clean_yes_no,
    FieldType.CHOICE: clean_choice,
    FieldType.CHOICES: clean_choices,
    FieldType.LINK: clean_link,
    FieldType.PHONE: clean_phone,
    FieldType.EMAIL: clean_email,
}


def as_text(field, value):
    """A stored value as a person would type it back (a form's input, a CSV cell)."""
    if value is None:
        return ""
    if field.type == FieldType.YES_NO:
        return _("Yes") if value else _("No")
    if field.type == FieldType.CHOICE:
        return option_label(field, value)
    if field.type == FieldType.CHOICES:
        return "; ".join(option_label(field, key) for key in value)
    if field.type == FieldType.DATE:
        return date.fromisoformat(value).strftime("%d.%m.%Y")
    if field.type in NUMERIC_TYPES:
        return format(Decimal(str(value)), "f")
    return str(value)


def option_label(field, key):
    option = field.option(key)
    return option.label if option else str(key)


def search_words(values, fields=None):
    """The values the lead search reads: the text-like fields' values, in one line."""
    known = {field.key: field for field in (fields or all_fields())}
    return " ".join(
        str(value)
        for key, value in (values or {}).items()
        if key in known and known[key].type in SEARCHED_TYPES
    )


# Queries


def stored(key, dialect=None):
    """The SQL expression of a field's stored value, as text (numbers and dates as written).

    Written out with the key in it, not as a bound parameter: an index on the expression serves
    only a query that says the same expression. Keys are checked, so nothing else gets in.
    """
    if not KEY_PATTERN.match(key):
        raise ValueError(f"not a field key: {key!r}")
    if (dialect or dialect_name()) == "postgresql":
        return literal_column(f"(leads.fields ->> '{key}')")
    return literal_column(f"json_extract(leads.fields, '$.{key}')")


def stored_number(key, dialect=None):
    """A number or money field's value as a number, for ranges and sorting."""
    dialect = dialect or dialect_name()
    if dialect == "postgresql":
        return literal_column(f"(CAST(leads.fields ->> '{key}' AS NUMERIC))")
    # SQLite's json_extract returns a JSON number as a number already.
    return stored(key, dialect)


def has_any_option(key, option_keys, dialect=None):
    """Leads whose several-choices field `key` holds any of `option_keys`."""
    dialect = dialect or dialect_name()
    keys = list(option_keys)
    if dialect == "postgresql":
        return func.jsonb_exists_any(literal_column(f"leads.fields -> '{key}'"), keys)
    stored(key, dialect)  # checks the key
    members = func.json_each(Lead.fields, f"$.{key}").table_valued("value")
    return (
        select(literal_column("1")).select_from(members).where(members.c.value.in_(keys)).exists()
    )


def equals_any(field, values, dialect=None):
    """Leads whose `field` holds one of `values` (stored values: option keys, text, booleans)."""
    dialect = dialect or dialect_name()
    if field.type == FieldType.CHOICES:
        return has_any_option(field.key, values, dialect)
    if field.type == FieldType.YES_NO:
        # SQLite reads JSON's true as 1; PostgreSQL's ->> writes it out as 'true'.
        written = [
            ("true" if v else "false") if dialect == "postgresql" else int(v) for v in values
        ]
        return stored(field.key, dialect).in_(written)
    return stored(field.key, dialect).in_(list(values))


def dialect_name():
    return db.session.get_bind().dialect.name


def index_expression(field, dialect):
    if field.type in NUMERIC_TYPES:
        return str(stored_number(field.key, dialect))
    return str(stored(field.key, dialect)).replace("leads.fields", "fields")


def ensure_indexes(connection, fields=None):
    """An index for each field marked filterable or identifying, none for the others: run after
    the definitions change, in the same transaction."""
    dialect = connection.dialect.name
    wanted = {
        INDEX_PREFIX + field.key: index_expression(field, dialect)
        for field in (fields if fields is not None else all_fields())
        if field.indexed and field.type != FieldType.CHOICES
    }
    existing = existing_indexes(connection)
    for name in existing - set(wanted):
        connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
    for name in set(wanted) - existing:
        expression = wanted[name].replace("leads.fields", "fields")
        connection.execute(text(f"CREATE INDEX {name} ON leads (({expression}))"))


def existing_indexes(connection):
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'leads'")
        )
    else:
        found = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads'")
        )
    return {name for (name,) in found if name.startswith(INDEX_PREFIX)}


def drop_indexes(connection):
    ensure_indexes(connection, fields=())


# Definitions written (Settings → Fields; the import's new fields)


def add_field(label, type_, options=(), **flags):
    """A new field at the end of the list, keyed after its label; options are labels (or
    Option values). Indexed at once when marked filterable or identifying. Not committed."""
    label = (label or "").strip()
    if not label or len(label) > LABEL_MAX:
        raise FieldValueError(
            _("Name the field in at most %(n)d characters.", n=LABEL_MAX), "label"
        )
    if type_ not in TYPE_LABELS:
        raise FieldValueError(_("Choose a type from the list."), "type")
    rows = db.session.scalars(select(CustomField)).all()
    if len(rows) >= FIELDS_MAX:
        raise FieldValueError(_("A team can have at most %(n)d fields.", n=FIELDS_MAX), "label")
    row = CustomField(
        key=unique_key(label, {row.key for row in rows}),
        label=label,
        type=type_,
        options=option_rows(options) if type_ in CHOICE_TYPES else [],
        position=max((row.position for row in rows), default=0) + 1,
        **flags,
    )
    db.session.add(row)
    db.session.flush()
    forget()
    ensure_indexes(db.session.connection())
    return Field.of(row)


def option_rows(options):
    """Options as stored, keyed after their labels."""
    rows, taken = [], set()
    for option in options:
        if isinstance(option, str):
            option = Option(key="", label=option.strip())
        key = option.key or unique_key(option.label, taken, fallback="option")
        taken.add(key)
        rows.append({**option.__dict__, "key": key})
    return rows
