"""Values read once per request and kept for the rest of it.

Kept on the request itself, not on `g`: an app context can outlive a request (a command, or
tests sharing one app), and a value kept there would outlive the data it was read from.
"""

from flask import has_request_context, request

KEPT = "crm.kept"


def once_per_request(name, make):
    """What `make()` gives, kept for the rest of the request (made afresh outside one)."""
    if not has_request_context():
        return make()
    kept = request.environ.setdefault(KEPT, {})
    if name not in kept:
        kept[name] = make()
    return kept[name]
