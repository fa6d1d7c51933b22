"""Friendly error pages; htmx requests get a short message in the page's message area."""

import errno
import shutil
import sqlite3

from flask import current_app, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound

from crm import htmx, request_log
from crm.args import MAX_ID
from crm.extensions import db


def init_app(app):
    app.url_value_preprocessor(no_ids_beyond_the_database)
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


def no_ids_beyond_the_database(endpoint, values):
    """A number in an address larger than any id names nothing: 404, not a query the database
    refuses (SQLite and PostgreSQL fail on such a number rather than find nothing). The API
    checks its numbers itself, to say which lead it did not find."""
    if not values or (endpoint or "").startswith("api."):
        return
    if any(isinstance(value, int) and value > MAX_ID for value in values.values()):
        raise NotFound()


def title_for(status):
    return {
        400: _("Bad request"),
        403: _("Not allowed"),
        404: _("Page not found"),
        405: _("Not allowed"),
        413: _("Too large"),
        429: _("Too many attempts"),
        500: _("Something went wrong"),
        503: _("The disk is full"),
    }.get(status, _("Error"))


def explanation_for(status):
    return {
        403: _("You do not have access to this page."),
        404: _("There is nothing at this address. It may have been moved or never existed."),
        405: _("This address does not accept that kind of request."),
        413: _("The upload is too large."),
        500: _("The error has been logged and nothing was saved. Please try again."),
    }.get(status, title_for(status))


def render_error(status, message=None, reference=None):
    """The error page, or for htmx a message fragment aimed at the message area; `reference`
    is the id under which the error was logged."""
    message = message or explanation_for(status)
    if htmx.is_htmx():
        body = render_template("errors/_message.html", message=message, reference=reference)
        return htmx.to_messages(htmx.fragment(body, status))
    body = render_template(
        "errors/error.html",
        title=title_for(status),
        message=message,
        status=status,
        reference=reference,
    )
    return htmx.fragment(body, status)


def http_error(error):
    return with_headers_of(error, render_error(error.code or 500))


def with_headers_of(error, response):
    """`response` with the headers the HTTP error carries besides its own page's: a 405's
    Allow, the methods the address takes, as HTTP asks of a 405."""
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def csrf_failed(_error):
    return render_error(
        400,
        _("This form has expired or was sent from elsewhere. Reload the page and try again."),
    )


def unexpected_error(error):
    """Roll back whatever the request half-did, log it, and show a calm page with the id of
    the log entry, the same as the request's log line, for whoever reports it."""
    db.session.rollback()
    if isinstance(error, HTTPException):
        return http_error(error)
    if disk_full(error):
        log_disk_full()
        return render_error(503, disk_full_message())
    reference = log_unexpected(error)
    return render_error(500, reference=reference)


def disk_full(error):
    """Whether `error` says the disk is full: SQLite's SQLITE_FULL, PostgreSQL's disk_full
    (SQLSTATE 53100), or the system's ENOSPC, as raised or as the database driver's."""
    original = getattr(error, "orig", None) or error
    if isinstance(original, OSError) and original.errno == errno.ENOSPC:
        return True
    if getattr(original, "sqlstate", None) == "53100":
        return True
    return getattr(original, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def disk_full_message():
    return _("The server's disk is full; nothing was saved. Tell your administrator.")


# Logged once per process: every request fails the same way until someone makes room.
DISK_FULL_LOGGED = []


def log_disk_full():
    if DISK_FULL_LOGGED:
        return
    DISK_FULL_LOGGED.append(True)
    usage = shutil.disk_usage(current_app.instance_path)
    current_app.logger.error(
        "The disk is full: %.1f MB free of %.1f MB (instance folder %s)",
        usage.free / 1e6,
        usage.total / 1e6,
        current_app.instance_path,
    )


def log_unexpected(error):
    """Log the traceback under the request's id, and return the id."""
    reference = request_log.request_id()
    current_app.logger.error("Unhandled error request_id=%s", reference, exc_info=error)
    return reference
