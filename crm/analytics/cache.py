"""Reports computed once and shown again while nothing they count has changed.

Each worker keeps its own results, keyed on the data version, which lives in the database and
goes up with every write to leads, activities, stage changes and the funnel's settings. A write
in any worker or on any server changes the version everywhere. Results are plain values (ids,
numbers, text), never database objects, so they outlive the request that made them.

A report may lag colleagues' writes by up to REPORTS_MAY_LAG_SECONDS (30 by default): while a
team logs a contact every second, a year's funnel would otherwise be counted afresh for every
look, and its quarter of a second of work would slow everybody's pages. It never lags the
viewer's own writes: each request that writes notes the version it made in the viewer's
session, and a result older than that is computed afresh.

Two requests wanting the same result at once compute it once: the second waits for the first.
"""

import threading
import time
from collections import OrderedDict

from flask import current_app, g, has_request_context, session

from crm import data_version
from crm.extensions import db

# Results kept per worker; a report's result is a few kilobytes.
KEPT = 64
# Where the session keeps the data version the viewer's latest write made.
SESSION_KEY = "wrote"


class Kept:
    def __init__(self, version, result):
        self.version, self.result, self.made = version, result, time.monotonic()


_results = OrderedDict()
_computing = {}
_lock = threading.Lock()


def remember(report, key, compute, version=None, may_lag=False):
    """The result of `compute()` for `report` and `key` at the current data version (or at
    `version`, read by the caller before anything `compute` reads). With `may_lag`, one made
    at an earlier version will do while it is young enough and not older than the viewer's
    own last write."""
    if version is None:
        version = data_version.current(db.session)
    # The database too: a process may serve several (tests do), each counting from 0.
    slot = (db.engine.url, report, key)
    lag = current_app.config["REPORTS_MAY_LAG_SECONDS"] if may_lag else 0
    while True:
        with _lock:
            kept = _results.get(slot)
            if kept is not None and usable(kept, version, lag):
                _results.move_to_end(slot)
                return kept.result
            busy = _computing.get(slot)
            if busy is None:
                busy = _computing[slot] = threading.Event()
                break
        # Another request is computing it: take its result rather than compute it twice.
        busy.wait()
    try:
        result = compute()
        with _lock:
            _results[slot] = Kept(version, result)
            _results.move_to_end(slot)
            while len(_results) > KEPT:
                _results.popitem(last=False)
        return result
    finally:
        with _lock:
            _computing.pop(slot, None)
        busy.set()


def usable(kept, version, lag):
    if kept.version == version:
        return True
    young = time.monotonic() - kept.made <= lag
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


def forget_all():
    """Drop every kept result (for timing the computation itself)."""
    with _lock:
        _results.clear()
