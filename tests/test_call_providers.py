"""Each phone system's own requests, shaped as its documentation shows them, turned into the
generic event; and the answer each expects."""

import base64
import hashlib
import hmac

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Activity, Call, CallStatus, PhoneConnection
from crm.telephony.tokens import new_token
from crm.timezones import set_team_zone
from tests import factories

ZADARMA_SECRET = "zadarma-api-secret"
CLIENT = "79991234567"


@pytest.fixture
def sam(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


@pytest.fixture
def zadarma(app, stages, sam):
    set_team_zone("Europe/Moscow")
    connection = PhoneConnection(
        name="Zadarma",
        provider="zadarma",
        token=new_token(),
        secret=ZADARMA_SECRET,
        extensions={"100": sam.id},
    )
    db.session.add(connection)
    db.session.commit()
    return connection


def zadarma_signature(*values):
    """As Zadarma's PHP library: base64_encode(hash_hmac('sha1', joined, secret)), whose HMAC
    is the hex string."""
    digest = hmac.new(ZADARMA_SECRET.encode(), "".join(values).encode(), hashlib.sha1)
    return base64.b64encode(digest.hexdigest().encode()).decode()


def notify(client, connection, fields, signed_by):
    signature = zadarma_signature(*(fields[name] for name in signed_by))
    return client.post(
        f"/hooks/calls/{connection.token}", data=fields, headers={"Signature": signature}
    )


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_zadarma_s_echo_check_is_answered_with_the_echo(client, zadarma):
    response = client.get(f"/hooks/calls/{zadarma.token}?zd_echo=a1b2c3")
    assert response.status_code == 200
    assert response.text == "a1b2c3"


def test_zadarma_incoming_call_answered_and_ended(client, zadarma, sam):
    lead = factories.lead(owner=sam, phone="+7 999 123-45-67")
    start = {
        "event": "NOTIFY_START",
        "call_start": "2026-12-07 12:00:05",
        "pbx_call_id": "in_0123456789abcdef",
        "caller_id": CLIENT,
        "called_did": "74951234567",
    }
    assert (
        notify(client, zadarma, start, ("caller_id", "called_did", "call_start")).status_code == 200
    )
    answer = {
        "event": "NOTIFY_ANSWER",
        "caller_id": CLIENT,
        "destination": "100",
        "call_start": "2026-12-07 12:00:05",
        "pbx_call_id": "in_0123456789abcdef",
        "internal": "100",
    }
    assert (
        notify(client, zadarma, answer, ("caller_id", "destination", "call_start")).status_code
        == 200
    )
    end = start | {
        "event": "NOTIFY_END",
        "internal": "100",
        "duration": "95",
        "disposition": "answered",
        "status_code": "16",
        "is_recorded": "1",
        "call_id_with_rec": "1765098005.123456",
    }
    response = notify(client, zadarma, end, ("caller_id", "called_did", "call_start"))
    assert response.status_code == 200
    call = db.session.scalar(select(Call))
    assert (call.external_id, call.direction, call.lead_id) == (
        "in_0123456789abcdef",
        "in",
        lead.id,
    )
    assert (call.user_id, call.duration_s, call.status) == (sam.id, 95, CallStatus.TO_WRITE_UP)
    # 12:00:05 in Moscow is 09:00:05 UTC.
    assert call.started_at.isoformat() == "2026-12-07T09:00:05"
    # The same notification again changes nothing.
    notify(client, zadarma, end, ("caller_id", "called_did", "call_start"))
    assert (count(Call), count(Activity)) == (1, 1)


def test_zadarma_outgoing_call_not_answered(client, zadarma, sam):
    factories.lead(owner=sam, phone="+7 999 123-45-67")
    end = {
        "event": "NOTIFY_OUT_END",
        "call_start": "2026-12-07 12:10:00",
        "pbx_call_id": "out_0123456789abcdef",
        "caller_id": "74951234567",
        "destination": CLIENT,
        "internal": "100",
        "duration": "0",
        "disposition": "no answer",
        "status_code": "19",
        "is_recorded": "0",
        "call_id_with_rec": "",
    }
    response = notify(client, zadarma, end, ("internal", "destination", "call_start"))
    assert response.status_code == 200
    call = db.session.scalar(select(Call))
    assert (call.direction, call.status, call.user_id) == ("out", CallStatus.NOT_ANSWERED, sam.id)
    assert count(Activity) == 0


def test_zadarma_with_a_wrong_signature_is_refused(client, zadarma):
    end = {
        "event": "NOTIFY_END",
        "call_start": "2026-12-07 12:00:05",
        "pbx_call_id": "in_1",
        "caller_id": CLIENT,
        "called_did": "74951234567",
        "duration": "5",
        "disposition": "answered",
    }
    response = client.post(
        f"/hooks/calls/{zadarma.token}", data=end, headers={"Signature": "bm90IGl0"}
    )
    assert response.status_code == 403
    response = client.post(f"/hooks/calls/{zadarma.token}", data=end)
    assert response.status_code == 401
    assert count(Call) == 0


def test_zadarma_events_the_crm_does_not_need_are_answered_and_left(client, zadarma):
    fields = {"event": "NOTIFY_INTERNAL", "pbx_call_id": "in_1", "internal": "100"}
    assert client.post(f"/hooks/calls/{zadarma.token}", data=fields).status_code == 200
    assert count(Call) == 0
