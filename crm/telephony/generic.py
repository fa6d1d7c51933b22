"""The generic event, for anything that can call a URL (Asterisk or FreePBX with curl, Yeastar,
a script): one JSON object a request, signed when the connection has a secret with
`X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""

import json

from flask_babel import gettext as _

from crm.telephony import events
from crm.telephony.delivery import Answer, Reading, Refused, check, hmac_hex, only, same

PREFIX = "sha256="


def read(connection, delivery):
    only("POST", delivery)
    if connection.secret:
        given = delivery.header("X-Signature")
        if not given:
            raise Refused(401, _("Sign the body: the connection has a secret."))
        check(same(PREFIX + hmac_hex(connection.secret, delivery.body), given))
    return Reading([events.read_json(delivery.body)])


def answer(calls):
    """What a script gets back: the state each call is in."""
    body = {"ok": True, "status": calls[-1].status if calls else None}
    return Answer(json.dumps(body), 200, "application/json")


def refusal(status, message, field=None):
    body = {"ok": False, "error": message} | ({"field": field} if field else {})
    return Answer(json.dumps(body, ensure_ascii=False), status, "application/json")
