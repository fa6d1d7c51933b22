"""Logging in and out, throttling, sessions that really end, changing one's password."""

from datetime import timedelta

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import LoginAttempt, User
from tests import factories


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


def test_throttled_after_ten_failures_per_account(auth, admin):
    for _ in range(10):
        assert auth.login(admin.email, "wrong guess!").status_code == 422
    response = auth.login(admin.email)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text


def test_throttled_after_ten_failures_per_address(auth, admin):
    for n in range(10):
        auth.login(f"guess{n}@example.com", "wrong guess!")
    assert auth.login(admin.email).status_code == 429


def test_throttle_counts_only_the_last_fifteen_minutes(auth, admin):
    for _ in range(10):
        auth.login(admin.email, "wrong guess!")
    db.session.execute(
        LoginAttempt.__table__.update().values(
            attempted_at=LoginAttempt.attempted_at - timedelta(minutes=16)
        )
    )
    db.session.commit()
    assert auth.login(admin.email).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_throttle_holds_across_app_instances(app, admin):
    """Failures are counted in the database, so every worker sees them."""
    first, second = app.test_client(), app.test_client()
    for _ in range(10):
        first.post("/login", data={"email": admin.email, "password": "wrong guess!"})
    response = second.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    assert response.status_code == 429


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
