from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")

from crm.leads import changes, page, people, views  # noqa: E402,F401
