"""Web Push: the browsers a person turned notifications on in, and sending to them.

A browser subscribes with the server's VAPID public key and gives back the push service's
address for it and its own keys (PushSubscription.toJSON()). A notification is a small JSON
payload encrypted to those keys (aes128gcm, RFC 8291) and posted to that address, signed
with the VAPID key (RFC 8292); pywebpush does both. The service worker (static/sw.js)
shows it. Knows nothing of requests or pages: the views and the notifications dispatcher
call it, and commit.
"""

import base64
import binascii
import ipaddress
import json
import re
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from crm.config import instance_file
from crm.extensions import db
from crm.models import PushSubscription, User, utcnow

KEY_FILE = "vapid_private.pem"
# How long a push service keeps a message for a device that is off: a reminder an hour late
# is still worth seeing, one a day late is not.
TTL_SECONDS = 3600
# Seconds to connect to a push service and to wait for its answer: the dispatcher is not
# held up for long by one that does not answer.
TIMEOUT_SECONDS = (5, 10)
# Push services take at least 4 KB of payload; this leaves room for the encryption's own.
PAYLOAD_MAX_BYTES = 3000
TITLE_MAX = 120
ENDPOINT_MAX = 1000
USER_AGENT_MAX = 400
# A push service answers these for a subscription that no longer exists.
GONE = {404, 410}
BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class SubscriptionError(ValueError):
    """Why a subscription the browser sent was refused, fit to show the person."""


class PushFailed(Exception):
    """Some devices could not be reached for now (the push service failed or did not answer);
    worth trying again later. `delivered` devices did get it."""

    def __init__(self, failures, delivered):
        super().__init__("; ".join(failures))
        self.failures = failures
        self.delivered = delivered


# The server's key


def vapid():
    """The server's VAPID key (a py_vapid.Vapid): from configuration, or the instance file
    made on first need, like the secret key."""
    key = current_app.extensions.get("crm.push.vapid")
    if key is None:
        key = current_app.extensions["crm.push.vapid"] = load_vapid()
    return key


def load_vapid():
    # Imported here: the cryptography it brings is paid for only by a process that pushes.
    from py_vapid import Vapid

    configured = (current_app.config.get("VAPID_PRIVATE_KEY") or "").strip()
    if configured.startswith("-----BEGIN"):
        return Vapid.from_pem(configured.encode())
    if configured:
        return Vapid.from_string(configured)
    path = instance_file(current_app.instance_path, KEY_FILE, new_private_pem)
    return Vapid.from_pem(path.read_bytes())


def new_private_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def application_server_key():
    """The public key browsers subscribe with: the uncompressed P-256 point, base64url."""
    from cryptography.hazmat.primitives import serialization

    point = vapid().public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64url(point)


def vapid_subject():
    """Whom a push service may contact about our messages: "mailto:" or "https:"."""
    subject = (current_app.config.get("VAPID_SUBJECT") or "").strip()
    if subject:
        return subject
    _name, address = parseaddr(current_app.config.get("MAIL_FROM") or "")
    return f"mailto:{address}" if "@" in address else "mailto:admin@localhost"


# Subscriptions


def subscribe(user, data, user_agent=""):
    """Keep the subscription a browser sent (PushSubscription.toJSON()) for `user`; the same
    browser subscribing again, even after another person, is the same device renewed."""
    endpoint, p256dh, auth = checked_subscription(data)
    # Read before anything is added: reading an expired user would flush a half-made record.
    user_id = user.id
    record = db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    )
    if record is None:
        record = PushSubscription(endpoint=endpoint, user_id=user_id, created_at=utcnow())
    elif record.user_id != user_id:
        record.user_id = user_id
        record.created_at = utcnow()
        record.last_success_at = None
    record.p256dh = p256dh
    record.auth = auth
    record.user_agent = clean_text(user_agent)[:USER_AGENT_MAX]
    db.session.add(record)
    return record


def unsubscribe(user, endpoint):
    """Forget `user`'s subscription at `endpoint` (the browser turned it off); whether one was."""
    if not isinstance(endpoint, str):
        return False
    result = db.session.execute(
        delete(PushSubscription).where(
            PushSubscription.user_id == user.id, PushSubscription.endpoint == endpoint
        )
    )
    return result.rowcount > 0


def own_subscription(user, subscription_id):
    """One of `user`'s devices, or None (another person's is none of theirs)."""
    record = db.session.get(PushSubscription, subscription_id)
    return record if record is not None and record.user_id == user.id else None


def remove_all(user):
    """Stop every push to `user`'s devices (their password changed, or they left)."""
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))


def checked_subscription(data):
    """(endpoint, p256dh, auth) from a PushSubscription's JSON, or SubscriptionError."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise SubscriptionError(_("This is not a push subscription."))
    endpoint = checked_endpoint(data.get("endpoint"))
    p256dh = decoded_key(data["keys"].get("p256dh"))
    auth = decoded_key(data["keys"].get("auth"))
    if p256dh is None or auth is None or len(auth) != 16 or not valid_point(p256dh):
        raise SubscriptionError(_("The browser's keys for this subscription are not valid."))
    return endpoint, base64url(p256dh), base64url(auth)


def checked_endpoint(endpoint):
    """The push service's address, if it is one: HTTPS on a public host (in tests, also a
    server on this machine), so nobody points the server's posts at its own network."""
    refused = SubscriptionError(_("This is not a push service's address."))
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= ENDPOINT_MAX:
        raise refused
    if clean_text(endpoint) != endpoint or " " in endpoint:
        raise refused
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    except ValueError:
        raise refused from None
    host = parts.hostname or ""
    # VAPID's audience is scheme://host[:port]: an IPv6 literal or credentials cannot be one.
    if not host or ":" in host or parts.username is not None or parts.password is not None:
        raise refused
    local = is_local(host)
    if parts.scheme == "https" and not local:
        return endpoint
    allowed = current_app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"]
    if local and allowed and parts.scheme in ("http", "https"):
        return endpoint
    raise refused


def is_local(host):
    """Whether `host` names this machine or a private network rather than the internet."""
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # A dotted name of digits that is not an address (0x7f.1) is refused as local too.
        return "." not in host or host.replace(".", "").isdigit()
    return not address.is_global


def decoded_key(text):
    if not isinstance(text, str) or not BASE64URL.fullmatch(text) or len(text) > 100:
        return None
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def valid_point(raw):
    from cryptography.hazmat.primitives.asymmetric import ec

    if len(raw) != 65 or raw[0] != 4:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def base64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def clean_text(text):
    """`text` without control characters (a NUL, which PostgreSQL refuses, among them)."""
    return "".join(ch for ch in str(text or "") if ch.isprintable())


# What the device list calls each browser

BROWSERS = [
    ("YaBrowser/", "Yandex Browser"),
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
]


def device_label(user_agent):
    """ "Chrome on Android" and the like, from what the browser called itself."""
    user_agent = user_agent or ""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("A browser")


# Sending


def has_devices(user_id):
    """Whether the person subscribed any device (a notification is then queued for push)."""
    found = select(PushSubscription.id).where(PushSubscription.user_id == user_id).limit(1)
    return db.session.scalar(found) is not None


def send(user_id, title, body, url, tag=None):
    """Push a notification to each of the person's devices; the number that took it.

    A device the push service says is gone (404, 410) is forgotten. If any other could not be
    reached, PushFailed is raised after trying them all (the caller retries later; a `tag`
    makes the browser replace, not repeat, what a device already showed). Changes the
    session (forgotten devices, last success): the caller commits.
    """
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return 0
    subscriptions = db.session.scalars(PushSubscription.of_user(user_id)).all()
    if not subscriptions:
        return 0
    data = payload(title, body, url, tag)
    delivered, failures = 0, []
    for subscription in subscriptions:
        status = post(subscription, data)
        if status is None:
            delivered += 1
            subscription.last_success_at = utcnow()
        elif status in GONE:
            db.session.delete(subscription)
        else:
            failures.append(f"{urlsplit(subscription.endpoint).hostname}: {status}")
    db.session.flush()
    if failures:
        raise PushFailed(failures, delivered)
    return delivered


def post(subscription, data):
    """Send `data` to one device: None when the push service took it, else its HTTP status
    or what went wrong on the way."""
    import requests
    from pywebpush import WebPushException, webpush

    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        webpush(
            info,
            data=data,
            vapid_private_key=vapid(),
            # A fresh dict each time: webpush writes the endpoint's origin ("aud") into it.
            vapid_claims={"sub": vapid_subject()},
            content_encoding="aes128gcm",
            ttl=TTL_SECONDS,
            timeout=TIMEOUT_SECONDS,
        )
    except WebPushException as error:
        if error.response is not None:
            return error.response.status_code
        return str(error)
    except requests.RequestException as error:
        return type(error).__name__
    return None


def payload(title, body, url, tag=None):
    """The JSON the service worker shows, its body cut to fit what push services carry."""
    data = {"title": (title or "")[:TITLE_MAX], "body": body or "", "url": url, "tag": tag}
    encoded = json.dumps(data, ensure_ascii=False)
    while len(encoded.encode()) > PAYLOAD_MAX_BYTES and data["body"]:
        over = len(encoded.encode()) - PAYLOAD_MAX_BYTES
        raw = data["body"].encode()
        kept = raw[: max(0, len(raw) - over - 3)].decode(errors="ignore").rstrip()
        data["body"] = kept + "…" if kept else ""
        encoded = json.dumps(data, ensure_ascii=False)
    return encoded
