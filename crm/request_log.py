"""One log line per request, in logfmt, with its timing and an id that error pages show:

  method=GET path=/leads/ status=200 duration_ms=12.4 user=3 remote=203.0.113.9 request_id=5f2c9a1b

logfmt rather than JSON: the line follows the timestamp and level of the handler that writes it
(Flask's, into gunicorn's error log or the journal), stays readable there, and log tools
(Loki, Vector, `grep status=500`) split it as it is.
"""

import logging
import re
import secrets
import time

from flask import g, request, request_finished, request_started

from crm.security import acting_user_id

logger = logging.getLogger("crm.requests")

# A reverse proxy asks every few seconds whether the app answers: not worth a line each time.
QUIET_ENDPOINTS = {"main.healthz"}
# The URL argument of addresses that are themselves the key (the calendar feed, intake forms):
# its value is never logged.
SECRET_ARGUMENT = "token"  # noqa: S105 (the name of a URL argument, not a secret)
# Printable ASCII but for the space, quote, equals sign and backslash: written as it is.
PLAIN_VALUE = re.compile(r"[!#-<>-\[\]-~]+")


def init_app(app):
    # The app's logger carries Flask's handler to wsgi.errors (gunicorn's error log) or stderr;
    # the request lines reach it by propagation.
    app.logger  # noqa: B018  (made on first use; made here so the lines have a handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    # Signals rather than before/after_request hooks: they come before the first hook (a CSRF
    # refusal in an earlier hook is still timed) and after the last one (the final status).
    request_started.connect(start_timing, app)
    request_finished.connect(log_request, app)


def request_id():
    """The request's short random id, made when first asked for."""
    if "request_id" not in g:
        g.request_id = secrets.token_hex(4)
    return g.request_id


def start_timing(_app, **_extra):
    if request.endpoint != "static":
        g.request_started = time.perf_counter()
        request_id()


def log_request(_app, response, **_extra):
    started = g.get("request_started")
    if started is None:
        return
    response.headers["X-Request-ID"] = request_id()
    level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
    if logger.isEnabledFor(level):
        fields = {
            "method": request.method,
            "path": logged_path(),
            "status": response.status_code,
            "duration_ms": f"{(time.perf_counter() - started) * 1000:.1f}",
            "user": logged_in_user_id(),
            "remote": request.remote_addr,
            "request_id": request_id(),
        }
        logger.log(level, logfmt(fields))


def logged_path():
    """The path without the query string (searches hold names and phone numbers), and with a
    secret that is part of the address hidden."""
    path = request.path
    secret = (request.view_args or {}).get(SECRET_ARGUMENT)
    if secret:
        path = path.replace(str(secret), "***")
    return path


def logged_in_user_id():
    """The user the request already loaded: asking `current_user` could cost a query."""
    return acting_user_id()


def logfmt(fields):
    return " ".join(f"{key}={logfmt_value(value)}" for key, value in fields.items())


def logfmt_value(value):
    if value is None:
        return "-"
    text = str(value)
    if PLAIN_VALUE.fullmatch(text):
        return text
    # Quoted with escapes: a path cannot break the line or forge another field.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped)
    return f'"{escaped}"'
