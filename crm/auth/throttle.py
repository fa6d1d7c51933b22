"""Login throttling per account and per address, counted in the database."""

from flask import current_app
from sqlalchemy import delete

from crm.extensions import db
from crm.models import LoginAttempt, utcnow


def _since():
    return utcnow() - current_app.config["LOGIN_FAILURE_WINDOW"]


def is_throttled(email, address):
    """True after too many recent failures for this account or from this address."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    since = _since()
    for column, value in ((LoginAttempt.email, email), (LoginAttempt.address, address)):
        if db.session.scalar(LoginAttempt.recent_failures(column, value, since)) >= limit:
            return True
    return False


def record_failure(email, address):
    db.session.add(LoginAttempt(email=email[:254], address=address[:64]))
    db.session.commit()


def forget_failures(email):
    """A successful login clears the account's count, and old rows are swept out."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < _since()))
