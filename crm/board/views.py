from flask import render_template
from flask_babel import gettext as _
from flask_login import login_required

from crm.board import bp


@bp.route("/")
@login_required
def index():
    """The funnel board."""
    return render_template("main/coming_soon.html", title=_("Board"), active="board")
