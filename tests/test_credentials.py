"""Credentials end together: a password change or reset, and deactivation, end every session,
every API token and the calendar feed's address; reactivating revives none of them."""

import pytest

from crm.extensions import db
from crm.models import User
from tests import factories
from tests.test_api import token_for

NEW_PASSWORD = "a quite different passphrase 42"


@pytest.fixture
def sam(app, stages):
    user = factories.user(name="Sam", email="sam@example.com")
    user.calendar_token = "c" * 43
    db.session.commit()
    return user


def works(client, token, user):
    """Whether the token still opens the API, and the feed's address still answers."""
    api = client.get("/api/v1/stages", headers={"Authorization": f"Bearer {token}"})
    feed = client.get(f"/agenda/calendar/{user.calendar_token or 'c' * 43}.ics")
    return api.status_code == 200, feed.status_code == 200


def test_changing_ones_password_ends_the_tokens_and_the_feed(client, auth, sam):
    token = token_for(sam)
    assert works(client, token, sam) == (True, True)
    auth.login(sam.email)
    answer = client.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
        follow_redirects=True,
    )
    assert "API tokens and calendar address stopped working" in answer.text
    db.session.expire_all()
    assert works(client, token, db.session.get(User, sam.id)) == (False, False)
    # This browser stays logged in.
    assert client.get("/agenda/").status_code == 200


def test_a_reset_ends_them_too(client, auth, admin, sam):
    token = token_for(sam)
    auth.login(admin.email)
    client.post(
        f"/settings/users/{sam.id}/password",
        data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    db.session.expire_all()
    assert works(client, token, db.session.get(User, sam.id)) == (False, False)


def test_reactivating_revives_nothing(client, auth, admin, sam):
    token = token_for(sam)
    auth.login(admin.email)
    client.post(f"/settings/users/{sam.id}/active")
    client.post(f"/settings/users/{sam.id}/active")
    db.session.expire_all()
    again = db.session.get(User, sam.id)
    assert again.active
    assert works(client, token, again) == (False, False)
