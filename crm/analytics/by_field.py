"""By field: the leads that came in during the period by an option of one of the team's choice
fields (Город, Отрасль ...), and how they ended, as Sources counts them by source.

A lead counts under the option it holds now; with several choices, under each option it holds,
so the options' rows add up to more than the total. Leads holding none count as "no value".
The numbers are kept by the stored option keys, which never change: the options' names and
order are the field's own when the page is shown.

Both kinds of field are counted in one grouped query over the leads created in the period: a
single choice by its stored value, several choices by each element of the stored list (SQLite's
`json_each`, PostgreSQL's `jsonb_array_elements_text`), joined to the lead so that a lead with
none still makes a row.
"""

from dataclasses import dataclass, field

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal_column, null, select, true

from crm import custom_fields
from crm.analytics.filters import choice_fields
from crm.analytics.reports import Report, Table
from crm.analytics.sources import Outcomes, created_in, created_leads_behind, percent, tally
from crm.extensions import db
from crm.models import FieldType, Lead, Stage, StageKind

# The argument naming the field the report is by, and how the drill-down names "no value".
BY_ARG = "by"
NO_VALUE = "none"
TABLE = "options"


class OptionRow(Outcomes):
    """One option (None: no value), as its key, and where its leads stand."""

    @property
    def option(self):
        return self.name

    @property
    def key(self):
        """The option as the drill-down names it."""
        return NO_VALUE if self.option is None else self.option


@dataclass(frozen=True)
class FieldCounts:
    """The counts of one field: by stored option key (None: no value), and the total."""

    key: str
    by_option: dict = field(default_factory=dict)
    total: OptionRow = OptionRow(None)

    def rows(self, chosen):
        """The rows as the page shows them: the field's options in its order (the retired ones
        only where leads hold them), then keys it no longer has, then no value."""
        known = [option.key for option in chosen.options]
        rows = [
            self.by_option.get(option.key, OptionRow(option.key))
            for option in chosen.options
            if not option.retired or option.key in self.by_option
        ]
        rows += [
            row
            for key, row in sorted(self.by_option.items(), key=lambda item: str(item[0]))
            if key is not None and key not in known
        ]
        rows.append(self.by_option.get(None, OptionRow(None)))
        return rows

    @property
    def most_leads(self):
        return max((row.leads for row in self.by_option.values()), default=0)


@dataclass(frozen=True)
class ByField:
    """What the page shows: the field chosen (None: the team has no choice field), the fields
    it could be by, and the counts."""

    field: custom_fields.Field | None
    fields: list
    counts: FieldCounts | None

    @property
    def rows(self):
        return self.counts.rows(self.field) if self.counts else []

    def label(self, row):
        if row.option is None:
            return _("No value")
        return custom_fields.option_label(self.field, row.option)


def chosen_field(args):
    """The field named by `by`, or the team's first choice field; None when it has none."""
    fields = choice_fields()
    wanted = args.get(BY_ARG)
    return next((each for each in fields if each.key == wanted), fields[0] if fields else None)


def option_values(chosen):
    """The stored option keys of `chosen` as a column to group by, and what to join to the
    leads for it (several choices: one row per option held, or one empty row for none)."""
    if chosen.type != FieldType.CHOICES:
        return custom_fields.stored(chosen.key), None
    if custom_fields.dialect_name() == "postgresql":
        held = literal_column(
            f"(CASE WHEN jsonb_typeof(leads.fields -> '{chosen.key}') = 'array' "
            f"THEN leads.fields -> '{chosen.key}' END)"
        )
        members = func.jsonb_array_elements_text(held).table_valued("value").lateral("held")
    else:
        custom_fields.stored(chosen.key)  # checks the key
        members = func.json_each(Lead.fields, f"$.{chosen.key}").table_valued("value")
        members = members.alias("held")
    return members.c.value, members


def counted_by_option(filters, chosen):
    """{option key or None: OptionRow} for the leads created in the period, in one query."""
    option, members = option_values(chosen)
    created = select(
        option.label("option"), Stage.kind.label("kind"), Lead.value.label("value")
    ).join(Stage, Stage.id == Lead.stage_id)
    if members is not None:
        created = created.outerjoin(members, true())
    return tally_options(grouped(created.where(*created_in(filters)).subquery(), by_option=True))


def counted_in_all(filters):
    """The total of the leads created in the period: with several choices a lead is in more
    than one row, so the rows do not add up to it."""
    created = (
        select(Stage.kind.label("kind"), Lead.value.label("value"))
        .join(Stage, Stage.id == Lead.stage_id)
        .where(*created_in(filters))
        .subquery()
    )
    return tally_options(grouped(created, by_option=False)).get(None, OptionRow(None))


def grouped(created, by_option):
    """(option, stage kind, leads, won value) rows of the leads in `created`.

    Grouped outside the query that reads the values, as Sources does: grouped by the stored
    value's expression itself, the same count took SQLite twice as long at 100,000 leads."""
    option = created.c.option if by_option else null()
    won_value = func.sum(case((created.c.kind == StageKind.WON, created.c.value)))
    query = select(option, created.c.kind, func.count(), won_value)
    if by_option:
        query = query.group_by(created.c.option, created.c.kind)
    else:
        query = query.group_by(created.c.kind)
    return db.session.execute(query).all()


def tally_options(rows):
    """{option: OptionRow} from (option, stage kind, leads, won value) rows."""
    return tally(rows, OptionRow)


def counts(filters, chosen):
    by_option = counted_by_option(filters, chosen)
    if chosen.type == FieldType.CHOICES:
        total = counted_in_all(filters)
    else:
        total = sum(by_option.values(), OptionRow(None))
    return FieldCounts(chosen.key, by_option, total)


def compute(filters):
    chosen = chosen_field(request.args)
    return counts(filters, chosen) if chosen is not None else None


def by_field(result):
    """The page's view of a result: the field as defined now, with the counts kept."""
    chosen = chosen_field(request.args)
    return ByField(chosen, choice_fields(), result if chosen is not None else None)


def moves_with():
    # Which field, and how its values are stored, besides the filters.
    chosen = chosen_field(request.args)
    return (chosen.key, chosen.type) if chosen is not None else None


def tables(filters, result):
    shown = by_field(result)
    if shown.field is None:
        return {}

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
        TABLE: Table(
            [
                shown.field.label,
                _("Leads"),
                _("Leads won"),
                _("Leads lost"),
                _("Still open"),
                _("Win rate (%)"),
                _("Won value"),
            ],
            [line(shown.label(row), row) for row in shown.rows] + [line(_("Total"), result.total)],
        )
    }


def leads(filters, args):
    """The leads behind a number: `option` (an option's key, or "none"; none for every lead)
    and `outcome` (won, lost or open; none for all the leads created) of the field `by`."""
    chosen = chosen_field(args)
    if chosen is None:
        return None
    conditions = created_in(filters)
    words = [chosen.label]
    if "option" in args:
        key = args["option"]
        if key == NO_VALUE:
            conditions.append(custom_fields.stored(chosen.key).is_(None))
            words.append(_("No value"))
        elif chosen.option(key) is not None:
            conditions.append(custom_fields.equals_any(chosen, [key]))
            words.append(chosen.option(key).label)
        else:
            return None
    return created_leads_behind(conditions, words, args.get("outcome"))


REPORT = Report(
    slug="by-field",
    title=_l("By field"),
    template="analytics/by_field.html",
    compute=compute,
    tables=tables,
    leads=leads,
    moves_with=moves_with,
    shows=by_field,
)
