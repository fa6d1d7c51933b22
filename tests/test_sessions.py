"""Sessions end everywhere: logging out, deactivation and a new password end a person's
sessions in every browser and on every worker of the app, and reactivation brings none back;
failed logins are counted across workers, so throttling holds whichever one answers."""

import pytest

from crm import create_app
from crm.extensions import db
from tests import factories
from tests.conftest import RequestIsolatedClient
from tests.hostile_inputs import Tally

TALLY = Tally()
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
SHARED = ("TESTING", "SECRET_KEY", "DATABASE_URL", "WTF_CSRF_ENABLED", "PASSWORD_HASH_METHOD")


@pytest.fixture(scope="module", autouse=True)
def report_tally(request):
    yield
    TALLY.report(request)


@pytest.fixture
def workers(app):
    """Two app processes on one database and one secret key, as gunicorn runs them."""
    second = create_app({name: app.config[name] for name in SHARED})
    second.test_client_class = RequestIsolatedClient
    yield app, second
    with second.app_context():
        db.engine.dispose()


@pytest.fixture
def seller(stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


def log_in(worker, user, password=factories.PASSWORD):
    browser = worker.test_client()
    response = browser.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 303
    return browser


def same_browser(browser, worker):
    """The same browser (its session cookie) with its next request answered by `worker`."""
    other = worker.test_client()
    other.set_cookie("session", browser.get_cookie("session").value)
    return other


def logged_in(browser):
    """Whether the browser still has a session: a page, an htmx swap and the board's poll."""
    page = browser.get("/agenda/")
    swap = browser.get("/leads/", headers=HTMX)
    poll = browser.get("/board/changes?version=0", headers=HTMX)
    if page.status_code == 200:
        assert swap.status_code == 200 and "HX-Redirect" not in swap.headers
        return True
    # A page sends to the login page; htmx is told to load it whole, with no data swapped in.
    assert page.status_code == 303 and page.location.startswith("/login")
    for answer in (swap, poll):
        assert answer.status_code == 204, answer.status_code
        assert answer.headers["HX-Redirect"].startswith("/login")
        assert answer.get_data() == b""
    return False


def test_logging_out_on_one_worker_ends_the_session_on_every_worker(workers, admin):
    first, second = workers
    laptop, phone = log_in(first, admin), log_in(second, admin)
    laptop_elsewhere = same_browser(laptop, second)
    assert logged_in(laptop_elsewhere) and logged_in(same_browser(phone, first))

    laptop.post("/logout")

    browsers = [laptop, laptop_elsewhere, phone, same_browser(phone, first)]
    assert [logged_in(browser) for browser in browsers] == [False] * 4


def test_deactivation_ends_every_session_on_every_worker_and_reactivation_none(
    workers, admin, seller
):
    first, second = workers
    office, home = log_in(first, seller), log_in(second, seller)
    boss = log_in(second, admin)

    boss.post(f"/settings/users/{seller.id}/active")

    browsers = [office, home, same_browser(office, second), same_browser(home, first)]
    assert [logged_in(browser) for browser in browsers] == [False] * 4
    refused = office.post("/login", data={"email": seller.email, "password": factories.PASSWORD})
    assert refused.status_code == 403

    boss.post(f"/settings/users/{seller.id}/active")

    assert [logged_in(browser) for browser in browsers] == [False] * 4
    assert logged_in(log_in(first, seller))


def test_a_password_reset_by_an_administrator_ends_sessions_on_every_worker(workers, admin, seller):
    first, second = workers
    office, home = log_in(first, seller), log_in(second, seller)
    boss = log_in(first, admin)
    new = "reset by the administrator"

    boss.post(
        f"/settings/users/{seller.id}/password", data={"password": new, "password_again": new}
    )

    assert [logged_in(office), logged_in(home), logged_in(same_browser(office, second))] == [
        False
    ] * 3
    assert logged_in(log_in(second, seller, new))


def test_a_new_password_keeps_this_browser_and_ends_the_others_on_every_worker(workers, admin):
    first, second = workers
    laptop, phone = log_in(first, admin), log_in(second, admin)
    new = "a brand new passphrase"
    form = {"current_password": factories.PASSWORD, "password": new, "password_again": new}

    assert laptop.post("/account/password", data=form).status_code == 303

    assert logged_in(laptop) and logged_in(same_browser(laptop, second))
    assert not logged_in(phone) and not logged_in(same_browser(phone, first))


# Login throttling across workers


WRONG_GUESS = "a wrong guess!"


def attempt(worker, email, password=WRONG_GUESS):
    TALLY.add()
    return worker.test_client().post("/login", data={"email": email, "password": password})


def test_failures_on_every_worker_count_towards_the_account_s_wait(workers, admin):
    first, second = workers
    for n in range(3):
        assert attempt(workers[n % 2], admin.email).status_code == 422
    for worker in (first, second):
        assert attempt(worker, admin.email, factories.PASSWORD).status_code == 429


def test_failures_on_every_worker_count_towards_the_address_s_limit(workers, admin):
    first, second = workers
    for worker in workers:
        worker.config["LOGIN_ADDRESS_MAX_FAILURES"] = 10
    for n in range(10):
        assert attempt(workers[n % 2], f"guess{n}@example.com").status_code == 422
    for worker in workers:
        response = attempt(worker, admin.email, factories.PASSWORD)
        assert response.status_code == 429
        assert "from here" in response.text


def test_a_login_on_one_worker_clears_the_account_s_count_on_every_worker(workers, admin):
    first, second = workers
    for _ in range(2):
        attempt(first, admin.email)
    assert attempt(second, admin.email, factories.PASSWORD).status_code == 303
    for _ in range(2):
        assert attempt(first, admin.email).status_code == 422
    assert attempt(second, admin.email, factories.PASSWORD).status_code == 303
