from flask import Blueprint

# The administrators' pages live under /settings/telephony, the phone systems' under /hooks.
bp = Blueprint("telephony", __name__)

from crm.telephony import hooks, views  # noqa: E402,F401


@bp.app_context_processor
def calls_owed_in_the_navigation():
    """The navigation's count of the person's calls to write up: one indexed count a page."""
    from flask_login import current_user

    from crm.telephony.calls import owed_count

    def calls_owed():
        return owed_count(current_user.id) if current_user.is_authenticated else 0

    return {"calls_owed": calls_owed}
