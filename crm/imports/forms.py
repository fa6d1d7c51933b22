"""The import's forms: the upload, the column mapping, the questions a dry run asks, and the
button that imports. The mapping has a select per column of the file, so it is built per job."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Optional

from crm import custom_fields, lists, parsing
from crm.form_base import AppForm
from crm.forms import optional_id
from crm.imports import fields, team_fields
from crm.imports.engine import EXISTING_STAGE, NEW_STAGE
from crm.models import StageKind


def kind_choices():
    return {
        fields.LEADS: _("Leads: one row per lead"),
        fields.ACTIVITIES: _("Activities: one row per contact with a lead"),
    }


class UploadForm(AppForm):
    kind = RadioField(
        _l("What the file holds"),
        choices=kind_choices,
        default=fields.LEADS,
        validators=[InputRequired()],
    )
    file = FileField(
        _l("File (CSV or XLSX)"),
        validators=[FileRequired(_l("Choose the file to import."))],
        render_kw={"accept": ".csv,.txt,.tsv,.xlsx,text/csv,text/plain"},
    )


def date_order_choices():
    return {
        parsing.DAY_FIRST: _("Day first: 03/04/2026 is 3 April 2026"),
        parsing.MONTH_FIRST: _("Month first: 03/04/2026 is March 4, 2026"),
    }


class DateOrderMixin:
    date_order = RadioField(
        _l("Dates written with slashes"), choices=date_order_choices, validators=[Optional()]
    )


def column_name(index):
    """A spreadsheet's name for a column: A, B, ... Z, AA ..."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def amount(_form, field):
    """An amount as people type it (1 250 000,50), or nothing."""
    if field.data and field.data.strip():
        try:
            value = parsing.parse_number(field.data)
        except parsing.ValueProblem as problem:
            raise ValidationError(problem.message) from None
        if value < 0:
            raise ValidationError(_("Enter an amount of zero or more."))


def column_options(kind, team):
    """What a column may hold: nothing, a field of the lead, and on the leads sheet one of the
    team's fields or a new field made from the column, of the type chosen."""
    options = {"": _("Do not import")} | {f.key: str(f.label) for f in fields.fields_of(kind)}
    if kind != fields.LEADS:
        return options
    if team:
        options[_("The team's fields")] = {team_fields.field_value(f.key): f.label for f in team}
    options[_("A new field from this column")] = {
        team_fields.new_value(type_): _("New field: %(type)s", type=label)
        for type_, label in custom_fields.TYPE_LABELS.items()
    }
    return options


def column_guesses(kind, layout, team=()):
    """What each column most likely holds, as the mapping's select names it: a field of the
    lead guessed from the header; on the leads sheet, else the field of the team's the header
    names, else a new field of the type its first rows suggest, so that nothing is left out
    without the person importing saying so."""
    guesses = fields.guess(kind, layout.headers, [column.examples for column in layout.columns])
    if kind != fields.LEADS:
        return [guess or "" for guess in guesses]
    existing, new_fields = team_fields.unmatched_columns(layout, guesses, team)
    chosen = dict(enumerate(guess or "" for guess in guesses))
    chosen |= {index: key for key, index in existing.items()}
    chosen |= {item["column"]: team_fields.new_value(item["type"]) for item in new_fields}
    return [chosen[column.index] for column in layout.columns]


def chosen_before(settings):
    """Column index → what the mapping page chose for it last time."""
    chosen = {index: key for key, index in settings.mapping.items()}
    for item in settings.new_fields:
        chosen[int(item["column"])] = team_fields.new_value(item["type"])
    return chosen


def mapping_form(job, choices, formdata=None):
    """A select per column of the file (labelled with its header), what the import should do
    where the file says nothing, and, when the file's dates need it, which comes first."""
    layout, kind = job.layout, job.kind

    class MappingForm(DateOrderMixin, AppForm):
        pass

    team = custom_fields.active_fields()
    guesses = column_guesses(kind, layout, team)
    settings = job.settings
    chosen = chosen_before(settings) if settings else None
    options = column_options(kind, team)
    for column, guess in zip(layout.columns, guesses, strict=True):
        default = chosen.get(column.index, "") if chosen is not None else guess
        setattr(
            MappingForm,
            f"column_{column.index}",
            SelectField(
                _(
                    "Column %(letter)s: “%(header)s”",
                    letter=column_name(column.index),
                    header=column.header,
                ),
                choices=options,
                default=default,
            ),
        )
    offered = lists.pipelines()
    if kind == fields.LEADS and len(offered) > 1:
        MappingForm.pipeline_id = SelectField(
            _l("Pipeline of rows that name none"),
            coerce=optional_id,
            choices={None: offered[0].name} | {p.id: p.name for p in offered[1:]},
            default=settings.pipeline_id if settings else None,
        )
    if kind == fields.LEADS:
        MappingForm.owner_id = SelectField(
            _l("Owner of leads whose row names none"),
            coerce=optional_id,
            choices={None: _("Nobody (anyone may take them)")} | dict(choices.people),
            default=settings.owner_id if settings else choices.me,
        )
    else:
        MappingForm.kind_id = SelectField(
            _l("Kind of contact when the row names none"),
            coerce=optional_id,
            choices=dict(choices.kinds),
            default=settings.kind_id if settings else choices.default_kind,
        )
    MappingForm.lost_reason_id = SelectField(
        _l("Why lost, when a row moving a lead to a lost stage does not say"),
        coerce=optional_id,
        choices={None: _("Choose a reason…")} | dict(choices.reasons),
        default=settings.lost_reason_id if settings else None,
    )
    MappingForm.won_value = StringField(
        _l("Value of a won deal that has none"),
        validators=[Optional(), amount],
        default=settings.won_value if settings else None,
    )
    form = MappingForm(formdata=formdata)
    if formdata is None and settings and settings.date_order:
        form.date_order.data = settings.date_order
    return form


def column_fields(form, layout):
    return [(column, form[f"column_{column.index}"]) for column in layout.columns]


def chosen_in(form, layout):
    """Column index → the field the form has chosen for it ("" for none)."""
    return {column.index: select.data or "" for column, select in column_fields(form, layout)}


def new_fields_in(form, layout):
    """The columns the form makes new fields of, as `Settings.new_fields` keeps them."""
    return [
        {
            "column": column.index,
            "label": column.header[: custom_fields.LABEL_MAX],
            "type": select.data.removeprefix(team_fields.NEW_PREFIX),
        }
        for column, select in column_fields(form, layout)
        if team_fields.is_new(select.data)
    ]


def notes_warnings(kind, layout, chosen):
    """What the user should hear about columns of notes left out of the import: a warning,
    not a refusal (they may mean it)."""
    notes = fields.field_of(fields.ACTIVITIES, fields.NOTES).label
    warnings = []
    for column, notes_taken in fields.notes_left_out(kind, layout.columns, chosen):
        named = {"letter": column_name(column.index), "header": column.header, "notes": notes}
        if kind == fields.LEADS:
            warning = _(
                "Column %(letter)s, “%(header)s”, looks like notes and is not imported. To keep "
                "them, make a new field of it, or upload this file again as activities, with "
                "this column as “%(notes)s”.",
                **named,
            )
        elif notes_taken:
            warning = _(
                "Column %(letter)s, “%(header)s”, looks like notes too and is not imported: "
                "only one column can be “%(notes)s”. To keep both, join them in the sheet.",
                **named,
            )
        else:
            warning = _(
                "Column %(letter)s, “%(header)s”, looks like what was said and is not "
                "imported: choose “%(notes)s” for it, or these notes are left behind.",
                **named,
            )
        warnings.append(warning)
    return warnings


def status_choices(name, stages):
    return {
        f"{NEW_STAGE}{StageKind.OPEN.value}": _("Create an open stage “%(name)s”", name=name),
        f"{NEW_STAGE}{StageKind.WON.value}": _("Create a won stage “%(name)s”", name=name),
        f"{NEW_STAGE}{StageKind.LOST.value}": _("Create a lost stage “%(name)s”", name=name),
    } | {f"{EXISTING_STAGE}{stage.id}": _("Use “%(name)s”", name=stage.name) for stage in stages}


def questions_form(report, stages, formdata=None):
    """What the dry run could not decide alone: unknown statuses, and the order of dates."""

    class QuestionsForm(DateOrderMixin, AppForm):
        pass

    statuses = list(report.unknown_statuses.items())
    for n, (_key, (written, count)) in enumerate(statuses):
        setattr(
            QuestionsForm,
            f"status_{n}",
            SelectField(
                ngettext(
                    "Status “%(name)s” (%(num)d row)",
                    "Status “%(name)s” (%(num)d rows)",
                    count,
                    name=written,
                ),
                choices=status_choices(written, stages),
                default=f"{NEW_STAGE}{StageKind.OPEN.value}",
            ),
        )
    form = QuestionsForm(formdata=formdata)
    form.statuses = [(key, form[f"status_{n}"]) for n, (key, _v) in enumerate(statuses)]
    return form


class ApplyForm(AppForm):
    skip_errors = BooleanField(_l("Skip the rows with errors and import the rest"))
