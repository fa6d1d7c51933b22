"""Sign-in throttling that slows guessing down without letting anyone lock a person out.

Failures are counted in the database, so the rules hold across workers and app servers. Three
rules, checked before a password or a code is looked at:

- One account from one address: a hard limit (LOGIN_MAX_FAILURES in LOGIN_FAILURE_WINDOW).
  Whoever guesses from there must wait; the owner, elsewhere, is not refused.
- One address, whatever the accounts: a hard limit too (LOGIN_ADDRESS_MAX_FAILURES), against
  trying a common password on every account from one place.
- One account from anywhere: after LOGIN_SLOWDOWN_AFTER failures each further try waits a
  growing time since the last failure (1, 2, 4 ... up to LOGIN_SLOWDOWN_MAX_SECONDS). Never a
  refusal of the right password once that time has passed, so strangers who know an email
  address can only make its owner wait a few seconds, never lock them out.

A refused attempt is not checked, so it spends no guess, and it is not counted. Nothing sleeps
in a worker: the page says how long to wait.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, select

from crm.extensions import db
from crm.models import LoginAttempt, utcnow


@dataclass(frozen=True)
class Wait:
    """Why an attempt is refused unchecked, and for how many seconds."""

    seconds: int
    # True: a hard limit on this address (minutes); False: the account's slowdown (seconds).
    from_here: bool

    @property
    def minutes(self):
        return math.ceil(self.seconds / 60)


def _window():
    return current_app.config["LOGIN_FAILURE_WINDOW"]


def _seconds_until(moment, now):
    return max(1, math.ceil((moment - now).total_seconds()))


def hard_limit_wait(condition, limit, now):
    """Seconds until fewer than `limit` failures matching `condition` are in the window, or
    None when there are fewer already."""
    window = _window()
    failures = select(LoginAttempt.attempted_at).where(
        condition, LoginAttempt.attempted_at >= now - window
    )
    count = db.session.scalar(select(func.count()).select_from(failures.subquery()))
    if count < limit:
        return None
    # The failure whose ageing out brings the count under the limit.
    freed = db.session.scalar(
        failures.order_by(LoginAttempt.attempted_at).offset(count - limit).limit(1)
    )
    return _seconds_until(freed + window, now)


def slowdown(failures):
    """Seconds an account waits after its last failure, having had `failures` recently."""
    config = current_app.config
    beyond = failures - config["LOGIN_SLOWDOWN_AFTER"]
    if beyond < 0:
        return 0
    return min(2 ** min(beyond, 30), config["LOGIN_SLOWDOWN_MAX_SECONDS"])


def slowdown_wait(email, now):
    """Seconds until the account may be tried again from anywhere, or None."""
    count, last = db.session.execute(
        select(func.count(), func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email, LoginAttempt.attempted_at >= now - _window()
        )
    ).one()
    delay = slowdown(count)
    if not delay:
        return None
    ready = last + timedelta(seconds=delay)
    return _seconds_until(ready, now) if ready > now else None


def wait_before_trying(email, address):
    """A Wait when this attempt must be refused unchecked; None when it may be checked."""
    config = current_app.config
    now = utcnow()
    pair = and_(LoginAttempt.email == email, LoginAttempt.address == address)
    for condition, limit in (
        (pair, config["LOGIN_MAX_FAILURES"]),
        (LoginAttempt.address == address, config["LOGIN_ADDRESS_MAX_FAILURES"]),
    ):
        seconds = hard_limit_wait(condition, limit, now)
        if seconds is not None:
            return Wait(seconds, from_here=True)
    seconds = slowdown_wait(email, now)
    return Wait(seconds, from_here=False) if seconds is not None else None


def record_failure(email, address):
    db.session.add(LoginAttempt(email=email[:254], address=address[:64], attempted_at=utcnow()))
    db.session.commit()


def forget_failures(email, address):
    """A sign-in clears the account's failures from its own address (the owner's typos); those
    from elsewhere keep counting, so a guesser is not let off by the owner's sign-in. Rows older
    than the window are swept out."""
    db.session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.address == address)
    )
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < utcnow() - _window()))
