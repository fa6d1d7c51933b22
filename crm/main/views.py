import hashlib
import shutil
from pathlib import Path

from flask import current_app, make_response, redirect, request, session, url_for
from flask_login import current_user, login_required

from crm import field_display, i18n, lists
from crm.extensions import db
from crm.main import bp
from crm.security import safe_next


@bp.route("/")
@login_required
def index():
    """The start page is the agenda."""
    return redirect(url_for("agenda.index"))


# Under this share of the disk free, /healthz says the server is degraded.
DISK_FREE_LOW = 0.05


@bp.route("/healthz")
def healthz():
    """A trivial route: proves the process answers, and is the floor for benchmarks. Says
    "degraded" when the disk holding the data is nearly full (writes will soon fail)."""
    usage = shutil.disk_usage(current_app.instance_path)
    text = "ok"
    if usage.free < usage.total * DISK_FREE_LOW:
        text = f"degraded: {100 * usage.free / usage.total:.1f}% of the disk free"
    return text, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language; stored on the account when logged in."""
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["locale"] = language
        if current_user.is_authenticated:
            current_user.locale = language
            db.session.commit()
        i18n.switch_language()
    back = safe_next(request.form.get("next")) or url_for("main.index")
    return redirect(back, 303)


# Part of the stylesheet's version: raise it when the colours it writes for the same stages
# change (as when contrast-safe badges came in), so browsers drop the copy they kept.
STAGE_STYLES_FORMAT = 2


@bp.route("/stages.css")
def stage_styles():
    """Each stage's badge colours as a class, so pages need no inline styles: the background
    its name reads on (see crm.colours) and the text colour for it."""
    stages = lists.stages_in_order()
    css = "\n".join(
        f".stage-{s.id} {{ --stage-bg: {s.badge_colour}; --stage-fg: {s.text_colour}; }}"
        for s in stages
    )
    response = make_response(css + "\n")
    response.mimetype = "text/css"
    # The URL carries a version of the colours, so browsers may keep it.
    response.cache_control.public = True
    response.cache_control.max_age = 31536000
    return response


@bp.route("/option-colours.css")
def option_styles():
    """The colours of the choice fields' options as classes (see crm.field_display)."""
    response = make_response(field_display.option_styles())
    response.mimetype = "text/css"
    # The URL carries a version of the colours, so browsers may keep it.
    response.cache_control.public = True
    response.cache_control.max_age = 31536000
    return response


@bp.app_context_processor
def stage_styles_url():
    """The link to the stage colours, versioned by the colours themselves."""

    def url():
        rows = [(stage_id, colour) for stage_id, colour, *_rest in lists.stage_rows()]
        key = repr((STAGE_STYLES_FORMAT, rows)).encode()
        version = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:10]
        return url_for("main.stage_styles", v=version)

    return {"stage_styles_url": url}


@bp.route("/sw.js")
def service_worker():
    """The service worker, served from the root so that it may act for every page (its scope
    cannot reach above the folder it is served from). Checked afresh on every visit."""
    script = Path(current_app.static_folder, "sw.js").read_text(encoding="utf-8")
    response = make_response(script)
    response.mimetype = "text/javascript"
    response.cache_control.no_cache = True
    return response
