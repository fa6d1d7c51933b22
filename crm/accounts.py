"""Creating accounts and checking passwords: shared by the setup page, Settings and the CLI."""

from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from crm.extensions import db
from crm.models import Role, User


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


def create_user(email, name, password, role=Role.SALESPERSON, locale="en"):
    """Add an account; raises AccountError when the email is taken or the password is weak."""
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(_("An account with this email already exists."))
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, "password")
    name = name.replace("\x00", "").strip()
    if not name:
        raise AccountError(_("Enter the person's name."), "name")
    user = User(email=email, name=name, role=role, locale=locale, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
