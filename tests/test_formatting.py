"""Dates shown in the user's time zone."""

from datetime import datetime
from decimal import Decimal

import pytest
from babel import numbers
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.extensions import db
from crm.formatting import money, next_step_state, when

pytestmark = pytest.mark.sqlite_only


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


def test_ago_words_each_span_as_babel_does_in_both_languages(app):
    """Wordings are kept by the unit and count they say; each must still be Babel's own."""
    import random
    from datetime import timedelta

    from babel import dates

    from crm import formatting
    from crm.models import utcnow

    rng = random.Random(15)
    spans = [timedelta(seconds=s) for s in (0, 0.4, 1, 49.5, 59, 3599, 3600 * 26, 86400 * 800)]
    spans += [timedelta(seconds=rng.uniform(0, 10 ** rng.randint(1, 8))) for _ in range(300)]
    for language, ago_word in (("en", "ago"), ("ru", "назад")):
        # A context of its own: the request's locale is read once and kept on `g`.
        with app.app_context(), app.test_request_context(), force_locale(language):
            for span in spans:
                moment = utcnow() - span
                text = formatting.ago(moment)
                # The clock moves on between the two readings: compare with both ends.
                worded = {
                    dates.format_timedelta(utcnow() - moment, threshold=1.1, locale=language),
                    dates.format_timedelta(span, threshold=1.1, locale=language),
                }
                assert text.endswith(ago_word)
                assert any(text.startswith(words) for words in worded), (span, text, worded)


@given(
    cents=st.integers(min_value=-(10**15), max_value=10**15),
    scale=st.sampled_from([1, 10, 100, 1000]),
)
# The app is only read: each value is formatted in a request context of its own.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_money_reads_as_babel_writes_it_in_both_languages(app, cents, scale):
    """Amounts are grouped and rounded as Babel's patterns would, in English and Russian."""
    value = Decimal(cents) / scale
    pattern = "#,##0.##" if value == int(value) else "#,##0.00"
    for language in ("en", "ru"):
        with app.app_context(), app.test_request_context(), force_locale(language):
            assert money(value) == numbers.format_decimal(value, format=pattern, locale=language)
