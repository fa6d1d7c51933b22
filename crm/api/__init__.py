from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from crm.api import errors, views  # noqa: E402,F401
