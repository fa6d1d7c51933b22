"""The one module that reads and writes htmx headers (htmx 4), and the `Vary` they call for.

Views ask it whether a request wants a fragment, and build their answers with it: a page or a
fragment, a redirect htmx follows, an answer aimed somewhere other than the request's target, an
event for the page to react to, or a reload of the whole page.
"""

from flask import make_response, redirect, render_template, request

VARY_ON = "HX-Request"
MESSAGES = "#messages"


def is_partial():
    """True when htmx asked for a fragment to swap, not a whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Request-Type", "partial") == "partial"
    )


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def render(page, partial, status=200, **context):
    """Render the full `page`, or only `partial` for an htmx request; both see the same context."""
    template = partial if is_partial() else page
    return fragment(render_template(template, **context), status)


def fragment(body, status=200):
    """An answer that differs with the htmx headers: caches are told so."""
    response = make_response(body, status)
    response.vary.add(VARY_ON)
    return response


def no_content():
    """Nothing to swap (an htmx poll that found nothing new)."""
    return fragment("", 204)


def redirect_to(url):
    """Redirect; for htmx, `HX-Redirect` loads the new page whole instead of swapping it in."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
    else:
        response = redirect(url, 303)
    response.vary.add(VARY_ON)
    return response


def retarget(response, target, swap="innerHTML"):
    """Swap this answer into `target` instead of the request's own target."""
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response


def to_messages(response):
    """Send this fragment to the page's message area instead of the request's own target."""
    return retarget(response, MESSAGES, "beforeend")


def trigger(response, event):
    """Have the page fire `event` once this answer is swapped in."""
    response.headers["HX-Trigger"] = event
    return response


def refresh(response):
    """Have the page load itself again whole."""
    response.headers["HX-Refresh"] = "true"
    return response
