from flask import Blueprint

# The administrators' pages live under /settings, the public endpoint under /intake.
bp = Blueprint("intake", __name__)

from crm.intake import public, views  # noqa: E402,F401
