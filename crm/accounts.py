"""Creating accounts and checking passwords: shared by the setup page, Settings and the CLI."""

from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from crm import api_tokens, i18n, push
from crm.extensions import db
from crm.models import Role, User
from crm.timezones import known_zone, team_zone


def _load_common_passwords():
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


COMMON_PASSWORDS = _load_common_passwords()


class AccountError(ValueError):
    """A reason, fit to show the user, why an account change was refused, and the field."""

    def __init__(self, message, field="email"):
        super().__init__(message)
        self.field = field


def password_problem(password):
    """Why this password is refused, or None when it is acceptable."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(n)d characters.", n=minimum)
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return _("This password is too easy to guess. Choose another.")
    return None


def normalise_email(email):
    # PostgreSQL refuses NUL even in a query: nobody types it, so it goes.
    return email.replace("\x00", "").strip().lower()


def clean_name(name):
    """The name as kept, or AccountError when nothing readable is left of it."""
    name = name.replace("\x00", "").strip()
    if not name:
        raise AccountError(_("Enter the person's name."), "name")
    return name


def checked_language(language):
    if language not in current_app.config["LANGUAGES"]:
        raise AccountError(_("Choose one of the languages offered."), "language")
    return language


def checked_zone(name):
    """The zone as the zone database spells it; AccountError when there is no such zone."""
    zone = known_zone(name)
    if zone is None:
        raise AccountError(unknown_zone_message(), "timezone")
    return zone


def unknown_zone_message():
    return _("There is no such time zone. Choose one from the list, such as Europe/Moscow.")


def create_user(email, name, password, role=Role.SALESPERSON, locale=None, timezone=None):
    """Add an account; raises AccountError when the email is taken, the password is weak or
    the language or zone unknown. Without a language or zone it gets the team's."""
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(_("An account with this email already exists."))
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, "password")
    name = clean_name(name)
    locale = checked_language(locale or i18n.team_language())
    zone = checked_zone(timezone) if timezone else team_zone()
    user = User(email=email, name=name, role=role, locale=locale, timezone=zone, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_account(user, name, locale, timezone):
    """Change a person's name, language and zone; AccountError names the field refused."""
    user.name = clean_name(name)
    user.locale = checked_language(locale)
    user.timezone = checked_zone(timezone)


def end_credentials(user):
    """End everything that lets `user` in without their password: every session, every API
    token and the calendar feed's address, and the devices their notifications go to. After a
    password change or reset, and on deactivation, so nothing made before works again
    (reactivating revives none of it)."""
    user.end_sessions()
    push.remove_all(user)
    for token in db.session.scalars(api_tokens.active_tokens(user)):
        api_tokens.revoke(token)
    user.calendar_token = None
