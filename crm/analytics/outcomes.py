"""Won and lost: per month of the period, the leads won and lost and how long winning took; and
why leads were lost, from which stage, and whose they were.

A lead counts as won (or lost) in the month it entered the won (or lost) stage it is still in:
a lead lost and then revived is no longer lost, and one won twice counts once, when it was
last won. The stage a lead was lost from is where the stage change that brought it into its
lost stage came from.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from flask import request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, literal, null, select, union_all

from crm import lists
from crm.analytics.reports import LeadsBehind, Report, Table
from crm.args import id_arg
from crm.buckets import days_between, index_of, local_starts, months_from
from crm.extensions import db
from crm.models import Lead, LostReason, Stage, StageChange, StageKind, User

# The drill-down value naming "none": no lost reason, no stage lost from, no owner.
NONE = "none"
MONTH_FORMAT = "LLLL y"
# The page lists this many of the losses by reason, stage and owner, the largest; the CSV, all.
DETAILS_SHOWN = 50


# Counting


@dataclass(frozen=True)
class Tally:
    """Leads won and lost in a span, the value won and the days winning took (summed)."""

    won: int = 0
    won_value: Decimal = Decimal(0)
    lost: int = 0
    days_to_win: float = 0.0

    @property
    def win_rate(self):
        """Won of those closed, 0 to 1; None when nothing closed."""
        closed = self.won + self.lost
        return self.won / closed if closed else None

    @property
    def average_days_to_win(self):
        return round(self.days_to_win / self.won, 1) if self.won else None

    def __add__(self, other):
        return Tally(
            self.won + other.won,
            self.won_value + other.won_value,
            self.lost + other.lost,
            self.days_to_win + other.days_to_win,
        )


@dataclass(frozen=True)
class Month:
    """A month of the period, cut to the period's first and last day."""

    first_day: date
    last_day: date
    tally: Tally

    @property
    def key(self):
        """How the month is named in a URL: 2026-11."""
        return month_key(self.first_day)

    @property
    def cut(self):
        """Whether the period begins or ends inside the month."""
        return self.first_day.day != 1 or (self.last_day + timedelta(days=1)).day != 1


class Loss(NamedTuple):
    """Leads lost for one reason, from one stage, of one owner, and their value."""

    reason_id: int | None
    reason_name: str | None
    from_stage_id: int | None
    owner_id: int | None
    count: int
    value: Decimal


@dataclass(frozen=True)
class ReasonRow:
    reason_id: int | None
    reason_name: str | None
    # Counts in the order of the matrix's columns.
    cells: tuple
    total: int


@dataclass(frozen=True)
class LossMatrix:
    """The losses as a matrix of reasons by the stage lost from, narrowed to one stage or not."""

    from_stage_id: int | None
    # The stages lost from, in funnel order; None for leads created lost.
    columns: tuple
    rows: tuple
    column_totals: tuple
    total: int
    total_value: Decimal
    largest: int
    # The losses by reason, stage and owner, the most leads first.
    details: tuple

    @property
    def narrowed(self):
        return self.from_stage_id is not None

    @property
    def details_shown(self):
        return self.details[:DETAILS_SHOWN]


@dataclass(frozen=True)
class WonLost:
    months: tuple
    total: Tally
    most_won_value: Decimal
    losses: tuple
    owner_names: dict = field(default_factory=dict)

    def loss_matrix(self, stages, stage_arg=None):
        """The loss analysis for `stages` (in funnel order), narrowed to losses from the stage
        `stage_arg` names when it names one of them."""
        order = [stage.id for stage in stages]
        narrowed_to = id_arg(stage_arg) if isinstance(stage_arg, str) else None
        if narrowed_to not in order:
            narrowed_to = None
        rows = [
            loss for loss in self.losses if narrowed_to is None or loss.from_stage_id == narrowed_to
        ]
        present = {loss.from_stage_id for loss in rows}
        columns = [stage_id for stage_id in order if stage_id in present]
        # Leads created lost, and a stage gone from the funnel (should one ever be), go last.
        columns += sorted(stage_id for stage_id in present if stage_id not in (*order, None))
        if None in present:
            columns.append(None)
        position = {stage_id: n for n, stage_id in enumerate(columns)}
        counts = {}
        names = {}
        for loss in rows:
            cells = counts.setdefault(loss.reason_id, [0] * len(columns))
            cells[position[loss.from_stage_id]] += loss.count
            names[loss.reason_id] = loss.reason_name
        reasons = sorted(
            (
                ReasonRow(reason_id, names[reason_id], tuple(cells), sum(cells))
                for reason_id, cells in counts.items()
            ),
            key=lambda row: (-row.total, row.reason_name is None, row.reason_name or ""),
        )
        column_totals = tuple(sum(row.cells[n] for row in reasons) for n in range(len(columns)))
        details = sorted(
            rows,
            key=lambda loss: (
                -loss.count,
                -loss.value,
                loss.reason_name is None,
                loss.reason_name or "",
                position[loss.from_stage_id],
                self.owner_name(loss.owner_id) or "",
            ),
        )
        return LossMatrix(
            from_stage_id=narrowed_to,
            columns=tuple(columns),
            rows=tuple(reasons),
            column_totals=column_totals,
            total=sum(column_totals),
            total_value=sum((loss.value for loss in rows), Decimal(0)),
            largest=max((max(row.cells) for row in reasons), default=0),
            details=tuple(details),
        )

    def owner_name(self, owner_id):
        return self.owner_names.get(owner_id) if owner_id is not None else None


def kind_of_stage(kind):
    return Lead.stage_id.in_(select(Stage.id).where(Stage.kind == kind))


def closed_in(filters, start=None, end=None):
    """Leads that entered the stage they are in between `start` and `end` (the period's
    bounds by default), as the report counts them."""
    return [
        Lead.stage_changed_at >= (start or filters.start),
        Lead.stage_changed_at < (end or filters.end),
        *filters.lead_conditions(),
    ]


def losing_move():
    """Joins a lost lead to the stage change that brought it into the stage it is in, whose
    from-stage is the stage it was lost from (none for a lead created lost)."""
    return and_(
        StageChange.lead_id == Lead.id,
        StageChange.to_stage_id == Lead.stage_id,
        StageChange.changed_at == Lead.stage_changed_at,
    )


def losses(filters, from_stage_id=None):
    """The leads lost in the period (still lost), by reason, stage lost from and owner, the
    most first: [Loss(reason_id, reason_name, from_stage_id, owner_id, count, value)].

    `from_stage_id` keeps only the losses from that stage. A lead with no reason has
    reason_id None; one created lost has from_stage_id None. The rows are per owner: sum
    them for a stage's or a reason's total.
    """
    conditions = [kind_of_stage(StageKind.LOST), *closed_in(filters)]
    if from_stage_id is not None:
        conditions.append(StageChange.from_stage_id == from_stage_id)
    lost = (
        select(
            Lead.lost_reason_id.label("reason_id"),
            StageChange.from_stage_id.label("from_stage_id"),
            Lead.owner_id.label("owner_id"),
            Lead.value.label("value"),
        )
        .select_from(Lead)
        .outerjoin(StageChange, losing_move())
        .where(*conditions)
        .subquery()
    )
    count = func.count().label("leads")
    rows = db.session.execute(
        select(
            lost.c.reason_id,
            LostReason.name,
            lost.c.from_stage_id,
            lost.c.owner_id,
            count,
            func.sum(lost.c.value),
        )
        .outerjoin(LostReason, LostReason.id == lost.c.reason_id)
        .group_by(lost.c.reason_id, LostReason.name, lost.c.from_stage_id, lost.c.owner_id)
        .order_by(count.desc(), lost.c.reason_id, lost.c.from_stage_id, lost.c.owner_id)
    ).all()
    return [
        Loss(reason_id, reason_name, stage_id, owner_id, count, Decimal(value or 0))
        for reason_id, reason_name, stage_id, owner_id, count, value in rows
    ]


def top_reasons(rows):
    """{stage lost from: (reason_id, reason_name, count)}: the commonest reason at each stage,
    from the rows `losses()` returns."""
    by_stage = {}
    for loss in rows:
        key = (loss.from_stage_id, loss.reason_id)
        name, count = by_stage.get(key, (loss.reason_name, 0))
        by_stage[key] = (name, count + loss.count)
    top = {}
    for (stage_id, reason_id), (name, count) in sorted(
        by_stage.items(), key=lambda item: (-item[1][1], item[1][0] or "")
    ):
        top.setdefault(stage_id, (reason_id, name, count))
    return top


def month_spans(filters):
    """[(first day, last day, UTC start, UTC end)] of each month of the period, cut to it."""
    firsts = months_from(filters.first_day, filters.last_day)
    starts = local_starts(firsts)
    spans = []
    for n, first in enumerate(firsts):
        last = n + 1 == len(firsts)
        spans.append(
            (
                max(first, filters.first_day),
                filters.last_day if last else firsts[n + 1] - timedelta(days=1),
                filters.start if n == 0 else starts[n],
                filters.end if last else starts[n + 1],
            )
        )
    return spans


def closed_by_month(filters, starts, kind):
    """The leads won (or lost) in the period, with the month each closed in; the value and the
    days to close only for those won."""
    month = index_of(Lead.stage_changed_at, starts).label("month")
    won = kind == StageKind.WON
    return select(
        month,
        literal(kind.value).label("kind"),
        Lead.value.label("value") if won else null().label("value"),
        days_between(Lead.stage_changed_at, Lead.created_at).label("days")
        if won
        else null().label("days"),
    ).where(kind_of_stage(kind), *closed_in(filters))


def compute(filters):
    spans = month_spans(filters)
    starts = [start for _first, _last, start, _end in spans]
    # Two branches, so the far more numerous lost leads are counted off the index alone.
    closed = union_all(
        closed_by_month(filters, starts, StageKind.WON),
        closed_by_month(filters, starts, StageKind.LOST),
    ).subquery()
    rows = db.session.execute(
        select(
            closed.c.month,
            closed.c.kind,
            func.count(),
            func.sum(closed.c.value),
            func.sum(closed.c.days),
        ).group_by(closed.c.month, closed.c.kind)
    ).all()
    tallies = [Tally() for _span in spans]
    for index, kind, count, value, days in rows:
        if kind == StageKind.WON:
            found = Tally(won=count, won_value=Decimal(value or 0), days_to_win=float(days or 0))
        else:
            found = Tally(lost=count)
        tallies[index] = tallies[index] + found
    months = tuple(
        Month(first, last, tally)
        for (first, last, _start, _end), tally in zip(spans, tallies, strict=True)
    )
    lost = losses(filters)
    owner_ids = sorted({loss.owner_id for loss in lost if loss.owner_id is not None})
    owner_names = dict(
        db.session.execute(select(User.id, User.name).where(User.id.in_(owner_ids))).all()
    )
    total = sum(tallies, Tally())
    return WonLost(
        months=months,
        total=total,
        most_won_value=max((tally.won_value for tally in tallies), default=Decimal(0)),
        losses=tuple(lost),
        owner_names=owner_names,
    )


# Downloads


def percent(rate):
    return round(rate * 100, 1) if rate is not None else None


def tables(filters, result):
    in_order = lists.stages_in_order()
    stages = {stage.id: stage.name for stage in in_order}
    months = Table(
        [
            _("Month"),
            _("First day"),
            _("Last day"),
            _("Leads won"),
            _("Won value"),
            _("Leads lost"),
            _("Win rate (%)"),
            _("Average days to win"),
        ],
        [
            [
                month.key,
                month.first_day,
                month.last_day,
                month.tally.won,
                month.tally.won_value,
                month.tally.lost,
                percent(month.tally.win_rate),
                month.tally.average_days_to_win,
            ]
            for month in result.months
        ]
        + [
            [
                _("Total"),
                filters.first_day,
                filters.last_day,
                result.total.won,
                result.total.won_value,
                result.total.lost,
                percent(result.total.win_rate),
                result.total.average_days_to_win,
            ]
        ],
    )
    # The losses download as the page shows them: from one stage when it names one.
    matrix = result.loss_matrix(in_order, request.args.get("stage"))
    loss_rows = Table(
        [_("Why lost"), _("Lost from stage"), _("Owner"), _("Leads"), _("Value")],
        [
            [
                loss.reason_name if loss.reason_id is not None else _("No reason given"),
                stages.get(loss.from_stage_id, ""),
                result.owner_name(loss.owner_id) or _("Nobody"),
                loss.count,
                loss.value,
            ]
            for loss in matrix.details
        ],
    )
    return {"months": months, "losses": loss_rows}


# The leads behind a number


def month_label(first_day):
    return format_date(first_day, MONTH_FORMAT)


def leads(filters, args):
    """The leads behind a number: `outcome` (won or lost), with a `month` (2026-11) for a
    month's; for the loss analysis, `reason`, `from_stage` and `lost_owner` (an id, or "none")
    narrow the leads lost."""
    outcome = args.get("outcome")
    if outcome not in (StageKind.WON, StageKind.LOST):
        return None
    start = end = None
    if "month" in args:
        span = next(
            (span for span in month_spans(filters) if month_key(span[0]) == args["month"]),
            None,
        )
        if span is None:
            return None
        _first, _last, start, end = span
        label = month_label(span[0])
        caption = (
            _("Won: %(month)s", month=label)
            if outcome == StageKind.WON
            else _("Lost: %(month)s", month=label)
        )
    else:
        caption = _("Won in the period") if outcome == StageKind.WON else _("Lost in the period")
    ids = select(Lead.id)
    conditions = [kind_of_stage(outcome), *closed_in(filters, start, end)]
    words = []
    for name, (column, describe) in NARROWING.items():
        if name not in args:
            continue
        value = args[name]
        chosen = None if value == NONE else id_arg(value)
        if outcome != StageKind.LOST or (chosen is None and value != NONE):
            return None
        if name == "from_stage":
            ids = ids.outerjoin(StageChange, losing_move())
        conditions.append(column.is_(None) if chosen is None else column == chosen)
        words.append(describe(chosen))
    return LeadsBehind(ids.where(*conditions), " · ".join([caption, *words]))


def month_key(first_day):
    return first_day.strftime("%Y-%m")


def reason_in_words(reason_id):
    reason = db.session.get(LostReason, reason_id) if reason_id is not None else None
    return reason.name if reason else _("No reason given")


def stage_in_words(stage_id):
    stage = db.session.get(Stage, stage_id) if stage_id is not None else None
    return _("from %(stage)s", stage=stage.name) if stage else _("created as lost")


def owner_in_words(owner_id):
    owner = db.session.get(User, owner_id) if owner_id is not None else None
    return owner.name if owner else _("Nobody")


# What narrows the leads lost, for the loss analysis' cells: the column and how to say it.
NARROWING = {
    "reason": (Lead.lost_reason_id, reason_in_words),
    "from_stage": (StageChange.from_stage_id, stage_in_words),
    "lost_owner": (Lead.owner_id, owner_in_words),
}


REPORT = Report(
    slug="won-lost",
    title=_l("Won and lost"),
    template="analytics/won_lost.html",
    compute=compute,
    tables=tables,
    leads=leads,
)
