"""Two-step sign-in: after the password, a one-time code from an authenticator app (TOTP,
RFC 6238) or one of ten single-use recovery codes.

Shared by the sign-in and My account pages, Settings and the CLI; knows nothing of requests.
The app's secret is kept as it must be to check codes; recovery codes only as password hashes.
A code is accepted once: the time step it belongs to is stored, and a code of that step or an
earlier one is refused after it (RFC 6238 section 5.2).
"""

import hmac
import re
import secrets
import time

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from crm import app_settings
from crm.access import manages_the_team
from crm.extensions import db
from crm.models import RecoveryCode, Role, User, utcnow

RECOVERY_CODES = 10
# Letters and digits nobody mistakes for one another (no 0/o, 1/l/i): ten of them give about
# 50 bits, shown as two groups of five.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 10
CODE_DIGITS = 6
REQUIRED_SETTING = "two_factor_required"
# A code from the step before or after the server's is still taken: a phone's clock may be off
# by a little, and a person needs a moment to type.
STEPS_EITHER_SIDE = 1


def new_secret():
    return pyotp.random_base32()


def setup_address(secret, email):
    """The otpauth:// address an authenticator app reads from the QR code."""
    issuer = current_app.config["TWO_FACTOR_ISSUER"]
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_code_svg(address, title):
    """The address as an inline SVG QR code, dark on white so it scans on a dark page too."""
    return segno.make(address, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", title=title, svgclass="qr-code"
    )


def grouped(secret):
    """The secret in groups of four, as a person types it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def only_digits(code):
    """A typed code without the spaces people put in it; None unless six digits are left."""
    code = re.sub(r"\s", "", code or "")
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


def matching_step(secret, code, now=None):
    """The time step whose code `code` is, within a step either side of now; else None."""
    code = only_digits(code)
    if code is None:
        return None
    totp = pyotp.TOTP(secret)
    current = int(time.time() if now is None else now) // totp.interval
    for step in range(current - STEPS_EITHER_SIDE, current + STEPS_EITHER_SIDE + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_code(user, code):
    """Accept a code from the app once: True if it is right and of a step not used before."""
    if not user.two_factor_on:
        return False
    step = matching_step(user.two_factor_secret, code)
    if step is None:
        return False
    # One statement, so two requests with the same code cannot both pass.
    taken = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.two_factor_last_step.is_(None), User.two_factor_last_step < step),
        )
        .values(two_factor_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def normalised_recovery_code(text):
    return re.sub(r"[^0-9a-z]", "", (text or "").lower())


def use_recovery_code(user, text):
    """Spend one of the user's recovery codes: True if `text` is one not used yet."""
    code = normalised_recovery_code(text)
    if len(code) != RECOVERY_LENGTH or not user.two_factor_on:
        return False
    unused = db.session.execute(
        select(RecoveryCode.id, RecoveryCode.code_hash).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    for row in unused:
        if check_password_hash(row.code_hash, code):
            spent = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return spent.rowcount == 1
    return False


def recovery_codes_left(user):
    return db.session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def new_recovery_code():
    code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{code[:5]}-{code[5:]}"


def make_recovery_codes(user):
    """Ten new recovery codes in place of the old ones: the codes, to show once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    method = current_app.config["PASSWORD_HASH_METHOD"]
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    now = utcnow()
    for code in codes:
        hashed = generate_password_hash(normalised_recovery_code(code), method=method)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hashed, created_at=now))
    # The audit trail records that new codes were made, never the codes.
    user.recovery_codes_made_at = now
    return codes


def turn_on(user, secret, step):
    """Two-step sign-in from now on with `secret`, whose code of `step` confirmed it; the
    recovery codes, to show once."""
    user.two_factor_secret = secret
    user.two_factor_enabled_at = utcnow()
    # The code that confirmed it is spent.
    user.two_factor_last_step = step
    return make_recovery_codes(user)


def turn_off(user):
    """The password alone from now on: the secret and the recovery codes are gone."""
    user.two_factor_secret = None
    user.two_factor_enabled_at = None
    user.two_factor_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def required():
    """Whether administrators and managers must use two-step sign-in (Settings → General)."""
    return app_settings.value(REQUIRED_SETTING) == "true"


def set_required(value):
    """Require it, or stop. Requiring it signs out the administrators and managers who do not
    use it yet: they are asked to turn it on when they sign in again."""
    app_settings.store(REQUIRED_SETTING, "true" if value else "false")
    if value:
        for user in db.session.scalars(
            select(User).where(
                User.role.in_([Role.ADMIN, Role.MANAGER]), User.two_factor_enabled_at.is_(None)
            )
        ):
            user.end_sessions()


def required_of(user):
    """Whether the team requires two-step sign-in of this person."""
    return manages_the_team(user) and required()


def must_set_up(user):
    """The user must turn two-step sign-in on before using anything else."""
    return not user.two_factor_on and required_of(user)
