from flask import Blueprint

bp = Blueprint("analytics", __name__, url_prefix="/analytics")

from crm.analytics import views  # noqa: E402,F401
