"""Personal API tokens on one's own Settings page: made, shown once, stored hashed, revoked."""

import hashlib
import re
from html import unescape

from sqlalchemy import func, select

from crm import api_tokens as tokens
from crm.extensions import db
from crm.models import ApiToken
from tests import factories

NEW_TOKEN = re.compile(r'<input type="text" id="new-api-token" value="([^"]+)"')


def shown_token(html):
    found = NEW_TOKEN.search(html)
    return unescape(found.group(1)) if found else None


def make_token(client, name="Website form", **kwargs):
    return client.post("/settings/api-tokens", data={"name": name}, **kwargs)


def api_status(client, token):
    return client.get("/api/v1/stages", headers={"Authorization": f"Bearer {token}"}).status_code


def token_records():
    return db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def test_the_settings_page_offers_tokens(logged_in):
    page = logged_in.get("/settings/").get_data(as_text=True)
    assert 'id="api-tokens"' in page
    assert "You have no API tokens." in page
    assert 'action="/settings/api-tokens"' in page
    assert '<label for="name">Token name</label>' in page


def test_a_new_token_is_shown_once_and_stored_hashed(app, logged_in, admin):
    response = make_token(logged_in)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" in html
    token = shown_token(html)
    assert re.fullmatch(r"crm_[A-Za-z0-9_-]{43}", token)
    assert "Copy it now: it is shown only this once." in html

    (record,) = token_records()
    assert record.user_id == admin.id
    assert record.name == "Website form"
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (record.token_hash, record.token_start)
    assert record.token_start == token[:10]
    assert response.headers["Cache-Control"] == "no-store"

    again = logged_in.get("/settings/").get_data(as_text=True)
    assert token not in again
    assert shown_token(again) is None
    assert "Website form" in again
    assert f"<code>{token[:10]}…</code>" in again
    assert "Never" in again

    assert api_status(app.test_client(), token) == 200
    assert "Never" not in logged_in.get("/settings/").get_data(as_text=True)


def log_in(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def test_htmx_gets_the_tokens_section_alone(hx, admin):
    log_in(hx, admin)
    response = make_token(hx)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="api-tokens"' in html
    assert shown_token(html)


def test_a_token_needs_a_name(logged_in):
    for name in ("", "   ", "x" * 81):
        response = make_token(logged_in, name=name)
        assert response.status_code == 422
        assert 'class="error"' in response.get_data(as_text=True)
    assert token_records() == []


def test_revoking_a_token(app, logged_in):
    token = shown_token(make_token(logged_in).get_data(as_text=True))
    other = shown_token(make_token(logged_in, name="Accounting").get_data(as_text=True))
    record = token_records()[0]

    response = logged_in.post(f"/settings/api-tokens/{record.id}/revoke")
    assert response.status_code == 303
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Token “Website form” revoked: it no longer works." in page
    assert f'id="api-token-{record.id}"' not in page
    assert "Accounting" in page

    db.session.refresh(record)
    assert record.revoked_at is not None
    api = app.test_client()
    assert api_status(api, token) == 401
    assert api_status(api, other) == 200
    assert logged_in.post(f"/settings/api-tokens/{record.id}/revoke").status_code == 404


def test_htmx_revoking_swaps_the_section_with_the_message(hx, admin):
    log_in(hx, admin)
    make_token(hx)
    record = token_records()[0]
    response = hx.post(f"/settings/api-tokens/{record.id}/revoke")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert "You have no API tokens." in html
    assert 'hx-swap-oob="innerHTML:#messages"' in html
    assert "revoked" in html


def test_nobody_sees_or_revokes_anothers_tokens(app, client, auth, admin):
    colleague = factories.user()
    _record, theirs = tokens.issue(colleague, "Colleague's script")
    db.session.commit()
    record = token_records()[0]
    auth.login(admin.email)
    assert "Colleague's script" not in client.get("/settings/").get_data(as_text=True)
    assert client.post(f"/settings/api-tokens/{record.id}/revoke").status_code == 404
    assert api_status(app.test_client(), theirs) == 200


def test_tokens_are_for_logged_in_people_only(client, admin):
    response = make_token(client)
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
