"""Form pieces shared by several areas."""

from flask_babel import lazy_gettext as _l
from wtforms import ValidationError

from crm.accounts import password_problem


def strong_password(_form, field):
    """Refuse short and common passwords with the reason."""
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


LANGUAGE_CHOICES = {"en": "English", "ru": "Русский"}
PASSWORDS_DIFFER = _l("The two passwords differ.")


def optional_id(value):
    """Select values to ids: "" means none chosen; anything not a number matches no choice."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
