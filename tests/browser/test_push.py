"""Notifications on this device, in Chromium: My account's section, the permission asked,
the service worker registered for the whole site, and a subscription the browser cannot make
(headless Chromium has no push service to reach here) said plainly instead of hanging."""

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import PushSubscription, User
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in

# The page gives the push service 20 s to answer before it says it did not.
SUBSCRIBE_WAIT_MS = 30_000


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-GB",
        "permissions": ["notifications"],
    }


def test_turning_notifications_on_says_why_this_browser_could_not(page, page_errors, live_server):
    # Playwright's contexts are private windows, where Chromium has no Push API and says so.
    page_errors.allow_message("Chrome currently does not support the Push API in incognito")
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/account")
    section = page.get_by_role("region", name="Notifications on this device")
    expect(section).to_be_visible()
    turn_on = section.get_by_role("button", name="Turn on notifications on this device")

    turn_on.click()

    status = section.get_by_role("status")
    expect(status).to_contain_text("This browser could not subscribe: ", timeout=SUBSCRIBE_WAIT_MS)
    expect(turn_on).to_be_enabled()
    # The permission was asked for and given, and the service worker serves the whole site.
    assert page.evaluate("Notification.permission") == "granted"
    scope = page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => r && r.scope)")
    assert scope == f"{live_server}/"


def test_notifications_refused_in_the_browser_are_said_to_be_blocked(browser, live_server):
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
        page.goto(f"{live_server}/account")
        section = page.get_by_role("region", name="Notifications on this device")

        section.get_by_role("button", name="Turn on notifications on this device").click()

        expect(section.get_by_role("status")).to_contain_text("Notifications are blocked")
    finally:
        context.close()


def test_a_device_is_listed_and_removed_with_its_button(page, live_server, live_app):
    with live_app.app_context():
        admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
        factories.push_device(
            admin, user_agent="Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/130.0 Mobile"
        )
        db.session.remove()
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/account")
    row = page.get_by_role("row", name="Chrome on Android")
    expect(row).to_be_visible()

    row.get_by_role("button", name="Remove").click()

    expect(page.get_by_role("status").first).to_contain_text("The device was removed")
    expect(page.get_by_text("No device gets your notifications yet.")).to_be_visible()
    with live_app.app_context():
        assert db.session.scalars(select(PushSubscription)).all() == []
        db.session.remove()
