"""Browser tests: the real app on a real port, driven through Chromium by Playwright.

`live_server` is one installed CRM for the whole run (an administrator already exists);
`fresh_server` is a new, empty CRM per test, for the one-time setup page. CSRF stays on.
Every test fails when the page logs a console error or throws: a CSP violation is a bug.
"""

import os
import shutil
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from crm import create_app
from crm.extensions import db
from tests import factories
from tests.live_server import serving

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Short enough that a broken page fails fast, long enough for a loaded CI machine.
TIMEOUT_MS = 5_000

ADMIN_NAME = "Ada Admin"
ADMIN_EMAIL = "ada@example.com"
ADMIN_PASSWORD = factories.PASSWORD
RUSSIAN_NAME = "Анна Админова"
RUSSIAN_EMAIL = "anna@example.com"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Everything in this folder is a browser test, so `-m "not browser"` leaves it out."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


# The app and its server


def stored(app, lead_id, column):
    """What the database holds for a lead now, read outside any request of the server."""
    from crm.models import Lead

    with app.app_context():
        value = getattr(db.session.get(Lead, lead_id), column)
        db.session.remove()
    return value


def build_app(directory):
    """A CRM with its own instance folder and SQLite file, schema created, nobody set up."""
    saved = os.environ.get("CRM_INSTANCE_PATH")
    os.environ["CRM_INSTANCE_PATH"] = str(directory / "instance")
    try:
        app = create_app(
            {
                # Not TESTING: the browser should meet the app as a user would.
                "TESTING": False,
                "SECRET_KEY": "browser test secret key",
                "DATABASE_URL": f"sqlite:///{directory / 'browser.sqlite3'}",
                # Production-strength hashing would only slow each login down.
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                # No reminders' loop: it would add digests under the bell as a test runs.
                "NOTIFY_IN_APP": False,
                # Tests set data up behind the pages' backs, then read the reports.
                "REPORTS_MAY_LAG_SECONDS": 0,
            }
        )
    finally:
        if saved is None:
            del os.environ["CRM_INSTANCE_PATH"]
        else:
            os.environ["CRM_INSTANCE_PATH"] = saved
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """An installed CRM: default funnel and one administrator (ADMIN_EMAIL, ADMIN_PASSWORD)."""
    app = build_app(tmp_path_factory.mktemp("live"))
    with app.app_context():
        factories.funnel()
        factories.admin(name=ADMIN_NAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        db.session.remove()
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    """Base URL of the installed CRM shared by the whole run."""
    with serving(live_app) as url:
        yield url


@contextmanager
def russian_sample(directory):
    """A CRM as its setup page leaves it with the sample data, in Russian: 60 leads with three
    months of history, all of one administrator in Moscow (RUSSIAN_EMAIL, ADMIN_PASSWORD).
    Yields the base URL and the number of one of the leads."""
    from crm import demo
    from crm.models import Lead

    app = build_app(directory)
    with app.app_context():
        anna = factories.admin(
            name=RUSSIAN_NAME, email=RUSSIAN_EMAIL, locale="ru", timezone="Europe/Moscow"
        )
        demo.generate("ru", owner=anna, **demo.SAMPLE)
        db.session.commit()
        number = db.session.scalar(select(func.min(Lead.number)))
        db.session.remove()
    with serving(app) as url:
        yield url, number


@pytest.fixture
def fresh_server(tmp_path):
    """Base URL of a brand-new CRM whose setup page has not been filled in yet."""
    with serving(build_app(tmp_path)) as url:
        yield url


# The browser


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run; skipped when absent unless CRM_REQUIRE_BROWSER=1."""
    required = os.environ.get("CRM_REQUIRE_BROWSER") == "1"

    def unavailable(reason):
        if required:
            pytest.fail(f"{reason} (CRM_REQUIRE_BROWSER=1 demands the browser tests run)")
        pytest.skip(reason)

    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        unavailable(f"Playwright is not installed: {error}")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        unavailable(f"Chromium not found at {CHROMIUM}")

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as error:
        playwright.stop()
        unavailable(f"Chromium at {CHROMIUM} did not start: {error}")
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def context_options():
    """Options for each test's browser context; override in a module (phone size, locale...)."""
    return {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}


class PageErrors:
    """What the page logged as an error or threw, minus HTTP errors the test asked for."""

    def __init__(self):
        self.seen = []
        self.allowed = []
        self.allowed_messages = []

    def on_console(self, message):
        if message.type == "error":
            self.seen.append((message.text, message.location.get("url", "")))

    def on_page_error(self, error):
        self.seen.append((f"Uncaught: {error}", ""))

    def allow_http_status(self, status, path):
        """Expect the page at `path` to answer `status`: Chromium logs that as a console error."""
        self.allowed.append((f"status of {status} ", path))

    def allow_message(self, start):
        """Expect a console error that starts so (a library reporting a failure on purpose)."""
        self.allowed_messages.append(start)

    def is_allowed(self, text, url):
        if any(text.startswith(start) for start in self.allowed_messages):
            return True
        return any(
            text.startswith("Failed to load resource")
            and marker in text
            and urlsplit(url).path == path
            for marker, path in self.allowed
        )

    def unexpected(self):
        return [
            f"{text} [{url}]" if url else text
            for text, url in self.seen
            if not self.is_allowed(text, url)
        ]


_page_errors = pytest.StashKey[PageErrors]()


@pytest.fixture
def page_errors(request):
    errors = PageErrors()
    request.node.stash[_page_errors] = errors
    return errors


@pytest.fixture
def page(browser, context_options, page_errors):
    """A fresh browser context and page per test; console errors are recorded."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", page_errors.on_console)
    page.on("pageerror", page_errors.on_page_error)
    yield page
    context.close()


def unexpected_errors(item):
    """The errors the browser reported during this test that the test did not ask for."""
    errors = item.stash.get(_page_errors, None)
    if errors is None:
        return []
    page = item.funcargs.get("page")
    if page is not None and not page.is_closed():
        # A round trip to the browser delivers console events still in flight; a page that
        # crashed cannot answer, and the test's own outcome says more about that.
        with suppress(Exception):
            page.wait_for_timeout(1)
    return errors.unexpected()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test body: fail it if the browser reported errors it did not expect."""
    try:
        result = yield
    except BaseException:
        # The test failed already; show the console next to its own error.
        if unexpected := unexpected_errors(item):
            item.add_report_section("call", "browser errors", "\n".join(unexpected))
        raise
    if unexpected := unexpected_errors(item):
        pytest.fail("The browser reported errors:\n" + "\n".join(unexpected), pytrace=False)
    return result
