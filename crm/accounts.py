"""Creating accounts and checking passwords: shared by the setup page, Settings and the CLI."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from crm.extensions import db
from crm.models import Role, User

# Passwords long enough to pass the length rule that attackers still try first.
COMMON_PASSWORDS = frozenset(
    """
    1234567890 0123456789 0987654321 1111111111 0000000000 1234512345 1122334455
    123456789a 123456789q a123456789 q123456789 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc
    qwertyuiop qwertyuiop123 qwerty1234 qwerty12345 qwerty123456 asdfghjkl1 zxcvbnm123
    password12 password123 password1234 password1! passw0rd123 p@ssw0rd12 password!!
    iloveyou12 iloveyou123 abcdefghij abc1234567 abcd123456 letmein123 welcome123
    welcome1234 admin12345 administrator adminadmin rootroot12 changeme123 changeme12
    football12 baseball12 superman12 sunshine12 princess12 dragon1234 monkey1234
    trustno1234 starwars12 whatever12 1234qwerty 12345qwert 123qweasdzxc
    йцукенгшщз йцукен1234 пароль1234 пароль12345 qazwsxedcrfv qazwsxedc1
    """.split()
)


class AccountError(ValueError):
    """A reason, fit to show the user, why an account change was refused."""


def password_problem(password):
    """Why this password is refused, or None when it is acceptable."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(n)d characters.", n=minimum)
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        return _("This password is too easy to guess. Choose another.")
    return None


def normalise_email(email):
    return email.strip().lower()


def create_user(email, name, password, role=Role.SALESPERSON, locale="en"):
    """Add an account; raises AccountError when the email is taken or the password is weak."""
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(_("An account with this email already exists."))
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = User(email=email, name=name.strip(), role=role, locale=locale, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
