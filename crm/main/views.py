from flask import current_app, redirect, request, session, url_for
from flask_babel import refresh
from flask_login import current_user, login_required

from crm.auth.views import safe_next
from crm.extensions import db
from crm.main import bp


@bp.route("/")
@login_required
def index():
    """The start page is the agenda."""
    return redirect(url_for("agenda.index"))


@bp.route("/healthz")
def healthz():
    """A trivial route: proves the process answers, and is the floor for benchmarks."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language; stored on the account when logged in."""
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["locale"] = language
        if current_user.is_authenticated:
            current_user.locale = language
            db.session.commit()
        refresh()
    back = safe_next(request.form.get("next")) or url_for("main.index")
    return redirect(back, 303)
