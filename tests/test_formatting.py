"""Dates shown in the user's time zone."""

from datetime import datetime

from flask_babel import force_locale

from crm.extensions import db
from crm.formatting import next_step_state, when


def test_when_shows_the_users_local_time(app, client, auth, admin):
    admin.timezone = "Europe/Moscow"
    db.session.commit()
    auth.login(admin.email)
    with app.test_request_context(), force_locale("en"):
        from flask_login import login_user

        login_user(admin)
        assert when(datetime(2026, 11, 27, 22, 30)) == "Nov 28, 2026 1:30\u202fAM"
        # Local midnight shows as a date alone.
        assert when(datetime(2026, 11, 27, 21, 0)) == "Nov 28, 2026"
        assert next_step_state(None) == "none"


def test_dates_typed_in_moscow_are_stored_in_utc(app, admin):
    from flask_login import login_user

    from crm.timezones import to_local, to_utc

    admin.timezone = "Europe/Moscow"
    db.session.commit()
    with app.test_request_context():
        login_user(admin)
        assert to_utc(datetime(2026, 11, 28, 1, 30)) == datetime(2026, 11, 27, 22, 30)
        assert to_local(datetime(2026, 11, 27, 22, 30)) == datetime(2026, 11, 28, 1, 30)
