"""A field's value reads the same from `field_display.field_value` as from the macro it replaced,
for every type, odd and hostile values, both languages and with or without a currency."""

from decimal import Decimal

import pytest

from crm import app_settings
from crm.custom_fields import Field, Option
from crm.extensions import db
from crm.field_display import field_value

# The macro the lead page, the list and the board card drew a value with before.
MACRO = """
{%- macro field_value(field, value, empty="—") -%}
{%- if value is none or value == "" or value == [] -%}
{%- if empty %}<span class="empty">{{ empty }}</span>{% endif -%}
{%- elif field.type == "number" -%}
{{ value|field_number }}
{%- elif field.type == "money" -%}
{{ value|money }}{% if currency() %} {{ currency() }}{% endif %}
{%- elif field.type == "date" -%}
<time datetime="{{ value }}">{{ value|field_date }}</time>
{%- elif field.type == "yes_no" -%}
{{ _("Yes") if value else _("No") }}
{%- elif field.type == "choice" -%}
{{ option_chip(field, value) }}
{%- elif field.type == "choices" -%}
<span class="chips">{% for key in value %}{{ option_chip(field, key) }}{% if not loop.last %} {% endif %}{% endfor %}</span>
{%- elif field.type == "link" -%}
{%- if value.startswith("https://") or value.startswith("http://") -%}
<a href="{{ value }}" rel="noopener noreferrer" target="_blank">{{ value|link_text }}<span class="visually-hidden"> {{ _("(opens in a new tab)") }}</span></a>
{%- else %}{{ value }}{% endif -%}
{%- elif field.type == "phone" -%}
{%- set href = value|tel_href -%}
{%- if href %}<a href="{{ href }}">{{ value }}</a>{% else %}{{ value }}{% endif -%}
{%- elif field.type == "email" -%}
<a href="mailto:{{ value }}">{{ value }}</a>
{%- elif field.type == "long_text" -%}
<span class="field-long-text">{{ value }}</span>
{%- else -%}
{{ value }}
{%- endif -%}
{%- endmacro %}
{%- macro option_chip(field, key) -%}
{%- set option = field.option(key) -%}
{%- if option -%}
<span class="option-chip {{ chip_class(option.colour) }}">{{ option.label }}</span>
{%- else -%}
<span class="option-chip">{{ key }}</span>
{%- endif -%}
{%- endmacro %}
{{- field_value(field, value, empty) -}}
"""  # noqa: E501

OPTIONS = (
    Option("hot", "Горячий <b>", "#DC2626"),
    Option("cold", "Cold & old", None),
    Option("gone", "Gone", "not a colour", retired=True),
)
HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"
VALUES = {
    "text": ["Москва", HOSTILE, 0, "  "],
    "long_text": ["line one\nline two", HOSTILE],
    "number": [1250000.5, 0, -3, 42],
    "money": [Decimal("1234567.50"), 100, 0.5, Decimal("-7")],
    "date": ["2026-12-31", "31.12.2026", HOSTILE],
    "yes_no": [True, False, 1],
    "choice": ["hot", "cold", "gone", "unknown <i>"],
    "choices": [["hot", "cold"], ["gone"], ["unknown", "hot"], "ab"],
    "link": ["https://example.com/", "http://example.com/a?b=1&c=<2>", "example.com", HOSTILE],
    "phone": ["+7 (912) 345-67-89", "8 800 555", "no digits", HOSTILE],
    "email": ["a@b.example", HOSTILE],
}
EMPTIES = [None, "", []]


def field_of(kind):
    return Field(id=1, key="f", label="F", type=kind, options=OPTIONS)


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("currency", ["", "₽"])
def test_every_value_reads_as_the_macro_wrote_it(app, language, currency):
    app_settings.store("currency", currency)
    db.session.commit()
    macro = app.jinja_env.from_string(MACRO)
    with app.test_request_context(headers={"Accept-Language": language}):
        for kind, values in VALUES.items():
            field = field_of(kind)
            for value in values + EMPTIES:
                for empty in ("—", ""):
                    context = {"field": field, "value": value, "empty": empty}
                    app.update_template_context(context)
                    expected = macro.render(context)
                    assert str(field_value(field, value, empty)) == expected, (kind, value)
