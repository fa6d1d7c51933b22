"""A lock kept in the database: a row naming its holder until it expires.

Taking it is one UPDATE that succeeds only when the lease is free (expired) or already ours,
else one INSERT for a lease never taken: alike on SQLite and PostgreSQL, across workers and
servers, with nothing to clean up after a crash but to wait for the expiry.
"""

import os
import socket
import threading

from sqlalchemy import or_, update

from crm.extensions import db
from crm.models import Lease, utcnow
from crm.notifications.inbox import insert_new


def holder_name():
    """This thread of this process on this machine."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{threading.get_ident()}"


def take(name, holder, ttl):
    """Hold the lease `name` for `ttl` (or keep holding it); whether we hold it. Commits."""
    now = utcnow()
    taken = db.session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.expires_at <= now, Lease.holder == holder))
        .values(holder=holder, expires_at=now + ttl)
    ).rowcount
    if not taken:
        taken = insert_new(
            Lease, {"name": name, "holder": holder, "expires_at": now + ttl}, ["name"]
        )
    db.session.commit()
    return bool(taken)


def release(name, holder):
    """Let the lease go (if still ours), noting when the pass finished. Commits."""
    now = utcnow()
    db.session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=now, finished_at=now)
    )
    db.session.commit()


def state(name):
    return db.session.get(Lease, name)
