"""Notifications: the list under the bell, email, reminders, digests, and the loop that sends
them (see dispatch.py for the at-most-once rule)."""

from flask import Blueprint
from flask_login import current_user

bp = Blueprint("notifications", __name__)


def init_app(app):
    from crm.notifications import inbox, loop

    loop.init_app(app)

    @app.context_processor
    def bell():
        # A callable: a page pays for the bell's one read only where base.html draws it.
        def state():
            unread, version = inbox.bell(current_user.id)
            return {"unread": unread, "version": version}

        return {"bell_state": state}


from crm.notifications import views  # noqa: E402,F401
