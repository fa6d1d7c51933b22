from flask import Blueprint

# The administrators' pages live under /settings/telephony, the phone systems' under /hooks.
bp = Blueprint("telephony", __name__)

from crm.telephony import hooks, views  # noqa: E402,F401
