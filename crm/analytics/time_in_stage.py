"""Time in stage: how long leads stay in each open stage, beside the stage's "stuck after".

A stay is the time from the change that brought a lead into a stage to the change that took it
out. The report counts the stays that ended during the period, and, when the period reaches
today, the stays still going on, counted up to now. Each change records how long the lead had
been in the stage it left, so the ended stays are one aggregate over an index of the changes
by when they happened. The durations are counted in tenths of a day per stage, and the median
and the 80th percentile read from those counts (the nearest rank, rounded down to a tenth).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, cast, func, literal, select

from crm import lists
from crm.analytics.reports import LeadsBehind, Report, Table
from crm.args import id_arg
from crm.buckets import days_between
from crm.extensions import db
from crm.models import Lead, Stage, StageChange, utcnow

# Durations are counted in tenths of a day.
TENTH = 8640


@dataclass(frozen=True)
class StageTime:
    stage_id: int
    stays: int = 0
    # Of them, the leads still in the stage.
    ongoing: int = 0
    median_days: float | None = None
    p80_days: float | None = None


@dataclass(frozen=True)
class TimeResult:
    stages: list

    @property
    def longest(self):
        return max((row.p80_days or 0 for row in self.stages), default=0)


def ended_stays(filters, stage_ids):
    """{(stage id, tenths of a day): stays} of the stays that ended in the period."""
    tenths = StageChange.seconds_in_from_stage // TENTH
    rows = db.session.execute(
        select(StageChange.from_stage_id, tenths, func.count())
        .where(
            StageChange.changed_at >= filters.start,
            StageChange.changed_at < filters.end,
            StageChange.from_stage_id.in_(stage_ids),
            # A stay in the pipeline counts whichever pipeline the lead went on to.
            filters.counts_lead(StageChange.lead_id, in_pipeline=False),
        )
        .group_by(StageChange.from_stage_id, tenths)
    ).all()
    return {(stage_id, tenth): count for stage_id, tenth, count in rows}


def ongoing_stays(filters, stage_ids, now):
    """{(stage id, tenths of a day): leads} of the leads in an open stage now."""
    seconds = cast(days_between(literal(now), Lead.stage_changed_at) * 86400, Integer)
    tenths = seconds // TENTH
    rows = db.session.execute(
        select(Lead.stage_id, tenths, func.count())
        .where(Lead.stage_id.in_(stage_ids), *filters.lead_conditions())
        .group_by(Lead.stage_id, tenths)
    ).all()
    return {(stage_id, tenth): count for stage_id, tenth, count in rows}


def percentile(counts, share):
    """The value at the nearest rank for `share` per cent of {value: how many}."""
    total = sum(counts.values())
    if not total:
        return None
    wanted = -(-total * share // 100)
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= wanted:
            return value
    return None


def compute(filters):
    stage_ids = [
        stage.id for stage in lists.open_stages() if stage.pipeline_id == filters.pipeline_id
    ]
    ended = ended_stays(filters, stage_ids)
    ongoing = ongoing_stays(filters, stage_ids, utcnow()) if filters.reaches_now else {}
    durations = {stage_id: Counter() for stage_id in stage_ids}
    still_there = Counter()
    for (stage_id, tenth), count in ended.items():
        durations[stage_id][max(tenth, 0)] += count
    for (stage_id, tenth), count in ongoing.items():
        durations[stage_id][max(tenth, 0)] += count
        still_there[stage_id] += count
    return TimeResult(
        [stage_time(stage_id, durations[stage_id], still_there[stage_id]) for stage_id in stage_ids]
    )


def stage_time(stage_id, tenths, ongoing):
    """A stage's row from {tenths of a day: stays}."""
    median, p80 = (percentile(tenths, share) for share in (50, 80))
    return StageTime(
        stage_id,
        stays=sum(tenths.values()),
        ongoing=ongoing,
        median_days=median / 10 if median is not None else None,
        p80_days=p80 / 10 if p80 is not None else None,
    )


def tables(filters, result):
    stages = {stage.id: stage for stage in db.session.scalars(Stage.in_funnel_order())}
    return {
        "stages": Table(
            [
                _("Stage"),
                _("Stays"),
                _("Still there"),
                _("Median, days"),
                _("80th percentile, days"),
                _("Stuck after, days"),
            ],
            [
                [
                    stages[row.stage_id].name,
                    row.stays,
                    row.ongoing,
                    row.median_days,
                    row.p80_days,
                    stages[row.stage_id].stuck_after_days,
                ]
                for row in result.stages
                if row.stage_id in stages
            ],
        )
    }


def leads(filters, args):
    """The leads whose stays in a stage were counted: ended in the period, or still going on."""
    stage = db.session.get(Stage, id_arg(args.get("stage")) or 0)
    if stage is None or not stage.is_open or stage.pipeline_id != filters.pipeline_id:
        return None
    if args.get("stays") == "ongoing":
        if not filters.reaches_now:
            return None
        ids = select(Lead.id).where(Lead.stage_id == stage.id, *filters.lead_conditions())
        return LeadsBehind(ids, _("in %(stage)s now", stage=stage.name))
    ids = select(Lead.id).where(
        Lead.id.in_(
            select(StageChange.lead_id).where(
                StageChange.changed_at >= filters.start,
                StageChange.changed_at < filters.end,
                StageChange.from_stage_id == stage.id,
            )
        ),
        *filters.lead_conditions(in_pipeline=False),
    )
    return LeadsBehind(ids, _("left %(stage)s during the period", stage=stage.name))


def this_hour():
    """Stays still going on grow by the hour: a kept result is good for the hour it was made."""
    now = utcnow()
    return now - timedelta(minutes=now.minute, seconds=now.second, microseconds=now.microsecond)


REPORT = Report(
    slug="time-in-stage",
    title=_l("Time in stage"),
    template="analytics/time_in_stage.html",
    compute=compute,
    tables=tables,
    leads=leads,
    moves_with=this_hour,
    one_pipeline=True,
)
