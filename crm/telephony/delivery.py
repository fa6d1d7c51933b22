"""A request from a phone system as the adapters read it, and what they answer, kept apart
from Flask so each adapter is a plain function of what arrived."""

import hashlib
import hmac
from dataclasses import dataclass, field

from flask_babel import gettext as _


@dataclass(frozen=True)
class Delivery:
    """What arrived: the method, the query and form fields, the raw body and the headers; `path`
    is what followed the connection's address (Mango Office adds /events/call and alike)."""

    method: str
    args: dict = field(default_factory=dict)
    form: dict = field(default_factory=dict)
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    path: str = ""

    def header(self, name):
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class Answer:
    """What the phone system gets back."""

    body: str = ""
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Reading:
    """The events a request told of, and the answer the phone system expects for it."""

    events: list
    answer: Answer = Answer()


class Refused(Exception):
    """A request not taken, with its status and a message for whoever set the phone system up."""

    def __init__(self, status, message, field=None, retry_after=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.retry_after = retry_after


def same(expected, given):
    """Whether a signature matches, in constant time."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def check(matches):
    if not matches:
        raise Refused(403, _("The signature does not match the connection's secret."))


def hmac_hex(secret, message, digest=hashlib.sha256):
    return hmac.new(secret.encode(), message, digest).hexdigest()


def only(method, delivery):
    if delivery.method != method:
        raise Refused(405, _("Send the events as %(method)s requests.", method=method))
