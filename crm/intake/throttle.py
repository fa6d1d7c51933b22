"""How many requests an address may send one intake form: counted in the database, so the
limit holds across workers and app servers."""

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from crm.extensions import db
from crm.models import IntakeForm, IntakeHit, utcnow

MAX_REQUESTS = 10
WINDOW = timedelta(minutes=10)


def limits():
    config = current_app.config
    return config.get("INTAKE_MAX_REQUESTS", MAX_REQUESTS), config.get("INTAKE_WINDOW", WINDOW)


def admit(form, address):
    """Count a request from `address` to `form`; None if it may go on, else the seconds to
    wait before the address may send again."""
    limit, window = limits()
    now = utcnow()
    since = now - window
    # Concurrent requests to one form wait for each other here (PostgreSQL; SQLite writers
    # already take turns), so they cannot all count the same number and pass together.
    db.session.execute(select(IntakeForm.id).where(IntakeForm.id == form.id).with_for_update())
    recent = (IntakeHit.form_id == form.id, IntakeHit.address == address)
    count, oldest = db.session.execute(
        select(func.count(), func.min(IntakeHit.received_at)).where(
            *recent, IntakeHit.received_at >= since
        )
    ).one()
    if count >= limit:
        return max(1, math.ceil((oldest + window - now).total_seconds()))
    db.session.execute(delete(IntakeHit).where(IntakeHit.received_at < since))
    db.session.add(IntakeHit(form_id=form.id, address=address, received_at=now))
    return None
