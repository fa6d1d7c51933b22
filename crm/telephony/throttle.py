"""How many events a connection may send: counted in the database, so the limit holds across
workers and app servers. Only requests that proved they come from the phone system (the token,
and the signature when the connection has a secret) are counted."""

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from crm.extensions import db
from crm.models import PhoneConnection, PhoneHit, utcnow

# A busy office's phone system sends a few events a call: ten a second is far beyond one.
MAX_EVENTS = 600
WINDOW = timedelta(minutes=1)


def limits():
    config = current_app.config
    return config.get("CALLS_MAX_EVENTS", MAX_EVENTS), config.get("CALLS_WINDOW", WINDOW)


def admit(connection):
    """Count a request to `connection`; None if it may go on, else the seconds to wait."""
    limit, window = limits()
    now = utcnow()
    since = now - window
    # Concurrent requests to one connection take turns here (PostgreSQL; SQLite writers already
    # do), so they cannot all count the same number and pass together.
    db.session.execute(
        select(PhoneConnection.id).where(PhoneConnection.id == connection.id).with_for_update()
    )
    mine = PhoneHit.connection_id == connection.id
    count, oldest = db.session.execute(
        select(func.count(), func.min(PhoneHit.received_at)).where(
            mine, PhoneHit.received_at >= since
        )
    ).one()
    if count >= limit:
        return max(1, math.ceil((oldest + window - now).total_seconds()))
    db.session.execute(delete(PhoneHit).where(mine, PhoneHit.received_at < since))
    db.session.add(PhoneHit(connection_id=connection.id, received_at=now))
    return None
