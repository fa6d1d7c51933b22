"""Sources: the leads that came in during the period from each source, and how they ended.

A lead is counted by the source it has now, among the leads created in the period; won, lost
and still open are where those leads stand today, whenever they got there.
"""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select

from crm.analytics.reports import LeadsBehind, Report, Table
from crm.extensions import db
from crm.models import Lead, Stage, StageKind

# How the drill-down names the leads with no source, and the prefix of a named one: "none"
# and "s:Website" cannot be mistaken for each other, whatever the sources are called.
NO_SOURCE = "none"
NAMED = "s:"
OUTCOMES = ("won", "lost", "open")


@dataclass(frozen=True)
class Outcomes:
    """The leads of one group (`name`: a source, an option's key; None: none) and where they
    stand: the row of Sources and of the report by field."""

    name: str | None
    leads: int = 0
    won: int = 0
    lost: int = 0
    won_value: Decimal = Decimal(0)

    @property
    def still_open(self):
        return self.leads - self.won - self.lost

    @property
    def win_rate(self):
        closed = self.won + self.lost
        return self.won / closed if closed else None

    def __add__(self, other):
        return type(self)(
            self.name,
            self.leads + other.leads,
            self.won + other.won,
            self.lost + other.lost,
            self.won_value + other.won_value,
        )


def tally(rows, row_type):
    """{name: row_type} from (name, stage kind, leads, won value) rows; an empty name is none."""
    found = {}
    for name, kind, count, value in rows:
        name = name if name not in (None, "") else None
        row = row_type(
            name,
            leads=count,
            won=count if kind == StageKind.WON else 0,
            lost=count if kind == StageKind.LOST else 0,
            won_value=Decimal(value or 0),
        )
        found[name] = found.get(name, row_type(name)) + row
    return found


class SourceRow(Outcomes):
    """One source (None: no source) and where its leads stand."""

    @property
    def source(self):
        return self.name

    @property
    def key(self):
        """The source as the drill-down names it."""
        return NO_SOURCE if self.source is None else NAMED + self.source


@dataclass(frozen=True)
class Sources:
    rows: tuple
    total: SourceRow
    most_leads: int

    @staticmethod
    def name_of(row):
        return row.source if row.source is not None else _("No source")


def created_in(filters):
    return [
        Lead.created_at >= filters.start,
        Lead.created_at < filters.end,
        *filters.lead_conditions(),
    ]


def no_source():
    # An empty source is no source, should one have been stored by hand.
    return or_(Lead.source.is_(None), Lead.source == "")


def compute(filters):
    # An empty source is no source; grouping by the expression also keeps SQLite from reading
    # every lead through the source index in search of the order.
    created = (
        select(
            func.coalesce(Lead.source, "").label("source"),
            Stage.kind.label("kind"),
            Lead.value.label("value"),
        )
        .join(Stage, Stage.id == Lead.stage_id)
        .where(*created_in(filters))
        .subquery()
    )
    rows = db.session.execute(
        select(
            created.c.source,
            created.c.kind,
            func.count(),
            func.sum(case((created.c.kind == StageKind.WON, created.c.value))),
        ).group_by(created.c.source, created.c.kind)
    ).all()
    by_source = tally(rows, SourceRow)
    ordered = sorted(
        by_source.values(), key=lambda row: (-row.leads, row.source is None, row.source or "")
    )
    return Sources(
        rows=tuple(ordered),
        total=sum(ordered, SourceRow(None)),
        most_leads=max((row.leads for row in ordered), default=0),
    )


def percent(rate):
    return round(rate * 100, 1) if rate is not None else None


def tables(filters, result):
    def line(name, row):
        return [
            name,
            row.leads,
            row.won,
            row.lost,
            row.still_open,
            percent(row.win_rate),
            row.won_value,
        ]

    return {
        "sources": Table(
            [
                _("Source"),
                _("Leads"),
                _("Leads won"),
                _("Leads lost"),
                _("Still open"),
                _("Win rate (%)"),
                _("Won value"),
            ],
            [line(result.name_of(row), row) for row in result.rows]
            + [line(_("Total"), result.total)],
        )
    }


def leads(filters, args):
    """The leads behind a number: `source_key` ("none" or "s:" and the source; none for
    every source) and `outcome` (won, lost or open; none for all the leads created)."""
    conditions = created_in(filters)
    words = []
    if "source_key" in args:
        key = args["source_key"]
        if key == NO_SOURCE:
            conditions.append(no_source())
            words.append(_("No source"))
        elif key.startswith(NAMED) and len(key) > len(NAMED):
            source = key.removeprefix(NAMED)
            if "\x00" in source:
                return None
            conditions.append(Lead.source == source)
            words.append(source)
        else:
            return None
    return created_leads_behind(conditions, words, args.get("outcome"))


def created_leads_behind(conditions, words, outcome=None):
    """The leads created in the period that `conditions` pick, narrowed to an `outcome` (won,
    lost or open; None: all of them), and their caption; None for an outcome there is not.
    The leads behind a number of Sources and of the report by field alike."""
    if outcome is not None:
        if outcome not in OUTCOMES:
            return None
        kinds = {"won": StageKind.WON, "lost": StageKind.LOST, "open": StageKind.OPEN}
        conditions.append(Lead.stage_id.in_(select(Stage.id).where(Stage.kind == kinds[outcome])))
        words.append({"won": _("won"), "lost": _("lost"), "open": _("still open")}[outcome])
    caption = _("Leads created in the period")
    return LeadsBehind(select(Lead.id).where(*conditions), " · ".join([caption, *words]))


REPORT = Report(
    slug="sources",
    title=_l("Sources"),
    template="analytics/sources.html",
    compute=compute,
    tables=tables,
    leads=leads,
)
