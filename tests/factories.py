"""Builders for test data: call them inside an app context."""

import itertools
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from crm import funnel_defaults
from crm.extensions import db
from crm.models import Activity, ActivityKind, Counter, Lead, Role, Stage, StageChange, User, utcnow

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


def lead(title=None, owner=None, stage=None, **fields):
    stage = stage or funnel()[0]
    n = next(_sequence)
    record = Lead(
        number=Counter.take("lead"),
        title=title or f"Lead {n}",
        owner=owner,
        stage=stage,
        value=fields.pop("value", Decimal("1000.00")),
        **fields,
    )
    db.session.add(record)
    db.session.flush()
    db.session.add(
        StageChange(lead_id=record.id, to_stage_id=stage.id, changed_at=record.created_at)
    )
    db.session.commit()
    return record


def activity(lead, author=None, kind_code="call", body="Talked.", occurred_at=None, **fields):
    kind = db.session.scalar(select(ActivityKind).where(ActivityKind.code == kind_code))
    record = Activity(
        lead=lead,
        author=author,
        kind=kind,
        body=body,
        occurred_at=occurred_at or utcnow() - timedelta(hours=1),
        **fields,
    )
    db.session.add(record)
    db.session.commit()
    return record
