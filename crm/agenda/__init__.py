from flask import Blueprint

bp = Blueprint("agenda", __name__, url_prefix="/agenda")

from crm.agenda import calendar, calls, missed, views  # noqa: E402,F401
