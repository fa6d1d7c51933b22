from flask import render_template
from flask_babel import gettext as _
from flask_login import login_required

from crm.agenda import bp


@bp.route("/")
@login_required
def index():
    """Today's work: overdue and planned calls, leads with no next step, stuck leads."""
    return render_template("main/coming_soon.html", title=_("Agenda"), active="agenda")
