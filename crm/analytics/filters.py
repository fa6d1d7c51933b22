"""What a report covers, as its URL says: the period, whose leads, from which source, and
which options of one of the team's choice fields they hold.

The period is a span of the user's local days; the reports compare stored (UTC) moments with
the moments those days begin and end in the user's zone.

The field filter is written `f.<field key>=<option key>`, once per option (`f.city=moscow&
f.city=kazan`: leads in either city); `f=<field key>` names the field whose options the form
offers before any is chosen. Every report counts its leads through `lead_conditions` or
`counts_lead`, so each of them is narrowed alike.
"""

from collections import namedtuple
from dataclasses import dataclass, replace
from datetime import date, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select, true

from crm import access, custom_fields, lists
from crm.args import id_arg, text_arg
from crm.models import Lead, utcnow
from crm.timezones import day_bounds, local_today, user_zone

# Presets, each a span of days that ends today, or a calendar span.
PERIODS = {
    "30": _l("Last 30 days"),
    "90": _l("Last 90 days"),
    "365": _l("Last 12 months"),
    "month": _l("This month"),
    "last-month": _l("Last month"),
    "year": _l("This year"),
    "custom": _l("Dates…"),
}
DEFAULT_PERIOD = "90"
# A custom period may go back this far, so a typo cannot ask for ten thousand years.
LONGEST = timedelta(days=366 * 10)
# Bounding a day in the user's zone, or finding its week or month, needs the days around it,
# which the calendar's first and last days do not have: a custom period lies between these.
EARLIEST = date(1900, 1, 1)
LATEST = date(9998, 12, 31)
OWNER_MINE = "me"
# The field filter's parameters: the field offered, and the options chosen of a field.
FIELD_ARG = "f"
OPTION_ARG = "f."
# Which pipeline: one by id, or every one ("all") where a report can add them up.
PIPELINE_ARG = "pipeline"
ALL_PIPELINES = "all"


def parse_day(text):
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def valid_span(first, last):
    return (
        first is not None
        and last is not None
        and EARLIEST <= first <= last <= LATEST
        and last - first <= LONGEST
    )


def preset_days(period, today):
    """The first and last local day of a preset period."""
    if period.isdecimal():
        return today - timedelta(days=int(period) - 1), today
    if period == "month":
        return today.replace(day=1), today
    if period == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    return today.replace(month=1, day=1), today


def choice_fields():
    """The fields a report can be by or filtered on: the team's choice fields in use."""
    return [field for field in custom_fields.active_fields() if field.has_options]


def values_of(args, name):
    """Every value of `name` in `args`: a request's arguments, or a plain dict (one value)."""
    if hasattr(args, "getlist"):
        return args.getlist(name)
    value = args.get(name)
    return [value] if isinstance(value, str) else list(value or ())


def field_filter(args):
    """The field and the option keys the URL narrows the leads to: (None, ()) when it names no
    choice field. Options the field does not have are left out, as is a second field: the form
    filters on one."""
    fields = {field.key: field for field in choice_fields()}
    if FIELD_ARG in args:
        # The form's own choice, which "no field" or another field overrides ticked options by.
        named = args.get(FIELD_ARG)
    else:
        given = (name.removeprefix(OPTION_ARG) for name in args if name.startswith(OPTION_ARG))
        named = next((key for key in given if key in fields), None)
    field = fields.get(named)
    if field is None:
        return None, ()
    chosen = set(values_of(args, OPTION_ARG + named))
    return field, tuple(option.key for option in field.options if option.key in chosen)


def read_pipeline(asked, pipelines):
    """The pipeline `asked` names among `pipelines` ((id, name) pairs): None for every one
    ("all", when there are several), else the first."""
    if asked == ALL_PIPELINES and len(pipelines) > 1:
        return None
    ids = [pipeline_id for pipeline_id, _name in pipelines]
    wanted = id_arg(asked)
    if wanted in ids:
        return wanted
    return ids[0] if ids else None


# A pipeline offered by the report filters: plain values, for the cache key.
PipelineChoice = namedtuple("PipelineChoice", "id name")


class Pairs(tuple):
    """(name, value) pairs that a template reads as a dict's items, a name more than once."""

    def items(self):
        return iter(self)


@dataclass(frozen=True)
class ReportFilters:
    """The period as local days and as stored moments, whose leads, which source, and which
    options of a choice field."""

    period: str
    first_day: date
    last_day: date
    owner: str = ""
    owner_id: int | None = None
    source: str = ""
    # Whether the viewer may look at everyone's leads, or only at their own.
    sees_team: bool = True
    # The choice field the form offers options of, and those chosen (none: no field filter).
    field: custom_fields.Field | None = None
    options: tuple = ()
    # The pipeline whose leads count (None: every pipeline), and the (id, name) of those offered.
    pipeline_id: int | None = None
    pipelines: tuple = ()
    # The pipelines the viewer works in: every pipeline's leads means theirs (None: all).
    worked_in: tuple | None = None

    @classmethod
    def from_args(cls, args, user):
        today = local_today()
        period = args.get("period", DEFAULT_PERIOD)
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        first, last = parse_day(args.get("from")), parse_day(args.get("to"))
        if period != "custom" and (first, last) not in ((None, None), preset_days(period, today)):
            # The form sends the preset's own dates along: dates changed by hand mean them.
            period = "custom"
        if period == "custom" and not valid_span(first, last):
            period = DEFAULT_PERIOD
        if period != "custom":
            first, last = preset_days(period, today)
        sees_team = access.manages_the_team(user)
        owner = args.get("owner", "")
        if not sees_team:
            owner = OWNER_MINE
        elif owner != OWNER_MINE and not id_arg(owner):
            owner = ""
        owner_id = user.id if owner == OWNER_MINE else id_arg(owner)
        field, options = field_filter(args)
        # The pipelines this person works in (a salesperson may be limited to some).
        pipelines = tuple(
            PipelineChoice(pipeline.id, pipeline.name)
            for pipeline in lists.pipelines()
            if access.may_use_pipeline(user, pipeline.id)
        )
        return cls(
            period=period,
            first_day=first,
            last_day=last,
            owner=owner,
            owner_id=owner_id,
            source=text_arg(args.get("source"), 80),
            sees_team=sees_team,
            field=field,
            options=options,
            pipeline_id=read_pipeline(args.get(PIPELINE_ARG, ""), pipelines),
            pipelines=pipelines,
            worked_in=access.pipelines_of(user),
        )

    @property
    def several_pipelines(self):
        return len(self.pipelines) > 1

    @property
    def first_pipeline_id(self):
        return self.pipelines[0][0] if self.pipelines else None

    def in_one_pipeline(self):
        """These filters for a report that never adds pipelines up (its steps are one
        pipeline's): every pipeline means the first."""
        if self.pipeline_id is not None or not self.pipelines:
            return self
        return replace(self, pipeline_id=self.first_pipeline_id)

    def pipeline_stage_ids(self):
        """The ids of the stages of the pipeline reported on (for every pipeline, those the
        viewer works in), written out: a subquery instead made SQLite read the leads in another
        order, and the funnel took half as long again at 100,000 leads."""
        pipelines = (self.pipeline_id,) if self.pipeline_id is not None else self.worked_in
        return [
            stage_id
            for stage_id, _colour, _name, _pipeline, pipeline_id in lists.stage_rows()
            if pipelines is None or pipeline_id in pipelines
        ]

    @property
    def start(self):
        """The stored moment the period begins."""
        return day_bounds(self.first_day)[0]

    @property
    def end(self):
        """The stored moment the period ends (excluded)."""
        return day_bounds(self.last_day)[1]

    @property
    def reaches_now(self):
        """Whether the period holds the present moment: it has begun and not yet ended."""
        return self.start <= utcnow() < self.end

    @property
    def narrows_by_field(self):
        return bool(self.options)

    @property
    def narrows_leads(self):
        """Whether the leads counted are fewer than every lead not archived, besides owners."""
        return bool(self.source) or self.narrows_by_field

    @property
    def option_labels(self):
        """The options the field filter keeps, by name."""
        return [custom_fields.option_label(self.field, key) for key in self.options]

    def lead_conditions(self, in_pipeline=True):
        """The leads a report counts: not archived, of the chosen owner, source and options,
        and in the chosen pipeline now (`in_pipeline`: a report of stage changes asks which
        pipeline each change was in instead)."""
        found = [Lead.archived == false()]
        if in_pipeline and (self.pipeline_id is not None or self.worked_in is not None):
            # "+ 0": checked on the rows the period picks, not through the stage's index,
            # which SQLite otherwise takes and reads every lead of the pipeline (the report by
            # field took twice as long at 100,000 leads).
            found.append((Lead.stage_id + 0).in_(self.pipeline_stage_ids()))
        if self.owner_id is not None:
            found.append(Lead.owner_id == self.owner_id)
        if self.source:
            found.append(Lead.source == self.source)
        if self.narrows_by_field:
            found.append(custom_fields.equals_any(self.field, self.options))
        return found

    def counts_lead(self, lead_id, in_pipeline=True):
        """That the lead `lead_id` (a column of another table) is one the report counts: a
        lookup in a set of ids made once, cheaper per row than a join with the leads."""
        in_some = self.pipeline_id is not None or self.worked_in is not None
        narrowed = self.narrows_leads or (in_pipeline and in_some)
        if self.owner_id is None and not narrowed:
            return lead_id.not_in(select(Lead.id).where(Lead.archived == true()))
        return lead_id.in_(select(Lead.id).where(*self.lead_conditions(in_pipeline)))

    def key(self):
        """What the numbers depend on, for the cache (besides the data version): the local
        days are bounded in the viewer's zone, and whether the period still holds now decides
        what counts up to now (it ends at a local midnight, which is not always on the hour)."""
        return (
            self.first_day,
            self.last_day,
            str(user_zone()),
            self.owner_id,
            self.source,
            # A field's type decides how its values are read (one key, or a list of them).
            (self.field.key, self.field.type, self.options) if self.narrows_by_field else None,
            self.pipeline_id,
            self.worked_in,
            self.reaches_now,
        )

    def params(self, **changes):
        """The URL parameters of these filters, with `changes`; defaults are left out."""
        params = {
            "period": self.period if self.period != DEFAULT_PERIOD else None,
            "from": self.first_day.isoformat() if self.period == "custom" else None,
            "to": self.last_day.isoformat() if self.period == "custom" else None,
            "owner": self.owner if self.sees_team else None,
            "source": self.source,
            PIPELINE_ARG: self.pipeline_param(),
            **self.field_params(),
        } | changes
        return {name: value for name, value in params.items() if value not in (None, "", [])}

    def hidden_params(self, **changes):
        """The URL parameters as a form's hidden inputs keep them: (name, value) pairs, a
        name once per value, read as a dict's items."""
        pairs = [
            (name, each)
            for name, value in self.params(**changes).items()
            for each in (value if isinstance(value, list) else [value])
        ]
        return Pairs(pairs)

    def pipeline_param(self):
        """The pipeline in the URL: none for the first, or when there is only one."""
        if not self.several_pipelines:
            return None
        if self.pipeline_id is None:
            return ALL_PIPELINES
        return self.pipeline_id if self.pipeline_id != self.first_pipeline_id else None

    def field_params(self):
        """The field filter in the URL: its options, or the field alone while none is chosen."""
        if self.field is None:
            return {}
        if not self.options:
            return {FIELD_ARG: self.field.key}
        return {OPTION_ARG + self.field.key: list(self.options)}

    def url(self, endpoint, **changes):
        return url_for(endpoint, **self.params(**changes))
