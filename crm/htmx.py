"""The one module that reads and writes htmx headers (htmx 4)."""

from flask import make_response, redirect, render_template, request

VARY_ON = "HX-Request"


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
    response = make_response(render_template(template, **context), status)
    response.vary.add(VARY_ON)
    return response


def redirect_to(url):
    """Redirect; for htmx, `HX-Redirect` loads the new page whole instead of swapping it in."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
    else:
        response = redirect(url, 303)
    response.vary.add(VARY_ON)
    return response


def to_messages(response):
    """Send this fragment to the page's message area instead of the request's own target."""
    response.headers["HX-Retarget"] = "#messages"
    response.headers["HX-Reswap"] = "beforeend"
    return response


def trigger(response, event):
    response.headers["HX-Trigger"] = event
    return response
