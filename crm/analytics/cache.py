"""Reports computed once and shown again while nothing they count has changed.

Each worker keeps its own results, keyed on the data version, which lives in the database and
goes up with every write to leads, activities, stage changes and the funnel's settings. A write
in any worker or on any server changes the key everywhere, so a stale result is never shown;
the next view computes afresh. Results are plain values (ids, numbers, text), never database
objects, so they outlive the request that made them.
"""

import threading
from collections import OrderedDict

from crm import data_version
from crm.extensions import db

# Results kept per worker; a report's result is a few kilobytes.
KEPT = 64

_results = OrderedDict()
_lock = threading.Lock()


def remember(report, key, compute, version=None):
    """The result of `compute()` for `report` and `key` at the current data version (or at
    `version`, read by the caller before anything `compute` reads)."""
    if version is None:
        version = data_version.current(db.session)
    # The database too: a process may serve several (tests do), each counting from 0.
    full_key = (db.engine.url, report, key, version)
    with _lock:
        if full_key in _results:
            _results.move_to_end(full_key)
            return _results[full_key]
    result = compute()
    with _lock:
        _results[full_key] = result
        while len(_results) > KEPT:
            _results.popitem(last=False)
    return result


def forget_all():
    """Drop every kept result (for timing the computation itself)."""
    with _lock:
        _results.clear()
