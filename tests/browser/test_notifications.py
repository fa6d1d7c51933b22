"""The bell in Chromium, as a Russian salesperson in Moscow: the unread count, the list, marking
read, and a reminder shown as the browser's own notification once allowed."""

import pytest

from crm.extensions import db
from crm.models import NotificationKind, utcnow
from crm.notifications import inbox
from tests import factories
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, log_in_in_russian

EMAIL = "sasha@example.com"
# Records each notification the page asks the browser to show.
SPY = """
window.shownNotifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.shownNotifications.push([title, options.body]); }
};
"""


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1280, "height": 800},
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture
def salesperson(tmp_path):
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel("ru")
        user = factories.user(name="Саша", email=EMAIL, locale="ru", timezone="Europe/Moscow")
        yield app, user.id


def wait_for_shown(page, count):
    """Wait until the page has shown `count` notifications. A function handed to the page, not
    a string: the CSP refuses what wait_for_function evaluates from a string once it polls."""
    page.evaluate(
        """(count) => new Promise((resolve, reject) => {
          const started = Date.now();
          (function check() {
            if (window.shownNotifications.length === count) return resolve();
            if (Date.now() - started > 5000) return reject(new Error("not shown"));
            setTimeout(check, 50);
          })();
        })""",
        count,
    )


def remind(app, user_id, key):
    with app.app_context():
        inbox.record(
            user_id,
            NotificationKind.REMINDER,
            key,
            [],
            params={"number": 1, "title": "ООО «Ромашка»", "due_at": utcnow().isoformat()},
        )
        db.session.commit()


def test_the_bell_counts_and_the_tab_shows_a_reminder(page, salesperson):
    app, user_id = salesperson
    page.add_init_script(SPY)
    with serving(app) as url:
        log_in_in_russian(page, url, EMAIL, factories.PASSWORD)
        bell = page.locator("#bell")
        expect(bell).to_have_attribute("aria-label", "Уведомления")
        remind(app, user_id, "reminder:browser:1")
        # What came since the page's version is asked for as the next page loads (or by the
        # poll, within 30 seconds).
        page.reload()
        expect(bell.locator(".bell-count")).to_have_text("1")
        wait_for_shown(page, 1)
        title = page.evaluate("window.shownNotifications[0][0]")
        assert "ООО «Ромашка»" in title
        # Shown once, across page loads.
        page.reload()
        page.wait_for_timeout(500)
        assert page.evaluate("window.shownNotifications.length") == 0

        bell.click()
        expect(page.get_by_role("heading", name="Уведомления")).to_be_visible()
        page.get_by_role("button", name="Отметить все прочитанными").click()
        expect(bell.locator(".bell-count")).to_be_hidden()
        # Left before the server stops: a bell poll on its way would be cut off and logged.
        page.goto("about:blank")
