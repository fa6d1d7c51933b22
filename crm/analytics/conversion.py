"""The funnel: leads and value at each open stage now, and how leads got through each step.

Step conversion is counted from the recorded stage changes, not from where leads are now. A
lead counts at a step when it entered the step during the period: moved into it, or past it
from an earlier step (skipping steps passes them), or was created in it or brought back into
it from Won or Lost. It counts at every step from the first it entered in the period to the
furthest it got to in the period. Then, up to now, it has either reached a later step or Won
(passed), or is in a lost stage without having passed (lost), or neither (still there, which
includes leads moved back).

Each lead's path is read once, in lead order, off a covering index: the lowest and highest
step it entered and the furthest it reached, per lead; the leads are then counted by those
three numbers and by whether they are lost, which leaves a few hundred rows for the steps.
"""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, null, or_, select

from crm import lists
from crm.analytics.filters import ReportFilters
from crm.analytics.reports import LeadsBehind, Report, Table
from crm.args import id_arg
from crm.extensions import db
from crm.models import Lead, Stage, StageChange, StageKind

# Ranks along the funnel: an open stage ranks twice its position, so that "entered just this
# stage" can be written as the range (rank - 1, rank]. Won ranks above every open stage.
WON_RANK = 2**30
OUTCOMES = ("entered", "passed", "lost", "still")


@dataclass(frozen=True)
class StageNow:
    stage_id: int
    leads: int
    value: Decimal


@dataclass(frozen=True)
class Step:
    stage_id: int
    entered: int = 0
    passed: int = 0
    lost: int = 0
    still: int = 0

    @property
    def drop_off(self):
        """The share of the leads that entered and were lost, in per cent: those still there
        may yet move on."""
        return 100 * self.lost / self.entered if self.entered else None

    @property
    def conversion(self):
        """The share of the leads that entered and passed, in per cent: none when nobody
        entered, which is not the same as nobody passing."""
        return 100 * self.passed / self.entered if self.entered else None


@dataclass(frozen=True)
class FunnelResult:
    now: list
    steps: list
    worst_stage_id: int | None

    @property
    def most_now(self):
        return max((row.leads for row in self.now), default=0)

    @property
    def most_entered(self):
        return max((step.entered for step in self.steps), default=0)


def rank(stage):
    return stage.position * 2


# Now


def funnel_now(filters, stages):
    """Leads and their value in each open stage, as they stand (off the board's index)."""
    rows = db.session.execute(
        select(Lead.stage_id, func.count(), func.coalesce(func.sum(Lead.value), 0))
        .where(Lead.stage_id.in_([stage.id for stage in stages]), *filters.lead_conditions())
        .group_by(Lead.stage_id)
    ).all()
    found = {stage_id: (leads, Decimal(value)) for stage_id, leads, value in rows}
    return [StageNow(stage.id, *found.get(stage.id, (0, Decimal(0)))) for stage in stages]


# Step conversion


def ranks(filters):
    """Each stage's rank along the pipeline's funnel (none when lost, or in another pipeline:
    a lead arriving from there enters afresh), and its rank as a step to move on from (open
    stages only). Worked out once per statement, not once per stage change."""
    rank = case(
        (Stage.kind == StageKind.WON, WON_RANK),
        (Stage.kind == StageKind.OPEN, Stage.position * 2),
        else_=null(),
    )
    open_rank = case((Stage.kind == StageKind.OPEN, Stage.position * 2), else_=null())
    return (
        select(Stage.id.label("id"), rank.label("rank"), open_rank.label("open_rank"))
        .where(Stage.id.in_(filters.pipeline_stage_ids()))
        .cte("ranks")
        .prefix_with("MATERIALIZED")
    )


def paths(filters):
    """Per lead with a stage change since the period began: the lowest and the highest rank
    it entered during the period (`low` excluded), and the highest it reached since."""
    stage_ranks = ranks(filters)
    to, came_from = stage_ranks.alias("to_stage"), stage_ranks.alias("from_stage")
    # From an open stage to a later one; or afresh: created, or back from Won or Lost.
    forward = came_from.c.open_rank < to.c.rank
    afresh = came_from.c.open_rank.is_(None)
    entry_low = case((forward, came_from.c.open_rank), (afresh, to.c.rank - 1), else_=null())
    entry_high = case((or_(forward, afresh), to.c.rank), else_=null())
    if not filters.reaches_now:
        in_period = StageChange.changed_at < filters.end
        entry_low = case((in_period, entry_low), else_=null())
        entry_high = case((in_period, entry_high), else_=null())
    return (
        select(
            StageChange.lead_id.label("lead_id"),
            func.min(entry_low).label("low"),
            func.max(entry_high).label("high"),
            func.max(to.c.rank).label("reached"),
        )
        .join(to, to.c.id == StageChange.to_stage_id)
        .outerjoin(came_from, came_from.c.id == StageChange.from_stage_id)
        .where(StageChange.changed_at >= filters.start, to.c.rank.is_not(None))
        .group_by(StageChange.lead_id)
        .subquery()
    )


def lost_stage_ids(filters):
    """The pipeline's lost stages: a lead that went on to another pipeline is not lost here."""
    return select(Stage.id).where(
        Stage.id.in_(filters.pipeline_stage_ids()), Stage.kind == StageKind.LOST
    )


def step_counts(filters, stages):
    """A Step per open stage: the leads that entered it in the period, and what became of them."""
    path = paths(filters)
    is_lost = Lead.stage_id.in_(lost_stage_ids(filters))
    rows = db.session.execute(
        select(path.c.low, path.c.high, path.c.reached, is_lost, func.count())
        .join(Lead, Lead.id == path.c.lead_id)
        .where(path.c.low.is_not(None), *filters.lead_conditions(in_pipeline=False))
        .group_by(path.c.low, path.c.high, path.c.reached, is_lost)
    ).all()
    steps = []
    for stage in stages:
        at = rank(stage)
        counts = dict.fromkeys(OUTCOMES, 0)
        for low, high, reached, lost, leads in rows:
            if not low < at <= high:
                continue
            counts["entered"] += leads
            if reached > at:
                counts["passed"] += leads
            elif lost:
                counts["lost"] += leads
            else:
                counts["still"] += leads
        steps.append(Step(stage.id, **counts))
    return steps


def worst_step(steps):
    """The step that loses the largest share of its leads (the more lost first on a tie).

    A step that only a handful of leads reached says little: steps with fewer than a twentieth
    of the busiest step's leads are passed over.
    """
    busiest = max((step.entered for step in steps), default=0)
    telling = [step for step in steps if step.lost and step.entered * 20 >= busiest]
    if not telling:
        return None
    return max(telling, key=lambda step: (step.drop_off, step.lost)).stage_id


def compute(filters):
    stages = [stage for stage in lists.open_stages() if stage.pipeline_id == filters.pipeline_id]
    steps = step_counts(filters, stages)
    return FunnelResult(
        now=funnel_now(filters, stages),
        steps=steps,
        worst_stage_id=worst_step(steps),
    )


# Downloads and the leads behind a number


def stage_names():
    return {stage.id: stage.name for stage in db.session.scalars(Stage.in_funnel_order())}


def one_decimal(share):
    return round(share, 1) if share is not None else None


def tables(filters, result):
    names = stage_names()
    now = Table(
        [_("Stage"), _("Leads"), _("Value")],
        [[names[row.stage_id], row.leads, row.value] for row in result.now],
    )
    steps = Table(
        [
            _("Step"),
            _("Entered"),
            _("Passed"),
            _("Lost"),
            _("Still there"),
            _("Drop-off, %"),
            _("Conversion, %"),
        ],
        [
            [
                names[step.stage_id],
                step.entered,
                step.passed,
                step.lost,
                step.still,
                one_decimal(step.drop_off),
                one_decimal(step.conversion),
            ]
            for step in result.steps
        ],
    )
    return {"now": now, "steps": steps}


def leads(filters: ReportFilters, args):
    stage = db.session.get(Stage, id_arg(args.get("stage")) or 0)
    if stage is None or not stage.is_open or stage.pipeline_id != filters.pipeline_id:
        return None
    outcome = args.get("outcome")
    if outcome == "now":
        ids = select(Lead.id).where(Lead.stage_id == stage.id, *filters.lead_conditions())
        return LeadsBehind(ids, _("in %(stage)s now", stage=stage.name))
    if outcome not in OUTCOMES:
        return None
    path = paths(filters)
    at = rank(stage)
    found = [path.c.low < at, path.c.high >= at, *filters.lead_conditions(in_pipeline=False)]
    is_lost = Lead.stage_id.in_(lost_stage_ids(filters))
    if outcome == "passed":
        found.append(path.c.reached > at)
    elif outcome == "lost":
        found += [path.c.reached <= at, is_lost]
    elif outcome == "still":
        found += [path.c.reached <= at, ~is_lost]
    ids = select(Lead.id).join(path, path.c.lead_id == Lead.id).where(*found)
    captions = {
        "entered": _("entered %(stage)s", stage=stage.name),
        "passed": _("entered %(stage)s and moved on", stage=stage.name),
        "lost": _("entered %(stage)s and were lost", stage=stage.name),
        "still": _("entered %(stage)s and are still there", stage=stage.name),
    }
    return LeadsBehind(ids, captions[outcome])


REPORT = Report(
    slug="funnel",
    title=_l("Funnel"),
    template="analytics/funnel.html",
    compute=compute,
    tables=tables,
    leads=leads,
    one_pipeline=True,
)
