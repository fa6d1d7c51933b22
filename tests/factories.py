"""Builders for test data: call them inside an app context."""

import itertools
import os
from datetime import datetime, time, timedelta
from decimal import Decimal

import pyotp
from sqlalchemy import select

from crm import custom_fields, funnel_defaults, two_factor
from crm import funnel as funnel_service
from crm.extensions import db
from crm.models import (
    ActivityKind,
    Call,
    CallStatus,
    LostReason,
    PhoneConnection,
    PushSubscription,
    Role,
    Stage,
    StageChange,
    StageKind,
    User,
    utcnow,
)
from crm.telephony.tokens import new_token

PASSWORD = "a long test password"
_sequence = itertools.count(1)


def user(name=None, email=None, role=Role.SALESPERSON, password=PASSWORD, **fields):
    n = next(_sequence)
    account = User(
        name=name or f"User {n}",
        email=email or f"user{n}@example.com",
        role=role,
        **fields,
    )
    account.set_password(password)
    db.session.add(account)
    db.session.commit()
    return account


def admin(**fields):
    return user(role=Role.ADMIN, **fields)


def funnel(language="en"):
    """The default stages, kinds and lost reasons, in funnel order."""
    funnel_defaults.install(language)
    db.session.commit()
    return db.session.scalars(Stage.in_funnel_order()).all()


def stage(position=0):
    stages = funnel()
    return stages[position]


def lead(title=None, owner=None, stage=None, **details):
    """A lead made the way the app makes one, through the funnel service."""
    n = next(_sequence)
    details.setdefault("value", Decimal("1000.00"))
    record = funnel_service.create_lead(
        owner, stage=stage or funnel()[0], title=title or f"Lead {n}", **details
    )
    db.session.commit()
    return record


def kind(code="call"):
    return db.session.scalar(select(ActivityKind).where(ActivityKind.code == code))


def an_hour_ago_today():
    """An hour ago, or midnight in the first hour of the day (UTC): still today's contact."""
    now = utcnow()
    return max(now - timedelta(hours=1), datetime.combine(now.date(), time.min))


def activity(lead, author=None, kind_code="call", body="Talked.", occurred_at=None, **changes):
    """A contact logged through the funnel service (`stage=` moves the lead too). A person's
    contact on a lead with no step ahead, given none, says there is none, as the log form
    asks a person to."""
    if author is not None and not {"next_step_at", "no_next_step"} & changes.keys():
        changes["no_next_step"] = not step_ahead(lead)
    record = funnel_service.log_activity(
        lead,
        author,
        kind(kind_code),
        body,
        occurred_at=occurred_at or an_hour_ago_today(),
        **changes,
    )
    db.session.commit()
    return record


def step_ahead(lead):
    """Whether the lead's step is still to come, by the funnel's clock (which a test may set)."""
    return lead.next_step_at is not None and lead.next_step_at > funnel_service.utcnow()


def lead_with_history(owner, path, lost_reason=None, **details):
    """A lead created in the first stage of `path` and moved along it: `path` is a list of
    (stage, when) pairs, `when` a stored (naive UTC) moment, oldest first. A move to a lost
    stage is given `lost_reason` (the first reason by default)."""
    first_stage, created_at = path[0]
    record = lead(owner=owner, stage=first_stage, **details)
    record.created_at = created_at
    record.stage_changed_at = created_at
    first_change = db.session.scalar(select(StageChange).where(StageChange.lead_id == record.id))
    first_change.changed_at = created_at
    for stage, when in path[1:]:
        reason = None
        if stage.kind == StageKind.LOST:
            reason = lost_reason or db.session.scalar(select(LostReason).order_by(LostReason.id))
        funnel_service.move_lead(record, stage, owner, at=when, lost_reason=reason)
    db.session.commit()
    return record


def general_settings(**changes):
    """Settings → General as its one form posts it: a new database's values, and `changes`."""
    return {
        "currency": "",
        "quiet_after_days": "14",
        "colleagues_leads": "read-only",
        "warn_of_hidden_duplicates": "y",
        "language": "en",
        "timezone": "UTC",
    } | changes


def field(label, type_="text", options=(), **flags):
    """A field of the team's own, added as Settings → Fields adds one."""
    added = custom_fields.add_field(label, type_, options, **flags)
    db.session.commit()
    return added


def two_step(user):
    """Two-step sign-in turned on for `user`, as the page does once a code confirms it (no code
    spent yet): the app's secret and the ten recovery codes."""
    secret = pyotp.random_base32()
    codes = two_factor.turn_on(user, secret, step=None)
    db.session.commit()
    return secret, codes


def push_device(user, endpoint=None, user_agent=""):
    """A browser of `user`'s subscribed to Web Push, with keys as a browser makes them."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from crm.push import base64url

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    record = PushSubscription(
        user_id=user.id,
        endpoint=endpoint or f"https://push.example.com/send/{next(_sequence)}",
        p256dh=base64url(point),
        auth=base64url(os.urandom(16)),
        user_agent=user_agent,
    )
    db.session.add(record)
    db.session.commit()
    return record


def call_to_write_up(lead, activity, user):
    """A call the phone system logged as `activity` on `lead`, waiting for `user`'s write-up."""
    connection = db.session.scalar(select(PhoneConnection)) or PhoneConnection(
        name="Office", token=new_token(), extensions={}
    )
    call = Call(
        connection=connection,
        external_id=f"call-{next(_sequence)}",
        direction="in",
        outside_number=lead.phone,
        lead_id=lead.id,
        user_id=user.id,
        started_at=activity.occurred_at,
        answered=True,
        duration_s=83,
        status=CallStatus.TO_WRITE_UP,
        activity_id=activity.id,
    )
    db.session.add(call)
    db.session.commit()
    return call
