"""Errors as JSON: `{"error": {"message": ..., "field": ...}}`, in the token owner's language."""

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from crm import errors as pages
from crm.api import bp
from crm.extensions import db


class ApiError(Exception):
    """A request refused: the status, a message for the person reading it, the field at fault."""

    def __init__(self, status, message, field=None, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.extra = extra


def invalid(message, field=None):
    return ApiError(422, message, field)


def error_response(status, message, field=None, **extra):
    response = jsonify({"error": {"message": str(message), "field": field, **extra}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def under_api():
    prefix = bp.url_prefix
    return request.path == prefix or request.path.startswith(prefix + "/")


@bp.errorhandler(ApiError)
def refused(error):
    db.session.rollback()
    return error_response(error.status, error.message, error.field, **error.extra)


@bp.errorhandler(HTTPException)
def http_error(error):
    """What Werkzeug raises inside the API (a body too large, a missing route): as JSON."""
    db.session.rollback()
    status = error.code or 500
    return pages.with_headers_of(error, error_response(status, pages.explanation_for(status)))


@bp.errorhandler(Exception)
def unexpected_error(error):
    """Roll back whatever the request half-did and log it: a client gets JSON, not a page."""
    db.session.rollback()
    if pages.disk_full(error):
        pages.log_disk_full()
        return error_response(503, pages.disk_full_message())
    current_app.logger.exception("Unhandled error in the API", exc_info=error)
    return error_response(500, pages.explanation_for(500))


# An address under /api/v1 that matches no route never reaches the blueprint's handlers.
@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def no_such_route(error):
    if under_api():
        return http_error(error)
    return pages.http_error(error)
