"""Each phone system's own requests, shaped as its documentation shows them, turned into the
generic event; and the answer each expects."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Activity, Call, CallStatus, Lead, PhoneConnection, utcnow
from crm.telephony.tokens import new_token
from crm.timezones import set_team_zone
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.hostile_inputs import table_digest

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


# Mango Office: its VPBX API documentation, "API Realtime" (v1.9/1.10), and its examples.

MANGO_KEY = "5f4dcc3b5aa765d61d8327deb882cf99"
MANGO_SALT = "mango-api-salt"


@pytest.fixture
def mango(app, stages, sam):
    connection = PhoneConnection(
        name="Mango Office",
        provider="mango",
        token=new_token(),
        secret=MANGO_SALT,
        extensions={"123": sam.id, "1234": sam.id},
    )
    db.session.add(connection)
    db.session.commit()
    return connection


def mango_post(client, connection, path, notification, salt=MANGO_SALT, sign=None):
    """A notification as Mango Office sends it: a form of vpbx_api_key, json (compact, as its
    documentation asks) and sign = sha256(vpbx_api_key + json + vpbx_api_salt)."""
    text = json.dumps(notification, ensure_ascii=False, separators=(",", ":"))
    if sign is None:
        sign = hashlib.sha256((MANGO_KEY + text + salt).encode()).hexdigest()
    form = {"vpbx_api_key": MANGO_KEY, "sign": sign, "json": text}
    return client.post(f"/hooks/calls/{connection.token}/{path}", data=form)


def unix(moment):
    return datetime.fromtimestamp(moment, UTC).replace(tzinfo=None)


# /events/summary, example 1: an incoming call to the PBX's line, taken by extension 123.
MANGO_ANSWERED = {
    "entry_id": "232wc3e3w3s222",
    "call_direction": 1,
    "from": {"number": "7800123635242"},
    "to": {"extension": "123", "number": "7800123456789"},
    "line_number": "7800123456789",
    "create_time": 1399906976,
    "forward_time": 1399906978,
    "talk_time": 1399906980,
    "end_time": 1399906990,
    "entry_result": 1,
    "disconnect_reason": 1100,
}
# Example 2: an incoming call that ended in the voice menu, nobody having talked.
MANGO_MISSED = {
    "entry_id": "232wc3e3w3s222",
    "call_direction": 1,
    "from": {"number": "79000000000"},
    "to": {},
    "line_number": "7800123456789",
    "create_time": 1399906976,
    "forward_time": 1399906978,
    "talk_time": 0,
    "end_time": 1399906990,
    "entry_result": 1,
    "disconnect_reason": 1170,
}
# Examples 3 and 4: an employee's outgoing call from a SIP account, answered and not.
MANGO_OUT_ANSWERED = {
    "entry_id": "232wc3e3w3s222",
    "call_direction": 2,
    "from": {"extension": "123", "number": "sip:user1@хyz.mangosip.ru"},
    "to": {"number": "7800123456789"},
    "line_number": "74953333357",
    "create_time": 1399906976,
    "forward_time": 1399906976,
    "talk_time": 1399906980,
    "entry_result": 1,
    "end_time": 1399906990,
    "disconnect_reason": 1100,
}
MANGO_OUT_NOT_ANSWERED = MANGO_OUT_ANSWERED | {"talk_time": 0, "entry_result": 0}


def test_mango_incoming_call_answered_is_a_contact_to_write_up(client, mango, sam):
    lead = factories.lead(owner=sam, phone="+7 800 123-63-52-42")
    response = mango_post(client, mango, "events/summary", MANGO_ANSWERED)
    # Mango Office reads only the status of its notifications' answers.
    assert (response.status_code, response.text) == (200, "")
    call = db.session.scalar(select(Call))
    assert (call.external_id, call.direction, call.lead_id) == ("232wc3e3w3s222", "in", lead.id)
    assert (call.user_id, call.duration_s, call.status) == (sam.id, 10, CallStatus.TO_WRITE_UP)
    # Its times are Unix timestamps, UTC.
    assert call.started_at == unix(1399906976)
    # The same notification again changes nothing.
    assert mango_post(client, mango, "events/summary", MANGO_ANSWERED).status_code == 200
    assert (count(Call), count(Activity)) == (1, 1)


def test_mango_missed_incoming_call_plans_a_call_back(client, mango, sam):
    lead = factories.lead(owner=sam, phone="+7 900 000-00-00")
    assert mango_post(client, mango, "events/summary", MANGO_MISSED).status_code == 200
    call = db.session.scalar(select(Call))
    assert (call.status, call.answered, call.lead_id) == (CallStatus.MISSED, False, lead.id)
    db.session.refresh(lead)
    assert lead.next_step_at <= utcnow() and "Call back" in lead.next_step_note
    assert count(Activity) == 0


def test_mango_unknown_incoming_number_makes_a_lead(client, mango, sam):
    mango_post(client, mango, "events/summary", MANGO_ANSWERED)
    lead = db.session.scalar(select(Lead))
    assert (lead.phone, lead.source, lead.owner_id) == ("7800123635242", "Incoming call", sam.id)


def test_mango_outgoing_calls_answered_and_not(client, mango, sam):
    lead = factories.lead(owner=sam, phone="7800123456789")
    mango_post(client, mango, "events/summary", MANGO_OUT_ANSWERED)
    call = db.session.scalar(select(Call))
    assert (call.direction, call.lead_id, call.user_id) == ("out", lead.id, sam.id)
    assert (call.status, call.duration_s) == (CallStatus.TO_WRITE_UP, 10)
    other = MANGO_OUT_NOT_ANSWERED | {"entry_id": "232wc3e3w3s333"}
    mango_post(client, mango, "events/summary", other)
    missed = db.session.scalar(select(Call).where(Call.external_id == "232wc3e3w3s333"))
    assert (missed.status, missed.answered) == (CallStatus.NOT_ANSWERED, False)
    assert count(Activity) == 1


def test_mango_call_states_update_the_call_until_its_summary(client, mango, sam):
    """Its "examples of behaviour": extension 1234 calls 12345678 from 74955404444."""
    factories.lead(owner=sam, phone="12345678")
    leg = {"call_id": "100:500:256", "entry_id": "232wc3e3w3s222", "location": "abonent"}
    appeared = leg | {
        "timestamp": "1399906976",
        "seq": "1",
        "call_state": "Appeared",
        "from": {"extension": "1234"},
        "to": {"number": "12345678"},
    }
    connected = leg | {
        "timestamp": "1399906988",
        "seq": "2",
        "call_state": "Connected",
        "from": {"extension": "1234", "number": "74955404444"},
        "to": {"number": "12345678"},
    }
    disconnected = connected | {
        "timestamp": "1399907008",
        "seq": "3",
        "call_state": "Disconnected",
        "disconnect_reason": "1120",
    }
    assert mango_post(client, mango, "events/call", appeared).status_code == 200
    call = db.session.scalar(select(Call))
    assert (call.direction, call.outside_number, call.status) == ("out", "12345678", "going")
    assert call.started_at == unix(1399906976)
    mango_post(client, mango, "events/call", connected)
    mango_post(client, mango, "events/call", disconnected)
    db.session.refresh(call)
    assert (call.answered, call.status, call.started_at) == (True, "going", unix(1399906976))
    assert count(Activity) == 0


def test_mango_recording_joins_its_call(client, mango, sam):
    factories.lead(owner=sam, phone="+7 800 123-63-52-42")
    mango_post(client, mango, "events/summary", MANGO_ANSWERED)
    # The documentation's example: a recording started, which changes nothing yet.
    started = {
        "recording_id": "r100:777:500:256",
        "recording_state": "Started",
        "seq": 1,
        "call_id": "100:500:256",
        "entry_id": "232wc3e3w3s222",
        "extension": "123",
        "timestamp": "1399906976",
        "command_id": "cmd.12.vpbx.12345.external.system.com.net",
    }
    assert mango_post(client, mango, "events/recording", started).status_code == 200
    assert db.session.scalar(select(Call.recording_url)) is None
    # Completed and kept in Mango's cloud (the fields its documentation lists for that state).
    completed = started | {
        "recording_state": "Completed",
        "seq": 2,
        "completion_code": "1000",
        "recipient": "Cloud",
    }
    assert mango_post(client, mango, "events/recording", completed).status_code == 200
    assert db.session.scalar(select(Call.recording_url)) == (
        "https://app.mango-office.ru/vpbx/queries/recording/issa/r100%3A777%3A500%3A256/play/"
    )


def test_mango_with_a_wrong_signature_is_refused(client, mango):
    assert (
        mango_post(client, mango, "events/summary", MANGO_ANSWERED, salt="guess").status_code == 403
    )
    assert mango_post(client, mango, "events/summary", MANGO_ANSWERED, sign="").status_code == 401
    assert count(Call) == 0


def test_mango_notifications_the_crm_does_not_need_are_answered_and_left(client, mango):
    dtmf = {
        "seq": 1,
        "dtmf": "124",
        "timestamp": "1399906980",
        "call_id": "100:500:256",
        "entry_id": "232wc3e3w3s222",
        "location": "ivr.2",
        "initiator": "79000000000",
        "from_number": "79000000000",
        "to_number": "7800123456789",
        "line_number": "7800123456789",
    }
    assert mango_post(client, mango, "events/dtmf", dtmf).status_code == 200
    result = {"command_id": "cmd.2.vpbx.12345.external.system.com.net", "result": "1000"}
    assert mango_post(client, mango, "result/callback", result).status_code == 200
    assert count(Call) == 0


def test_only_mango_is_answered_below_the_address(client, zadarma):
    response = client.post(f"/hooks/calls/{zadarma.token}/events/call", data={"json": "{}"})
    assert response.status_code == 404


# Sipuni: its "events to a script, HTTP API" (URL-encoded fields, GET or POST, `event` in each,
# {"success": true} expected back), with the fields its deliveries carry.


@pytest.fixture
def sipuni(app, stages, sam):
    connection = PhoneConnection(
        name="Sipuni", provider="sipuni", token=new_token(), extensions={"201": sam.id}
    )
    db.session.add(connection)
    db.session.commit()
    return connection


SIPUNI_IN = {
    "call_id": "1774373436.533962",
    "src_type": "1",
    "src_num": CLIENT,
    "short_src_num": CLIENT,
    "dst_type": "1",
    "dst_num": "74951234567",
    "short_dst_num": "74951234567",
    "treeName": "Входящая",
    "channel": "SIP/047593496447128812-00047440",
}
SIPUNI_START = SIPUNI_IN | {"event": "1", "timestamp": "1774373436"}
# What it sends when an extension answers: no numbers, so it only updates the call.
SIPUNI_ANSWER = {
    "call_id": "1774373436.533962",
    "event": "3",
    "timestamp": "1774373446",
    "channel": "SIP/070196998783337125-000471d4",
}
SIPUNI_END = SIPUNI_IN | {
    "event": "2",
    "status": "ANSWER",
    "call_start_timestamp": "1774373436",
    "call_answer_timestamp": "1774373446",
    "timestamp": "1774373501",
    "last_called": "201",
    "call_record_link": "https://sipuni.com/api/crm/record?id=1774373436.533962&hash=93247a3b",
}


def sipuni_post(client, connection, fields):
    return client.post(f"/hooks/calls/{connection.token}", data=fields)


def test_sipuni_incoming_call_answered_is_a_contact_to_write_up(client, sipuni, sam):
    lead = factories.lead(owner=sam, phone="+7 999 123-45-67")
    for fields in (SIPUNI_START, SIPUNI_ANSWER, SIPUNI_END):
        response = sipuni_post(client, sipuni, fields)
        # Sipuni stops sending to an address that does not answer so.
        assert response.status_code == 200
        assert response.json == {"success": True}
    call = db.session.scalar(select(Call))
    assert (call.external_id, call.direction, call.lead_id) == ("1774373436.533962", "in", lead.id)
    assert (call.user_id, call.duration_s, call.status) == (sam.id, 55, CallStatus.TO_WRITE_UP)
    assert call.recording_url == SIPUNI_END["call_record_link"]
    assert call.started_at == unix(1774373436)
    # The same event again changes nothing.
    assert sipuni_post(client, sipuni, SIPUNI_END).json == {"success": True}
    assert (count(Call), count(Activity)) == (1, 1)


def test_sipuni_missed_incoming_call_plans_a_call_back(client, sipuni, sam):
    lead = factories.lead(owner=sam, phone="+7 999 123-45-67")
    missed = SIPUNI_END | {"status": "NOANSWER", "call_answer_timestamp": ""}
    assert sipuni_post(client, sipuni, missed).json == {"success": True}
    call = db.session.scalar(select(Call))
    assert (call.status, call.answered) == (CallStatus.MISSED, False)
    db.session.refresh(lead)
    assert lead.next_step_at <= utcnow() and "Call back" in lead.next_step_note


def test_sipuni_unknown_incoming_number_makes_a_lead_also_by_get(client, sipuni, sam):
    response = client.get(f"/hooks/calls/{sipuni.token}", query_string=SIPUNI_END)
    assert response.json == {"success": True}
    lead = db.session.scalar(select(Lead))
    assert (lead.phone, lead.source, lead.owner_id) == (CLIENT, "Incoming call", sam.id)


def test_sipuni_outgoing_call_not_answered(client, sipuni, sam):
    factories.lead(owner=sam, phone="+7 999 123-45-67")
    out = {
        "call_id": "1774375311.534654",
        "event": "2",
        "status": "NOANSWER",
        "src_type": "2",
        "src_num": "070196201",
        "short_src_num": "201",
        "dst_type": "1",
        "dst_num": CLIENT,
        "call_start_timestamp": "1774375312",
        "timestamp": "1774375331",
        "last_called": "201",
        "call_record_link": "https://sipuni.com/api/crm/record?id=1774375311.534654&hash=b5fd52ec",
    }
    assert sipuni_post(client, sipuni, out).json == {"success": True}
    call = db.session.scalar(select(Call))
    assert (call.direction, call.user_id, call.status) == ("out", sam.id, CallStatus.NOT_ANSWERED)


def test_sipuni_what_the_crm_does_not_need_is_answered_and_left(client, sipuni):
    internal = SIPUNI_END | {"src_type": "2", "src_num": "201", "dst_type": "2", "dst_num": "202"}
    transfer_leg = SIPUNI_IN | {"event": "4", "timestamp": "1774373450"}
    for fields in (internal, transfer_leg, SIPUNI_ANSWER, {}):
        assert sipuni_post(client, sipuni, fields).json == {"success": True}
    assert count(Call) == 0


def test_sipuni_an_event_that_does_not_read_saves_nothing(client, sipuni):
    response = sipuni_post(client, sipuni, SIPUNI_END | {"call_id": "x" * 201})
    assert response.status_code == 422
    assert response.json["success"] is False
    assert count(Call) == 0


# Settings: each provider's secret


def test_a_mango_connection_takes_its_api_salt_and_sipuni_none(client, auth, admin, sam):
    auth.login(admin.email)
    form = {"name": "Mango", "provider": "mango", "secret": MANGO_SALT, "extensions": ""}
    assert client.post("/settings/telephony/new", data=form).status_code == 303
    assert db.session.scalar(select(PhoneConnection.secret)) == MANGO_SALT
    page = client.get("/settings/telephony/new").text
    assert "Mango Office" in page and "Sipuni" in page and "API salt" in page
    form = {"name": "Sipuni", "provider": "sipuni", "secret": "something", "extensions": ""}
    response = client.post("/settings/telephony/new", data=form)
    assert response.status_code == 422
    assert "Sipuni signs nothing" in response.text
    assert count(PhoneConnection) == 1


# Anything sent to a Mango Office or Sipuni address: never a server error, nothing saved on a 4xx

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
party = st.fixed_dictionaries(
    {},
    optional={
        "extension": st.sampled_from(["123", "", "9" * 60]) | values,
        "number": st.sampled_from(["7800123635242", "sip:a@b.ru"]) | values,
        "line_number": st.sampled_from(["7800123456789"]) | values,
    },
)
mango_notifications = st.fixed_dictionaries(
    {"entry_id": st.sampled_from(["e-1", "e-2"]) | values},
    optional={
        "call_direction": st.sampled_from([0, 1, 2, "1"]) | values,
        "call_state": st.sampled_from(["Appeared", "Connected", "Disconnected"]) | values,
        "location": st.sampled_from(["abonent", "ivr"]) | values,
        "from": party | values,
        "to": party | values,
        "line_number": values,
        "timestamp": st.integers(-(10**12), 10**12) | values,
        "create_time": st.integers(-(10**12), 10**12) | values,
        "talk_time": st.integers(-(10**12), 10**12) | values,
        "end_time": st.integers(-(10**12), 10**12) | values,
        "entry_result": st.sampled_from([0, 1]) | values,
        "recording_state": st.sampled_from(["Completed", "Started"]) | values,
        "recording_id": st.text(max_size=200) | values,
        "recipient": st.sampled_from(["Cloud", "Mail"]) | values,
    },
)
FINE = {200, 400, 401, 403, 405, 413, 422}


@fewer_on_postgresql(
    settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(
        notification=mango_notifications | values,
        path=st.sampled_from(
            ["events/summary"] * 3 + ["events/call"] * 2 + ["events/recording", "x"]
        ),
        sign=st.sampled_from([True, True, True, False]),
    ),
)
def test_anything_sent_to_mango_is_answered_without_a_server_error(
    app, client, mango, sam, notification, path, sign
):
    app.config["CALLS_MAX_EVENTS"] = 10**6
    before = table_digest(skip={"phone_hits"})
    response = mango_post(client, mango, path, notification, sign=None if sign else "0")
    hypothesis.event(f"status {response.status_code}, calls {count(Call)}")
    assert response.status_code in FINE
    if response.status_code >= 400:
        assert table_digest(skip={"phone_hits"}) == before


sipuni_text = st.sampled_from(["1", "2", "ANSWER", CLIENT, "201", "1774373436", "0", ""])
sipuni_fields = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["1", "2", "3", "4"]) | st.text(max_size=5),
        "call_id": st.sampled_from(["c-1", "c-2"]) | st.text(max_size=200),
        "src_type": st.sampled_from(["1", "2", ""]),
    },
    optional={
        name: sipuni_text | st.text(max_size=300)
        for name in ["dst_type", "src_num", "dst_num", "status", "timestamp"]
        + ["call_start_timestamp", "call_answer_timestamp", "last_called", "short_src_num"]
        + ["short_dst_num", "call_record_link"]
    },
)


@fewer_on_postgresql(
    settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(fields=sipuni_fields),
)
def test_anything_sent_to_sipuni_is_answered_without_a_server_error(
    app, client, sipuni, sam, fields
):
    app.config["CALLS_MAX_EVENTS"] = 10**6
    before = table_digest(skip={"phone_hits"})
    response = sipuni_post(client, sipuni, fields)
    hypothesis.event(f"status {response.status_code}, calls {count(Call)}")
    assert response.status_code in FINE
    assert "success" in response.json
    if response.status_code >= 400:
        assert table_digest(skip={"phone_hits"}) == before


def test_a_call_id_as_long_as_mangos_is_kept(client, sipuni):
    """Mango Office names a call by an entry id of up to 128 bytes: a call id that long is
    kept, whichever phone system sends it (here Sipuni)."""
    response = sipuni_post(client, sipuni, SIPUNI_END | {"call_id": "m" * 128})
    assert response.status_code == 200
    assert db.session.scalar(select(Call.external_id)) == "m" * 128
