"""The activities feed's filters: a GET form, so every view of the feed is a shareable URL."""

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.validators import Optional, ValidationError

from crm import lists
from crm.activities import queries
from crm.extensions import db
from crm.form_base import AppForm
from crm.forms import BAD_DATE, optional_id, plausible_year


def quick_range(name, today):
    """The first and last day of a named range such as "yesterday", counted from `today`."""
    if name == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if name == "week":
        return today - timedelta(days=6), today
    return today, today


class FeedForm(AppForm):
    """Read from the query string; choices are set by the view as {value: label}."""

    class Meta:
        # Filters only read: a link must be able to carry them.
        csrf = False

    date_from = DateField(
        _l("From"),
        name="from",
        validators=[Optional(), plausible_year],
        invalid_value_message=BAD_DATE,
    )
    date_to = DateField(
        _l("To"), name="to", validators=[Optional(), plausible_year], invalid_value_message=BAD_DATE
    )
    author = SelectField(_l("Author"), coerce=optional_id, validate_choice=True)
    kind = SelectField(_l("Kind"), coerce=optional_id, validate_choice=True)
    stage = SelectField(_l("Moved to stage"), coerce=optional_id, validate_choice=True)
    pipeline = SelectField(_l("Pipeline"), coerce=optional_id, validate_choice=True)
    # Sent by the Today / Yesterday / Last 7 days buttons; it wins over typed dates.
    quick = SelectField(_l("Quick dates"), name="range", default="", validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quick.choices = {"": "", "today": "today", "yesterday": "yesterday", "week": "week"}

    def validate_date_to(self, field):
        if self.quick.data:
            return
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def period(self, today):
        """The first and last day to show, after validation: today unless said otherwise.

        The date fields are set to the answer, so the form shows the range it applied.
        """
        if self.quick.data:
            first, last = quick_range(self.quick.data, today)
        else:
            first = self.date_from.data or self.date_to.data or today
            last = self.date_to.data or max(first, today)
        for field, day in ((self.date_from, first), (self.date_to, last)):
            field.data = day
            field.raw_data = []  # rendered from .data, not from what was typed
        return first, last


def is_quick(first, last, today):
    """The name of the quick range that `first`..`last` is, if any."""
    for name in ("today", "yesterday", "week"):
        if quick_range(name, today) == (first, last):
            return name
    return None


def set_choices(form):
    """Fill the filter lists; returns the kinds by id for the counts."""
    people = db.session.execute(queries.authors()).all()
    kinds = db.session.scalars(queries.kinds()).all()
    stages = db.session.scalars(queries.stages()).all()
    form.author.choices = {"": _("Everyone")} | {
        person.id: person.name if person.active else _("%(name)s (deactivated)", name=person.name)
        for person in people
    }
    form.kind.choices = {"": _("All kinds")} | {kind.id: kind.name for kind in kinds}
    form.stage.choices = {"": _("Any, or no change")} | {
        stage.id: lists.stage_label(stage.id, stage.name) for stage in stages
    }
    form.pipeline.choices = {"": _("All pipelines")} | {p.id: p.name for p in lists.pipelines()}
    return {kind.id: kind for kind in kinds}
