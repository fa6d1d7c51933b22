from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from crm.settings import audit_log, email, fields, pipelines, views  # noqa: E402,F401
