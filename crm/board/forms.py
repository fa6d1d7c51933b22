from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired

from crm.form_base import AppForm
from crm.forms import OutcomeMixin, optional_id


class MoveForm(OutcomeMixin, AppForm):
    stage_id = SelectField(
        _l("Move to"),
        coerce=optional_id,
        validate_choice=True,
        validators=[InputRequired(_l("Choose a stage from the list."))],
    )
    # The stage the card was in on the user's screen: when the lead is no longer there,
    # someone moved it meanwhile, and this move is refused rather than applied blindly.
    from_stage_id = HiddenField()
