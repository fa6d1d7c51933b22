"""Web Push: a browser on My account subscribes, and crm.push.send reaches it.

The push service is a real HTTP server started here, doing what a browser vendor's does with
what the CRM posts: it checks the VAPID signature (RFC 8292) with the key in the request and
decrypts the body with the subscribing browser's own keys (aes128gcm, RFC 8291), keys made
here as a browser makes them. Nothing of pywebpush is replaced.
"""

import base64
import json
import os
import stat
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm import create_app, push
from crm.extensions import db
from crm.models import PushSubscription, User
from crm.notifications import dispatch, planning
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.hostile_inputs import FEWER, hostile_text

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36"
)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Device:
    """A browser's side of a subscription: its P-256 key pair and 16-byte auth secret, made
    as a browser makes them, and the address its push service gave it."""

    def __init__(self, service, name):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)
        self.path = f"/push/{name}"
        self.endpoint = service.url + self.path
        service.devices[self.path] = self

    def subscription(self):
        """What PushSubscription.toJSON() gives in the browser."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth_secret)},
        }


def verified_vapid(authorization, audience):
    """The claims of a `vapid t=<JWT>,k=<key>` header whose ES256 signature the key in it
    verifies, and the key; AssertionError otherwise."""
    scheme, _space, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    parts = dict(part.strip().split("=", 1) for part in params.split(","))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    header, claims, signature = parts["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    try:
        key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID signature does not verify") from None
    claims = json.loads(unb64url(claims))
    assert claims["aud"] == audience
    # RFC 8292: no more than 24 hours ahead.
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"].startswith(("mailto:", "https:"))
    return claims, parts["k"]


class PushService:
    """A push service on this machine: records each message it is sent, checked and decrypted,
    and answers 201, or what `answers` says for a device's address."""

    def __init__(self):
        self.devices = {}
        self.received = []
        self.problems = []
        self.answers = {}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = service.take(self.path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, path, headers, body):
        try:
            device = self.devices[path]
            claims, key = verified_vapid(headers["Authorization"], self.url)
            assert headers["Content-Encoding"] == "aes128gcm"
            plain = http_ece.decrypt(
                body,
                private_key=device.private_key,
                auth_secret=device.auth_secret,
                version="aes128gcm",
            )
            self.received.append(
                {
                    "device": path,
                    "payload": json.loads(plain),
                    "claims": claims,
                    "key": key,
                    "ttl": headers["TTL"],
                }
            )
        except Exception as error:  # noqa: BLE001 (whatever failed, the test reports it)
            self.problems.append(f"{path}: {error!r}")
            return 400
        return self.answers.get(path, 201)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def service(app):
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    service = PushService()
    yield service
    service.close()
    assert service.problems == []


@pytest.fixture
def sam(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


def log_in(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    return client


def subscribe(client, device, user_agent=ANDROID_CHROME):
    return client.post(
        "/account/push/subscriptions",
        json=device.subscription(),
        headers={"User-Agent": user_agent},
    )


def subscriptions():
    db.session.expire_all()
    return db.session.scalars(select(PushSubscription).order_by(PushSubscription.id)).all()


# The round trip


def test_a_push_reaches_the_browser_decrypted_with_its_own_keys(client, sam, service):
    phone = Device(service, "phone")
    assert subscribe(log_in(client, sam), phone).status_code == 201

    delivered = push.send(
        sam.id, "Call Acme", "Обсудить смету, 10:30", "/leads/7", tag="reminder-42"
    )
    db.session.commit()

    assert delivered == 1
    [message] = service.received
    assert message["payload"] == {
        "title": "Call Acme",
        "body": "Обсудить смету, 10:30",
        "url": "/leads/7",
        "tag": "reminder-42",
    }
    # Signed with the key the browser subscribed with, for the push service's origin.
    assert message["key"] == client.get("/account/push/key").json["applicationServerKey"]
    assert message["claims"]["sub"] == "mailto:admin@localhost"
    assert message["ttl"] == str(push.TTL_SECONDS)
    [record] = subscriptions()
    assert record.last_success_at is not None


def test_every_device_of_the_person_gets_it_and_nobody_else_s(client, app, sam, admin, service):
    phone, laptop, admins = (
        Device(service, "phone"),
        Device(service, "laptop"),
        Device(service, "a"),
    )
    log_in(client, sam)
    subscribe(client, phone)
    subscribe(client, laptop, user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/133.0")
    log_in(app.test_client(), admin).post("/account/push/subscriptions", json=admins.subscription())

    assert push.send(sam.id, "New lead", "Acme", "/leads/8") == 2
    assert sorted(message["device"] for message in service.received) == [laptop.path, phone.path]
    assert service.received[0]["payload"]["tag"] is None


@pytest.mark.parametrize("status", [404, 410])
def test_a_device_the_push_service_says_is_gone_is_forgotten(client, sam, service, status):
    phone, laptop = Device(service, "phone"), Device(service, "laptop")
    log_in(client, sam)
    subscribe(client, phone)
    subscribe(client, laptop)
    service.answers[phone.path] = status

    assert push.send(sam.id, "Call Acme", "", "/leads/7") == 1
    db.session.commit()

    assert [record.endpoint for record in subscriptions()] == [laptop.endpoint]


def test_a_failing_push_service_is_reported_and_the_device_kept(client, sam, service):
    phone, laptop = Device(service, "phone"), Device(service, "laptop")
    log_in(client, sam)
    subscribe(client, phone)
    subscribe(client, laptop)
    service.answers[phone.path] = 500

    with pytest.raises(push.PushFailed) as failed:
        push.send(sam.id, "Call Acme", "", "/leads/7")
    db.session.commit()

    # Both were tried: the caller retries later, and the laptop did get it.
    assert failed.value.delivered == 1
    assert failed.value.failures == ["127.0.0.1: 500"]
    assert len(subscriptions()) == 2


def test_a_push_service_that_cannot_be_reached_is_a_failure(client, sam, service):
    gone = PushService()
    gone.close()
    subscribe(log_in(client, sam), Device(gone, "phone"))

    with pytest.raises(push.PushFailed) as failed:
        push.send(sam.id, "Call Acme", "", "/leads/7")
    assert failed.value.delivered == 0
    assert len(subscriptions()) == 1


def test_nothing_is_sent_to_a_person_without_devices_or_who_left(client, sam, service):
    assert push.send(sam.id, "Call Acme", "", "/leads/7") == 0
    subscribe(log_in(client, sam), Device(service, "phone"))
    db.session.get(User, sam.id).active = False
    db.session.commit()

    assert push.send(sam.id, "Call Acme", "", "/leads/7") == 0
    assert service.received == []


def test_a_long_message_is_cut_to_what_push_services_carry(client, sam, service):
    subscribe(log_in(client, sam), Device(service, "phone"))

    push.send(sam.id, "Звонок", "Очень длинная заметка. " * 500, "/leads/7")

    body = service.received[0]["payload"]["body"]
    assert body.startswith("Очень длинная заметка.") and body.endswith("…")
    assert len(push.payload("Звонок", body, "/leads/7").encode()) <= push.PAYLOAD_MAX_BYTES


# The server's key


def public_key_bytes(client):
    return unb64url(client.get("/account/push/key").json["applicationServerKey"])


@pytest.mark.sqlite_only
def test_the_key_is_made_into_the_instance_folder_once(app, logged_in):
    key = public_key_bytes(logged_in)

    assert len(key) == 65 and key[0] == 4
    path = os.path.join(app.instance_path, push.KEY_FILE)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # Another worker (or a restart) reads the same key.
    again = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"]})
    with again.app_context():
        assert push.application_server_key() == b64url(key)


def test_the_key_and_subject_may_come_from_configuration(app, client, sam, service):
    own = ec.generate_private_key(ec.SECP256R1())
    pem = own.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    app.config["VAPID_PRIVATE_KEY"] = pem.decode()
    app.config["VAPID_SUBJECT"] = "https://crm.example.com"
    subscribe(log_in(client, sam), Device(service, "phone"))

    push.send(sam.id, "Call Acme", "", "/leads/7")

    public = own.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert service.received[0]["key"] == b64url(public)
    assert service.received[0]["claims"]["sub"] == "https://crm.example.com"
    assert not os.path.exists(os.path.join(app.instance_path, push.KEY_FILE))


@pytest.mark.parametrize(
    ("mail_from", "subject"),
    [
        ("CRM <crm@example.com>", "mailto:crm@example.com"),
        ("crm@example.com", "mailto:crm@example.com"),
        ("", "mailto:admin@localhost"),
    ],
)
def test_the_subject_defaults_to_the_sender_of_emails(app, mail_from, subject):
    app.config["MAIL_FROM"] = mail_from
    assert push.vapid_subject() == subject


# Subscribing and unsubscribing


def test_subscribing_again_keeps_one_device_and_a_shared_browser_follows_who_subscribed(
    client, app, sam, admin, service
):
    phone = Device(service, "phone")
    log_in(client, sam)
    subscribe(client, phone)
    subscribe(client, phone)
    assert [record.user_id for record in subscriptions()] == [sam.id]

    log_in(app.test_client(), admin).post("/account/push/subscriptions", json=phone.subscription())

    assert [record.user_id for record in subscriptions()] == [admin.id]


def test_subscribing_from_code_with_a_user_read_before_a_commit(sam, service):
    """The service function, as a command would call it: the committed user is expired."""
    db.session.commit()
    push.subscribe(sam, Device(service, "phone").subscription(), "\x00Firefox/133.0")
    db.session.commit()

    [record] = subscriptions()
    assert (record.user_id, record.user_agent) == (sam.id, "Firefox/133.0")


def bad(service, **changes):
    device = Device(service, "bad")
    subscription = device.subscription()
    keys = changes.pop("keys", {})
    subscription["keys"].update(keys)
    return subscription | changes


BAD_SUBSCRIPTIONS = {
    "no keys": lambda s: {"endpoint": s.url + "/push/x"},
    "keys not an object": lambda s: bad(s) | {"keys": "p256dh"},
    "no endpoint": lambda s: bad(s, endpoint=None),
    "endpoint not text": lambda s: bad(s, endpoint=["https://push.example.com/1"]),
    "plain HTTP": lambda s: bad(s, endpoint="http://push.example.com/1"),
    "not a web address": lambda s: bad(s, endpoint="javascript:alert(1)"),
    "a private network": lambda s: bad(s, endpoint="https://10.0.0.5/push"),
    "credentials": lambda s: bad(s, endpoint="https://user:pw@push.example.com/1"),
    "a port that is none": lambda s: bad(s, endpoint="https://push.example.com:99999/1"),
    "too long": lambda s: bad(s, endpoint="https://push.example.com/" + "x" * 1000),
    "p256dh off the curve": lambda s: bad(s, keys={"p256dh": b64url(b"\x04" + b"\x01" * 64)}),
    "p256dh not base64": lambda s: bad(s, keys={"p256dh": "<script>"}),
    "auth too short": lambda s: bad(s, keys={"auth": b64url(b"short")}),
    "auth missing": lambda s: bad(s, keys={"auth": None}),
}


@pytest.mark.parametrize("case", BAD_SUBSCRIPTIONS)
def test_a_subscription_that_is_not_one_is_refused_with_a_reason(client, sam, service, case):
    # Local push services are allowed only where set: here, for "a private network", not.
    service_allows_local = case != "a private network"
    client.application.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = service_allows_local
    response = log_in(client, sam).post(
        "/account/push/subscriptions", json=BAD_SUBSCRIPTIONS[case](service)
    )

    assert response.status_code == 422
    assert response.json["error"]
    assert subscriptions() == []


def test_a_local_push_service_is_refused_unless_allowed(client, app, sam, service):
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = False
    response = subscribe(log_in(client, sam), Device(service, "phone"))
    assert response.status_code == 422
    assert response.json == {"error": "This is not a push service's address."}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("endpoint=https://push.example.com/1", "application/x-www-form-urlencoded", 415),
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('"text"', "application/json", 400),
    ],
)
@pytest.mark.parametrize(
    "url", ["/account/push/subscriptions", "/account/push/subscriptions/delete"]
)
def test_what_is_not_a_json_object_is_refused_in_json(client, sam, url, body, content_type, status):
    response = log_in(client, sam).post(url, data=body, content_type=content_type)
    assert response.status_code == status
    assert response.is_json and response.json["error"]


@fewer_on_postgresql(
    FEWER,
    given(
        body=st.recursive(
            st.none() | st.booleans() | st.integers() | hostile_text,
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["endpoint", "keys", "p256dh", "auth"]), inner)
            ),
            max_leaves=6,
        ),
        url=st.sampled_from(["/account/push/subscriptions", "/account/push/subscriptions/delete"]),
    ),
)
def test_hostile_json_gets_a_refusal_never_an_error(logged_in, body, url):
    response = logged_in.post(url, json=body)

    assert response.status_code < 500
    # None sends no body at all: not JSON (415).
    assert response.status_code in (200, 400, 415, 422)
    assert subscriptions() == []


def test_the_browser_turning_off_removes_its_own_device_only(client, app, sam, admin, service):
    mine, theirs = Device(service, "mine"), Device(service, "theirs")
    log_in(app.test_client(), admin).post("/account/push/subscriptions", json=theirs.subscription())
    log_in(client, sam)
    subscribe(client, mine)

    refused = client.post("/account/push/subscriptions/delete", json={"endpoint": theirs.endpoint})
    done = client.post("/account/push/subscriptions/delete", json={"endpoint": mine.endpoint})

    assert refused.json == {"removed": False}
    assert done.json == {"removed": True}
    assert [record.endpoint for record in subscriptions()] == [theirs.endpoint]


# My account


def test_my_account_offers_to_turn_notifications_on_and_lists_the_devices(client, sam, service):
    log_in(client, sam)
    page = client.get("/account").text
    assert "Notifications on this device" in page
    assert "Turn on notifications on this device" in page
    assert "No device gets your notifications yet." in page

    subscribe(client, Device(service, "phone"))
    page = client.get("/account").text

    assert "Chrome on Android" in page
    assert "None yet" in page
    assert ">Remove<" in page


def test_removing_a_device_from_the_list(client, sam, service):
    subscribe(log_in(client, sam), Device(service, "phone"))
    [record] = subscriptions()

    response = client.post(f"/account/push/subscriptions/{record.id}/delete")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account#devices")
    assert subscriptions() == []
    assert "The device was removed" in client.get("/account").text


def test_nobody_removes_another_person_s_device(client, app, sam, admin, service):
    log_in(app.test_client(), admin).post(
        "/account/push/subscriptions", json=Device(service, "a").subscription()
    )
    [record] = subscriptions()

    response = log_in(client, sam).post(f"/account/push/subscriptions/{record.id}/delete")

    assert response.status_code == 404
    assert len(subscriptions()) == 1


def test_a_new_password_stops_the_notifications_to_every_device(client, sam, service):
    subscribe(log_in(client, sam), Device(service, "phone"))
    new = "another long passphrase"
    answer = client.post(
        "/account/password",
        data={"current_password": factories.PASSWORD, "password": new, "password_again": new},
        follow_redirects=True,
    )
    assert "your devices no longer get notifications" in answer.text
    assert subscriptions() == []


def test_the_service_worker_is_served_from_the_root_to_anyone(client):
    with client.get("/sw.js") as response:
        script = response.text

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "no-cache" in response.headers["Cache-Control"]
    assert 'addEventListener("push"' in script
    assert 'addEventListener("notificationclick"' in script


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (ANDROID_CHROME, "Chrome on Android"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1", "Safari on iPhone"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64) Chrome/130.0 YaBrowser/24.10 Safari/537.36",
            "Yandex Browser on Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox on Linux",
        ),
        ("", "A browser"),
    ],
)
def test_devices_are_named_by_browser_and_system(app, user_agent, label):
    with app.test_request_context():
        assert push.device_label(user_agent) == label


def test_the_count_of_devices_never_grows_for_the_same_browser(client, sam, service):
    phone = Device(service, "phone")
    log_in(client, sam)
    for _ in range(3):
        subscribe(client, phone)
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 1


# Through the notifications


def test_a_reminder_reaches_the_phone_as_a_push_through_the_dispatcher(client, app, sam, service):
    app.config["BASE_URL"] = "https://crm.example.test"
    phone = Device(service, "phone")
    assert subscribe(log_in(client, sam), phone).status_code == 201
    day = date.today() + timedelta(days=2)
    due = datetime.combine(day, clock(14))  # stored naive UTC; the person is on UTC
    lead = factories.lead(title="Acme", owner=sam, next_step_at=due, next_step_note="Call")
    planning.mark_digest_done(sam.id, day)
    db.session.commit()

    tally = dispatch.run_pass(now=due - timedelta(minutes=9))
    assert tally.made == 1
    [message] = service.received
    assert f"#{lead.number} Acme" in message["payload"]["title"]
    assert message["payload"]["url"] == f"https://crm.example.test/leads/{lead.number}"
    # Tagged with the notice, so a retry replaces it on a device that had it.
    assert message["payload"]["tag"].startswith("crm-")
    # Sent once: the next pass has nothing to send.
    dispatch.run_pass(now=due - timedelta(minutes=8))
    assert len(service.received) == 1
