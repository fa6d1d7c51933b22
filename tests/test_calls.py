"""Calls from the phone system: the generic hook, what an event does to the leads, and the
write-up that completes the contact a call became."""

import hashlib
import hmac
import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm import access
from crm.extensions import db
from crm.models import (
    Activity,
    Call,
    CallStatus,
    Lead,
    Notification,
    PhoneConnection,
    PlannedStep,
    Role,
    StageKind,
    utcnow,
)
from crm.notifications import inbox, texts
from crm.telephony import calls as call_service
from crm.telephony.tokens import new_token
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.hostile_inputs import table_digest
from tests.querycount import counting_queries

SECRET = "a shared secret"
NUMBER = "+7 (999) 123-45-67"


@pytest.fixture
def sam(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


@pytest.fixture
def connection(app, stages, sam):
    connection = PhoneConnection(
        name="Office", provider="generic", token=new_token(), extensions={"101": sam.id}
    )
    db.session.add(connection)
    db.session.commit()
    return connection


@pytest.fixture
def signed(connection):
    connection.secret = SECRET
    db.session.commit()
    return connection


def url(connection):
    return f"/hooks/calls/{connection.token}"


def event(**fields):
    return {
        "call_id": "c-1",
        "event": "ended",
        "direction": "in",
        "from": NUMBER,
        "to": "+7 495 000-00-00",
        "user": "101",
        "started_at": (utcnow() - timedelta(minutes=5)).isoformat() + "Z",
        "answered": True,
        "duration_s": 83,
        "recording_url": "https://records.example/c-1.mp3",
    } | fields


def send(client, connection, body, secret=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if secret is not None:
        headers["X-Signature"] = (
            "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        )
    return client.post(url(connection), data=raw, content_type="application/json", headers=headers)


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def the_call():
    return db.session.scalar(select(Call))


# The address


def test_an_unknown_token_is_not_found(client, connection):
    assert client.post("/hooks/calls/not-a-token-at-all-here", json=event()).status_code == 404
    assert client.post("/hooks/calls/x", json=event()).status_code == 404
    assert count(Call) == 0


def test_a_new_address_turns_the_old_one_off(client, connection, auth, admin):
    old = url(connection)
    auth.login(admin.email)
    response = client.post(f"/settings/telephony/{connection.id}/address", data={})
    assert response.status_code == 303
    db.session.refresh(connection)
    assert url(connection) != old
    assert client.post(old, json=event()).status_code == 404
    assert send(client, connection, event()).status_code == 200


def test_a_connection_with_a_secret_takes_only_signed_events(client, signed):
    assert send(client, signed, event()).status_code == 401
    assert send(client, signed, event(), secret="another secret").status_code == 403
    assert count(Call) == 0
    assert send(client, signed, event(), secret=SECRET).status_code == 200
    assert count(Call) == 1


def test_a_replayed_signed_event_changes_nothing(client, signed, sam):
    factories.lead(owner=sam, phone=NUMBER)
    assert send(client, signed, event(), secret=SECRET).status_code == 200
    before = table_digest(skip={"phone_hits"})
    response = send(client, signed, event(), secret=SECRET)
    assert response.status_code == 200
    assert table_digest(skip={"phone_hits"}) == before
    assert count(Activity) == 1


def test_a_large_body_is_refused(client, connection):
    body = json.dumps(event(padding="x" * 70_000)).encode()
    assert send(client, connection, body).status_code == 413
    assert count(Call) == 0


def test_events_beyond_the_limit_wait(app, client, connection):
    app.config["CALLS_MAX_EVENTS"] = 2
    for n in range(2):
        assert send(client, connection, event(call_id=f"c-{n}")).status_code == 200
    response = send(client, connection, event(call_id="c-9"))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert count(Call) == 2


def test_a_bad_event_says_what_is_wrong(client, connection):
    response = send(client, connection, event(direction="sideways"))
    assert response.status_code == 422
    assert response.json["field"] == "direction"
    response = send(client, connection, event(recording_url="javascript:alert(1)"))
    assert response.status_code == 422
    assert count(Call) == 0


# What an event does


def test_an_answered_call_from_a_known_number_is_a_contact_to_write_up(client, connection, sam):
    lead = factories.lead(owner=sam, phone=NUMBER)
    assert send(client, connection, event()).status_code == 200
    call = the_call()
    assert (call.lead_id, call.user_id, call.status) == (lead.id, sam.id, CallStatus.TO_WRITE_UP)
    activity = db.session.get(Activity, call.activity_id)
    assert (activity.lead_id, activity.author_id, activity.kind.code) == (lead.id, sam.id, "call")
    assert activity.body == ""
    assert call.duration_s == 83 and call.recording_url.endswith("c-1.mp3")
    assert db.session.get(Lead, lead.id).last_activity_id == activity.id


def test_earlier_events_update_the_same_call(client, connection, sam):
    lead = factories.lead(owner=sam, phone=NUMBER)
    send(client, connection, event(event="started", answered=None, duration_s=None))
    send(client, connection, event(event="answered", answered=None, duration_s=None))
    assert the_call().status == CallStatus.GOING
    assert count(Activity) == 0
    send(
        client,
        connection,
        {"call_id": "c-1", "event": "ended", "direction": "in", "duration_s": 40},
    )
    call = the_call()
    assert count(Call) == 1
    assert (call.answered, call.lead_id, call.status) == (True, lead.id, CallStatus.TO_WRITE_UP)


def test_a_person_s_people_are_matched_on_their_last_ten_digits(client, connection, sam):
    lead = factories.lead(
        owner=sam,
        people=[{"name": "Olga"}, {"name": "Ivan", "phones": ["8 999 123 45 67"]}],
    )
    send(client, connection, event(**{"from": "+79991234567"}))
    assert the_call().lead_id == lead.id


def test_several_leads_go_to_the_newest_open_one(client, connection, sam):
    older = factories.lead(owner=sam, phone=NUMBER)
    newer = factories.lead(owner=sam, phone=NUMBER)
    lost = factories.lead(owner=sam, phone=NUMBER)
    lost.stage = next(s for s in factories.funnel() if s.kind == StageKind.LOST)
    db.session.commit()
    send(client, connection, event())
    assert the_call().lead_id == newer.id != older.id


def test_open_leads_of_different_people_wait_for_a_pick(client, connection, sam):
    sue = factories.user(name="Sue")
    factories.lead(owner=sue, phone=NUMBER)
    factories.lead(owner=factories.user(), phone=NUMBER)
    send(client, connection, event(user=None))
    call = the_call()
    assert (call.status, call.lead_id, call.activity_id) == (CallStatus.TO_PICK, None, None)


def test_open_leads_of_different_people_go_to_the_one_of_who_took_it(client, connection, sam):
    factories.lead(owner=factories.user(), phone=NUMBER)
    mine = factories.lead(owner=sam, phone=NUMBER)
    send(client, connection, event())
    assert the_call().lead_id == mine.id


def test_an_unknown_incoming_number_makes_a_lead_for_whoever_answered(client, connection, sam):
    send(client, connection, event())
    lead = db.session.scalar(select(Lead))
    assert (lead.owner_id, lead.source, lead.phone) == (sam.id, "Incoming call", NUMBER)
    assert lead.stage == factories.funnel()[0]
    assert the_call().status == CallStatus.TO_WRITE_UP


def test_a_missed_call_from_an_unknown_number_makes_an_unassigned_lead_to_call_back(
    client, connection
):
    send(client, connection, event(answered=False, duration_s=0, user=None))
    lead = db.session.scalar(select(Lead))
    assert lead.owner_id is None
    assert lead.next_step_at is not None and lead.next_step_at <= utcnow()
    assert the_call().status == CallStatus.MISSED
    assert count(Activity) == 0


def test_a_missed_call_plans_a_call_back_now_for_the_owner(client, connection, sam):
    sue = factories.user(name="Sue")
    lead = factories.lead(owner=sue, phone=NUMBER, next_step_at=utcnow() + timedelta(days=3))
    send(client, connection, event(answered=False, duration_s=0))
    db.session.refresh(lead)
    assert lead.next_step_at <= utcnow()
    assert "Call back" in lead.next_step_note
    step = db.session.scalar(select(PlannedStep).where(PlannedStep.ended_at.is_(None)))
    assert step.owner_id == sue.id
    assert the_call().status == CallStatus.MISSED
    # And tells her, under the bell (and by push and email as she chose), once.
    (notice,) = db.session.scalars(select(Notification)).all()
    assert (notice.user_id, notice.kind, notice.lead_id) == (sue.id, "missed_call", lead.id)
    words = texts.describe(notice, ZoneInfo("UTC"))
    assert words.title == f"Missed call: #{lead.number} {lead.title}"
    assert NUMBER in words.body and "A call back is planned." in words.body
    send(client, connection, event(answered=False, duration_s=0))
    assert count(Notification) == 1


def test_a_missed_call_to_a_lead_of_nobodys_tells_the_managers(client, connection, sam):
    boss = factories.user(name="Boss", role=Role.MANAGER)
    factories.lead(owner=None, phone=NUMBER)
    send(client, connection, event(answered=False, duration_s=0))
    told = db.session.scalars(select(Notification.user_id)).all()
    assert boss.id in told and sam.id not in told


def test_an_outgoing_call_to_an_unknown_number_waits_unmatched(client, connection, sam):
    send(client, connection, event(direction="out", **{"from": "101", "to": NUMBER}))
    assert count(Lead) == 0
    assert (the_call().status, the_call().user_id) == (CallStatus.UNMATCHED, sam.id)


def test_an_unmatched_call_is_attached_to_a_chosen_lead(app, connection, sam):
    lead = factories.lead(owner=sam)
    call = Call(
        connection_id=connection.id,
        external_id="x",
        direction="out",
        outside_number=NUMBER,
        status=CallStatus.UNMATCHED,
        answered=True,
        started_at=utcnow() - timedelta(minutes=3),
        user_id=sam.id,
    )
    db.session.add(call)
    db.session.flush()
    call_service.attach(call, lead, sam)
    db.session.commit()
    assert (call.lead_id, call.status) == (lead.id, CallStatus.TO_WRITE_UP)
    with pytest.raises(call_service.CallError):
        call_service.attach(call, lead, sam)


# Anything a phone system, or whoever learnt the address, may send

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["call_id", "event", "direction", "from", "to", "user", "started_at", "answered"]
FIELDS += ["duration_s", "recording_url"]
plausible = {
    "call_id": st.sampled_from(["c-1", "c-2", ""]) | st.text(max_size=130),
    "event": st.sampled_from(["started", "answered", "ended", "END"]),
    "direction": st.sampled_from(["in", "out", "both"]),
    "from": st.sampled_from([NUMBER, "101", "", "+7 999"]) | st.text(max_size=60),
    "to": st.sampled_from(["101", NUMBER]) | st.text(max_size=60),
    "user": st.sampled_from(["101", "sam@example.com", "999"]) | st.text(max_size=300),
    "started_at": st.sampled_from(["2026-01-01T10:00:00+03:00", "yesterday", "0001-01-01"])
    | st.text(max_size=50),
    "answered": st.booleans() | st.sampled_from(["yes", 1]),
    "duration_s": st.integers(-5, 100_000) | st.sampled_from(["83", "1e9"]),
    "recording_url": st.sampled_from(["https://r.example/1.mp3", "javascript:x", "ftp://x"]),
}
CORE = ("call_id", "event", "direction")
# Mostly events that read (so that saving is tried), some with any field, some anything at all.
events_sent = st.fixed_dictionaries(
    {name: plausible[name] for name in CORE},
    optional={name: plausible[name] for name in FIELDS if name not in CORE},
) | st.fixed_dictionaries({}, optional={name: plausible[name] | json_values for name in FIELDS})
FINE = {200, 400, 401, 403, 405, 413, 415, 422}


@fewer_on_postgresql(
    settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(
        document=events_sent | json_values,
        sign=st.integers(0, 3).map(bool),
        raw=st.binary(max_size=40),
    ),
)
def test_anything_sent_is_answered_without_a_server_error(
    app, client, signed, sam, document, sign, raw
):
    app.config["CALLS_MAX_EVENTS"] = 10**6
    if not db.session.scalar(select(Lead.id).limit(1)):
        factories.lead(owner=sam, phone=NUMBER)
    body = json.dumps(document).encode() if document is not None else raw
    before = table_digest(skip={"phone_hits"})
    response = send(client, signed, body, secret=SECRET if sign else None)
    hypothesis.event(f"status {response.status_code}")
    assert response.status_code in FINE
    if response.status_code >= 400:
        assert table_digest(skip={"phone_hits"}) == before


# Settings → Telephony


def test_an_administrator_connects_a_phone_system_and_maps_extensions(client, auth, admin, sam):
    auth.login(admin.email)
    form = {
        "name": "Office line",
        "provider": "zadarma",
        "secret": "zd-secret",
        "extensions": "101 sam@example.com\n+7 999 000-11-22 = SAM@example.com",
    }
    response = client.post("/settings/telephony/new", data=form)
    assert response.status_code == 303
    connection = db.session.scalar(select(PhoneConnection))
    assert connection.extensions == {"101": sam.id, "+7 999 000-11-22": sam.id}
    page = client.get("/settings/telephony").text
    assert f"/hooks/calls/{connection.token}" in page
    assert "data-copy" in page
    edit = client.get(f"/settings/telephony/{connection.id}").text
    assert "101 sam@example.com" in edit


def test_an_extension_of_nobody_in_the_team_is_refused(client, auth, admin):
    auth.login(admin.email)
    form = {"name": "Office", "provider": "generic", "extensions": "101 stranger@example.com"}
    response = client.post("/settings/telephony/new", data=form)
    assert response.status_code == 422
    assert "is not an extension followed by" in response.text
    assert count(PhoneConnection) == 0


def test_salespeople_do_not_reach_telephony_settings(client, auth, sam):
    auth.login(sam.email)
    assert client.get("/settings/telephony").status_code == 403


# The write-up


def test_the_agenda_lists_calls_to_write_up_with_a_count_in_the_navigation(
    client, connection, sam, auth
):
    lead = factories.lead(title="Romashka", owner=sam, phone=NUMBER)
    send(client, connection, event())
    auth.login(sam.email)
    page = client.get("/agenda/").text
    assert "Calls to write up" in page
    assert 'class="nav-count"' in page
    assert f"#{lead.number} Romashka" in page
    assert "1:23" in page
    assert 'href="https://records.example/c-1.mp3" rel="noreferrer noopener"' in page


def write_up_form(client, call):
    page = client.get(f"/agenda/calls/{call.id}/write-up", headers={"HX-Request": "true"})
    assert page.status_code == 200
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page.text))
    return page.text, fields


def test_writing_up_completes_the_same_contact(client, connection, sam, auth):
    lead = factories.lead(owner=sam, phone=NUMBER)
    send(client, connection, event())
    call = the_call()
    auth.login(sam.email)
    text, fields = write_up_form(client, call)
    assert f'name="call_id" type="hidden" value="{call.id}"' in text or fields["call_id"]
    interested = factories.funnel()[1]
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    body = {
        "csrf_token": "",
        "kind_id": str(call.activity.kind_id),
        "occurred_at": fields["offered_time"][:16],
        "offered_time": fields["offered_time"],
        "call_id": str(call.id),
        "body": "Wants a quote for 30 chairs.",
        "stage_id": str(interested.id),
        "next_step_when": f"{tomorrow} 10:00",
    }
    response = client.post(
        f"/agenda/leads/{lead.id}/log", data=body, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200, response.text
    assert count(Activity) == 1
    activity = db.session.get(Activity, call.activity_id)
    db.session.refresh(activity)
    assert activity.body == "Wants a quote for 30 chairs."
    assert activity.stage_after_id == interested.id
    assert activity.occurred_at == call.started_at
    db.session.refresh(lead)
    assert lead.stage_id == interested.id and lead.next_step_at > utcnow()
    assert db.session.get(Call, call.id).status == CallStatus.WRITTEN_UP
    # Sent again (not a retry of the same form): refused, not a second contact.
    again = client.post(f"/agenda/leads/{lead.id}/log", data=body | {"idempotency_key": "k2"})
    assert again.status_code == 422
    assert "written up already" in again.text
    assert count(Activity) == 1
    timeline = client.get(f"/leads/{lead.number}").text
    assert "Wants a quote for 30 chairs." in timeline and "1:23" in timeline


def test_a_write_up_still_asks_for_the_next_step(client, connection, sam, auth):
    lead = factories.lead(owner=sam, phone=NUMBER, next_step_at=utcnow() - timedelta(hours=1))
    send(client, connection, event())
    call = the_call()
    auth.login(sam.email)
    _text, fields = write_up_form(client, call)
    body = {
        "kind_id": str(call.activity.kind_id),
        "occurred_at": fields["offered_time"][:16],
        "offered_time": fields["offered_time"],
        "call_id": str(call.id),
        "body": "Talked.",
        "stage_id": str(lead.stage_id),
    }
    response = client.post(f"/agenda/leads/{lead.id}/log", data=body)
    assert response.status_code == 422
    assert db.session.get(Call, call.id).status == CallStatus.TO_WRITE_UP
    assert db.session.get(Activity, call.activity_id).body == ""


def test_a_colleague_s_call_is_not_theirs_to_write_up(client, connection, sam, auth):
    factories.lead(owner=sam, phone=NUMBER)
    send(client, connection, event())
    sue = factories.user(name="Sue")
    auth.login(sue.email)
    assert client.get(f"/agenda/calls/{the_call().id}/write-up").status_code == 403


def test_an_unmatched_call_is_attached_from_the_agenda(client, connection, sam, auth):
    send(client, connection, event(direction="out", **{"from": "101", "to": NUMBER}))
    lead = factories.lead(owner=sam)
    auth.login(sam.email)
    page = client.get("/agenda/").text
    assert "Unmatched calls" in page
    call = the_call()
    response = client.post(f"/agenda/calls/{call.id}/attach", data={"number": f"#{lead.number}"})
    assert response.status_code == 200
    assert (the_call().lead_id, the_call().status) == (lead.id, CallStatus.TO_WRITE_UP)


def test_a_call_to_pick_offers_the_leads_and_makes_a_lead_if_asked(client, connection, auth):
    manager = factories.user(name="Max", role=Role.MANAGER)
    first = factories.lead(title="Mine", owner=factories.user(), phone=NUMBER)
    factories.lead(title="Theirs", owner=factories.user(), phone=NUMBER)
    send(client, connection, event(user=None))
    auth.login(manager.email)
    page = client.get("/agenda/?owner=everyone").text
    assert f'value="{first.number}"' in page
    response = client.post(f"/agenda/calls/{the_call().id}/new-lead")
    assert response.status_code == 200
    assert the_call().lead.owner_id == manager.id
    assert count(Lead) == 3


# Missed contacts


def test_a_planned_call_made_on_time_through_the_phone_system_is_kept(client, connection, sam):
    due = utcnow() - timedelta(hours=2)
    lead = factories.lead(owner=sam, phone=NUMBER, next_step_at=due + timedelta(days=1))
    step = db.session.scalar(select(PlannedStep).where(PlannedStep.lead_id == lead.id))
    step.due_at = lead.next_step_at = due
    db.session.commit()
    made = (due + timedelta(minutes=30)).isoformat() + "Z"
    send(
        client, connection, event(direction="out", started_at=made, **{"from": "101", "to": NUMBER})
    )
    db.session.refresh(step)
    assert step.kept_by_activity_id == the_call().activity_id is not None


def test_a_call_before_the_planned_time_does_not_keep_it(client, connection, sam):
    lead = factories.lead(owner=sam, phone=NUMBER, next_step_at=utcnow() + timedelta(hours=1))
    send(client, connection, event(direction="out", **{"from": "101", "to": NUMBER}))
    step = db.session.scalar(select(PlannedStep).where(PlannedStep.lead_id == lead.id))
    assert step.kept_by_activity_id is None


# The card of a call ringing, through the bell's poll


class CallCardPage(HTMLParser):
    """The call card's place in what the bell's poll answers: whether a card is there, and its
    heading, lead link and text."""

    def __init__(self, text):
        super().__init__()
        self.in_place = self.in_card = self.in_heading = False
        self.card = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") == "call-card":
            self.in_place = True
        elif self.in_place and "call-card" in (attrs.get("class") or "").split():
            self.in_card = True
            self.card = {"call": attrs["data-call"], "heading": "", "text": "", "links": []}
            self.card["labelled"] = attrs.get("aria-labelledby")
        elif self.in_card and tag == "h2":
            self.in_heading = True
        elif self.in_card and tag == "a":
            self.card["links"].append(attrs["href"])
        elif self.in_card and tag == "button":
            self.card["button"] = attrs.get("aria-label")

    def handle_endtag(self, tag):
        if tag == "h2":
            self.in_heading = False
        elif tag == "section":
            self.in_card = False
        elif tag == "div" and not self.in_card:
            self.in_place = False

    def handle_data(self, data):
        if self.in_card:
            self.card["text"] += data
            if self.in_heading:
                self.card["heading"] += data


def polled_card(client):
    """The card the bell's poll shows the logged-in person (asked as a page behind would)."""
    response = client.get("/notifications/bell?version=")
    assert response.status_code == 200
    assert 'id="call-card" hx-swap-oob="innerHTML"' in response.text
    card = CallCardPage(response.text).card
    if card is not None:
        card["text"] = " ".join(card["text"].split())
    return card


def version_of(user):
    return inbox.bell(user.id)[1]


def ringing(**fields):
    return event(event="started", answered=None, duration_s=None, recording_url=None) | fields


def test_a_call_ringing_from_a_lead_shows_its_card_to_whoever_it_rings_for(
    client, connection, sam, auth
):
    lead = factories.lead(title="Romashka", owner=sam, phone=NUMBER)
    factories.activity(
        lead, sam, body="Asked for the price list.", occurred_at=utcnow() - timedelta(days=3)
    )
    auth.login(sam.email)
    assert polled_card(client) is None
    before = version_of(sam)

    assert send(client, connection, ringing()).status_code == 200
    assert version_of(sam) > before
    card = polled_card(client)
    assert card["heading"] == "Incoming call" and card["labelled"] == "call-card-title"
    assert card["links"] == [f"/leads/{lead.number}"]
    assert f"#{lead.number} Romashka" in card["text"]
    assert "Cold" in card["text"]
    assert NUMBER in card["text"]
    assert "Last contact: Call, 3 days ago: Asked for the price list." in card["text"]
    assert card["button"] == "Dismiss"
    # The lead is known while it rings, no contact made yet.
    call = the_call()
    assert (call.status, call.lead_id, call.user_id) == (CallStatus.GOING, lead.id, sam.id)
    assert count(Activity) == 1

    send(client, connection, ringing(event="answered"))
    assert polled_card(client)["heading"] == "Call in progress"

    answered = version_of(sam)
    send(client, connection, event())
    assert version_of(sam) > answered
    assert polled_card(client) is None
    assert the_call().status == CallStatus.TO_WRITE_UP


def test_the_card_is_for_the_lead_s_owner_when_the_call_names_nobody(
    app, client, connection, sam, auth
):
    sue = factories.user(name="Sue")
    lead = factories.lead(owner=sue, phone=NUMBER)
    send(client, connection, ringing(user=None, to="+7 495 000-00-00"))
    auth.login(sam.email)
    assert polled_card(client) is None
    auth.logout()
    auth.login(sue.email)
    assert polled_card(client)["links"] == [f"/leads/{lead.number}"]


def test_a_call_to_a_lead_of_nobody_s_shows_to_whoever_may_see_it(
    app, client, connection, sam, auth
):
    sue = factories.user(name="Sue")
    admin = factories.admin(name="Ada")
    lead = factories.lead(owner=None, phone=NUMBER)
    versions = {person.id: version_of(person) for person in (sam, sue, admin)}
    send(client, connection, ringing(user=None))
    for person in (sam, sue, admin):
        assert version_of(person) > versions[person.id]
        auth.login(person.email)
        assert polled_card(client)["links"] == [f"/leads/{lead.number}"]
        auth.logout()


def test_a_lead_hidden_from_the_person_shows_no_card(app, client, connection, sam, auth):
    # Extension 101 is Sam's, but the lead is Sue's and the team hides colleagues' leads.
    access.set_colleagues_leads(access.ColleaguesLeads.HIDDEN)
    db.session.commit()
    sue = factories.user(name="Sue")
    factories.lead(owner=sue, phone=NUMBER)
    send(client, connection, ringing())
    assert the_call().user_id == sam.id and the_call().lead_id is not None
    auth.login(sam.email)
    assert polled_card(client) is None
    auth.logout()
    auth.login(sue.email)
    # Meant for Sam, who took it: not Sue's card either.
    assert polled_card(client) is None


def test_an_outgoing_call_or_an_unknown_number_shows_no_card(client, connection, sam, auth):
    auth.login(sam.email)
    send(client, connection, ringing())
    assert polled_card(client) is None
    factories.lead(owner=sam, phone=NUMBER)
    send(
        client, connection, ringing(call_id="c-2", direction="out", **{"from": "101", "to": NUMBER})
    )
    assert polled_card(client) is None


def test_a_call_whose_end_never_came_stops_showing(client, connection, sam, auth):
    factories.lead(owner=sam, phone=NUMBER)
    long_ago = (utcnow() - call_service.CARD_FOR - timedelta(minutes=1)).isoformat() + "Z"
    send(client, connection, ringing(started_at=long_ago))
    auth.login(sam.email)
    assert polled_card(client) is None
    send(client, connection, ringing(call_id="c-2"))
    assert polled_card(client) is not None
    later = utcnow() + call_service.CARD_FOR
    assert call_service.ringing_for(sam, now=later) is None


def test_a_call_ringing_leaves_the_unchanged_poll_its_one_read(client, connection, sam, auth):
    auth.login(sam.email)
    for n in range(3):
        factories.lead(owner=sam, phone=f"+7 999 000-00-0{n}")
        send(client, connection, ringing(call_id=f"c-{n}", **{"from": f"+7 999 000-00-0{n}"}))
    version = version_of(sam)
    with counting_queries() as statements:
        assert client.get(f"/notifications/bell?version={version}").status_code == 204
    reads = [statement for statement in statements if statement.startswith("SELECT")]
    assert len(reads) == 1


def test_the_changed_poll_reads_as_much_for_one_call_as_for_many(client, connection, sam, auth):
    auth.login(sam.email)

    def changed_poll_statements():
        with counting_queries() as statements:
            assert polled_card(client) is not None
        return len(statements)

    factories.activity(factories.lead(owner=sam, phone=NUMBER), sam)
    send(client, connection, ringing())
    one = changed_poll_statements()
    for n in range(5):
        lead = factories.lead(owner=sam, phone=f"+7 999 000-00-0{n}")
        factories.activity(lead, sam)
        send(client, connection, ringing(call_id=f"c-{n}", **{"from": f"+7 999 000-00-0{n}"}))
    assert changed_poll_statements() == one


def test_every_event_of_a_call_again_changes_nothing(client, connection, sam):
    factories.lead(owner=sam, phone=NUMBER)
    sequence = [ringing(), ringing(event="answered"), event()]
    for sent in sequence:
        send(client, connection, sent)
    before = table_digest(skip={"phone_hits"})
    for sent in sequence:
        assert send(client, connection, sent).status_code == 200
    assert table_digest(skip={"phone_hits"}) == before
    assert count(Activity) == 1


def test_a_page_has_the_card_s_place_announced_politely(client, connection, sam, auth):
    auth.login(sam.email)
    page = client.get("/agenda/").text
    assert '<div id="call-card" class="call-card-place" aria-live="polite"></div>' in page
