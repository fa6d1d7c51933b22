"""The team's own fields on a form: what each input shows, what was posted, and the message
next to an input whose value does not fit.

The inputs are written by the `field_inputs` macro (templates/_field_inputs.html), named
`fields.<key>` as the funnel names a refused field, so its FunnelError lands next to the right
input. Checking here is the funnel's own (`custom_fields.clean_value`), field by field, so a
form with several mistakes tells them all at once; the funnel checks again when it saves.
"""

from dataclasses import dataclass
from decimal import Decimal

from babel import numbers

from crm import custom_fields, funnel
from crm.i18n import user_locale
from crm.models import FieldType

NAME_PREFIX = "fields."
# What a yes/no select sends; the funnel reads both words.
YES, NO = "yes", "no"


@dataclass
class FieldInput:
    """One field's input: the definition, what the input holds, and why it was refused."""

    field: custom_fields.Field
    # What the input shows: text as typed, or for several choices a list of option keys.
    shown: object
    # Options the lead holds though they are retired: offered to it all the same.
    kept: tuple = ()
    error: str | None = None

    @property
    def name(self):
        return NAME_PREFIX + self.field.key

    @property
    def id(self):
        return "field-" + self.field.key.replace("_", "-")

    @property
    def options(self):
        """The options to pick from: those offered, and the retired ones the lead holds."""
        return [
            option for option in self.field.options if not option.retired or option.key in self.kept
        ]

    def picked(self, key):
        if self.field.type == FieldType.CHOICES:
            return key in (self.shown or ())
        return self.shown == key


def shown_value(field, value):
    """A stored value as its input holds it."""
    if value is None:
        return [] if field.type == FieldType.CHOICES else ""
    if field.type == FieldType.CHOICES:
        return list(value)
    if field.type in (FieldType.CHOICE, FieldType.DATE):
        # The option's key for the select; the ISO day for a date input.
        return str(value)
    if field.type == FieldType.YES_NO:
        return YES if value else NO
    if field.type == FieldType.MONEY:
        return typed_amount(value)
    return custom_fields.as_text(field, value)


def typed_amount(value):
    """An amount as the reader types one, with their decimal mark and no grouping: "1250,50".
    Safe to read back, as an amount has two decimals at most (a number may have three, which
    "1,250" would make a thousand: numbers keep the point)."""
    amount = Decimal(str(value))
    pattern = "0" if amount == amount.to_integral_value() else "0.00"
    return numbers.format_decimal(amount, format=pattern, locale=user_locale())


class FieldInputs:
    """The inputs of `fields` on one form, filled from the lead's `stored` values, or from
    `formdata` once posted."""

    def __init__(self, fields, stored=None, formdata=None):
        self.stored = dict(stored or {})
        self.posted = {}
        self.inputs = []
        for field in fields:
            kept = custom_fields.kept_options(field, self.stored.get(field.key))
            shown = shown_value(field, self.stored.get(field.key))
            name = NAME_PREFIX + field.key
            if formdata is not None and name in formdata:
                if field.type == FieldType.CHOICES:
                    shown = [key for key in formdata.getlist(name) if key]
                else:
                    shown = formdata.get(name, "")
                self.posted[field.key] = shown
            self.inputs.append(FieldInput(field, shown, kept))

    def __iter__(self):
        return iter(self.inputs)

    def __bool__(self):
        return bool(self.inputs)

    @property
    def errors(self):
        return [each.error for each in self.inputs if each.error]

    def input_of(self, key):
        return next((each for each in self.inputs if each.field.key == key), None)

    def check(self, new_lead=False, pipeline_id=None):
        """Whether every posted value fits its field, each refusal set next to its input; a
        required field (of the lead's pipeline, when given) may not be left empty on a new
        lead, nor emptied on a lead."""
        self.cleaned = {}
        for each in self.inputs:
            if each.field.key not in self.posted:
                continue
            try:
                value = custom_fields.clean_value(
                    each.field, self.posted[each.field.key], each.kept
                )
            except custom_fields.FieldValueError as error:
                each.error = error.message
                continue
            emptied = self.stored.get(each.field.key) is not None
            required = each.field.required and each.field.applies_to(pipeline_id)
            if required and value is None and (new_lead or emptied):
                each.error = funnel.required_message(each.field)
            self.cleaned[each.field.key] = value
        return not self.errors

    def changes(self):
        """What was posted for the fields whose value it changes, as typed, for the funnel
        (which checks it again). Call after `check`."""
        return {
            key: self.posted[key]
            for key, value in self.cleaned.items()
            if value != self.stored.get(key)
        }

    def values(self):
        """The checked values of the fields posted with one: the new lead's, as stored."""
        return {key: value for key, value in self.cleaned.items() if value is not None}

    def attach(self, error):
        """Set a funnel's refusal next to its input; False when it is about no input here."""
        field = error.field or ""
        found = field.startswith(NAME_PREFIX) and self.input_of(field[len(NAME_PREFIX) :])
        if not found:
            return False
        found.error = error.message
        return True
