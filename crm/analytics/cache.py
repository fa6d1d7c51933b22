"""Reports computed once and shown again while nothing they count has changed.

Results are keyed on the data version, which lives in the database and goes up with every write
to leads, activities, stage changes and the funnel's settings. A write in any worker or on any
server changes the version everywhere. Results are plain values (ids, numbers, text), never
database objects, so they outlive the request that made them.

A report may lag colleagues' writes by up to REPORTS_MAY_LAG_SECONDS (30 by default): while a
team logs a contact every second, a year's funnel would otherwise be counted afresh for every
look, and its quarter of a second of work would slow everybody's pages. It never lags the
viewer's own writes: each request that writes notes the version it made in the viewer's
session, and a result older than that is computed afresh.

So that a manager seldom waits for a count:
- a report's result is also kept in the database (KeptReport), so one count serves every
  worker and server, not just the worker that made it;
- a result past half its lag is still shown, and the worker counts the next one once the
  answer has gone out; a manager waits for a count only when nobody looked for the whole lag.

Two requests wanting the same result at once compute it once: the second waits for the first.
"""

import hashlib
import logging
import pickle
import threading
import time
from collections import OrderedDict
from functools import cached_property
from pathlib import Path

from flask import (
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    session,
)
from sqlalchemy import delete, select

from crm import data_version
from crm.database import insert
from crm.extensions import db
from crm.models import KeptReport

log = logging.getLogger(__name__)

# Results kept per worker; a report's result is a few kilobytes.
KEPT = 64
# Where the session keeps the data version the viewer's latest write made.
SESSION_KEY = "wrote"
# Results in the database not counted again for this long are dropped.
SHARED_FOR_SECONDS = 24 * 3600
# Results are pickled instances of the reports' own classes: one pickled by other code (before
# an upgrade, or by a server not yet upgraded) is never read.
CODE = hashlib.sha256(
    b"".join(path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py")))
).hexdigest()
# Refreshes to run once the answer has gone out, kept on `g`.
REFRESHES = "crm_report_refreshes"


def now():
    """Seconds since the epoch: a result's age is compared across servers."""
    return time.time()


class Kept:
    def __init__(self, version, result, made=None):
        self.version, self.result = version, result
        # Wall-clock seconds, so that workers on several servers agree on a result's age.
        self.made = now() if made is None else made


class Slot:
    """Where a result is kept: in this worker for its database, and, for reports, in the
    database under a digest."""

    def __init__(self, report, key, shared):
        self.report, self.key, self.shared = report, key, shared
        # The database too: a process may serve several (tests do), each counting from 0.
        self.local = (db.engine.url, report, key)

    @cached_property
    def digest(self):
        """Its name in the database (worked out only for a shared result: a board, which asks
        on every poll that found a change, keeps its counts in the worker alone)."""
        return hashlib.sha256(repr((CODE, self.report, self.key)).encode()).hexdigest()


_results = OrderedDict()
_computing = {}
_lock = threading.Lock()


def remember(report, key, compute, version=None, may_lag=False):
    """The result of `compute()` for `report` and `key` at the current data version (or at
    `version`, read by the caller before anything `compute` reads). With `may_lag`, one made
    at an earlier version will do while it is young enough and not older than the viewer's
    own last write; it is kept in the database too, and refreshed after the answer once past
    half its lag."""
    if version is None:
        version = data_version.current(db.session)
    lag = current_app.config["REPORTS_MAY_LAG_SECONDS"] if may_lag else 0
    slot = Slot(report, key, shared=lag > 0)
    kept = kept_locally(slot, version, lag) or kept_in_database(slot, version, lag)
    if kept is None:
        return compute_once(slot, compute, version, lag)
    if not fresh(kept, version, lag):
        refresh_after_answer(slot, compute)
    return kept.result


def fresh(kept, version, lag):
    """Whether a usable result is new enough not to be counted again yet."""
    return kept.version == version or now() - kept.made <= lag / 2


def kept_locally(slot, version, lag):
    with _lock:
        kept = _results.get(slot.local)
        if kept is not None and usable(kept, version, lag):
            _results.move_to_end(slot.local)
            return kept
    return None


def kept_in_database(slot, version, lag):
    """The result another worker counted, when it will do; kept here too from now on."""
    if not slot.shared:
        return None
    row = db.session.execute(
        select(KeptReport.version, KeptReport.made_at, KeptReport.result).where(
            KeptReport.slot == slot.digest
        )
    ).first()
    if row is None:
        return None
    kept = Kept(row.version, None, row.made_at)
    if not usable(kept, version, lag):
        return None
    # Bytes this app pickled into its own database: whoever can write there owns it already.
    kept.result = pickle.loads(row.result)  # noqa: S301
    keep_locally(slot, kept)
    return kept


def compute_once(slot, compute, version, lag):
    while True:
        with _lock:
            kept = _results.get(slot.local)
            if kept is not None and usable(kept, version, lag):
                return kept.result
            busy = _computing.get(slot.local)
            if busy is None:
                busy = _computing[slot.local] = threading.Event()
                break
        # Another request is computing it: take its result rather than compute it twice.
        busy.wait()
    return compute_and_keep(slot, compute, version, busy)


def compute_and_keep(slot, compute, version, busy):
    """Compute and keep the result; then let go of `busy`, which other requests for the same
    result wait on."""
    try:
        result = compute()
        keep(slot, Kept(version, result))
        return result
    finally:
        with _lock:
            _computing.pop(slot.local, None)
        busy.set()


def keep(slot, kept):
    keep_locally(slot, kept)
    if slot.shared:
        keep_in_database(slot, kept)


def keep_locally(slot, kept):
    with _lock:
        _results[slot.local] = kept
        _results.move_to_end(slot.local)
        while len(_results) > KEPT:
            _results.popitem(last=False)


def keep_in_database(slot, kept):
    """Store the result for every worker, in a transaction of its own: the request's own reads
    go on undisturbed, and a SQLite reader never has to turn writer halfway."""
    values = {"version": kept.version, "made_at": kept.made, "result": pickle.dumps(kept.result)}
    statement = insert(KeptReport).values(slot=slot.digest, **values)
    with db.engine.begin() as connection:
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[KeptReport.slot],
                set_=values,
                where=KeptReport.version <= kept.version,
            )
        )
        connection.execute(
            delete(KeptReport).where(KeptReport.made_at < kept.made - SHARED_FOR_SECONDS)
        )


def refresh_after_answer(slot, compute):
    """Count the result afresh once this request's answer has gone out (see init_app)."""
    if has_request_context():
        g.setdefault(REFRESHES, []).append((slot, compute))


def refresh(slot, compute):
    """Count afresh, unless another request of this worker is at it, or one of any worker
    already did."""
    version = data_version.current(db.session)
    lag = current_app.config["REPORTS_MAY_LAG_SECONDS"]
    for find in (kept_locally, kept_in_database):
        kept = find(slot, version, lag)
        if kept is not None and fresh(kept, version, lag):
            return
    with _lock:
        if slot.local in _computing:
            return
        busy = _computing[slot.local] = threading.Event()
    compute_and_keep(slot, compute, version, busy)


def usable(kept, version, lag):
    if kept.version == version:
        return True
    young = now() - kept.made <= lag
    return young and version > kept.version >= own_last_write()


def own_last_write():
    """The data version the viewer's own latest write made (0 when none is known)."""
    if not has_request_context():
        return 0
    return max(g.get(data_version.WROTE, 0), session.get(SESSION_KEY, 0))


def init_app(app):
    @app.after_request
    def keep_own_write(response):
        """A signed-in viewer's write, remembered for their next requests."""
        wrote = g.get(data_version.WROTE)
        if wrote and "_user_id" in session and wrote > session.get(SESSION_KEY, 0):
            session[SESSION_KEY] = wrote
        return response

    @app.after_request
    def refresh_once_answered(response):
        """The refreshes this request found due, run by its worker after the answer is sent:
        the viewer has their page, and the next viewer gets the new count."""
        for slot, compute in g.pop(REFRESHES, ()):
            response.call_on_close(copy_current_request_context(quietly(refresh, slot, compute)))
        return response


def quietly(work, *args):
    """`work(*args)`, its failure logged: the answer it follows has already gone out fine."""

    def run():
        try:
            work(*args)
        except Exception:
            log.exception("Refreshing a kept report failed")

    return run


def forget_in_this_worker():
    """Drop the results this worker keeps (those in the database stay)."""
    with _lock:
        _results.clear()


def forget_all():
    """Drop every kept result (for timing the computation itself): this worker's, and, within
    an app context, those in the database."""
    forget_in_this_worker()
    if has_app_context():
        with db.engine.begin() as connection:
            connection.execute(delete(KeptReport))
