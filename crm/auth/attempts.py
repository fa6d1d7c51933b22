"""What the sign-in pages share: the client's address and telling a throttled person to wait."""

from flask import make_response, render_template, request
from flask_babel import ngettext


def client_address():
    """The address the request came from; behind PROXY_COUNT trusted proxies, the one they saw
    (ProxyFix has put it in remote_addr)."""
    return (request.remote_addr or "unknown")[:64]


def wait_message(wait):
    """What a person refused by the throttle is told: how long, and why in a few words."""
    if wait.from_here:
        return ngettext(
            "Too many failed attempts from here. Wait %(num)d minute and try again.",
            "Too many failed attempts from here. Wait %(num)d minutes and try again.",
            wait.minutes,
        )
    return ngettext(
        "There have been several failed attempts to log in to this account. "
        "Wait %(num)d second and try again.",
        "There have been several failed attempts to log in to this account. "
        "Wait %(num)d seconds and try again.",
        wait.seconds,
    )


def refused(template, form, wait, **context):
    """429 with the wait on the page and in Retry-After; nothing was checked or counted."""
    form.form_errors.append(wait_message(wait))
    response = make_response(render_template(template, form=form, **context), 429)
    response.headers["Retry-After"] = str(wait.seconds)
    return response
