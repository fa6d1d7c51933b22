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

import dataclasses
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from flask import g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, ngettext
from sqlalchemy import func, literal_column, select, text

from crm import data_version, kept_settings, parsing, search_index
from crm.extensions import db
from crm.models import CustomField, FieldType, Lead, utcnow

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
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")

TYPE_LABELS = {
    FieldType.TEXT: _l("Text"),
    FieldType.LONG_TEXT: _l("Long text"),
    # Not the number of a lead (№): a quantity, said apart in languages that tell them apart.
    FieldType.NUMBER: lazy_pgettext("type of field", "Number"),
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
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")


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
    # The pipelines whose leads have it; None: every pipeline's.
    pipeline_ids: tuple | None = None

    def applies_to(self, pipeline_id):
        """Whether a lead of the pipeline has this field (None: whatever the pipeline)."""
        return self.pipeline_ids is None or pipeline_id is None or pipeline_id in self.pipeline_ids

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
            pipeline_ids=tuple(row.pipeline_ids) if row.pipeline_ids else None,
        )


# Definitions


def all_fields():
    """Every field, removed ones too, in the team's order: read once per request."""
    # One look at `g`: the funnel asks for them several times for each lead it writes, and
    # the demo and the import write a hundred thousand.
    kept = g.get("custom_fields") if has_app_context() else None
    if kept is not None:
        return kept
    fields = kept_settings.kept("custom_fields", read_fields)
    if has_app_context():
        g.custom_fields = fields
    return fields


def read_fields():
    rows = db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.id))
    return tuple(Field.of(row) for row in rows)


def forget():
    """After a definition changed: the next read of this request reads them afresh."""
    if has_app_context():
        g.pop("custom_fields", None)


def active_fields():
    """The fields a person sees and fills in (not the removed ones)."""
    return [field for field in all_fields() if not field.removed]


def fields_for(pipeline_id):
    """The fields in use that a lead of the pipeline has."""
    return [field for field in active_fields() if field.applies_to(pipeline_id)]


def set_pipelines(field_id, pipeline_ids):
    """Limit a field to some pipelines (none given: every pipeline's). Its values stay."""
    row = row_of(field_id)
    row.pipeline_ids = sorted(set(pipeline_ids)) or None
    changed()
    return Field.of(row)


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
        for field in (active_fields() if fields is None else fields)
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


def first_held(key, dialect=None):
    """The first option of a several-choices value (kept in the options' order): the earliest
    option a lead holds, as text; NULL for none."""
    stored(key, dialect)  # checks the key
    if (dialect or dialect_name()) == "postgresql":
        return literal_column(f"(leads.fields -> '{key}' ->> 0)")
    return literal_column(f"json_extract(leads.fields, '$.{key}[0]')")


def stored_number(key, dialect=None):
    """A number or money field's value as a number, for ranges and sorting."""
    dialect = dialect or dialect_name()
    if dialect == "postgresql":
        stored(key, dialect)  # checks the key
        # Only a JSON number is cast: an index is built over every version of a row that a
        # transaction may still see, and the old version of a value converted by a type
        # change ("1 250" as text) would make a bare cast fail.
        held = f"leads.fields -> '{key}'"
        return literal_column(
            f"(CASE WHEN jsonb_typeof({held}) = 'number' "
            f"THEN CAST(leads.fields ->> '{key}' AS NUMERIC) END)"
        )
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


# Several choices are matched inside their list, which a plain index cannot serve; a long text
# is searched for words, and a value of up to 8,000 characters overflows PostgreSQL's b-tree
# entry (about 2,700 bytes), which would refuse the lead holding it.
UNINDEXED_TYPES = (FieldType.CHOICES, FieldType.LONG_TEXT)


def ensure_indexes(connection, fields=None):
    """An index for each field marked filterable or identifying, none for the others: run after
    the definitions change, in the same transaction."""
    dialect = connection.dialect.name
    wanted = {
        INDEX_PREFIX + field.key: index_expression(field, dialect)
        for field in (fields if fields is not None else all_fields())
        if field.indexed and field.type not in UNINDEXED_TYPES
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
#
# Each takes plain values, changes the definitions without committing, and raises
# FieldValueError(message, name of the form field it concerns). After any change the request
# reads the definitions afresh, the indexes follow the flags in the same transaction, and the
# data version moves on, so pages that keep what they drew redraw it.

FLAGS = ("required", "in_list", "on_card", "on_new_form", "filterable", "identifies_client")
# A client is named by something written out (ИНН, a registration number, a site, a phone);
# not by yes/no, a pick from a few choices, a paragraph, a date or an amount.
IDENTIFYING_TYPES = (
    *(FieldType.TEXT, FieldType.NUMBER, FieldType.LINK, FieldType.PHONE, FieldType.EMAIL),
)
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}\Z")
# Leads are read this many at a time when a field's values are all looked at.
VALUES_BATCH = 500
# The dry run of a type change lists at most this many leads whose values do not fit.
MISFITS_SHOWN = 100


def changed():
    """After a definition changed: read afresh, indexes as the flags now say, data version on."""
    forget()
    db.session.flush()
    ensure_indexes(db.session.connection())
    data_version.bump(db.session)


def row_of(field_id):
    row = db.session.get(CustomField, field_id)
    if row is None:
        raise FieldValueError(_("This field no longer exists."), "label")
    return row


def written(typed):
    """What a person typed into a definition's box: stripped, NUL gone (PostgreSQL cannot keep
    it and nobody types it)."""
    return (typed or "").replace("\x00", "").strip()


def check_label(label, field_id=None):
    """A field's name: 1–80 characters, not the name of another field in use (any case)."""
    label = written(label)
    if not label or len(label) > LABEL_MAX:
        raise FieldValueError(
            _("Name the field in at most %(n)d characters.", n=LABEL_MAX), "label"
        )
    others = select(CustomField.label).where(
        CustomField.removed_at.is_(None), CustomField.id != (field_id or -1)
    )
    if any(other.casefold() == label.casefold() for other in db.session.scalars(others)):
        raise FieldValueError(
            _("A field named “%(label)s” exists already: choose another name.", label=label),
            "label",
        )
    return label


def check_help_text(help_text):
    """The help shown under a field: at most 300 characters; None when empty."""
    help_text = written(help_text)
    if len(help_text) > HELP_MAX:
        raise FieldValueError(_("Keep it under %(n)d characters.", n=HELP_MAX), "help_text")
    return help_text or None


def check_flags(type_, flags):
    """The flags given, as booleans; those that cannot go together are refused."""
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise TypeError(f"unknown field flags: {sorted(unknown)}")
    flags = {name: bool(value) for name, value in flags.items()}
    if flags.get("required") and not flags.get("on_new_form", True):
        # Asked for by the funnel on every new lead, so the person must be shown it.
        raise FieldValueError(
            _("A required field must be on the new-lead form: tick both, or neither."),
            "required",
        )
    if flags.get("identifies_client") and type_ not in IDENTIFYING_TYPES:
        raise FieldValueError(
            _("Only a text, number, link, phone or email field can identify a client."),
            "identifies_client",
        )
    return flags


def add_field(label, type_, options=(), help_text=None, **flags):
    """A new field at the end of the list, keyed after its label; options are labels (or
    Option values). Indexed at once when marked filterable or identifying. Not committed."""
    label = check_label(label)
    if type_ not in TYPE_LABELS:
        raise FieldValueError(_("Choose a type from the list."), "type")
    rows = db.session.scalars(select(CustomField)).all()
    if len(rows) >= FIELDS_MAX:
        raise FieldValueError(
            _(
                "A team can have at most %(n)d fields, removed ones included: delete one "
                "that no lead uses first.",
                n=FIELDS_MAX,
            ),
            "label",
        )
    row = CustomField(
        key=unique_key(label, {row.key for row in rows}),
        label=label,
        type=type_,
        options=option_rows(options, type_) if type_ in CHOICE_TYPES else [],
        help_text=check_help_text(help_text),
        position=max((row.position for row in rows), default=0) + 1,
        **check_flags(type_, flags),
    )
    db.session.add(row)
    changed()
    return Field.of(row)


def update_field(field_id, label, help_text=None, **flags):
    """Rename a field, change its help text and flags; its key, and so its values, stay."""
    row = row_of(field_id)
    row.label = check_label(label, field_id)
    row.help_text = check_help_text(help_text)
    # Flags not given stay as they are, and are checked with those given.
    current = {name: getattr(row, name) for name in FLAGS}
    for name, value in check_flags(row.type, current | flags).items():
        setattr(row, name, value)
    changed()
    return Field.of(row)


def move_field(field_id, direction):
    """Swap a field in use with its neighbour above ("up") or below ("down"); False at an end.
    Removed fields are left out of the order, so a step always shows."""
    rows = [
        row
        for row in db.session.scalars(
            select(CustomField).order_by(CustomField.position, CustomField.id)
        )
        if row.removed_at is None
    ]
    row = row_of(field_id)
    if row not in rows:
        return False
    index = rows.index(row)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    for position, each in enumerate(rows, start=1):
        each.position = position
    changed()
    return True


def remove_field(field_id):
    """Hide a field everywhere: not offered, not shown, no longer indexed; every lead keeps its
    value (exports and the audit trail still have them) until the field is restored."""
    row = row_of(field_id)
    if row.removed_at is None:
        row.removed_at = utcnow()
        changed()
    return Field.of(row)


def restore_field(field_id):
    """A removed field back in use, at the end of the list, with the values leads kept."""
    row = row_of(field_id)
    if row.removed_at is None:
        return Field.of(row)
    try:
        check_label(row.label, field_id)
    except FieldValueError:
        raise FieldValueError(
            _(
                "A field in use is named “%(label)s” too: rename one of them first.",
                label=row.label,
            ),
            "label",
        ) from None
    row.removed_at = None
    row.position = (db.session.scalar(select(func.max(CustomField.position))) or 0) + 1
    changed()
    return Field.of(row)


def leads_with_value(key):
    """How many leads, archived ones too, hold a value for the field `key`."""
    return db.session.scalar(select(func.count()).select_from(Lead).where(stored(key).is_not(None)))


def delete_field(field_id):
    """Delete a field no lead has a value for; one with values can only be removed."""
    row = row_of(field_id)
    held = leads_with_value(row.key)
    if held:
        raise FieldValueError(
            ngettext(
                "%(num)d lead has a value in this field, so it cannot be deleted. Remove it "
                "instead: it is hidden everywhere and the values are kept.",
                "%(num)d leads have a value in this field, so it cannot be deleted. Remove it "
                "instead: it is hidden everywhere and the values are kept.",
                held,
            ),
            "label",
        )
    label = row.label
    db.session.delete(row)
    changed()
    return label


# Options of the choice types


def check_option_label(label, options, key=None, type_=FieldType.CHOICE, box="label"):
    """An option's name: 1–80 characters, unlike the field's other options (any case); in a
    field of several choices, without the marks that separate them where they are typed."""
    label = written(label)
    if not label or len(label) > LABEL_MAX:
        raise FieldValueError(_("Name the choice in at most %(n)d characters.", n=LABEL_MAX), box)
    if any(o["label"].casefold() == label.casefold() and o["key"] != key for o in options):
        raise FieldValueError(
            _("“%(label)s” is a choice already.", label=parsing.shown(label)), box
        )
    if type_ == FieldType.CHOICES and CHOICE_SEPARATORS.search(label):
        raise FieldValueError(
            _(
                "“%(label)s”: a choice among several cannot hold “;” or “,”, which separate "
                "the choices where they are typed.",
                label=parsing.shown(label),
            ),
            box,
        )
    return label


def check_colour(colour):
    colour = written(colour)
    if not colour:
        return None
    if not COLOUR.match(colour):
        raise FieldValueError(_("Choose a colour like #1d4ed8."), "colour")
    return colour.lower()


def option_rows(options, type_=FieldType.CHOICE):
    """Options as stored, keyed after their labels; checked as the option forms check them."""
    rows = []
    for option in options:
        if isinstance(option, str):
            option = Option(key="", label=option)
        if len(rows) >= OPTIONS_MAX:
            raise too_many_options()
        label = check_option_label(option.label, rows, type_=type_, box="options")
        key = option.key or unique_key(label, {row["key"] for row in rows}, fallback="option")
        rows.append(
            {**option.__dict__, "key": key, "label": label, "colour": check_colour(option.colour)}
        )
    return rows


def too_many_options():
    return FieldValueError(_("A field can have at most %(n)d choices.", n=OPTIONS_MAX), "options")


def choice_row(field_id):
    row = row_of(field_id)
    if row.type not in CHOICE_TYPES:
        raise FieldValueError(_("Only a choice field has choices."), "label")
    return row


def option_index(row, option_key):
    for index, option in enumerate(row.options):
        if option["key"] == option_key:
            return index
    raise FieldValueError(_("This choice no longer exists."), "label")


def with_option(row, index, **changes):
    """The options with one of them changed: a new list, so the change is saved."""
    options = [dict(option) for option in row.options]
    options[index].update(changes)
    return options


def add_option(field_id, label, colour=None):
    """A new choice at the end of the field's list; its key is made from its label, once."""
    row = choice_row(field_id)
    options = list(row.options or [])
    if len(options) >= OPTIONS_MAX:
        raise too_many_options()
    label = check_option_label(label, options, type_=row.type)
    key = unique_key(label, {option["key"] for option in options}, fallback="option")
    option = Option(key=key, label=label, colour=check_colour(colour))
    row.options = [*options, dict(option.__dict__)]
    changed()
    return option


def update_option(field_id, option_key, label, colour=None):
    """Rename or recolour a choice; its key stays, so the leads holding it show the new name."""
    row = choice_row(field_id)
    index = option_index(row, option_key)
    label = check_option_label(label, row.options, option_key, row.type)
    row.options = with_option(row, index, label=label, colour=check_colour(colour))
    changed()
    return Option(**row.options[index])


def move_option(field_id, option_key, direction):
    """Swap a choice with its neighbour above ("up") or below ("down"); False at either end."""
    row = choice_row(field_id)
    index = option_index(row, option_key)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(row.options):
        return False
    options = list(row.options)
    options[index], options[other] = options[other], options[index]
    row.options = options
    changed()
    return True


def retire_option(field_id, option_key, retired=True):
    """A retired choice is no longer offered; leads holding it keep it and still show it."""
    row = choice_row(field_id)
    index = option_index(row, option_key)
    row.options = with_option(row, index, retired=bool(retired))
    changed()
    return Option(**row.options[index])


def option_in_use(field, option_key):
    """Whether any lead, archived ones too, holds the option."""
    return db.session.scalar(
        select(select(Lead.id).where(equals_any(field, [option_key])).exists())
    )


def delete_option(field_id, option_key):
    """Delete a choice no lead holds; one in use can only be retired, so no value is lost."""
    row = choice_row(field_id)
    index = option_index(row, option_key)
    if option_in_use(Field.of(row), option_key):
        raise FieldValueError(
            _(
                "Leads hold “%(label)s”, so it cannot be deleted: retire it instead, and it "
                "is no longer offered while those leads keep it.",
                label=row.options[index]["label"],
            ),
            "label",
        )
    option = Option(**row.options[index])
    row.options = [o for o in row.options if o["key"] != option_key]
    changed()
    return option


def option_counts(field):
    """{option key: how many leads hold it}, in one query whatever the number of options."""
    if field.type == FieldType.CHOICES:
        if dialect_name() == "postgresql":
            stored(field.key)  # checks the key
            held = literal_column(f"leads.fields -> '{field.key}'")
            members = func.jsonb_array_elements_text(held).table_valued("value")
            query = (
                select(members.c.value, func.count())
                .select_from(Lead)
                .join(members, literal_column("true"))
                .where(func.jsonb_typeof(held) == "array")
            )
        else:
            members = func.json_each(Lead.fields, f"$.{field.key}").table_valued("value")
            query = (
                select(members.c.value, func.count())
                .select_from(Lead)
                .join(members, literal_column("1"))
            )
        return dict(db.session.execute(query.group_by(members.c.value)).all())
    value = stored(field.key)
    query = select(value, func.count()).select_from(Lead).where(value.is_not(None)).group_by(value)
    return dict(db.session.execute(query).all())


# Changing a field's type: the stored values are typed again into the new type.


def converted(old, new, value):
    """What `value`, held by field `old`, becomes as field `new` of another type: typed back
    as text, as a person would retype it ("1 250" becomes a number; a number, text). Raises
    FieldValueError when it does not fit."""
    return clean_value(new, typed_back(old, value), kept_options(new, value))


def typed_back(field, value):
    """`as_text`, and for a value its field could not have checked (written before the
    checks, or by hand) its plain text, so the dry run lists it rather than failing."""
    try:
        return as_text(field, value)
    except (ValueError, TypeError, ArithmeticError):
        return str(value)


def stored_values(key):
    """(id, number, title, value) of each lead holding a value for `key`, read a batch at a
    time, so memory stays flat whatever the number of leads."""
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Lead.id, Lead.number, Lead.title, Lead.fields[key])
            .where(Lead.id > last_id, stored(key).is_not(None))
            .order_by(Lead.id)
            .limit(VALUES_BATCH)
        ).all()
        yield from rows
        if len(rows) < VALUES_BATCH:
            return
        last_id = rows[-1].id


def retyped(field_id, type_):
    """The field as it would be with type `type_`, not saved. Turned into a choice field, its
    different values become its choices (at most 200); between the choice types the choices
    stay."""
    row = row_of(field_id)
    field = Field.of(row)
    if type_ not in TYPE_LABELS:
        raise FieldValueError(_("Choose a type from the list."), "type")
    if type_ == field.type:
        raise FieldValueError(_("The field is of this type already."), "type")
    if field.removed:
        raise FieldValueError(_("Restore the field before changing its type."), "type")
    if field.identifies_client and type_ not in IDENTIFYING_TYPES:
        raise FieldValueError(
            _(
                "Only a text, number, link, phone or email field can identify a client: "
                "untick “Identifies the client” first."
            ),
            "type",
        )
    options = field.options
    if type_ in CHOICE_TYPES and not field.has_options:
        labels = options_from_values(field, type_)
        options = tuple(Option(**o) for o in option_rows(labels, type_))
    elif type_ not in CHOICE_TYPES:
        options = ()
    return replace(field, type=type_, options=options)


def options_from_values(field, type_):
    """The different values of `field` as choice labels, in alphabetical order; a value too
    long for a choice is left for the dry run to list."""
    labels = {}
    for *_lead, value in stored_values(field.key):
        text_ = typed_back(field, value)
        for part in CHOICE_SEPARATORS.split(text_) if type_ == FieldType.CHOICES else [text_]:
            label = parsing.text(part)
            if label and len(label) <= LABEL_MAX:
                labels.setdefault(label.casefold(), label)
        if len(labels) > OPTIONS_MAX:
            raise FieldValueError(
                _(
                    "The field holds more than %(n)d different values, too many to become choices.",
                    n=OPTIONS_MAX,
                ),
                "type",
            )
    return sorted(labels.values(), key=str.casefold)


@dataclass(frozen=True)
class Misfit:
    """A lead whose value does not fit a field's new type, and why."""

    number: int
    title: str
    value: str
    problem: str


@dataclass
class TypeChange:
    """What a type change would do: how many values convert, and the leads whose do not."""

    old: Field
    new: Field
    held: int = 0
    misfit_count: int = 0
    misfits: list = dataclasses.field(default_factory=list)

    @property
    def fitting(self):
        return self.held - self.misfit_count


def type_change_dry_run(old, new):
    """Each stored value of `old` tried as `new` (see `converted`), nothing written; lists the
    first MISFITS_SHOWN leads whose value does not fit."""
    change = TypeChange(old, new)
    for _id, number, title, value in stored_values(old.key):
        change.held += 1
        try:
            converted(old, new, value)
        except FieldValueError as error:
            change.misfit_count += 1
            if len(change.misfits) < MISFITS_SHOWN:
                problem = error.message.removeprefix(f"{new.label}: ")
                text_ = parsing.shown(typed_back(old, value), 80)
                change.misfits.append(Misfit(number, title, text_, problem))
    return change


def change_type(new, rewrite_values):
    """Save the type (and choices) of `new`, from `retyped`, and have `rewrite_values(old,
    new)` convert the leads' values (funnel.convert_field_values) in the same transaction;
    returns what it returns. The field's index, whose expression depends on the type, is made
    again only then: PostgreSQL could not index "1 250" as a number."""
    row = row_of(new.id)
    old = Field.of(row)
    row.type = new.type
    row.options = [dict(option.__dict__) for option in new.options]
    forget()
    db.session.flush()
    db.session.connection().execute(text(f"DROP INDEX IF EXISTS {INDEX_PREFIX}{row.key}"))
    result = rewrite_values(old, Field.of(row))
    changed()
    return result


# Fields about to be created


@contextmanager
def planned(fields):
    """Within: `fields`, not created yet (an import's dry run), are read as the team's own, so
    values are checked against them as they will be; nothing is written."""
    g.custom_fields = (*all_fields(), *fields)
    try:
        yield
    finally:
        forget()
