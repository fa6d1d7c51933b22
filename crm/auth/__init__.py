from flask import Blueprint

bp = Blueprint("auth", __name__)

from crm.auth import account, devices, two_step, views  # noqa: E402,F401
