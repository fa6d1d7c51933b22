"""How the team's own fields read on a page: numbers grouped in the reader's language, dates
as they read them, phones as links, and the colours of choice options.

`field_value` writes a value once for the lead page, the list and the board card: Python, not
a macro, as a list with three field columns draws it 150 times. An option's colour
is a class (`chip-c-1d4ed8`) of the stylesheet `option_styles` writes, so a page needs no
inline style (the CSP forbids them); a page that shows chips links it with
`option_styles_url()`.
"""

import hashlib
import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import numbers
from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from crm import colours, custom_fields
from crm.formatting import currency, medium_date, money
from crm.i18n import user_locale

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}\Z")
# Part of the stylesheet's version: raise it when what it writes for the same colours changes.
STYLES_FORMAT = 1


def init_app(app):
    app.add_template_filter(field_number)
    app.add_template_filter(field_date)
    app.add_template_filter(tel_href)
    app.add_template_filter(link_text)
    app.add_template_global(chip_class)
    app.add_template_global(option_styles_url)
    app.add_template_global(field_value)


def field_value(field, value, empty="—"):
    """A value of one of the team's own fields (crm.custom_fields), as its type reads: numbers
    grouped in the reader's language, money with the currency, a date as they read dates, a
    choice as its option's label, in a chip of the option's colour (a page showing chips links
    option_styles_url()), a link, phone or email as a link. Retired options still read as
    themselves. An empty value is `empty` ("—"; the list passes "" so that a phone's card hides
    the cell)."""
    if value is None or value == "" or value == []:
        return Markup(f'<span class="empty">{escape(empty)}</span>') if empty else Markup("")  # noqa: S704
    kind = field.type
    if kind == "number":
        return escape(field_number(value))
    if kind == "money":
        sign = currency()
        return escape(money(value)) + (Markup(" ") + escape(sign) if sign else "")
    if kind == "date":
        return Markup(f'<time datetime="{escape(value)}">{escape(field_date(value))}</time>')  # noqa: S704
    if kind == "yes_no":
        return escape(_("Yes") if value else _("No"))
    if kind == "choice":
        return option_chip(field, value)
    if kind == "choices":
        return Markup('<span class="chips">%s</span>') % Markup(" ").join(
            option_chip(field, key) for key in value
        )
    if kind == "link":
        return link(value)
    if kind == "phone":
        href = tel_href(value)
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>') if href else escape(value)  # noqa: S704
    if kind == "email":
        return Markup(f'<a href="mailto:{escape(value)}">{escape(value)}</a>')  # noqa: S704
    if kind == "long_text":
        return Markup(f'<span class="field-long-text">{escape(value)}</span>')  # noqa: S704
    return escape(value)


def option_chip(field, key):
    """One option of a choice field as a chip: its label, on its colour when it has one."""
    option = field.option(key)
    if option:
        classes = f"option-chip {chip_class(option.colour)}"
        return Markup(f'<span class="{escape(classes)}">{escape(option.label)}</span>')  # noqa: S704
    return Markup(f'<span class="option-chip">{escape(key)}</span>')  # noqa: S704


def link(value):
    """A web address as a link that opens in a new tab, said so to a screen reader; anything
    else as text."""
    if not (value.startswith("https://") or value.startswith("http://")):
        return escape(value)
    new_tab = _("(opens in a new tab)")
    return Markup(  # noqa: S704 (every value in it is escaped)
        f'<a href="{escape(value)}" rel="noopener noreferrer" target="_blank">'
        f'{escape(link_text(value))}<span class="visually-hidden"> {escape(new_tab)}</span></a>'
    )


def field_number(value):
    """A number field's value with the reader's grouping and decimal mark, every decimal kept:
    1250000.5 → "1 250 000,5" in Russian."""
    if value is None:
        return ""
    return numbers.format_decimal(
        Decimal(str(value)), locale=user_locale(), decimal_quantization=False
    )


def field_date(value):
    """A date field's stored value ("2026-12-31") as the reader reads a date."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    return medium_date(day, str(user_locale()))


def tel_href(phone):
    """A phone as a tel: link dials it: its digits, with the "+" of an international number."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    return "tel:" + ("+" + digits if phone.strip().startswith("+") else digits)


def link_text(url):
    """A web address as a page shows it: without "https://" and a bare trailing "/"."""
    shown = re.sub(r"^https?://", "", url or "", flags=re.IGNORECASE)
    return shown[:-1] if shown.endswith("/") and shown.count("/") == 1 else shown


def chip_class(colour):
    """The class that gives an option's chip its colour, or "" for an option without one."""
    if not colour or not COLOUR.match(colour):
        return ""
    return f"chip-colour chip-c-{colour[1:].lower()}"


def used_colours(fields=None):
    """Every colour the options of the fields have, each once, in a stable order."""
    found = {
        option.colour.lower()
        for field in (fields if fields is not None else custom_fields.all_fields())
        for option in field.options
        if option.colour and COLOUR.match(option.colour)
    }
    return sorted(found)


@lru_cache(maxsize=1024)
def colour_rule(colour):
    """The chip class of one colour: the background its label reads on and the text colour."""
    background = colours.badge_colour(colour)
    foreground = colours.text_colour(background)
    return f".chip-c-{colour[1:]} {{ --chip-bg: {background}; --chip-fg: {foreground}; }}"


def option_styles(fields=None):
    """The stylesheet of the options' colours."""
    return "\n".join(colour_rule(colour) for colour in used_colours(fields)) + "\n"


def option_styles_url():
    """The link to the options' colours, versioned by the colours themselves (the fields are
    read once a request, so a page that shows them pays nothing more for this)."""
    key = repr((STYLES_FORMAT, used_colours())).encode()
    version = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:10]
    return url_for("main.option_styles", v=version)
