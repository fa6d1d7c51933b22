from flask import Blueprint

bp = Blueprint("auth", __name__)

from crm.auth import account, two_step, views  # noqa: E402,F401
