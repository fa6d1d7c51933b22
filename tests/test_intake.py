"""Intake: web forms on other sites whose requests come in as leads, or as an "incoming
request" on the lead they come from; and the settings page where administrators set them up."""

import html
import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm import funnel, funnel_defaults
from crm.extensions import db
from crm.intake import receiving
from crm.models import (
    Activity,
    ActivityKind,
    IntakeForm,
    IntakeHit,
    Lead,
    PlannedStep,
    StageChange,
)
from tests import factories
from tests.conftest import fewer_on_postgresql

SITE = "https://shop.example"
THANKS = "Thank you! We have your request and will get back to you soon."
REQUEST = {
    "name": "Ivan Petrov",
    "phone": "+7 (999) 123-45-67",
    "email": "Ivan@Example.com",
    "company": "Romashka LLC",
    "message": "Please call me about a quote.",
}


@pytest.fixture
def intake_form(app, stages):
    form = IntakeForm(
        name="Contact page",
        token=receiving.new_token(),
        source="Website",
        allowed_origins=f"{SITE}\nhttps://www.shop.example",
    )
    db.session.add(form)
    db.session.commit()
    return form


def url(form):
    return f"/intake/{form.token}"


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def activities_of(lead):
    return db.session.scalars(
        select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.id)
    ).all()


def only_lead():
    (lead,) = db.session.scalars(select(Lead)).all()
    return lead


# Requests that come in


def test_a_form_post_creates_a_lead_with_the_request(client, intake_form, stages):
    response = client.post(url(intake_form), data=REQUEST)

    assert response.status_code == 200
    assert THANKS in response.text
    assert "<html" in response.text
    lead = only_lead()
    assert lead.title == "Romashka LLC"
    assert (lead.contact_name, lead.phone, lead.email) == (
        "Ivan Petrov",
        "+7 (999) 123-45-67",
        "ivan@example.com",
    )
    assert (lead.source, lead.owner_id, lead.stage_id) == ("Website", None, stages[0].id)
    (activity,) = activities_of(lead)
    assert activity.kind.code == funnel_defaults.INCOMING_REQUEST
    assert activity.kind.name == "Incoming request"
    assert activity.author_id is None
    assert activity.body.startswith("Please call me about a quote.\n\n")
    assert "email: Ivan@Example.com" in activity.body
    assert "form: Contact page" in activity.body
    assert lead.last_activity_id == activity.id


def test_a_json_request_gets_json(client, intake_form):
    response = client.post(url(intake_form), json=REQUEST | {"budget": 150000, "urgent": True})

    assert response.status_code == 200
    assert response.json == {"ok": True, "message": THANKS}
    (activity,) = activities_of(only_lead())
    assert "budget: 150000" in activity.body
    assert "urgent: true" in activity.body


def test_multipart_posts_are_read_too(client, intake_form):
    response = client.post(
        url(intake_form),
        data=REQUEST | {"interests": ["CRM", "Website"]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "interests: CRM, Website" in activities_of(only_lead())[0].body


def test_a_form_set_to_answer_json_does_so_for_a_form_post(client, intake_form):
    intake_form.reply = "json"
    response = client.post(url(intake_form), data=REQUEST)
    assert response.json["ok"] is True


def test_a_form_set_to_redirect_sends_the_visitor_on(client, intake_form):
    intake_form.reply = "redirect"
    intake_form.redirect_url = "https://shop.example/thanks?from=crm"
    response = client.post(url(intake_form), data=REQUEST, headers={"Origin": SITE})
    assert response.status_code == 303
    assert response.headers["Location"] == "https://shop.example/thanks?from=crm"
    assert count(Lead) == 1


def test_a_default_owner_gets_the_new_leads(client, intake_form):
    seller = factories.user(name="Sam Seller")
    intake_form.owner_id = seller.id
    client.post(url(intake_form), data=REQUEST)
    assert only_lead().owner_id == seller.id


def test_a_deactivated_default_owner_leaves_them_unclaimed(client, intake_form):
    seller = factories.user(active=False)
    intake_form.owner_id = seller.id
    client.post(url(intake_form), data=REQUEST)
    assert only_lead().owner_id is None


def test_a_name_alone_is_enough_and_becomes_the_title(client, intake_form):
    assert client.post(url(intake_form), data={"name": "Мария"}).status_code == 200
    lead = only_lead()
    assert (lead.title, lead.contact_name) == ("Мария", "Мария")


def test_other_names_for_the_fields_are_understood(client, intake_form):
    response = client.post(
        url(intake_form),
        json={"Contact_Name": "Olga", "TEL": "8 912 000 11 22", "E-mail": "olga@example.com"},
    )
    assert response.status_code == 200
    lead = only_lead()
    assert (lead.contact_name, lead.phone, lead.email) == (
        "Olga",
        "8 912 000 11 22",
        "olga@example.com",
    )


def test_the_kind_is_reused_once_it_exists(client, intake_form):
    client.post(url(intake_form), data=REQUEST)
    client.post(url(intake_form), data={"name": "Another", "email": "other@example.com"})
    kinds = db.session.scalars(
        select(ActivityKind).where(ActivityKind.code == funnel_defaults.INCOMING_REQUEST)
    ).all()
    assert len(kinds) == 1


# Requests from someone already known


def test_a_request_from_a_known_email_is_added_to_that_lead(client, admin, intake_form):
    known = factories.lead(title="Romashka", owner=admin, email="ivan@example.com")
    factories.activity(known, admin, body="First call")

    response = client.post(url(intake_form), data=REQUEST | {"phone": ""})

    assert response.status_code == 200
    assert THANKS in response.text
    assert count(Lead) == 1
    first, request = activities_of(known)
    assert request.kind.code == funnel_defaults.INCOMING_REQUEST
    assert "Please call me about a quote." in request.body
    db.session.refresh(known)
    assert known.last_activity_id == request.id
    # What the lead says of itself is not overwritten by what a visitor typed.
    assert (known.title, known.owner_id, known.source) == ("Romashka", admin.id, None)


def test_a_request_from_a_known_phone_is_added_to_that_lead(client, intake_form):
    known = factories.lead(phone="8 999 123 45 67")
    client.post(url(intake_form), json={"name": "Ivan", "phone": "+7 (999) 123-45-67"})
    assert count(Lead) == 1
    assert len(activities_of(known)) == 1


def test_archived_leads_are_not_matched(client, admin, intake_form):
    old = factories.lead(email="ivan@example.com")
    funnel.archive_lead(old, admin)
    db.session.commit()
    client.post(url(intake_form), data=REQUEST)
    assert count(Lead) == 2
    assert activities_of(old) == []


def test_a_few_digits_do_not_match_a_phone(client, intake_form):
    factories.lead(phone="+7 999 123 45 67")
    client.post(url(intake_form), data={"name": "Ann", "phone": "4567"})
    assert count(Lead) == 2


def test_known_or_not_the_answer_is_the_same(client, intake_form):
    """A visitor cannot learn from the answer whether an email is in the CRM."""
    unknown = client.post(url(intake_form), json={"email": "new@example.com"})
    known = client.post(url(intake_form), json={"email": "new@example.com"})
    assert unknown.json == known.json
    assert unknown.status_code == known.status_code == 200


# Refusals


@pytest.mark.parametrize(
    "token", ["wrong-token-aaaaaaaaaaaaaaaaaaaaa", "short", "%00" * 30, "a" * 65, "../../etc"]
)
def test_a_wrong_token_is_not_found(client, intake_form, token):
    response = client.post(f"/intake/{token}", data=REQUEST)
    assert response.status_code == 404
    assert count(Lead) == 0


def test_a_switched_off_form_is_not_found(client, intake_form):
    intake_form.active = False
    response = client.post(url(intake_form), json=REQUEST)
    assert response.status_code == 404
    assert response.json["ok"] is False
    assert count(Lead) == 0


def test_another_site_is_refused(client, intake_form):
    for origin in (
        "https://evil.example",
        "http://shop.example",
        "null",
        "https://shop.example.evil",
    ):
        response = client.post(url(intake_form), data=REQUEST, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers
    assert count(Lead) == 0
    assert count(IntakeHit) == 0


def test_an_allowed_site_gets_cors_headers(client, intake_form):
    response = client.post(
        url(intake_form), json=REQUEST, headers={"Origin": "https://www.shop.example"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.shop.example"
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_star_allows_any_site(client, intake_form):
    intake_form.allowed_origins = "*"
    response = client.post(
        url(intake_form), json=REQUEST, headers={"Origin": "https://any.example"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://any.example"


def test_the_preflight_of_a_json_request(client, intake_form):
    asking = {
        "Origin": SITE,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    response = client.options(url(intake_form), headers=asking)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0

    refused = client.options(url(intake_form), headers=asking | {"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert (
        client.options("/intake/wrong-token-aaaaaaaaaaaaaaaaaaaaa", headers=asking).status_code
        == 404
    )
    assert count(IntakeHit) == 0


def test_a_filled_honeypot_looks_accepted_but_stores_nothing(client, intake_form):
    page = client.post(url(intake_form), data=REQUEST | {"homepage": "http://spam.example"})
    assert page.status_code == 200
    assert THANKS in page.text
    answer = client.post(url(intake_form), json=REQUEST | {"homepage": "x"})
    assert answer.json == {"ok": True, "message": THANKS}
    assert count(Lead) == 0
    assert count(Activity) == 0


def test_an_empty_honeypot_is_fine(client, intake_form):
    client.post(url(intake_form), data=REQUEST | {"homepage": ""})
    assert count(Lead) == 1
    assert "homepage" not in activities_of(only_lead())[0].body


def test_a_flood_from_one_address_is_held_back(client, app, intake_form):
    for n in range(10):
        response = client.post(url(intake_form), json={"name": f"Visitor {n}"})
        assert response.status_code == 200, n

    response = client.post(url(intake_form), json={"name": "Visitor 10"})

    assert response.status_code == 429
    assert response.json["error"] == (
        "Too many requests from your address. Please try again in a few minutes."
    )
    assert 0 < int(response.headers["Retry-After"]) <= 600
    assert count(Lead) == 10
    page = client.post(url(intake_form), data={"name": "Visitor 11"})
    assert page.status_code == 429
    assert "Too many requests" in page.text

    # Someone else, or the same address ten minutes later, is let in.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert other.post(url(intake_form), json={"name": "Neighbour"}).status_code == 200
    for hit in db.session.scalars(select(IntakeHit)):
        hit.received_at -= timedelta(minutes=11)
    assert client.post(url(intake_form), json={"name": "Later"}).status_code == 200
    # Old counts are swept out as new ones come in.
    assert count(IntakeHit) == 1


def test_refused_and_trapped_requests_count_towards_the_limit(client, intake_form):
    for _n in range(5):
        client.post(url(intake_form), json={"phone": ""})
        client.post(url(intake_form), json={"name": "Bot", "homepage": "x"})
    assert client.post(url(intake_form), json=REQUEST).status_code == 429


def test_each_form_has_its_own_limit(client, intake_form):
    other = IntakeForm(name="Other", token=receiving.new_token(), allowed_origins="")
    db.session.add(other)
    for _n in range(10):
        client.post(url(intake_form), json={"name": "Visitor"})
    assert client.post(url(other), json={"name": "Visitor"}).status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Give your name, phone or email, so that we can get back to you."),
        ({"company": "Acme", "message": "Hi"}, "Give your name, phone or email"),
        ({"phone": "call me"}, "Give your name, phone or email"),
        ({"name": "  ", "email": ""}, "Give your name, phone or email"),
        ({"name": "Ann", "email": "not an email"}, "Enter a valid email address."),
        ({"name": "Ann", "company": "x" * 201}, "Keep it under 200 characters."),
        ({"name": "x" * 201}, "Keep it under 200 characters."),
        ({"name": "Ann", "phone": "1" * 51}, "Keep it under 50 characters."),
        ({"name": "Ann", "message": "x" * 8001}, "Keep it under 8000 characters."),
    ],
)
def test_what_cannot_be_answered_is_refused_with_a_reason(client, intake_form, fields, message):
    page = client.post(url(intake_form), data=fields)
    assert page.status_code == 422
    assert message in html.unescape(page.text)
    answer = client.post(url(intake_form), json=fields)
    assert answer.status_code == 422
    assert answer.json["ok"] is False
    assert answer.json["error"].startswith(message)
    assert count(Lead) == 0
    assert count(Activity) == 0


def test_a_refusal_names_the_field_as_it_was_sent(client, intake_form):
    answer = client.post(url(intake_form), json={"Name": "Ann", "E-Mail": "nope"})
    assert answer.json["field"] == "E-Mail"


def test_a_failure_half_way_leaves_nothing_behind(client, intake_form, monkeypatch):
    def refuse(*args, **kwargs):
        raise funnel.FunnelError("Refused on purpose.", "body")

    monkeypatch.setattr(receiving.funnel, "log_activity", refuse)
    response = client.post(url(intake_form), json=REQUEST)
    assert response.status_code == 422
    assert response.json["error"] == "Refused on purpose."
    for model in (Lead, Activity, StageChange, PlannedStep):
        assert count(model) == 0
    # The number the lead would have had is still free.
    monkeypatch.undo()
    client.post(url(intake_form), json=REQUEST)
    assert only_lead().number == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b'"text"', "application/json", 400),
        (b"[" * 60000, "application/json", 400),
        (b'{"name": "\\ud800 Ann"}', "application/json", 200),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b"name=Ann", "text/plain", 415),
        (b"name=%FF%FE", "application/x-www-form-urlencoded", 200),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 422),
        (b"--x\r\nbroken", "multipart/form-data", 422),
        (b"name=" + b"a" * 70000, "application/x-www-form-urlencoded", 413),
    ],
)
def test_bodies_that_cannot_be_read_get_a_4xx(client, intake_form, body, content_type, status):
    response = client.post(url(intake_form), data=body, content_type=content_type)
    assert response.status_code == status
    assert count(Lead) == (1 if status == 200 else 0)


def test_no_csrf_token_is_needed(app, client, intake_form):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(url(intake_form), data=REQUEST, headers={"Origin": SITE})
    assert response.status_code == 200
    assert count(Lead) == 1
    # The rest of the app still asks for one.
    assert (
        client.post("/login", data={"email": "a@example.com", "password": "x"}).status_code == 400
    )


def test_the_answer_sets_no_cookie_and_is_not_cached(client, intake_form):
    response = client.post(url(intake_form), data=REQUEST)
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_only_posts_are_taken(client, intake_form):
    assert client.get(url(intake_form)).status_code == 405


# Anything a site may send


form_fields = st.dictionaries(
    st.sampled_from(["name", "phone", "email", "company", "message", "homepage", "Name", "TEL"])
    | st.text(min_size=1, max_size=30),
    st.text(max_size=300)
    | st.sampled_from(["", " ", "a@b.co", "+7 999 000 00 00", "\x00", "=1+1", "x" * 9000]),
    max_size=12,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=200),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
FINE = {200, 303, 400, 403, 413, 415, 422}


@pytest.fixture
def generous(app):
    app.config["INTAKE_MAX_REQUESTS"] = 10**6


@fewer_on_postgresql(
    settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(fields=form_fields, as_json=st.booleans(), multipart=st.booleans()),
)
def test_any_form_fields_are_answered_without_a_server_error(
    client, intake_form, generous, fields, as_json, multipart
):
    leads, activities = count(Lead), count(Activity)
    if as_json:
        response = client.post(url(intake_form), json=fields)
    else:
        kind = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
        response = client.post(url(intake_form), data=fields, content_type=kind)
    hypothesis.event(f"status {response.status_code}")
    assert response.status_code in FINE
    added = (count(Lead) - leads, count(Activity) - activities)
    trapped = any(
        name.casefold() == "homepage" and value.replace("\x00", "").strip()
        for name, value in fields.items()
    )
    if response.status_code == 200 and not trapped:
        assert added in ((1, 1), (0, 1))
    else:
        assert added == (0, 0)


@fewer_on_postgresql(
    settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(document=st.dictionaries(st.text(max_size=20), json_values, max_size=8) | json_values),
)
def test_any_json_is_answered_without_a_server_error(client, intake_form, generous, document):
    response = client.post(
        url(intake_form), data=json.dumps(document), content_type="application/json"
    )
    assert response.status_code in FINE
    assert response.is_json


@fewer_on_postgresql(
    settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(
        body=st.binary(max_size=500),
        content_type=st.sampled_from(
            [
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=b",
                "text/plain",
                "",
                "application/xml",
            ]
        ),
        origin=st.sampled_from([None, SITE, "null", "https://evil.example", "\x7f"]),
    ),
)
def test_any_bytes_are_answered_without_a_server_error(
    client, intake_form, generous, body, content_type, origin
):
    headers = {"Origin": origin} if origin is not None else {}
    response = client.post(url(intake_form), data=body, content_type=content_type, headers=headers)
    assert response.status_code in FINE | {415}


# Settings → Intake forms


class Page(HTMLParser):
    """The textareas and inputs of a page, by id."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.values = {}
        self._textarea = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "textarea":
            self._textarea = attrs.get("id")
            self.values[self._textarea] = ""
        elif tag == "input" and attrs.get("id"):
            self.values[attrs["id"]] = attrs.get("value")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


NEW_FORM = {
    "name": "Contact page",
    "source": "Website",
    "owner_id": "",
    "allowed_origins": "https://Shop.Example/\nhttps://shop.example:443\n\nhttp://localhost:8080",
    "reply": "page",
    "redirect_url": "",
    "active": "y",
}


def test_an_administrator_sets_up_a_form(logged_in, admin):
    assert logged_in.get("/settings/intake-forms/new").status_code == 200
    response = logged_in.post("/settings/intake-forms/new", data=NEW_FORM, follow_redirects=True)

    assert "Intake form “Contact page” created." in html.unescape(response.text)
    form = db.session.scalar(select(IntakeForm))
    assert (form.name, form.source, form.owner_id, form.reply, form.active) == (
        "Contact page",
        "Website",
        None,
        "page",
        True,
    )
    assert form.origins == ["https://shop.example", "http://localhost:8080"]
    assert receiving.TOKEN_FORMAT.fullmatch(form.token)
    kind = db.session.scalar(
        select(ActivityKind).where(ActivityKind.code == funnel_defaults.INCOMING_REQUEST)
    )
    assert kind.name == "Incoming request"


def test_the_page_shows_the_address_and_the_html_to_paste(logged_in, intake_form):
    page = Page(logged_in.get("/settings/intake-forms").text)
    address = f"http://localhost/intake/{intake_form.token}"
    assert page.values[f"intake-form-{intake_form.id}-url"] == address
    snippet = page.values[f"intake-form-{intake_form.id}-html"]
    assert f'<form action="{address}" method="post"' in snippet
    for name in ("name", "phone", "email", "company", "message"):
        assert f'name="{name}"' in snippet
    honeypot = re.search(
        r'<div style="([^"]*)" aria-hidden="true">\s*<label>[^<]*'
        r'<input name="homepage" tabindex="-1"',
        snippet,
    )
    assert honeypot and "left:-10000px" in honeypot.group(1)


def test_the_snippet_posts_a_request_that_is_taken(client, logged_in, intake_form):
    snippet = Page(logged_in.get("/settings/intake-forms").text).values[
        f"intake-form-{intake_form.id}-html"
    ]
    names = re.findall(r'name="([a-z]+)"', snippet)
    fields = {name: "" for name in names} | {"name": "From the snippet", "email": "s@example.com"}
    action = re.search(r'action="http://localhost([^"]+)"', snippet).group(1)
    assert client.post(action, data=fields).status_code == 200
    assert only_lead().title == "From the snippet"


def test_what_nobody_types_is_dropped_from_the_settings(logged_in):
    logged_in.post(
        "/settings/intake-forms/new", data=NEW_FORM | {"name": "Sho\x00p ", "source": "\x00Web"}
    )
    form = db.session.scalar(select(IntakeForm))
    assert (form.name, form.source) == ("Shop", "Web")


def test_editing_keeps_the_address(logged_in, intake_form):
    token = intake_form.token
    response = logged_in.post(
        f"/settings/intake-forms/{intake_form.id}",
        data=NEW_FORM
        | {
            "name": "Renamed",
            "reply": "redirect",
            "redirect_url": "https://shop.example/thanks",
            "active": "",
        },
    )
    assert response.status_code == 303
    db.session.refresh(intake_form)
    assert (intake_form.name, intake_form.reply, intake_form.active, intake_form.token) == (
        "Renamed",
        "redirect",
        False,
        token,
    )


def test_a_new_address_turns_the_old_one_off(logged_in, client, intake_form):
    old = intake_form.token
    response = logged_in.post(
        f"/settings/intake-forms/{intake_form.id}/address", follow_redirects=True
    )
    assert "has a new address" in response.text
    db.session.refresh(intake_form)
    assert intake_form.token != old
    assert logged_in.post(f"/intake/{old}", data=REQUEST).status_code == 404
    assert logged_in.post(f"/intake/{intake_form.token}", data=REQUEST).status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": " \x00 "}, "This field is required."),
        ({"allowed_origins": "shop.example"}, "“shop.example” is not a site address like"),
        ({"allowed_origins": "https://shop.example/contact"}, "is not a site address like"),
        ({"allowed_origins": "ftp://shop.example"}, "is not a site address like"),
        ({"reply": "redirect"}, "Give the address of the page to send visitors to."),
        ({"reply": "redirect", "redirect_url": "javascript:alert(1)"}, "Enter a full address"),
        ({"reply": "carrier pigeon"}, "Not a valid choice"),
        ({"owner_id": "999"}, "Not a valid choice"),
    ],
)
def test_settings_that_cannot_work_are_refused(logged_in, changes, message):
    response = logged_in.post("/settings/intake-forms/new", data=NEW_FORM | changes)
    assert response.status_code == 422
    assert message in html.unescape(response.text)
    assert count(IntakeForm) == 0


def test_only_administrators_set_up_forms(client, admin, intake_form):
    seller = factories.user()
    client.post("/login", data={"email": seller.email, "password": factories.PASSWORD})
    for path in (
        "/settings/intake-forms",
        "/settings/intake-forms/new",
        f"/settings/intake-forms/{intake_form.id}",
    ):
        assert client.get(path).status_code == 403
    assert client.post("/settings/intake-forms/new", data=NEW_FORM).status_code == 403
    assert client.post(f"/settings/intake-forms/{intake_form.id}/address").status_code == 403
    assert count(IntakeForm) == 1


def test_settings_link_to_intake_forms_for_administrators(logged_in, client, admin):
    page = logged_in.get("/settings/").text
    assert 'href="/settings/intake-forms"' in page
    assert 'href="/export/everything.json"' in page


def test_a_missing_form_is_not_found(logged_in):
    assert logged_in.get("/settings/intake-forms/4242").status_code == 404
    assert logged_in.post("/settings/intake-forms/4242/address").status_code == 404


def test_a_request_from_anyone_on_a_lead_is_added_to_that_lead(client, intake_form):
    """Matching looks at every person's phones and emails, not only the main contact's."""
    known = factories.lead(contact_name="Ирина", phone="+7 999 123 45 67")
    funnel.set_people(
        known,
        [
            {"name": "Ирина", "phones": ["+7 999 123 45 67"]},
            {"name": "Пётр", "phones": ["+7 495 000-11-22"], "emails": ["petr@alfa.ru"]},
        ],
    )
    db.session.commit()
    client.post(url(intake_form), json={"name": "Пётр", "email": "PETR@alfa.ru"})
    client.post(url(intake_form), json={"name": "Пётр", "phone": "8 (495) 000-11-22"})
    assert count(Lead) == 1
    assert len(activities_of(known)) == 2
