"""Logging in and out, throttling, sessions that really end, changing one's password."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm import create_app
from crm.auth import throttle
from crm.extensions import db
from crm.models import LoginAttempt, User
from tests import factories
from tests.conftest import RequestIsolatedClient


def test_login_page_renders(client, admin):
    response = client.get("/login")
    assert response.status_code == 200
    assert '<label for="email">Email</label>' in response.text
    assert '<label for="password">Password</label>' in response.text


def test_login_and_logout(client, auth, admin):
    response = auth.login("ADA@example.com ")
    assert response.status_code == 303
    assert response.location == "/agenda/"
    page = client.get("/agenda/")
    assert "Ada Admin" in page.text
    assert page.headers["Cache-Control"] == "no-store"

    response = auth.logout()
    assert response.location == "/login"
    assert client.get("/agenda/").status_code == 303


def test_login_follows_only_local_next(client, admin):
    data = {"email": admin.email, "password": factories.PASSWORD}
    response = client.post("/login?next=/settings/", data=data)
    assert response.location == "/settings/"
    client.post("/logout")
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.location == "/agenda/"
    client.post("/logout")
    response = client.post("/login?next=//evil.example/", data=data)
    assert response.location == "/agenda/"


def test_wrong_password_is_refused_with_a_message(client, auth, admin):
    response = auth.login(admin.email, "not the password")
    assert response.status_code == 422
    assert "Wrong email or password." in response.text
    assert client.get("/agenda/").status_code == 303


def test_unknown_email_gets_the_same_message(auth, admin):
    response = auth.login("nobody@example.com", "whatever it is")
    assert response.status_code == 422
    assert "Wrong email or password." in response.text


def test_deactivated_account_cannot_log_in(auth, stages):
    user = factories.user(active=False)
    response = auth.login(user.email)
    assert response.status_code == 403
    assert "deactivated" in response.text


WRONG = "wrong guess!"


def time_passes(seconds):
    """Move every recorded failure `seconds` into the past, as if that time had gone by."""
    for failure in db.session.scalars(select(LoginAttempt)):
        failure.attempted_at -= timedelta(seconds=seconds)
    db.session.commit()


def fail(auth, email, times):
    """`times` wrong passwords, each after the account's wait is over; the answers' codes."""
    codes = []
    for _ in range(times):
        codes.append(auth.login(email, WRONG).status_code)
        time_passes(60)
    return codes


def test_the_same_address_is_refused_after_ten_failures_at_one_account(auth, admin):
    assert fail(auth, admin.email, 10) == [422] * 10
    response = auth.login(admin.email)
    assert response.status_code == 429
    assert "Too many failed attempts from here. Wait 5 minutes and try again." in response.text
    # Refused unchecked: no guess spent, nothing counted.
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 10


def test_one_address_failing_at_many_accounts_is_refused(app, auth, admin):
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 5
    for n in range(5):
        auth.login(f"guess{n}@example.com", WRONG)
    response = auth.login(admin.email)
    assert response.status_code == 429
    assert "from here" in response.text


def test_failures_slow_an_account_down_by_a_growing_wait(app, auth, admin):
    app.config["LOGIN_SLOWDOWN_AFTER"] = 2
    app.config["LOGIN_SLOWDOWN_MAX_SECONDS"] = 30
    waits = []
    for _ in range(9):
        assert auth.login(admin.email, WRONG).status_code == 422
        # The wait the next attempt would be told of, from anywhere.
        wait = throttle.wait_before_trying(admin.email, "192.0.2.1")
        waits.append(wait.seconds if wait else 0)
        time_passes(60)
    assert waits == [0, 1, 2, 4, 8, 16, 30, 30, 30]


def test_an_attempt_made_too_soon_is_not_checked(app, auth, admin):
    for _ in range(3):
        auth.login(admin.email, WRONG)
    response = auth.login(admin.email)
    assert response.status_code == 429
    assert "Wait 1 second and try again." in response.text
    assert response.headers["Retry-After"] == "1"
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 3
    time_passes(1)
    assert auth.login(admin.email).status_code == 303


def test_throttle_counts_only_the_last_fifteen_minutes(auth, admin):
    fail(auth, admin.email, 10)
    time_passes(16 * 60)
    assert auth.login(admin.email).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_throttle_holds_across_app_instances(app, admin):
    """Failures are counted in the database, so every worker sees them."""
    first, second = app.test_client(), app.test_client()
    for _ in range(10):
        first.post("/login", data={"email": admin.email, "password": WRONG})
        time_passes(60)
    response = second.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    assert response.status_code == 429


# Two addresses: the app behind one trusted proxy, which names the client in X-Forwarded-For.

ATTACKER, OWNER = "198.51.100.66", "203.0.113.7"


@pytest.fixture
def behind_a_proxy(app, monkeypatch):
    """The same app on the same database, configured by CRM_PROXY_COUNT to trust one proxy."""
    monkeypatch.setenv("CRM_PROXY_COUNT", "1")
    shared = ("TESTING", "SECRET_KEY", "DATABASE_URL", "WTF_CSRF_ENABLED", "PASSWORD_HASH_METHOD")
    proxied = create_app({name: app.config[name] for name in shared})
    proxied.test_client_class = RequestIsolatedClient
    assert proxied.config["PROXY_COUNT"] == 1
    yield proxied
    with proxied.app_context():
        db.engine.dispose()


def from_address(app, address):
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.9.9.9, {address}"
    return client


def log_in_from(client, email, password=factories.PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(behind_a_proxy, admin):
    attacker, owner = from_address(behind_a_proxy, ATTACKER), from_address(behind_a_proxy, OWNER)
    answers = [log_in_from(attacker, admin.email, WRONG).status_code for _ in range(3)]
    # However slowly the test runs, the rest come within the account's first wait.
    time_passes(-5)
    answers += [log_in_from(attacker, admin.email, WRONG).status_code for _ in range(47)]
    time_passes(5)
    # Three guesses, then the account's wait refuses the rest unchecked.
    assert answers[:3] == [422] * 3 and set(answers[3:]) == {429}
    # Each guess the moment the wait is over doubles it: 1, 2, 4, then 8 seconds, long enough
    # for the owner's try below to fall within it however slowly the test runs.
    for wait in (1, 2, 4):
        time_passes(wait)
        assert log_in_from(attacker, admin.email, WRONG).status_code == 422

    response = log_in_from(owner, admin.email)
    assert response.status_code == 429
    assert re.search(r"Wait [1-8] seconds? and try again\.", response.text)
    time_passes(int(response.headers["Retry-After"]))
    assert log_in_from(owner, admin.email).status_code == 303


def test_the_owner_gets_in_after_at_most_the_capped_wait(behind_a_proxy, admin):
    attacker, owner = from_address(behind_a_proxy, ATTACKER), from_address(behind_a_proxy, OWNER)
    for _ in range(50):
        # The attacker tries the moment each of the account's waits is over, until the
        # address is refused for minutes.
        response = log_in_from(attacker, admin.email, WRONG)
        if "from here" not in response.text:
            time_passes(int(response.headers.get("Retry-After", 0)))
    assert log_in_from(attacker, admin.email).status_code == 429
    assert "from here" in log_in_from(attacker, admin.email).text

    response = log_in_from(owner, admin.email)
    wait = int(response.headers.get("Retry-After", 0))
    assert wait <= behind_a_proxy.config["LOGIN_SLOWDOWN_MAX_SECONDS"] == 40
    time_passes(wait)
    assert log_in_from(owner, admin.email).status_code == 303
    # The owner's sign-in does not let the attacker off.
    assert log_in_from(attacker, admin.email).status_code == 429


def test_the_same_pair_stays_hard_limited_while_another_address_is_only_slowed(
    behind_a_proxy, admin
):
    attacker, owner = from_address(behind_a_proxy, ATTACKER), from_address(behind_a_proxy, OWNER)
    for _ in range(10):
        assert log_in_from(attacker, admin.email, WRONG).status_code == 422
        time_passes(60)
    assert log_in_from(attacker, admin.email).status_code == 429
    assert log_in_from(owner, admin.email).status_code == 303


def test_session_is_rotated_at_login(client, auth, admin):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    auth.login(admin.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_ends_every_session_of_the_user(app, admin):
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        browser.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
        assert browser.get("/agenda/").status_code == 200
    laptop.post("/logout")
    assert phone.get("/agenda/").status_code == 303


def test_a_copied_session_cookie_is_useless_after_logout(client, auth, admin):
    auth.login(admin.email)
    stolen = client.get_cookie("session").value
    auth.logout()
    client.set_cookie("session", stolen)
    assert client.get("/agenda/").status_code == 303


def test_change_password(app, client, auth, admin):
    other_browser = app.test_client()
    other_browser.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    auth.login(admin.email)

    response = client.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "password": "a brand new passphrase",
            "password_again": "a brand new passphrase",
        },
        follow_redirects=True,
    )
    assert "Your password has been changed." in response.text
    assert client.get("/agenda/").status_code == 200
    assert other_browser.get("/agenda/").status_code == 303

    auth.logout()
    assert auth.login(admin.email).status_code == 422
    assert auth.login(admin.email, "a brand new passphrase").status_code == 303


def test_change_password_needs_the_current_one(logged_in, admin):
    response = logged_in.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "password": "a brand new passphrase",
            "password_again": "a brand new passphrase",
        },
    )
    assert response.status_code == 422
    assert "This is not your current password." in response.text
    db.session.refresh(admin)
    assert admin.check_password(factories.PASSWORD)


def test_passwords_are_hashed(admin):
    stored = db.session.scalar(select(User.password_hash).where(User.id == admin.id))
    assert factories.PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))
