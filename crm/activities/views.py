from flask import render_template
from flask_babel import gettext as _
from flask_login import login_required

from crm.activities import bp


@bp.route("/")
@login_required
def index():
    """Every contact across leads: the picture of the day."""
    return render_template("main/coming_soon.html", title=_("Activities"), active="activities")
