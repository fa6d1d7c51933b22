"""WTForms' common widgets drawn the way WTForms draws them, character for character, at a
fraction of the cost.

WTForms writes each attribute through `Markup.format` and asks `dir()` of the field's flags for
every input: a select or an input costs 50 to 130 µs, and a lead page draws a dozen. Here the
same text is written with plain f-strings, each value escaped once. Only widgets whose drawing
is WTForms' own plain input, text area or select are drawn here; any other (a checkbox, a
password, a radio list, a select with groups, a widget of a field's own) is left to WTForms.
"""

from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.widgets import core
from wtforms.widgets.core import clean_key

# The base of WTForms' date and time inputs, whose drawing writes min and max in the field's format.
DATE_INPUT = getattr(core, "_DateTimeBaseInput", None)


def html_params(attributes):
    """As `wtforms.widgets.html_params`: sorted by name, True written bare, False left out."""
    params = []
    for key, value in sorted(attributes.items()):
        if value is True:
            params.append(clean_key(key))
        elif value is not False:
            params.append(f'{clean_key(key)}="{escape(value)}"')
    return " ".join(params)


def with_flags(attributes, widget, field):
    """The validators' attributes (required, maxlength, min ...) the widget takes, unless given."""
    for key, value in vars(field.flags).items():
        if key in widget.validation_attrs and key not in attributes:
            attributes[key] = value() if callable(value) else value
    return attributes


def draw_input(widget, field, attributes):
    attributes.setdefault("id", field.id)
    attributes.setdefault("type", widget.input_type)
    if "value" not in attributes:
        attributes["value"] = field._value()
    with_flags(attributes, widget, field)
    return Markup(f"<input {html_params({'name': field.name, **attributes})}>")  # noqa: S704


def draw_date_input(widget, field, attributes):
    """As WTForms' date and time inputs: a min or max given as a date is written in the field's
    format."""
    form = getattr(field, "format", None)
    if form is not None:
        form = form[0] if isinstance(form, list) else form
        for name in ("min", "max"):
            value = attributes.get(name, getattr(field.flags, name, None))
            value = value() if callable(value) else value
            if hasattr(value, "strftime"):
                attributes[name] = value.strftime(form)
    return draw_input(widget, field, attributes)


def draw_number_input(widget, field, attributes):
    """As WTForms' number input: the widget's own step, min and max, unless given."""
    for name in ("step", "min", "max"):
        if getattr(widget, name) is not None:
            attributes.setdefault(name, getattr(widget, name))
    return draw_input(widget, field, attributes)


def draw_text_area(widget, field, attributes):
    attributes.setdefault("id", field.id)
    with_flags(attributes, widget, field)
    params = html_params({"name": field.name, **attributes})
    return Markup(f"<textarea {params}>\r\n{escape(field._value())}</textarea>")  # noqa: S704


def draw_select(widget, field, attributes):
    attributes.setdefault("id", field.id)
    if widget.multiple:
        attributes["multiple"] = True
    with_flags(attributes, widget, field)
    html = [f"<select {html_params({'name': field.name, **attributes})}>"]
    for choice in field._iter_choices_normalized():
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        option = {"value": value, **(choice.render_kw or {})}
        if choice.selected:
            option["selected"] = True
        html.append(
            f"<option {html_params(option)}>{escape(choice.label or choice.value)}</option>"
        )
    html.append("</select>")
    return Markup("".join(html))  # noqa: S704


def drawer(widget, field):
    """How to draw `widget` here, or None where WTForms' own drawing must do it."""
    kind = type(widget)
    if getattr(field, "_datalist", None) is not None:
        return None
    if kind.__call__ is widgets.Input.__call__:
        return draw_input
    if DATE_INPUT is not None and kind.__call__ is DATE_INPUT.__call__:
        return draw_date_input
    if kind.__call__ is widgets.NumberInput.__call__:
        return draw_number_input
    if kind.__call__ is widgets.TextArea.__call__:
        return draw_text_area
    if (
        kind.__call__ is widgets.Select.__call__
        and kind.render_option.__func__ is widgets.Select.render_option.__func__
        and not field.has_groups()
    ):
        return draw_select
    return None


def render_field(field, attributes):
    """The field's widget with `attributes` (already cleaned, as WTForms' Meta.render_field
    makes them)."""
    draw = drawer(field.widget, field)
    if draw is None:
        return field.widget(field, **attributes)
    return draw(field.widget, field, attributes)
