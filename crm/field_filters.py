"""Filters on the team's own fields, as an address writes them: the lead list, the board and
the agenda read them here, so a filter written for one reads the same on the others.

- a choice or several choices: `f.gorod=moskva&f.gorod=kazan` (any of these options);
- a number, an amount or a date: `f.sotrudnikov.min=10&f.sotrudnikov.max=50` (either end may
  stay open; a date as 2026-12-31 or 31.12.2026);
- yes/no: `f.s_nds=1` or `f.s_nds=0`;
- text, a link, a phone or an email: `f.sayt=alfa` (the value holds it, in any case).

Only fields marked filterable are read. What cannot be read (an unknown field, "abc" for a
number) is left out and said in `problems`, never an error. The conditions are written with
crm.custom_fields' expressions, the ones its expression indexes were made for.
"""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Numeric, and_, func, literal

from crm import custom_fields, parsing
from crm.args import text_arg
from crm.custom_fields import FieldValueError
from crm.database import CASEFOLD
from crm.models import FieldType

PREFIX = "f."
LOW, HIGH = "min", "max"
# More options than a field can have are a hand-made address.
OPTIONS_MAX = custom_fields.OPTIONS_MAX
TEXT_MAX = 200

# How each type is filtered, and so which control the page shows for it.
OPTIONS, YES_NO, RANGE, DATE_RANGE, TEXT = "options", "yes_no", "range", "date_range", "text"
KINDS = {
    FieldType.CHOICE: OPTIONS,
    FieldType.CHOICES: OPTIONS,
    FieldType.YES_NO: YES_NO,
    FieldType.NUMBER: RANGE,
    FieldType.MONEY: RANGE,
    FieldType.DATE: DATE_RANGE,
    **dict.fromkeys(custom_fields.SEARCHED_TYPES, TEXT),
}
# The board and the agenda filter by choices only.
CHOICE_TYPES = custom_fields.CHOICE_TYPES


@dataclass(frozen=True)
class FieldFilter:
    """One field's filter: the options wanted, the yes/no answer, the range, or the text."""

    field: custom_fields.Field
    options: tuple = ()
    answer: bool | None = None
    # Decimal for numbers and money, "YYYY-MM-DD" for dates; None leaves that end open.
    low: object = None
    high: object = None
    text: str = ""

    @property
    def kind(self):
        return KINDS[self.field.type]

    def condition(self):
        field = self.field
        if self.kind == OPTIONS:
            return custom_fields.equals_any(field, self.options)
        if self.kind == YES_NO:
            return custom_fields.equals_any(field, [self.answer])
        if self.kind == TEXT:
            return holds(field.key, self.text)
        if self.kind == RANGE:
            value = custom_fields.stored_number(field.key)
            low, high = (None if end is None else literal(end, Numeric()) for end in self.ends)
        else:
            value = custom_fields.stored(field.key)
            low, high = self.ends
        bounds = []
        if low is not None:
            bounds.append(value >= low)
        if high is not None:
            bounds.append(value <= high)
        return and_(*bounds)

    @property
    def ends(self):
        return self.low, self.high

    def params(self):
        """This filter as URL parameters."""
        name = PREFIX + self.field.key
        if self.kind == OPTIONS:
            return {name: list(self.options)}
        if self.kind == YES_NO:
            return {name: "1" if self.answer else "0"}
        if self.kind == TEXT:
            return {name: self.text}
        ends = {f"{name}.{LOW}": self.low, f"{name}.{HIGH}": self.high}
        return {end: written(value) for end, value in ends.items() if value is not None}


def written(value):
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def holds(key, text):
    """The field's value holds `text`, in any case: PostgreSQL's lower() folds every
    alphabet; SQLite's folds ASCII only, so there the casefolded copies are compared."""
    value = custom_fields.stored(key)
    if custom_fields.dialect_name() == "sqlite":
        return getattr(func, CASEFOLD)(value).contains(text.casefold(), autoescape=True)
    return func.lower(value).contains(text.lower(), autoescape=True)


@dataclass(frozen=True)
class Reading:
    """The field filters of an address: those in force, and the (parameter, problem) pairs of
    those that could not be read."""

    filters: tuple = ()
    faults: tuple = ()

    @property
    def problems(self):
        """What a page says of the filters it left out."""
        return tuple(left_out(message) for _name, message in self.faults)

    def __len__(self):
        return len(self.filters)

    def by_key(self):
        return {item.field.key: item for item in self.filters}

    def conditions(self):
        return tuple(item.condition() for item in self.filters)

    def params(self):
        params = {}
        for item in self.filters:
            params.update(item.params())
        return params


def filterable(types=None):
    """The fields a person may filter by (of `types`, when given), in the team's order."""
    return [
        field
        for field in custom_fields.active_fields()
        if field.filterable and (types is None or field.type in types)
    ]


def read(args, types=None):
    """The field filters written in `args` (a request's MultiDict)."""
    fields = {field.key: field for field in filterable(types)}
    filters, faults, known = [], [], set()
    for field in fields.values():
        names = param_names(field)
        known.update(names)
        if not any(value.strip() for name in names for value in args.getlist(name)):
            continue
        problems = []
        try:
            found = read_one(field, args, problems)
        except FieldValueError as error:
            problems.append((names[0], error.message))
            found = None
        except EndFault as fault:
            problems.append(fault.args)
            found = None
        faults += problems
        if found is not None:
            filters.append(found)
    for name in sorted(set(args) - known):
        if name.startswith(PREFIX):
            message = _("“%(name)s” names no field to filter by.", name=parsing.shown(name))
            faults.append((name, message))
    return Reading(tuple(filters), tuple(faults))


def left_out(message):
    return _("%(problem)s This filter is left out.", problem=message)


def param_names(field):
    name = PREFIX + field.key
    if KINDS[field.type] in (RANGE, DATE_RANGE):
        return (f"{name}.{LOW}", f"{name}.{HIGH}")
    return (name,)


def read_one(field, args, problems):
    """One field's filter, or None when nothing usable was written; raises FieldValueError."""
    kind = KINDS[field.type]
    name = PREFIX + field.key
    if kind == OPTIONS:
        options = read_options(field, args.getlist(name)[:OPTIONS_MAX], problems)
        return FieldFilter(field, options=options) if options else None
    if kind == YES_NO:
        answer = custom_fields.clean_value(field, text_arg(args.get(name), TEXT_MAX))
        return FieldFilter(field, answer=answer)
    if kind == TEXT:
        return FieldFilter(field, text=text_arg(args.get(name), TEXT_MAX))
    low, high = (read_end(field, args, f"{name}.{end}") for end in (LOW, HIGH))
    if low is None and high is None:
        return None
    return FieldFilter(field, low=low, high=high)


def read_options(field, written_options, problems):
    """The options named (by key, or by label in any case), each once, in the field's order."""
    wanted = set()
    for option_written in written_options:
        option_written = text_arg(option_written, TEXT_MAX)
        if not option_written:
            continue
        option = field.option(option_written) or next(
            (o for o in field.options if o.label.casefold() == option_written.casefold()), None
        )
        if option is None:
            message = _(
                "%(field)s: “%(value)s” is not one of the choices.",
                field=field.label,
                value=parsing.shown(option_written),
            )
            problems.append((PREFIX + field.key, message))
        else:
            wanted.add(option.key)
    return tuple(option.key for option in field.options if option.key in wanted)


class EndFault(Exception):
    """An end of a range that cannot be read: (its parameter, the problem)."""


def read_end(field, args, name):
    """One end of a range, checked as the field checks a value; None when empty."""
    try:
        value = custom_fields.clean_value(field, text_arg(args.get(name), TEXT_MAX))
    except FieldValueError as error:
        raise EndFault(name, error.message) from None
    if value is None or field.type == FieldType.DATE:
        return value
    return Decimal(str(value))


@dataclass(frozen=True)
class Control:
    """What a page shows to filter by one field: its kind of control and what is chosen."""

    field: custom_fields.Field
    kind: str
    current: FieldFilter | None
    # What the address holds for each of its inputs, shown back as typed (a slip included).
    typed: dict

    @property
    def name(self):
        return PREFIX + self.field.key

    def offered(self):
        """The options to tick: those offered, and a retired one while it is chosen."""
        chosen = self.current.options if self.current else ()
        return [o for o in self.field.options if not o.retired or o.key in chosen]


def controls(reading, args, types=None):
    """A control for each field a person may filter by."""
    current = reading.by_key()
    return [
        Control(
            field,
            KINDS[field.type],
            current.get(field.key),
            {name: text_arg(args.get(name), TEXT_MAX) for name in param_names(field)},
        )
        for field in filterable(types)
    ]
