"""Logins, sessions that really end, and the headers every response carries."""

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, has_request_context, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_url, login_user, logout_user
from sqlalchemy import exists, inspect, select

from crm import data_version, htmx, kept_settings
from crm.extensions import db, login_manager
from crm.models import NotificationInbox, User

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)

# Endpoints reachable before the first account exists.
SETUP_ALLOWED = {
    "auth.setup",
    "static",
    "main.healthz",
    "main.set_language",
    "main.manifest",
    "main.service_worker",
}


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(require_setup)
    app.after_request(set_security_headers)


@login_manager.unauthorized_handler
def send_to_login():
    """To the login page, and back here afterwards; htmx reloads the whole page to get there."""
    if not htmx.is_htmx():
        flash(login_manager.login_message, login_manager.login_message_category)
    return htmx.redirect_to(login_url("auth.login", next_url=request.full_path.rstrip("?")))


# On `g`: (user id, unread, version) of the person's inbox, read with the user.
NOTED_BELL = "crm_bell"

# Areas for programs, not browsers: a session cookie never opens them (no CSRF check there).
SESSIONLESS_AREAS = ("api",)


@login_manager.user_loader
def load_user(session_id):
    """Accept the session only while its version matches the user's current one."""
    if request.blueprint in SESSIONLESS_AREAS:
        return None
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    # The settings' and the data's versions and the person's bell come in the same statement:
    # pages keep their pick lists by the first, and an open board's or bell's poll with nothing
    # new needs no other statement than this one.
    found = db.session.execute(
        select(
            User,
            kept_settings.version_column,
            data_version.version_column,
            NotificationInbox.unread,
            NotificationInbox.version,
        )
        .outerjoin(NotificationInbox, NotificationInbox.user_id == User.id)
        .where(User.id == int(user_id))
    ).first()
    if found is None:
        return None
    user, settings_version, data, unread, bell_version = found
    kept_settings.note_version(settings_version)
    data_version.note(data)
    g.setdefault(NOTED_BELL, (user.id, unread or 0, bell_version or 0))
    if not user.active or user.session_version != int(version):
        return None
    return acting_as(user)


def noted_bell(user_id):
    """(unread, version) of the person's inbox as read with their user, or None once this
    request changed an inbox (crm.notifications.inbox forgets it then)."""
    noted = g.get(NOTED_BELL) if has_request_context() else None
    return noted[1:] if noted is not None and noted[0] == user_id else None


def forget_noted_bell():
    if has_request_context():
        setattr(g, NOTED_BELL, None)


def acting_as(user):
    """Note who this request acts for, so the audit trail and the request log can ask without a
    query (the audit trail asks in the middle of a flush)."""
    g.acting_user = user
    return user


def acting_user():
    """The user this request acts for, if one was loaded; None otherwise."""
    return g.get("acting_user")


def acting_user_id():
    """The id of the user this request acts for, or None: known without a query, even inside a
    flush (the audit trail asks there) or once a commit has expired the user's columns."""
    if not has_request_context():
        return None
    user = acting_user()
    return inspect(user).identity[0] if user is not None else None


def log_in(user):
    login_user(user)
    acting_as(user)


def log_out():
    logout_user()
    g.pop("acting_user", None)


def setup_done():
    """Whether the first account exists; once true it stays true, so it is asked only until then."""
    if current_app.extensions.get("crm.setup_done"):
        return True
    done = db.session.scalar(select(exists().where(User.id.isnot(None))))
    if done:
        current_app.extensions["crm.setup_done"] = True
    return done


SETUP_FREE_AREAS = ("api", "intake")


def require_setup():
    """Until the first administrator exists, every page leads to the setup page."""
    if request.endpoint in SETUP_ALLOWED or request.endpoint is None:
        return None
    # Programs are not people: they get their own refusal (a token cannot exist yet).
    if request.blueprint in SETUP_FREE_AREAS:
        return None
    if not setup_done():
        return htmx.redirect_to(url_for("auth.setup"))
    return None


def admin_required(view):
    """Log in first, then only administrators pass."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def rotate_session():
    """A fresh session at login: nothing from before the login carries over."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def set_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["HTTPS"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    # Whether a user was loaded, not `current_user.is_authenticated`: after a commit, asking
    # would read the user's row again.
    if request.endpoint != "static" and acting_user() is not None:
        # Pages of a logged-in user are never kept by the browser after logout.
        headers.setdefault("Cache-Control", "no-store")
    return response


def safe_next(target):
    """Follow `next` only to a path on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
