from flask import render_template
from flask_babel import gettext as _
from flask_login import login_required

from crm.leads import bp


@bp.route("/")
@login_required
def index():
    """The lead register."""
    return render_template("main/coming_soon.html", title=_("Leads"), active="leads")
