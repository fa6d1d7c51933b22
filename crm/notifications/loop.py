"""The loop that sends reminders without another process: a thread in each worker.

It starts with the worker's first request (gunicorn forks its workers after loading nothing,
so each worker starts its own), wakes every NOTIFY_INTERVAL_SECONDS (give or take a tenth, so
workers drift apart) and runs a pass. The pass's lease lets one of them, on one server, do the
work at a time; the others find it held and sleep again. Tests and commands never start it
(NOTIFY_IN_APP, TESTING); `flask --app crm notify` runs one pass instead.
"""

import os
import random
import threading

from crm.notifications import dispatch

FIRST_PASS_AFTER_SECONDS = 5
_started = {}
_lock = threading.Lock()


def init_app(app):
    if not app.config["NOTIFY_IN_APP"] or app.testing:
        return

    @app.before_request
    def start_the_loop():
        start(app)


def start(app, stop=None):
    """Start this process's loop for `app`, once; the thread (already running: None)."""
    key = (id(app), os.getpid())
    with _lock:
        if key in _started:
            return None
        thread = threading.Thread(
            target=run, args=(app, stop or threading.Event()), name="notifications", daemon=True
        )
        _started[key] = thread
    thread.start()
    return thread


def run(app, stop):
    interval = float(app.config["NOTIFY_INTERVAL_SECONDS"])
    wait = min(FIRST_PASS_AFTER_SECONDS, interval)
    while not stop.wait(wait):
        try:
            with app.app_context():
                tally = dispatch.run_pass()
            if tally.held and (tally.sent or tally.failed):
                app.logger.info(
                    "notifications: %d made, %d sent, %d to retry, %d failed",
                    *(tally.made, tally.sent, tally.retried, tally.failed),
                )
        except Exception:
            # The loop outlives a bad pass (the database restarting, say): the next one retries.
            app.logger.exception("notifications: the pass failed")
        wait = interval * random.uniform(0.9, 1.1)  # noqa: S311 (spreading, not secrecy)
