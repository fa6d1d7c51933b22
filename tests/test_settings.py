"""Settings: the team's accounts, managed by administrators."""

import pytest
from sqlalchemy import select

from crm import i18n, timezones
from crm.extensions import db
from crm.models import Role, User
from tests import factories

NEW_USER = {
    "name": "Sergey Seller",
    "email": "sergey@example.com",
    "role": "salesperson",
    "language": "ru",
    "timezone": "Asia/Vladivostok",
    "password": "a fresh start password",
}


def test_admin_adds_a_user_who_can_log_in(app, logged_in):
    response = logged_in.post("/settings/users", data=NEW_USER, follow_redirects=True)
    assert "Account for Sergey Seller created." in response.text
    user = db.session.scalar(User.by_email("sergey@example.com"))
    assert (user.role, user.locale, user.active) == (Role.SALESPERSON, "ru", True)
    assert user.timezone == "Asia/Vladivostok"

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


# Language and zone


def test_the_team_list_shows_each_persons_language_and_zone(logged_in, admin):
    timezones.set_team_zone("Europe/Moscow")
    db.session.commit()
    far = factories.user(name="Vlad Far", locale="ru", timezone="Asia/Vladivostok")
    page = logged_in.get("/settings/users").text
    row = page[page.index(f'id="user-{far.id}"') :]
    row = row[: row.index("</tr>")]
    assert "<td>Русский</td>" in row and "<td>Vladivostok (UTC+10)</td>" in row
    assert f'href="/settings/users/{far.id}"' in row
    mine = page[page.index(f'id="user-{admin.id}"') :]
    assert "<td>English</td>" in mine[: mine.index("</tr>")]
    assert "Moscow (UTC+3) (the team&#39;s)" in mine[: mine.index("</tr>")]


def test_a_new_account_starts_in_the_team_language_and_zone(logged_in):
    timezones.set_team_zone("Europe/Moscow")
    i18n.set_team_language("ru")
    db.session.commit()
    page = logged_in.get("/settings/users").text
    assert '<option selected value="ru">' in page
    assert '<option selected value="Europe/Moscow">' in page
    fields = NEW_USER | {"language": "en", "timezone": "America/New_York"}
    assert logged_in.post("/settings/users", data=fields).status_code == 303
    user = db.session.scalar(User.by_email("sergey@example.com"))
    assert (user.locale, user.timezone) == ("en", "America/New_York")


def test_adding_a_user_in_an_unknown_zone_explains(logged_in):
    response = logged_in.post("/settings/users", data=NEW_USER | {"timezone": "Atlantis/City"})
    assert response.status_code == 422
    assert "There is no such time zone. Choose one from the list" in response.text
    assert db.session.scalar(User.by_email("sergey@example.com")) is None


def test_admin_changes_a_colleagues_language_and_zone(logged_in):
    seller = factories.user(name="Sam Seller")
    page = logged_in.get(f"/settings/users/{seller.id}")
    assert page.status_code == 200
    assert 'value="Sam Seller"' in page.text
    fields = {"name": "Sam Seller", "language": "ru", "timezone": "Asia/Vladivostok"}
    response = logged_in.post(f"/settings/users/{seller.id}", data=fields, follow_redirects=True)
    assert "Sam Seller&#39;s account is saved." in response.text
    db.session.refresh(seller)
    assert (seller.locale, seller.timezone) == ("ru", "Asia/Vladivostok")

    refused = logged_in.post(f"/settings/users/{seller.id}", data=fields | {"timezone": "Vlad"})
    assert refused.status_code == 422
    assert "There is no such time zone." in refused.text
    db.session.refresh(seller)
    assert seller.timezone == "Asia/Vladivostok"
    assert logged_in.get("/settings/users/999").status_code == 404


@pytest.mark.parametrize(
    "field, form",
    [
        ("quiet_after_days", {"currency": "", "language": "en", "timezone": "UTC"}),
        ("port", {"host": "smtp.example.com", "security": "starttls", "sender": "crm@example.com"}),
    ],
)
def test_a_number_longer_than_anyone_means_is_refused_with_a_message(logged_in, field, form):
    """WTForms' range check turns the number into a float: 400 digits overflowed it."""
    path = "/settings/general" if field == "quiet_after_days" else "/settings/email"
    response = logged_in.post(path, data=form | {field: "9" * 400})
    assert response.status_code == 422
    assert "Not a valid integer value." in response.text
