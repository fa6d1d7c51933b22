"""The default funnel written as the schema had it before pipelines (migration 0015), for the
tests that fill a database at an older migration: today's models know columns that came later."""

import sqlalchemy as sa
from flask_babel import force_locale

from crm import funnel_defaults
from crm.extensions import db
from crm.models import ActivityKind, LostReason

STAGES = sa.table(
    "stages", *map(sa.column, ("id", "name", "colour", "position", "kind", "stuck_after_days"))
)


def install_funnel(language):
    """The default stages, kinds and lost reasons; returns the stages' (id, kind) in order."""
    with force_locale(language):
        stages = [
            {
                "name": name,
                "colour": colour,
                "position": position,
                "kind": str(kind),
                "stuck_after_days": stuck,
            }
            for position, (name, colour, kind, stuck) in enumerate(funnel_defaults.default_stages())
        ]
        kinds = funnel_defaults.default_activity_kinds()
        reasons = funnel_defaults.default_lost_reasons()
    db.session.execute(sa.insert(STAGES), stages)
    for position, (code, name) in enumerate(kinds):
        db.session.add(ActivityKind(code=code, name=name, position=position))
    for position, name in enumerate(reasons):
        db.session.add(LostReason(name=name, position=position))
    db.session.flush()
    return db.session.execute(
        sa.select(STAGES.c.id, STAGES.c.kind).order_by(STAGES.c.position)
    ).all()
