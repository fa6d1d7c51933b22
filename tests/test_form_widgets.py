"""The form widgets drawn by crm.form_widgets are, character for character, what WTForms draws."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.form import BaseForm
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from crm import form_widgets
from crm.form_base import AppForm


def every_kind_of_field():
    """A field of each kind the app's forms use, some with the validators that add attributes."""
    return {
        "name": StringField("Name", validators=[InputRequired(), Length(max=20)]),
        "email": EmailField("Email", render_kw={"autocomplete": "email"}),
        "password": PasswordField("Password"),
        "count": IntegerField("Count", validators=[Optional(), NumberRange(min=0, max=9)]),
        "amount": DecimalField("Amount", places=2, validators=[NumberRange(min=0)]),
        "day": DateField("Day", validators=[Optional()]),
        "when": DateTimeLocalField("When", validators=[InputRequired()]),
        "secret": HiddenField("Secret"),
        "notes": TextAreaField("Notes", validators=[Length(max=80)]),
        # Its choices are given once the form is made, as the app's forms give theirs.
        "kind": SelectField("Kind", validators=[InputRequired()]),
        "flag": SelectField(
            "Flag", choices=[SelectChoice(True, "Yes"), SelectChoice(False, "No")], coerce=bool
        ),
        "stage": SelectField(
            "Stage",
            choices=[SelectChoice("3", "Won", render_kw={"data-kind": "won"})],
        ),
        "grouped": SelectField(
            "Grouped",
            choices=[
                SelectChoice("1", "New", optgroup="Open"),
                SelectChoice("2", "Won", optgroup="Closed"),
            ],
        ),
        "agree": BooleanField("Agree"),
        "size": RadioField(
            "Size", choices=[SelectChoice("s", "Small"), SelectChoice("l", "Large")]
        ),
    }


def bound(formdata=None, data=None):
    form = BaseForm(every_kind_of_field())
    form["kind"].choices = {"1": "Call", "2": "E-mail <b>", "": "—"}
    form.process(formdata, data=data)
    return form


FILLED = {
    "name": 'Иван "Ваня" <script>',
    "email": "a@b.example",
    "password": "secret",
    "count": 3,
    "amount": Decimal("12.50"),
    "day": date(2026, 12, 31),
    "when": datetime(2026, 12, 7, 23, 59),
    "secret": "x&y",
    "notes": "line one\nline two & <three>",
    "kind": "2",
    "flag": False,
    "stage": "3",
    "grouped": "2",
    "agree": True,
    "size": "l",
}
TYPED = MultiDict(
    {
        "name": "",
        "count": "not a number",
        "amount": "-1",
        "day": "31.12.2026",
        "when": "2026-12-07T23:59",
        "notes": "x" * 100,
        "kind": "7",
    }
)
EXTRA = [
    {},
    {"class_": "wide", "data_kind": "won", "aria_describedby": "x-hint"},
    {"aria-invalid": "true", "autofocus": True, "disabled": False},
    {"id": "other-id", "value": 'typed "quotes"', "rows": 4},
    {"min": date(2026, 1, 1), "max": "2027-01-01", "step": 5},
]


@pytest.mark.parametrize("form", [bound(), bound(data=FILLED), bound(formdata=TYPED)])
@pytest.mark.parametrize("extra", EXTRA)
def test_every_field_is_drawn_as_wtforms_draws_it(form, extra):
    form.validate()
    for field in form:
        expected = field.widget(field, **extra)
        assert form_widgets.render_field(field, dict(extra)) == expected, field.name


@given(st.text(), st.text(), st.text())
def test_any_text_is_drawn_as_wtforms_draws_it(typed, note, attribute):
    form = bound(formdata=MultiDict({"name": typed, "notes": note, "kind": typed}))
    for name in ("name", "notes", "kind", "secret"):
        field = form[name]
        extra = {"data_note": attribute}
        assert form_widgets.render_field(field, dict(extra)) == field.widget(field, **extra)


def test_app_forms_draw_through_it_with_the_fields_own_attributes(app):
    class Sample(AppForm):
        name = StringField("Name", render_kw={"placeholder": "Иван", "class": "x"})

    with app.test_request_context():
        form = Sample(meta={"csrf": False})
        html = form.name(class_="y")
    assert html == '<input class="y" id="name" name="name" placeholder="Иван" type="text" value="">'


def test_only_wtforms_plain_widgets_are_drawn_here():
    form = bound()
    drawn_here = {field.name for field in form if form_widgets.drawer(field.widget, field)}
    assert drawn_here == {
        "name",
        "email",
        "count",
        "amount",
        "day",
        "when",
        "secret",
        "notes",
        "kind",
        "flag",
        "stage",
    }
