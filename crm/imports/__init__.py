from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/settings/import")

from crm.imports import views  # noqa: E402,F401
