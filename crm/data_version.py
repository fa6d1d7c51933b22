"""One number that goes up with every change to what the pages show.

Open boards poll it to learn, for the price of one primary-key read, whether anything changed;
caches key on it. It lives in the database, so every worker and every app server sees the same
number. A session event bumps it once per transaction that writes leads, activities or the
funnel's settings, so no write path can forget to.
"""

from flask import g

from crm.models import (
    Activity,
    ActivityKind,
    Lead,
    LostReason,
    Stage,
    StageChange,
    User,
)
from crm.version_counters import VersionCounter

# Kept on `g`: the version this request's latest write made (crm.analytics.cache reads it).
WROTE = "crm_wrote_version"


def _wrote(made):
    setattr(g, WROTE, max(g.get(WROTE, 0), made))


VERSION = VersionCounter(
    "data", (Lead, Activity, StageChange, Stage, ActivityKind, LostReason, User), on_bump=_wrote
)
version_column = VERSION.column
# For writes no event sees, such as bulk inserts.
bump = VERSION.bump
# The version read with the request's user (crm.security.load_user): an open board's poll then
# answers "nothing new" with that one statement.
note = VERSION.note


def current(session):
    """The version now: the one read with the user, unless this request has written since."""
    noted = VERSION.noted_version()
    if noted is not None and not written_here(session):
        return noted
    return VERSION.read(session)


def written_here(session):
    return WROTE in g or VERSION.bumped_in(session)
