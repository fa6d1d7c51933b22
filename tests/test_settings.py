"""Settings: the team's accounts, managed by administrators."""

from sqlalchemy import select

from crm.extensions import db
from crm.models import Role, User
from tests import factories

NEW_USER = {
    "name": "Sergey Seller",
    "email": "sergey@example.com",
    "role": "salesperson",
    "language": "ru",
    "password": "a fresh start password",
}


def test_admin_adds_a_user_who_can_log_in(app, logged_in):
    response = logged_in.post("/settings/users", data=NEW_USER, follow_redirects=True)
    assert "Account for Sergey Seller created." in response.text
    user = db.session.scalar(User.by_email("sergey@example.com"))
    assert (user.role, user.locale, user.active) == (Role.SALESPERSON, "ru", True)

    newcomer = app.test_client()
    response = newcomer.post(
        "/login", data={"email": "sergey@example.com", "password": "a fresh start password"}
    )
    assert response.status_code == 303


def test_adding_a_user_with_a_taken_email_explains(logged_in, admin):
    response = logged_in.post("/settings/users", data=NEW_USER | {"email": admin.email})
    assert response.status_code == 422
    assert "An account with this email already exists." in response.text


def test_adding_a_user_with_a_weak_password_explains(logged_in):
    response = logged_in.post("/settings/users", data=NEW_USER | {"password": "short"})
    assert response.status_code == 422
    assert "Use at least 10 characters." in response.text
    assert db.session.scalar(User.by_email("sergey@example.com")) is None


def test_users_page_lists_the_team(logged_in, admin):
    factories.user(name="Inna Inactive", active=False)
    page = logged_in.get("/settings/users").text
    assert "Ada Admin" in page
    assert "Inna Inactive" in page
    assert "Deactivated" in page
    assert '<label for="name">Name</label>' in page


def test_deactivating_a_user_ends_their_sessions(app, logged_in):
    seller = factories.user()
    their_browser = app.test_client()
    their_browser.post("/login", data={"email": seller.email, "password": factories.PASSWORD})
    assert their_browser.get("/agenda/").status_code == 200

    response = logged_in.post(f"/settings/users/{seller.id}/active", follow_redirects=True)
    assert "is deactivated and logged out everywhere" in response.text
    assert their_browser.get("/agenda/").status_code == 303
    login = their_browser.post(
        "/login", data={"email": seller.email, "password": factories.PASSWORD}
    )
    assert login.status_code == 403

    logged_in.post(f"/settings/users/{seller.id}/active")
    db.session.refresh(seller)
    assert seller.active


def test_admin_cannot_deactivate_themselves(logged_in, admin):
    response = logged_in.post(f"/settings/users/{admin.id}/active", follow_redirects=True)
    assert "You cannot deactivate your own account." in response.text
    db.session.refresh(admin)
    assert admin.active


def test_admin_resets_a_password(app, logged_in):
    seller = factories.user()
    their_browser = app.test_client()
    their_browser.post("/login", data={"email": seller.email, "password": factories.PASSWORD})

    page = logged_in.get(f"/settings/users/{seller.id}/password")
    assert page.status_code == 200
    response = logged_in.post(
        f"/settings/users/{seller.id}/password",
        data={"password": "reset by the admin", "password_again": "reset by the admin"},
        follow_redirects=True,
    )
    assert "New password set for" in response.text
    assert their_browser.get("/agenda/").status_code == 303
    login = their_browser.post(
        "/login", data={"email": seller.email, "password": "reset by the admin"}
    )
    assert login.status_code == 303


def test_salesperson_cannot_manage_users(app, stages):
    seller = factories.user()
    target = factories.user()
    client = app.test_client()
    client.post("/login", data={"email": seller.email, "password": factories.PASSWORD})
    assert client.get("/settings/").status_code == 200
    assert client.get("/settings/users").status_code == 403
    assert client.post("/settings/users", data=NEW_USER).status_code == 403
    assert client.post(f"/settings/users/{target.id}/active").status_code == 403
    assert (
        client.post(
            f"/settings/users/{target.id}/password",
            data={"password": "x" * 12, "password_again": "x" * 12},
        ).status_code
        == 403
    )
    db.session.refresh(target)
    assert target.active
    assert db.session.scalar(select(User).where(User.email == NEW_USER["email"])) is None


def test_anonymous_is_sent_to_login(client, admin):
    response = client.get("/settings/users")
    assert response.status_code == 303
    assert "/login" in response.location


def test_unknown_user_is_404(logged_in):
    assert logged_in.get("/settings/users/999/password").status_code == 404
