"""Personal API tokens: made, looked up and revoked. Only a token's hash is stored."""

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from crm.extensions import db
from crm.models import ApiToken, User, utcnow

# A recognisable prefix lets secret scanners and people tell a CRM token from other secrets.
PREFIX = "crm_"
# What secrets.token_urlsafe(32) makes: 43 characters of the URL-safe alphabet.
TOKEN_FORMAT = re.compile(r"crm_[A-Za-z0-9_-]{43}")
# The prefix and six characters: enough to tell one's tokens apart, far too few to guess one.
SHOWN_CHARS = len(PREFIX) + 6
NAME_MAX = 80
# "Last used" is kept to the minute: writing it on every request would make each read a write.
LAST_USED_EVERY = timedelta(minutes=1)


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user, name):
    """A new token for `user`: the record to commit, and the token itself, to show once."""
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        token_start=token[:SHOWN_CHARS],
        created_at=utcnow(),
    )
    db.session.add(record)
    return record, token


def active_tokens(user):
    """The user's tokens that still work, newest first."""
    return (
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def own_token(user, token_id):
    """One of the user's working tokens by id, or None: nobody revokes another's token."""
    return db.session.scalar(active_tokens(user).where(ApiToken.id == token_id))


def revoke(record):
    record.revoked_at = record.revoked_at or utcnow()


def authenticate(token):
    """The user a token opens the API for, or None: unknown, revoked, or the account is
    deactivated. Notes when it was used."""
    if not TOKEN_FORMAT.fullmatch(token or ""):
        return None
    row = db.session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    record, user = row
    if record.revoked_at is not None or not user.active:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_EVERY:
        db.session.execute(
            update(ApiToken).where(ApiToken.id == record.id).values(last_used_at=now)
        )
        # Committed apart, so a request that fails later still counts as a use.
        db.session.commit()
    return user
