"""Two-step sign-in: turning it on from a QR code, signing in with a real code or a recovery
code, codes that work once, the pending step that lapses and is throttled, turning it off,
requiring it of administrators and managers, and the command that removes it."""

import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from crm import two_factor
from crm.auth import two_step
from crm.extensions import db
from crm.models import AuditEntry, LoginAttempt, RecoveryCode, Role, User
from tests import factories
from tests.test_api import token_for

PASSWORD = factories.PASSWORD


def code_of(secret, steps_ahead=0):
    """The code the app shows now, or `steps_ahead` 30-second steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def log_in(client, user, password=PASSWORD, **query):
    return client.post(
        "/login", query_string=query, data={"email": user.email, "password": password}
    )


def signed_in(client):
    return client.get("/agenda/").status_code == 200


def setup_form(page):
    """The secret the setup page shows as text, and its signed form value."""
    secret = re.search(r'id="setup-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    signed = re.search(r'name="setup" type="hidden" value="([^"]+)"', page).group(1)
    return secret, signed


@pytest.fixture
def with_two_step(admin):
    secret, codes = factories.two_step(admin)
    return secret, codes


# Turning it on


def test_the_setup_page_shows_a_qr_code_the_key_and_a_labelled_code_field(logged_in, admin):
    page = logged_in.get("/account/two-step/on").text
    assert '<svg width="' in page and 'class="qr-code"' in page
    assert "<title>QR code that sets up two-step sign-in for ada@example.com</title>" in page
    secret, _signed = setup_form(page)
    assert len(secret) == 32
    assert "It appears in the app as “CRM: ada@example.com”." in page
    assert '<label for="code">Code from the app</label>' in page
    field = re.search(r'<input[^>]*id="code"[^>]*>', page).group(0)
    assert 'autocomplete="one-time-code"' in field and 'inputmode="numeric"' in field
    # Looking at the page turns nothing on.
    assert not db.session.get(User, admin.id).two_factor_on


def test_a_code_from_the_app_turns_it_on_and_shows_ten_recovery_codes_once(app, logged_in, admin):
    elsewhere = app.test_client()
    log_in(elsewhere, admin)
    secret, signed = setup_form(logged_in.get("/account/two-step/on").text)

    wrong = logged_in.post("/account/two-step/on", data={"setup": signed, "code": "000000"})
    assert wrong.status_code == 422
    assert "This is not the code the app shows now." in wrong.text
    assert not db.session.get(User, admin.id).two_factor_on

    response = logged_in.post(
        "/account/two-step/on", data={"setup": signed, "code": code_of(secret)}
    )
    assert response.status_code == 200
    assert "Two-step sign-in is on." in response.text
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.text)
    assert len(set(codes)) == 10
    user = db.session.get(User, admin.id)
    assert user.two_factor_on and user.two_factor_secret == secret
    # Only hashes are kept, made as a password's are.
    hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10
    assert not any(code.replace("-", "") in h or code in h for h in hashes for code in codes)
    assert any(check_password_hash(h, codes[0].replace("-", "")) for h in hashes)
    # This browser stays in; one signed in with the password alone is signed out.
    assert signed_in(logged_in) and not signed_in(elsewhere)
    assert "Two-step sign-in</a>: on" in logged_in.get("/account").text


def test_a_forged_or_stale_setup_form_turns_nothing_on(logged_in, admin):
    secret = pyotp.random_base32()
    response = logged_in.post(
        "/account/two-step/on", data={"setup": f"forged.{secret}", "code": code_of(secret)}
    )
    assert response.status_code == 422
    assert "This page was open too long." in response.text
    assert not db.session.get(User, admin.id).two_factor_on


def test_another_persons_setup_form_is_refused(app, logged_in, admin, stages):
    sam = factories.user(name="Sam Seller")
    other = app.test_client()
    log_in(other, sam)
    secret, signed = setup_form(other.get("/account/two-step/on").text)
    response = logged_in.post(
        "/account/two-step/on", data={"setup": signed, "code": code_of(secret)}
    )
    assert response.status_code == 422
    assert not db.session.get(User, admin.id).two_factor_on


# Signing in with it


def test_after_the_password_a_code_from_the_app_signs_in(client, admin, with_two_step):
    secret, _codes = with_two_step
    response = log_in(client, admin, next="/leads/")
    assert response.status_code == 303 and response.location == "/login/code"
    # Only a pending sign-in: nothing else is open yet.
    assert not signed_in(client)
    page = client.get("/login/code").text
    assert '<label for="code">Code from your app</label>' in page
    assert '<label for="recovery_code">Recovery code</label>' in page
    field = re.search(r'<input[^>]*id="code"[^>]*>', page).group(0)
    assert 'autocomplete="one-time-code"' in field and 'inputmode="numeric"' in field

    response = client.post("/login/code", data={"code": code_of(secret)})
    assert response.status_code == 303 and response.location == "/leads/"
    assert signed_in(client)


def test_a_code_works_once(app, client, admin, with_two_step):
    secret, _codes = with_two_step
    code = code_of(secret)
    log_in(client, admin)
    assert client.post("/login/code", data={"code": code}).status_code == 303

    other = app.test_client()
    log_in(other, admin)
    again = other.post("/login/code", data={"code": code})
    assert again.status_code == 422
    assert "This code is not right, or was used already." in again.text
    # An older code is refused too; the next one is taken.
    assert other.post("/login/code", data={"code": code_of(secret, -1)}).status_code == 422
    assert other.post("/login/code", data={"code": code_of(secret, 1)}).status_code == 303


def test_a_wrong_code_is_refused_and_counted(client, admin, with_two_step):
    log_in(client, admin)
    response = client.post("/login/code", data={"code": "12345"})
    assert response.status_code == 422
    assert not signed_in(client)
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
    assert client.post("/login/code", data={}).status_code == 422


def test_a_recovery_code_signs_in_once(app, client, admin, with_two_step):
    _secret, codes = with_two_step
    log_in(client, admin)
    # Typed as people type: capitals, spaces, no dash.
    typed = codes[3].replace("-", " ").upper()
    response = client.post("/login/code", data={"recovery_code": typed}, follow_redirects=True)
    assert "You used a recovery code: 9 are left." in response.text
    assert signed_in(client)

    other = app.test_client()
    log_in(other, admin)
    again = other.post("/login/code", data={"recovery_code": codes[3]})
    assert again.status_code == 422
    assert "This recovery code is not right, or was used already." in again.text
    assert two_factor.recovery_codes_left(admin) == 9


def test_the_pending_sign_in_lapses(app, client, admin, with_two_step):
    secret, _codes = with_two_step
    log_in(client, admin)
    with client.session_transaction() as session:
        session[two_step.PENDING] = session[two_step.PENDING] | {"until": int(time.time()) - 1}
    response = client.post("/login/code", data={"code": code_of(secret)})
    assert response.status_code == 409
    assert "The time to enter the code has run out" in response.text
    assert not signed_in(client)
    assert client.get("/login/code").status_code == 200


def test_nothing_pending_without_the_password(client, admin, with_two_step):
    secret, _codes = with_two_step
    response = client.post("/login/code", data={"code": code_of(secret)})
    assert response.status_code == 409
    assert not signed_in(client)


def test_a_password_change_meanwhile_ends_the_pending_sign_in(client, admin, with_two_step):
    secret, _codes = with_two_step
    log_in(client, admin)
    admin.end_sessions()
    db.session.commit()
    assert client.post("/login/code", data={"code": code_of(secret)}).status_code == 409


def test_wrong_codes_are_throttled_like_passwords(client, admin, with_two_step):
    secret, _codes = with_two_step
    log_in(client, admin)
    for _ in range(3):
        assert client.post("/login/code", data={"code": "000000"}).status_code == 422
    response = client.post("/login/code", data={"code": code_of(secret)})
    # Too soon: refused unchecked, so the right code was not spent either.
    assert response.status_code == 429
    assert "Wait 1 second and try again." in response.text
    assert response.headers["Retry-After"] == "1"
    move_failures_back(seconds=60)
    assert client.post("/login/code", data={"code": code_of(secret)}).status_code == 303


def test_the_code_step_is_hard_limited_per_account_and_address(client, admin, with_two_step):
    secret, _codes = with_two_step
    log_in(client, admin)
    for _ in range(10):
        assert client.post("/login/code", data={"code": "000000"}).status_code == 422
        move_failures_back(seconds=60)
    response = client.post("/login/code", data={"code": code_of(secret)})
    assert response.status_code == 429
    assert "Too many failed attempts from here." in response.text


def test_the_right_password_alone_does_not_clear_the_failures(client, admin, with_two_step):
    log_in(client, admin, password="a wrong one!")
    log_in(client, admin)
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def move_failures_back(seconds):
    for failure in db.session.scalars(select(LoginAttempt)):
        failure.attempted_at -= timedelta(seconds=seconds)
    db.session.commit()


def test_api_tokens_are_unaffected(client, admin, with_two_step):
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    assert client.get("/api/v1/stages", headers=headers).status_code == 200


# Turning it off and new recovery codes


def sign_in_with_code(client, user, secret):
    log_in(client, user)
    assert client.post("/login/code", data={"code": code_of(secret)}).status_code == 303


def test_turning_it_off_takes_the_password_or_a_code(client, admin, with_two_step):
    secret, _codes = with_two_step
    sign_in_with_code(client, admin, secret)
    page = client.get("/account/two-step").text
    assert "You have 10 unused recovery codes." in page
    assert '<label for="off-password">Your password</label>' in page
    assert '<label for="off-code">Or a code from your app</label>' in page

    assert client.post("/account/two-step/off", data={}).status_code == 422
    wrong = client.post("/account/two-step/off", data={"off-password": "not it at all"})
    assert wrong.status_code == 422
    assert "This is neither your password nor the code your app shows." in wrong.text
    assert db.session.get(User, admin.id).two_factor_on

    response = client.post(
        "/account/two-step/off", data={"off-password": PASSWORD}, follow_redirects=True
    )
    assert "Two-step sign-in is off" in response.text
    user = db.session.get(User, admin.id)
    assert not user.two_factor_on and user.two_factor_secret is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    client.post("/logout")
    assert log_in(client, admin).location == "/agenda/"


def test_new_recovery_codes_replace_the_old(client, admin, with_two_step):
    secret, old_codes = with_two_step
    sign_in_with_code(client, admin, secret)
    response = client.post(
        "/account/two-step/recovery-codes", data={"codes-code": code_of(secret, 1)}
    )
    assert response.status_code == 200
    new_codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert not two_factor.use_recovery_code(admin, old_codes[0])
    assert two_factor.use_recovery_code(admin, new_codes[0])


def test_the_log_of_changes_says_what_happened_and_keeps_no_secret(client, admin, with_two_step):
    secret, codes = with_two_step
    sign_in_with_code(client, admin, secret)
    client.post("/account/two-step/recovery-codes", data={"codes-password": PASSWORD})
    client.post("/account/two-step/off", data={"off-password": PASSWORD})
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject == "user", AuditEntry.action != "created")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "two_factor_on",
        "recovery_codes_made",
        "recovery_codes_made",
        "two_factor_off",
    ]
    stored = " ".join(
        str(value)
        for entry in db.session.scalars(select(AuditEntry))
        for value in (entry.old, entry.new, entry.field)
    )
    assert secret not in stored and codes[0] not in stored
    log = client.get("/settings/audit").text
    assert "Two-step sign-in turned off" in log and "New recovery codes made" in log


# Required of administrators and managers


def require(client):
    return client.post(
        "/settings/general", data=factories.general_settings(two_factor_required="y")
    )


def test_an_administrator_requires_it_only_having_it_themselves(client, admin):
    log_in(client, admin)
    refused = require(client)
    assert refused.status_code == 422
    assert "Turn on two-step sign-in for yourself first" in refused.text
    assert not two_factor.required()

    secret, _codes = factories.two_step(admin)
    client.post("/logout")
    sign_in_with_code(client, admin, secret)
    response = require(client)
    assert response.status_code == 303
    assert two_factor.required()
    box = re.search(
        r'<input[^>]*name="two_factor_required"[^>]*>', client.get("/settings/general").text
    )
    assert "checked" in box.group(0)


@pytest.fixture
def required(admin):
    factories.two_step(admin)
    two_factor.set_required(True)
    db.session.commit()


def test_a_manager_without_it_is_sent_to_set_it_up_first(client, hx, stages, required):
    manager = factories.user(name="Max Manager", role=Role.MANAGER)
    assert log_in(client, manager).location == "/agenda/"
    for page in ("/agenda/", "/leads/", "/settings/", "/account"):
        response = client.get(page)
        assert response.status_code == 303 and response.location == "/account/two-step/on", page
    page = client.get("/account/two-step/on", follow_redirects=True).text
    assert "Your team requires two-step sign-in" in page
    assert client.get("/account/two-step").status_code == 200

    secret, signed = setup_form(client.get("/account/two-step/on").text)
    client.post("/account/two-step/on", data={"setup": signed, "code": code_of(secret)})
    assert client.get("/agenda/").status_code == 200


def test_requiring_it_logs_out_the_administrators_and_managers_without_it(app, admin, stages):
    secret, _codes = factories.two_step(admin)
    manager = factories.user(name="Max Manager", role=Role.MANAGER)
    seller = factories.user(name="Sam Seller")
    browsers = {user.id: app.test_client() for user in (admin, manager, seller)}
    for user in (manager, seller):
        log_in(browsers[user.id], user)
    sign_in_with_code(browsers[admin.id], admin, secret)

    response = require(browsers[admin.id])
    assert response.status_code == 303
    messages = browsers[admin.id].get("/settings/general").text
    assert "Administrators and managers without two-step sign-in were logged out" in messages
    assert not signed_in(browsers[manager.id])
    assert signed_in(browsers[seller.id]) and signed_in(browsers[admin.id])
    # Signing in again leads to setting it up.
    log_in(browsers[manager.id], manager)
    assert browsers[manager.id].get("/leads/").location == "/account/two-step/on"


def test_turning_it_off_where_it_is_required_leads_to_setting_it_up_again(client, admin):
    secret, _codes = factories.two_step(admin)
    two_factor.set_required(True)
    db.session.commit()
    sign_in_with_code(client, admin, secret)
    client.post("/account/two-step/off", data={"off-password": PASSWORD})
    assert client.get("/agenda/").location == "/account/two-step/on"


def test_an_htmx_request_is_sent_to_set_it_up_whole(app, stages, required):
    manager = factories.user(name="Max Manager", role=Role.MANAGER)
    browser = app.test_client()
    log_in(browser, manager)
    response = browser.get("/leads/", headers={"HX-Request": "true", "HX-Request-Type": "partial"})
    assert response.headers["HX-Redirect"] == "/account/two-step/on"


def test_one_who_must_set_it_up_may_log_out(client, stages, required):
    manager = factories.user(name="Max Manager", role=Role.MANAGER)
    log_in(client, manager)
    assert client.post("/logout").location == "/login"


def test_salespeople_are_not_asked(client, stages, required):
    seller = factories.user(name="Sam Seller")
    log_in(client, seller)
    assert client.get("/agenda/").status_code == 200


# The command for a person locked out


def test_the_command_turns_it_off(runner, admin, with_two_step):
    result = runner.invoke(args=["two-factor-off", "ADA@example.com"])
    assert result.exit_code == 0, result.output
    assert "Two-step sign-in is off for ada@example.com" in result.output
    db.session.expire_all()
    assert not db.session.get(User, admin.id).two_factor_on
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "two_factor_off"))
    assert entry.actor_id is None

    again = runner.invoke(args=["two-factor-off", "ada@example.com"])
    assert again.exit_code == 0 and "nothing to turn off" in again.output
    unknown = runner.invoke(args=["two-factor-off", "nobody@example.com"])
    assert unknown.exit_code != 0 and "no account has the email" in unknown.output
