"""The JSON API: tokens, every endpoint, validation, permissions, pages and their cost.

Every answer the tests get is checked against the OpenAPI document the API serves.
"""

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache, partial

import hypothesis
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.validation.request.exceptions import RequestValidationError
from sqlalchemy import func, select, text
from werkzeug.test import EnvironBuilder

from crm import api_tokens as tokens
from crm import funnel, lists
from crm.api import inputs, openapi
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityKind,
    ApiToken,
    Lead,
    LostReason,
    Role,
    StageKind,
    utcnow,
)
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.querycount import counting_queries

# Checking answers against the document


@cache
def specification():
    """The served document, checked as OpenAPI 3.1 once."""
    return OpenAPI.from_dict(openapi.document())


class SentRequest(WerkzeugOpenAPIRequest):
    """The request an answer came to; its body was read by the app, and checking the answer
    needs only its method and address."""

    @property
    def body(self):
        return None


def check_against_document(response):
    """Fail unless the answer is one the OpenAPI document describes for its request."""
    try:
        specification().validate_response(
            SentRequest(response.request), WerkzeugOpenAPIResponse(response)
        )
    except (PathNotFound, OperationNotFound):
        # No route at all (404) or a method the route has not (405): the error shape still.
        assert response.status_code in (404, 405), response.status_code
        Draft202012Validator(openapi.SCHEMAS["Error"]).validate(response.get_json())


class Api:
    """A client of the API that sends a token and checks every answer against the document."""

    def __init__(self, client, token=None):
        self.client = client
        self.token = token

    def open(self, method, path, token=None, headers=None, **kwargs):
        headers = dict(headers or {})
        token = self.token if token is None else token
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)
        check_against_document(response)
        return response

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def as_user(self, user):
        return Api(self.client, token_for(user))


def token_for(user, name="Test"):
    _record, token = tokens.issue(user, name)
    db.session.commit()
    return token


@pytest.fixture
def api(client, admin):
    return Api(client, token_for(admin))


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


@pytest.fixture
def as_seller(client, seller):
    return Api(client, token_for(seller))


def error_of(response):
    return response.get_json()["error"]


def reasons():
    return db.session.scalars(select(LostReason).order_by(LostReason.position)).all()


def stage_of_kind(stages, kind):
    return next(stage for stage in stages if stage.kind == kind)


# Tokens


def test_no_token_is_401_with_how_to_send_one(api):
    response = api.get("/leads", token="")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in error_of(response)["message"]
    assert error_of(response)["field"] is None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer crm_" + "A" * 43,
        "Bearer nonsense",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer crm_" + "A" * 4000,
        "Bearer\x00crm_",
    ],
)
def test_a_wrong_token_is_401(api, header):
    response = api.get("/leads", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_revoked_token_is_401(api, admin):
    assert api.get("/stages").status_code == 200
    record = db.session.scalar(select(ApiToken).where(ApiToken.user_id == admin.id))
    tokens.revoke(record)
    db.session.commit()
    response = api.get("/stages")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_a_deactivated_users_token_is_401(api, admin):
    seller = factories.user()
    theirs = api.as_user(seller)
    assert theirs.get("/stages").status_code == 200
    seller.active = False
    db.session.commit()
    assert theirs.get("/stages").status_code == 401
    seller.active = True
    db.session.commit()
    assert theirs.get("/stages").status_code == 200


def test_the_login_cookie_does_not_open_the_api(app, logged_in):
    """With no CSRF check on the API, a browser's session must not count."""
    response = Api(logged_in).get("/leads")
    assert response.status_code == 401


def test_the_api_needs_no_csrf_token_but_the_pages_still_do(app, api, logged_in, stages):
    app.config["WTF_CSRF_ENABLED"] = True
    assert api.post("/leads", json={"title": "Without a CSRF token"}).status_code == 201
    assert logged_in.post("/settings/api-tokens", data={"name": "x"}).status_code == 400


def test_a_token_notes_when_it_was_last_used(api, admin):
    record = db.session.scalar(select(ApiToken).where(ApiToken.user_id == admin.id))
    assert record.last_used_at is None
    api.get("/stages")
    db.session.refresh(record)
    first = record.last_used_at
    assert first is not None
    # Within the minute the request writes nothing.
    api.get("/stages")
    db.session.refresh(record)
    assert record.last_used_at == first


def test_the_document_is_public_and_describes_every_route(app, client, admin):
    response = Api(client).get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (f"/api/v1{path}".replace("{number}", "<int:number>"), method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed


def test_the_document_describes_what_the_server_answers_before_the_api_does():
    """A body over the limit (413, from the API, in JSON) where a body is read; an address
    longer than the HTTP server takes (414, from the server, as its own page) everywhere."""
    document = openapi.document()
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            answers = operation["responses"]
            assert answers["414"] == {"$ref": "#/components/responses/UriTooLong"}
            if "requestBody" in operation:
                assert answers["413"] == {"$ref": "#/components/responses/TooLarge"}
    too_long = document["components"]["responses"]["UriTooLong"]
    assert set(too_long["content"]) == {"text/html"}
    assert "gunicorn" in too_long["description"]


def test_a_method_an_address_does_not_take_is_405_with_allow(api, logged_in):
    response = api.open("TRACE", "/leads")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert error_of(response)["message"]
    page = logged_in.open("/leads/", method="TRACE")
    assert page.status_code == 405
    assert "GET" in page.headers["Allow"]


def test_unknown_addresses_and_methods_answer_json(api):
    assert api.get("/nowhere").status_code == 404
    assert api.get("/leads/abc").status_code == 404
    response = api.open("DELETE", "/leads")
    assert response.status_code == 405
    assert error_of(response)["message"]


def test_pages_outside_the_api_keep_their_error_pages(logged_in):
    response = logged_in.get("/no-such-page")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_messages_are_in_the_token_owners_language(api, admin, stages):
    lead = factories.lead(owner=admin)
    russian = factories.user(locale="ru")
    response = api.as_user(russian).patch(f"/leads/{lead.number}", json={"title": "Чужой"})
    assert response.status_code == 403
    assert error_of(response)["message"] == (
        "Это чужой лид: изменить его может только владелец или руководитель."
    )


# Reading leads


def test_a_lead_as_the_api_shows_it(api, admin, stages):
    lead = factories.lead(
        title="Acme",
        owner=admin,
        contact_name="Anna",
        phone="+7 900 123-45-67",
        email="anna@example.com",
        source="Website",
        value=Decimal("1250000.5"),
        next_step_at=datetime(2026, 12, 1, 9, 30),
        next_step_note="Call back",
    )
    response = api.get(f"/leads/{lead.number}")
    assert response.status_code == 200
    shown = response.get_json()
    assert shown["number"] == lead.number
    assert shown["title"] == "Acme"
    assert shown["value"] == "1250000.50"
    assert shown["next_step_at"] == "2026-12-01T09:30:00Z"
    assert shown["stage"] == {
        "id": stages[0].id,
        "name": stages[0].name,
        "kind": "open",
        "pipeline_id": stages[0].pipeline_id,
    }
    assert shown["pipeline"] == {"id": stages[0].pipeline_id, "name": "Sales"}
    assert shown["owner"] == {"id": admin.id, "name": admin.name}
    assert shown["created_at"].endswith("Z")
    assert shown["lost_reason"] is None
    assert shown["archived"] is False


def test_an_unknown_lead_is_404(api, stages):
    for number in (1, 999, 2**31, 10**30):
        response = api.get(f"/leads/{number}")
        assert response.status_code == 404
        assert f"#{number}" in error_of(response)["message"]


def test_the_list_is_newest_first_without_archived_leads(api, admin, stages):
    first, second, third = (factories.lead(owner=admin) for _ in range(3))
    funnel.archive_lead(second, admin)
    db.session.commit()
    response = api.get("/leads")
    assert response.status_code == 200
    body = response.get_json()
    assert [lead["number"] for lead in body["leads"]] == [third.number, first.number]
    assert body["next_cursor"] is None
    with_archived = api.get("/leads?archived=1").get_json()["leads"]
    assert [lead["number"] for lead in with_archived] == [
        third.number,
        second.number,
        first.number,
    ]


def test_the_list_filters_as_the_lead_list_does(api, admin, seller, stages):
    mine = factories.lead(title="Ромашка", owner=admin, email="info@romashka.ru")
    theirs = factories.lead(title="Acme", owner=seller, stage=stages[1], phone="+7 900 555 12 34")
    nobodys = factories.lead(title="Nobody's", owner=None)

    def numbers(query):
        response = api.get(f"/leads?{query}")
        assert response.status_code == 200, response.get_json()
        return [lead["number"] for lead in response.get_json()["leads"]]

    assert numbers("q=РОМАШКА") == [mine.number]
    assert numbers("q=5551234") == [theirs.number]
    assert numbers(f"q=%23{nobodys.number}") == [nobodys.number]
    assert numbers(f"stage={stages[1].id}") == [theirs.number]
    assert numbers(f"stage={stages[0].id}&stage={stages[1].id}") == [
        nobodys.number,
        theirs.number,
        mine.number,
    ]
    assert numbers("owner=me") == [mine.number]
    assert numbers(f"owner={seller.id}") == [theirs.number]
    assert numbers("owner=none") == [nobodys.number]
    assert numbers("q=%20") == [nobodys.number, theirs.number, mine.number]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("stage=first", "stage"),
        ("stage=-1", "stage"),
        ("stage=99999999999", "stage"),
        ("owner=someone", "owner"),
        ("archived=maybe", "archived"),
        ("cursor=%00", "cursor"),
        ("cursor=bm90IGpzb24", "cursor"),
        ("cursor=WzEsMl0x", "cursor"),
        ("cursor=WyJhIiwxXQ", "cursor"),
        ("cursor=" + "A" * 500, "cursor"),
    ],
)
def test_wrong_list_parameters_are_422_naming_them(api, stages, query, field):
    response = api.get(f"/leads?{query}")
    assert response.status_code == 422
    assert error_of(response)["field"] == field


def document_refuses(method, path, query=None, body=None):
    """Whether the OpenAPI document says no to this request: its parameters or its body."""
    request = EnvironBuilder(
        path=f"/api/v1{path}",
        method=method,
        query_string=query,
        json=body,
        headers={"Authorization": "Bearer crm_token"},
    ).get_request()
    try:
        specification().validate_request(WerkzeugOpenAPIRequest(request))
    except RequestValidationError:
        return True
    return False


@pytest.mark.parametrize(
    ("query", "field", "given"),
    [
        ("owner=", "owner", "owner=me"),
        ("limit=", "limit", "limit=10"),
        ("stage=", "stage", "stage=1"),
        ("stage=1&stage=", "stage", "stage=1&stage=2"),
        ("pipeline=", "pipeline", "pipeline=1"),
        ("archived=", "archived", "archived=1"),
        ("cursor=", "cursor", "cursor=WzEsMl0"),
        ("q=", "q", "q=acme"),
    ],
)
def test_an_empty_parameter_is_422_naming_it_as_the_document_says(api, stages, query, field, given):
    """Sent empty, a parameter is a slip, not "no filter": refused, never read as left out;
    OpenAPI allows no parameter an empty value unless the document says so, and it does not."""
    response = api.get(f"/leads?{query}")
    assert (response.status_code, error_of(response)) == (
        422,
        {"message": "Give this parameter a value, or leave it out.", "field": field},
    )
    assert document_refuses("GET", "/leads", query)
    assert not document_refuses("GET", "/leads", given)


@pytest.mark.parametrize(
    "query",
    [
        "owner=me&owner=none",
        "limit=5&limit=10",
        "pipeline=1&pipeline=1",
        "archived=1&archived=0",
        "q=acme&q=beta",
        "cursor=WzEsMl0&cursor=WzEsMl0",
    ],
)
def test_a_parameter_taking_one_value_given_twice_is_422(api, stages, query):
    field = query.partition("=")[0]
    response = api.get(f"/leads?{query}")
    assert (response.status_code, error_of(response)) == (
        422,
        {"message": "Give this parameter once.", "field": field},
    )


def test_several_stages_are_one_parameter_repeated_as_documented(api, admin, stages):
    """`stage` alone takes several values, and the document says so (an exploded array)."""
    first = factories.lead(owner=admin, stage=stages[0])
    second = factories.lead(owner=admin, stage=stages[1])
    query = f"stage={stages[0].id}&stage={stages[1].id}"
    response = api.get(f"/leads?{query}")
    assert [lead["number"] for lead in response.get_json()["leads"]] == [
        second.number,
        first.number,
    ]
    assert not document_refuses("GET", "/leads", query)
    (stage,) = (p for p in openapi.PATHS["/leads"]["get"]["parameters"] if p["name"] == "stage")
    assert (stage["schema"]["type"], stage["style"], stage["explode"]) == ("array", "form", True)


def test_the_pages_walk_every_lead_exactly_once(api, admin, seller, stages):
    made = [factories.lead(owner=admin if n % 2 else seller) for n in range(23)]
    for lead in made[::5]:
        funnel.archive_lead(lead, admin)
    db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        query = "archived=1&limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(f"/leads?{query}").get_json()
        seen += [lead["number"] for lead in body["leads"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((lead.number for lead in made), reverse=True)
    assert pages == 5


def test_a_new_lead_between_pages_is_neither_lost_nor_repeated(api, admin, stages):
    made = [factories.lead(owner=admin) for _ in range(4)]
    first = api.get("/leads?limit=2").get_json()
    factories.lead(owner=admin)
    rest = api.get(f"/leads?limit=10&cursor={first['next_cursor']}").get_json()
    numbers = [lead["number"] for lead in first["leads"] + rest["leads"]]
    assert numbers == [lead.number for lead in reversed(made)]


def make_leads(count, owner, stages):
    """Leads with everything the list shows: owners, stages, a lost reason, a contact."""
    lost = stage_of_kind(stages, StageKind.LOST)
    for n in range(count):
        lead = funnel.create_lead(
            owner, stage=stages[n % 3], title=f"Company {n}", value=Decimal(n)
        )
        funnel.log_activity(
            lead, owner, factories.kind(), "Called.", occurred_at=utcnow(), no_next_step=True
        )
        if n % 4 == 0:
            funnel.move_lead(lead, lost, owner, lost_reason=reasons()[n % 3])
    db.session.commit()


def statements_of(api, path):
    with counting_queries() as statements:
        response = api.get(path)
    assert response.status_code == 200
    return len(statements)


def test_the_lists_cost_the_same_whatever_their_size(api, admin, seller, stages):
    make_leads(3, admin, stages)
    lead = db.session.scalar(select(Lead).order_by(Lead.number))
    api.get("/stages")  # the token's first use of the minute writes; not what is counted
    small = statements_of(api, "/leads")
    small_timeline = statements_of(api, f"/leads/{lead.number}/activities")
    make_leads(60, seller, stages)
    for _ in range(30):
        funnel.log_activity(lead, admin, factories.kind("email"), "More.", occurred_at=utcnow())
    db.session.commit()
    assert statements_of(api, "/leads") == small
    assert statements_of(api, "/leads?limit=100&q=company") == small
    next_page = api.get("/leads?limit=10").get_json()["next_cursor"]
    assert statements_of(api, f"/leads?limit=10&cursor={next_page}") == small
    assert statements_of(api, f"/leads/{lead.number}/activities") == small_timeline


# Creating leads


def test_creating_a_lead(api, admin, stages):
    response = api.post(
        "/leads",
        json={
            "title": "  Acme  ",
            "contact_name": "Anna",
            "email": "Anna@Example.com",
            "phone": "+7 900 000 00 01",
            "value": "1250000.50",
            "next_step_at": "2026-12-01T12:30:00+03:00",
            "next_step_note": "Send the estimate",
            "source": "API",
        },
    )
    assert response.status_code == 201
    shown = response.get_json()
    assert response.headers["Location"] == f"/api/v1/leads/{shown['number']}"
    lead = db.session.scalar(select(Lead).where(Lead.number == shown["number"]))
    assert lead.title == "Acme"
    assert lead.email == "anna@example.com"
    assert lead.value == Decimal("1250000.50")
    assert lead.next_step_at == datetime(2026, 12, 1, 9, 30)
    assert lead.owner_id == admin.id
    assert lead.stage_id == stages[0].id
    assert shown["value"] == "1250000.50"
    assert shown["next_step_at"] == "2026-12-01T09:30:00Z"
    assert api.get(f"/leads/{lead.number}").get_json() == shown


def test_a_lead_can_start_in_another_open_stage_but_not_a_closed_one(api, stages):
    response = api.post("/leads", json={"title": "Warm", "stage_id": stages[2].id})
    assert response.status_code == 201
    assert response.get_json()["stage"]["id"] == stages[2].id
    won = stage_of_kind(stages, StageKind.WON)
    response = api.post("/leads", json={"title": "Won already", "stage_id": won.id})
    assert response.status_code == 422
    assert error_of(response)["field"] == "stage_id"


def test_a_salesperson_creates_leads_of_their_own(as_seller, seller, admin, stages):
    response = as_seller.post("/leads", json={"title": "Alpha"})
    assert response.status_code == 201
    assert response.get_json()["owner"]["id"] == seller.id
    assert (
        as_seller.post("/leads", json={"title": "Beta", "owner_id": seller.id}).status_code == 201
    )
    response = as_seller.post("/leads", json={"title": "Theirs", "owner_id": admin.id})
    assert response.status_code == 403
    assert error_of(response)["field"] == "owner_id"
    # Or nobody's, as the form offers.
    unassigned = as_seller.post("/leads", json={"title": "Nobody's", "owner_id": None})
    assert unassigned.status_code == 201 and unassigned.get_json()["owner"] is None
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 3


def test_a_manager_gives_new_leads_to_anyone_active(client, seller, stages):
    manager = factories.user(role=Role.MANAGER)
    api = Api(client, token_for(manager))
    response = api.post("/leads", json={"title": "For Sam", "owner_id": seller.id})
    assert response.get_json()["owner"]["id"] == seller.id
    assert (
        api.post("/leads", json={"title": "For nobody", "owner_id": None}).get_json()["owner"]
        is None
    )
    gone = factories.user(active=False)
    for owner_id in (gone.id, 999_999):
        response = api.post("/leads", json={"title": "Lost", "owner_id": owner_id})
        assert response.status_code == 422
        assert error_of(response)["field"] == "owner_id"


def test_a_possible_duplicate_is_409_unless_allowed(api, admin, stages):
    known = factories.lead(title="ООО Ромашка", owner=admin, email="info@romashka.ru")
    response = api.post("/leads", json={"title": "Someone", "email": "INFO@romashka.ru"})
    assert response.status_code == 409
    assert error_of(response)["duplicates"] == [known.number]
    assert f"#{known.number}" in error_of(response)["message"]
    response = api.post("/leads", json={"title": "Ромашка"})
    assert response.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 1
    response = api.post("/leads", json={"title": "Ромашка", "allow_duplicates": True})
    assert response.status_code == 201


def test_a_mistake_is_told_before_a_possible_duplicate(api, admin, stages):
    factories.lead(title="Acme", owner=admin)
    response = api.post("/leads", json={"title": "Acme", "value": "-5"})
    assert response.status_code == 422
    assert error_of(response)["field"] == "value"


# What a write refuses, and why


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": None}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "\x00\x00"}, "title"),
        ({"title": 42}, "title"),
        ({"title": ["Acme"]}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Acme", "contact_name": {"first": "Anna"}}, "contact_name"),
        ({"title": "Acme", "phone": "1" * 51}, "phone"),
        ({"title": "Acme", "email": "not an address"}, "email"),
        ({"title": "Acme", "email": 7}, "email"),
        ({"title": "Acme", "value": "-1"}, "value"),
        ({"title": "Acme", "value": "1e400"}, "value"),
        ({"title": "Acme", "value": 10**30}, "value"),
        ({"title": "Acme", "value": "1000000000000.00"}, "value"),
        ({"title": "Acme", "value": "NaN"}, "value"),
        ({"title": "Acme", "value": "twelve"}, "value"),
        ({"title": "Acme", "value": True}, "value"),
        ({"title": "Acme", "owner_id": "1"}, "owner_id"),
        ({"title": "Acme", "owner_id": 1.5}, "owner_id"),
        ({"title": "Acme", "owner_id": True}, "owner_id"),
        ({"title": "Acme", "owner_id": 2**63}, "owner_id"),
        ({"title": "Acme", "owner_id": -1}, "owner_id"),
        ({"title": "Acme", "stage_id": None}, "stage_id"),
        ({"title": "Acme", "stage_id": 10**20}, "stage_id"),
        ({"title": "Acme", "next_step_at": "tomorrow"}, "next_step_at"),
        ({"title": "Acme", "next_step_at": "2026-12-01"}, "next_step_at"),
        ({"title": "Acme", "next_step_at": "2026-12-01T10:00:00"}, "next_step_at"),
        ({"title": "Acme", "next_step_at": "9999-12-31T23:59:59-23:59"}, "next_step_at"),
        ({"title": "Acme", "next_step_at": "0001-01-01T00:00:00+23:59"}, "next_step_at"),
        ({"title": "Acme", "next_step_at": 1764000000}, "next_step_at"),
        ({"title": "Acme", "next_step_note": "n" * 501}, "next_step_note"),
        ({"title": "Acme", "allow_duplicates": "yes"}, "allow_duplicates"),
        ({"title": "Acme", "titel": "typo"}, "titel"),
        ({"title": "Acme", "number": 7}, "number"),
    ],
)
def test_a_wrong_field_is_422_naming_it_and_saves_nothing(api, stages, body, field):
    response = api.post("/leads", json=body)
    assert response.status_code == 422, response.get_json()
    assert error_of(response)["field"] == field
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("", "application/json"),
        ("   ", "application/json"),
        ('{"title": "Acme"', "application/json"),
        ('["title"]', "application/json"),
        ('"Acme"', "application/json"),
        ("null", "application/json"),
        ('{"title": NaN}', "application/json"),
        ('{"value": Infinity}', "application/json"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
        (b"\xff\xfe\x00{", "application/json"),
        ('{"title": "Acme"}', "text/plain"),
        ('{"title": "Acme"}', None),
        ("title=Acme", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_no_json_object_is_400(api, stages, data, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.post("/leads", data=data, headers=headers)
    assert response.status_code == 400
    assert "JSON" in error_of(response)["message"]


def test_a_huge_body_is_413(api, stages):
    response = api.post("/leads", json={"title": "Acme", "source": "x" * 300_000})
    assert response.status_code == 413
    assert error_of(response) == {"message": "The upload is too large.", "field": None}


# The document as strict as the API: what one refuses, the other does


def refused_and_documented(api, method, path, body, field):
    """The API refuses `body` with a 422 naming `field`, and the document says it would."""
    response = api.open(method, path, json=body)
    assert (response.status_code, error_of(response)["field"]) == (422, field), body
    assert document_refuses(method, path, body=body), body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "\x00"}, "title"),
        ({"title": "\u3000\t\x1c"}, "title"),
        # Lengths are counted as sent, spaces too, as JSON Schema's maxLength counts them.
        ({"title": " " + "x" * 200}, "title"),
        ({"title": "Acme", "source": "s" * 80 + " "}, "source"),
        ({"title": "Acme", "value": "1e3"}, "value"),
        ({"title": "Acme", "value": " 5"}, "value"),
        ({"title": "Acme", "value": "+5"}, "value"),
        ({"title": "Acme", "value": "1.005"}, "value"),
        ({"title": "Acme", "value": "\u0663"}, "value"),
        ({"title": "Acme", "people": [{"name": f"P{n}"} for n in range(21)]}, "people"),
        (
            {"title": "Acme", "people": [{"phones": ["1", "2", "3", "4", "5", "6"]}]},
            "people.0.phones",
        ),
        ({"title": "Acme", "people": [{"emails": "a" * 250 + "@x.ru"}]}, "people.0.emails"),
    ],
)
def test_a_new_lead_the_api_refuses_the_document_refuses(api, stages, body, field):
    refused_and_documented(api, "POST", "/leads", body, field)
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


@pytest.mark.parametrize("kind", ["", "Call", "CALL", 0, True])
def test_a_contact_of_no_kind_is_refused_as_the_document_says(api, admin, stages, kind):
    lead = factories.lead(owner=admin)
    body = {"kind": kind, "no_next_step": True}
    refused_and_documented(api, "POST", f"/leads/{lead.number}/activities", body, "kind")


@pytest.mark.parametrize(
    ("stage", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": " "}, "name"),
        ({"name": "A", "kind": ""}, "kind"),
        ({"name": "A", "colour": ""}, "colour"),
        ({"name": "A", "stuck_after_days": 3651}, "stuck_after_days"),
    ],
)
def test_a_stage_the_api_refuses_the_document_refuses(api, stages, stage, field):
    body = {"name": "Renewals", "stages": [{"name": "Due"}, stage]}
    refused_and_documented(api, "POST", "/pipelines", body, f"stages.1.{field}")


@pytest.mark.parametrize(
    ("regex", "value"),
    [(lists.COLOUR, "#0e7490"), (inputs.MONEY_TEXT, "12.50"), (inputs.CURSOR_TEXT, "WzEsMl0")],
)
def test_the_documents_patterns_end_the_value_as_the_apps_do(regex, value):
    """The app's `\\Z` is JSON Schema's `$`: ECMA-262's, which no newline may follow (the
    validator Schemathesis uses reads it so; Python's own `$`, and so openapi-core, would let
    one through)."""
    pattern = {"type": "string", "pattern": openapi.anchored(regex)}
    for sent in (value, value + "\n", "\n" + value, value + "x", ""):
        assert jsonschema_rs.is_valid(pattern, sent) == bool(regex.match(sent)), repr(sent)


def test_required_text_is_blank_as_the_app_trims_it():
    """NOT_BLANK finds a character that Python's str.strip() keeps and that is not NUL."""
    solid = re.compile(openapi.NOT_BLANK)
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        assert bool(solid.match(character)) == (character.strip("\x00").strip() != ""), code


def test_left_out_or_null_a_stage_takes_its_default_colour_and_kind(api, stages):
    sent = {"name": "Renewals", "stages": [{"name": "Due", "kind": None, "colour": None}]}
    assert not document_refuses("POST", "/pipelines", body=sent)
    response = api.post("/pipelines", json=sent)
    assert response.status_code == 201, response.get_json()
    (stage,) = response.get_json()["stages"]
    assert (stage["kind"], stage["colour"]) == ("open", "#64748b")


def test_a_whole_number_may_come_with_a_zero_fraction_as_json_schema_reads_it(api, admin, stages):
    """JSON Schema's integer is any number without a fraction: 3.0 is one."""
    sent = {"name": "Renewals", "stages": [{"name": "Due", "stuck_after_days": 7.0}]}
    assert api.post("/pipelines", json=sent).get_json()["stages"][0]["stuck_after_days"] == 7
    lead = factories.lead(owner=admin)
    call = factories.kind("call")
    body = {"kind": float(call.id), "stage_id": float(stages[1].id), "no_next_step": True}
    assert not document_refuses("POST", f"/leads/{lead.number}/activities", body=body)
    response = api.post(f"/leads/{lead.number}/activities", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["kind"]["code"] == "call"


def test_text_is_stored_as_the_database_can_hold_it(api, stages):
    response = api.post(
        "/leads",
        data='{"title": "Acme\\u0000 \\ud800Corp", "contact_name": "\\udfff"}',
        content_type="application/json",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "Acme \ufffdCorp"
    assert response.get_json()["contact_name"] == "\ufffd"


# Changing leads


def test_changing_a_leads_details(api, admin, seller, stages):
    lead = factories.lead(title="Acme", owner=admin, value=Decimal("10"))
    response = api.patch(
        f"/leads/{lead.number}",
        json={"title": "Acme Corp", "value": 99.5, "owner_id": seller.id, "next_step_at": None},
    )
    assert response.status_code == 200
    shown = response.get_json()
    assert (shown["title"], shown["value"], shown["owner"]["id"]) == (
        "Acme Corp",
        "99.50",
        seller.id,
    )
    assert shown["next_step_at"] is None
    assert api.patch(f"/leads/{lead.number}", json={}).status_code == 200
    assert api.get(f"/leads/{lead.number}").get_json()["title"] == "Acme Corp"


def test_moving_a_lead_through_the_api(api, admin, stages):
    lead = factories.lead(owner=admin, value=None)
    lost, won = stage_of_kind(stages, StageKind.LOST), stage_of_kind(stages, StageKind.WON)
    response = api.patch(f"/leads/{lead.number}", json={"stage_id": lost.id})
    assert response.status_code == 422
    assert error_of(response)["field"] == "lost_reason_id"
    reason = reasons()[0]
    response = api.patch(
        f"/leads/{lead.number}",
        json={"stage_id": lost.id, "lost_reason_id": reason.id, "lost_note": "Too dear"},
    )
    assert response.status_code == 200
    shown = response.get_json()
    assert shown["stage"]["id"] == lost.id
    assert shown["lost_reason"] == {"id": reason.id, "name": reason.name}
    assert shown["lost_note"] == "Too dear"
    response = api.patch(f"/leads/{lead.number}", json={"stage_id": won.id})
    assert response.status_code == 422
    assert error_of(response)["field"] == "value"
    response = api.patch(f"/leads/{lead.number}", json={"stage_id": won.id, "value": "5000"})
    assert response.status_code == 200
    assert (response.get_json()["stage"]["kind"], response.get_json()["value"]) == (
        "won",
        "5000.00",
    )
    assert response.get_json()["lost_reason"] is None


def test_a_move_needs_a_reason_that_is_on_offer(api, admin, stages):
    lead = factories.lead(owner=admin)
    lost = stage_of_kind(stages, StageKind.LOST)
    reason = reasons()[0]
    reason.active = False
    db.session.commit()
    for reason_id in (reason.id, 10**6, "1"):
        response = api.patch(
            f"/leads/{lead.number}", json={"stage_id": lost.id, "lost_reason_id": reason_id}
        )
        assert response.status_code == 422
        assert error_of(response)["field"] == "lost_reason_id"
    response = api.patch(f"/leads/{lead.number}", json={"lost_reason_id": reasons()[1].id})
    assert response.status_code == 422
    assert error_of(response)["field"] == "lost_reason_id"


def test_an_archived_lead_keeps_its_stage(api, admin, stages):
    lead = factories.lead(owner=admin)
    api.post(f"/leads/{lead.number}/archive")
    response = api.patch(f"/leads/{lead.number}", json={"stage_id": stages[1].id})
    assert response.status_code == 409
    assert api.patch(f"/leads/{lead.number}", json={"title": "Still editable"}).status_code == 200


def test_a_salesperson_changes_only_their_own_and_unclaimed_leads(as_seller, seller, admin, stages):
    others = factories.lead(title="Admin's", owner=admin)
    own = factories.lead(title="Sam's", owner=seller)
    unclaimed = factories.lead(title="Nobody's", owner=None)
    for path, body in (
        (f"/leads/{others.number}", {"title": "Taken"}),
        (f"/leads/{others.number}", {"stage_id": stages[1].id}),
        (f"/leads/{others.number}/archive", None),
        (f"/leads/{others.number}/activities", {"kind": "call", "body": "Hello"}),
    ):
        method = "PATCH" if path.endswith(str(others.number)) else "POST"
        response = as_seller.open(method, path, json=body)
        assert response.status_code == 403
        assert "someone else's" in error_of(response)["message"]
    db.session.refresh(others)
    assert (others.title, others.stage_id, others.archived) == ("Admin's", stages[0].id, False)
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    # Reading is for everyone, as on the pages.
    assert as_seller.get(f"/leads/{others.number}").status_code == 200
    assert as_seller.patch(f"/leads/{own.number}", json={"title": "Sam's own"}).status_code == 200
    assert as_seller.patch(f"/leads/{unclaimed.number}", json={"source": "Call"}).status_code == 200


def test_archiving_a_lead(api, admin, stages):
    lead = factories.lead(owner=admin)
    response = api.post(f"/leads/{lead.number}/archive")
    assert response.status_code == 200
    assert response.get_json()["archived"] is True
    assert api.post(f"/leads/{lead.number}/archive").status_code == 200
    assert api.get("/leads").get_json()["leads"] == []
    assert api.post("/leads/4242/archive").status_code == 404


# Activities


def test_logging_a_contact_with_the_stage_after_and_the_next_step(api, admin, stages):
    lead = factories.lead(owner=admin, next_step_at=datetime(2026, 1, 1, 9))
    response = api.post(
        f"/leads/{lead.number}/activities",
        json={
            "kind": "call",
            "body": "They want an estimate by Friday.",
            "occurred_at": "2026-11-20T10:00:00+03:00",
            "stage_id": stages[2].id,
            "next_step_at": "2030-11-28T09:00:00Z",
            "next_step_note": "Send the estimate",
        },
    )
    assert response.status_code == 201
    shown = response.get_json()
    assert shown["kind"]["code"] == "call"
    assert shown["occurred_at"] == "2026-11-20T07:00:00Z"
    assert shown["stage_after"]["id"] == stages[2].id
    assert shown["author"] == {"id": admin.id, "name": admin.name}
    assert shown["lead_number"] == lead.number
    lead_now = api.get(f"/leads/{lead.number}").get_json()
    assert lead_now["stage"]["id"] == stages[2].id
    assert lead_now["next_step_at"] == "2030-11-28T09:00:00Z"
    assert lead_now["next_step_note"] == "Send the estimate"
    assert lead_now["last_activity_at"] == "2026-11-20T07:00:00Z"


def test_the_next_step_is_kept_renoted_or_said_to_be_none(api, admin, stages):
    lead = factories.lead(owner=admin, next_step_at=datetime(2030, 12, 1, 9))
    path = f"/leads/{lead.number}/activities"
    assert api.post(path, json={"kind": "email"}).status_code == 201
    assert api.get(f"/leads/{lead.number}").get_json()["next_step_at"] == "2030-12-01T09:00:00Z"
    assert (
        api.post(path, json={"kind": "note", "next_step_note": "Bring samples"}).status_code == 201
    )
    shown = api.get(f"/leads/{lead.number}").get_json()
    assert (shown["next_step_at"], shown["next_step_note"]) == (
        "2030-12-01T09:00:00Z",
        "Bring samples",
    )
    # null alone is no choice (an empty field sends it too): "none" is said in words.
    refused = api.post(path, json={"kind": "call", "next_step_at": None})
    assert (refused.status_code, error_of(refused)["field"]) == (422, "next_step_at")
    said = api.post(path, json={"kind": "call", "next_step_at": None, "no_next_step": True})
    assert said.status_code == 201
    shown = api.get(f"/leads/{lead.number}").get_json()
    assert (shown["next_step_at"], shown["next_step_note"]) == (None, None)


def test_a_contact_on_an_overdue_lead_must_say_what_comes_next(api, admin, stages):
    due = utcnow().replace(microsecond=0) - timedelta(days=2)
    lead = factories.lead(owner=admin, next_step_at=due)
    path = f"/leads/{lead.number}/activities"
    refused = api.post(path, json={"kind": "call", "body": "Talked"})
    assert refused.status_code == 422
    assert error_of(refused) == {
        "message": "The planned next step is due: plan the next one, or say there is none.",
        "field": "next_step_at",
    }
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    ahead = api.post(path, json={"kind": "call", "next_step_at": "2030-01-10T09:00:00Z"})
    assert ahead.status_code == 201
    assert api.get(f"/leads/{lead.number}").get_json()["next_step_at"] == "2030-01-10T09:00:00Z"
    won = stage_of_kind(stages, StageKind.WON)
    assert api.post(path, json={"kind": "call", "stage_id": won.id}).status_code == 201


def test_a_kind_by_its_code_or_id_and_only_one_on_offer(api, admin, stages):
    lead = factories.lead(owner=admin)
    path = f"/leads/{lead.number}/activities"
    meeting = factories.kind("meeting")
    logged = api.post(path, json={"kind": meeting.id, "no_next_step": True})
    assert logged.get_json()["kind"]["code"] == "meeting"
    meeting.active = False
    db.session.commit()
    for kind in ("meeting", meeting.id, "Meeting", "", None, True, 10**40, ["call"]):
        response = api.post(path, json={"kind": kind})
        assert response.status_code == 422
        assert error_of(response)["field"] == "kind"
    response = api.post(path, json={"body": "No kind"})
    assert error_of(response)["field"] == "kind"


def test_a_refused_contact_leaves_nothing_behind(api, admin, stages):
    lead = factories.lead(owner=admin)
    lost = stage_of_kind(stages, StageKind.LOST)
    path = f"/leads/{lead.number}/activities"
    cases = [
        ({"kind": "call", "stage_id": lost.id}, "lost_reason_id"),
        ({"kind": "call", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"kind": "call", "body": "b" * 8001}, "body"),
        ({"kind": "call", "stage_id": 10**6}, "stage_id"),
        ({"kind": "call", "value": "-3"}, "value"),
        ({"kind": "call", "next_step_at": "soon"}, "next_step_at"),
        ({"kind": "call", "lost_reason_id": "why"}, "lost_reason_id"),
        ({"kind": "call", "when": "now"}, "when"),
        ({"kind": "call"}, "next_step_at"),
        ({"kind": "call", "next_step_at": "2020-01-01T09:00:00Z"}, "next_step_at"),
        ({"kind": "call", "no_next_step": "yes"}, "no_next_step"),
        (
            {"kind": "call", "next_step_at": "2030-01-01T09:00:00Z", "no_next_step": True},
            "no_next_step",
        ),
    ]
    for body, field in cases:
        response = api.post(path, json=body)
        assert response.status_code == 422, body
        assert error_of(response)["field"] == field
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    db.session.refresh(lead)
    assert lead.stage_id == stages[0].id


def test_a_contact_that_wins_the_lead_takes_its_final_value(api, admin, stages):
    lead = factories.lead(owner=admin, value=None)
    won = stage_of_kind(stages, StageKind.WON)
    response = api.post(
        f"/leads/{lead.number}/activities",
        json={"kind": "meeting", "stage_id": won.id, "value": "777.7"},
    )
    assert response.status_code == 201
    assert api.get(f"/leads/{lead.number}").get_json()["value"] == "777.70"


def test_a_leads_activities_page_by_page_newest_first(api, admin, stages):
    lead = factories.lead(owner=admin)
    moment = utcnow() - timedelta(days=1)
    # Ties on the moment are broken by id, so none is skipped or repeated.
    call = partial(funnel.log_activity, lead, admin, factories.kind(), no_next_step=True)
    made = [call(f"Call {n}", occurred_at=moment) for n in range(7)] + [
        call(f"Later {n}", occurred_at=moment + timedelta(hours=n)) for n in range(1, 5)
    ]
    deleted = call("Oops", occurred_at=moment)
    db.session.commit()
    funnel.delete_activity(deleted, admin)
    db.session.commit()
    expected = [a.id for a in sorted(made, key=lambda a: (a.occurred_at, a.id), reverse=True)]
    seen, cursor = [], None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(f"/leads/{lead.number}/activities{query}").get_json()
        seen += [activity["id"] for activity in body["activities"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert api.get("/leads/999/activities").status_code == 404
    response = api.get(f"/leads/{lead.number}/activities?cursor=WyJ4IiwxXQ")
    assert response.status_code == 422


# The funnel's lists


def test_the_funnels_lists(api, stages):
    shown = api.get("/stages").get_json()["stages"]
    assert [stage["id"] for stage in shown] == [stage.id for stage in stages]
    assert shown[0] == {
        "id": stages[0].id,
        "pipeline_id": stages[0].pipeline_id,
        "name": stages[0].name,
        "colour": stages[0].colour,
        "kind": "open",
        "position": stages[0].position,
        "stuck_after_days": stages[0].stuck_after_days,
    }
    kinds = api.get("/activity-kinds").get_json()["activity_kinds"]
    assert [kind["code"] for kind in kinds] == ["call", "email", "meeting", "message", "note"]
    lost_reasons = api.get("/lost-reasons").get_json()["lost_reasons"]
    assert [reason["id"] for reason in lost_reasons] == [reason.id for reason in reasons()]
    assert db.session.scalar(select(func.count()).select_from(ActivityKind)) == len(kinds)


# Anything at all, sent to the writes


TABLES = (
    "leads",
    "activities",
    "activity_revisions",
    "stage_changes",
    "planned_steps",
    "counters",
)


def snapshot():
    """Every row the writes could touch (the tokens' "last used" aside)."""
    return {
        table: db.session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()  # noqa: S608
        for table in TABLES
    }


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(
        ["", " ", "\x00", "NaN", "1e400", "-0", "null", "\ud800", "0001-01-01T00:00Z"]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
plausible_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())
past_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2025, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())
edge_moments = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat()) | st.text(max_size=30)
plausible_amounts = st.decimals(min_value=0, max_value=10**9, places=2).map(str) | st.integers(
    0, 10**9
)
edge_amounts = st.decimals().map(str) | st.integers() | st.floats()
plausible_text = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40)


def sometimes(plausible, edge=json_values):
    """Plausible values six times in eight, so that saving is tried, not only refusing; else
    values at the edges of what is accepted, or anything at all."""
    return st.integers(0, 7).flatmap(
        lambda n: json_values if n == 7 else edge if n == 6 else plausible
    )


def arbitrary_body(data, fields, usual=()):
    """A JSON object with some of `fields` (the `usual` ones nine times in ten), or now and
    then anything at all."""
    if data.draw(st.integers(0, 9), label="anything at all") == 0:
        return data.draw(json_values, label="body")
    chosen = data.draw(st.sets(st.sampled_from(sorted(fields))), label="fields")
    chosen |= {name for name in usual if data.draw(st.integers(0, 9), label=name) > 0}
    body = {name: data.draw(fields[name], label=name) for name in sorted(chosen)}
    if data.draw(st.integers(0, 9), label="extra field") == 0:
        body[data.draw(st.text(max_size=10), label="extra name")] = data.draw(json_values)
    return body


def send_arbitrary(api, method, path, data, fields, usual=()):
    """Send what hypothesis makes and hold the API to its promises about it."""
    before = snapshot()
    if data.draw(st.integers(0, 19), label="raw bytes") == 0:
        raw = data.draw(st.binary(max_size=200), label="raw")
        response = api.open(method, path, data=raw, content_type="application/json")
    else:
        body = arbitrary_body(data, fields, usual)
        response = api.open(method, path, data=json.dumps(body), content_type="application/json")
    hypothesis.event(f"status {response.status_code}")
    assert response.status_code < 500
    if response.status_code >= 400:
        assert snapshot() == before
    return response


SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def lead_fields(stages, users):
    return {
        "title": sometimes(plausible_text, st.text(max_size=210)),
        "contact_name": sometimes(plausible_text | st.none(), st.text(max_size=210)),
        "phone": sometimes(st.text(alphabet="+0123456789 -()", max_size=20)),
        "email": sometimes(st.sampled_from(["", "someone@example.com", None]), st.text()),
        "source": sometimes(plausible_text, st.text(max_size=90)),
        "value": sometimes(plausible_amounts | st.none(), edge_amounts),
        "owner_id": sometimes(st.sampled_from([user.id for user in users]), st.integers()),
        "stage_id": sometimes(st.sampled_from([stage.id for stage in stages]), st.integers()),
        "next_step_at": sometimes(plausible_moments | st.none(), edge_moments),
        "next_step_note": sometimes(plausible_text | st.none(), st.text(max_size=510)),
    }


@fewer_on_postgresql(SETTINGS, given(data=st.data()))
def test_arbitrary_new_leads_never_fail_or_half_save(api, admin, seller, stages, data):
    fields = lead_fields(stages, [admin, seller]) | {"allow_duplicates": sometimes(st.booleans())}
    response = send_arbitrary(api, "POST", "/leads", data, fields, usual=["title"])
    assert response.status_code in (201, 400, 409, 422)


@fewer_on_postgresql(SETTINGS, given(data=st.data()))
def test_arbitrary_changes_never_fail_or_half_save(api, admin, seller, stages, data):
    lead = db.session.scalar(select(Lead).where(Lead.title == "Target"))
    if lead is None:
        lead = factories.lead(title="Target", owner=admin)
    fields = lead_fields(stages, [admin, seller]) | {
        "lost_reason_id": sometimes(st.sampled_from([reason.id for reason in reasons()])),
        "lost_note": sometimes(plausible_text),
    }
    response = send_arbitrary(api, "PATCH", f"/leads/{lead.number}", data, fields)
    assert response.status_code in (200, 400, 409, 422)


@fewer_on_postgresql(SETTINGS, given(data=st.data()))
def test_arbitrary_contacts_never_fail_or_half_save(api, admin, seller, stages, data):
    lead = db.session.scalar(select(Lead).where(Lead.title == "Target"))
    if lead is None:
        lead = factories.lead(title="Target", owner=admin)
    kinds = db.session.scalars(select(ActivityKind)).all()
    fields = {
        "kind": sometimes(st.sampled_from([k.code for k in kinds] + [k.id for k in kinds])),
        "body": sometimes(plausible_text, st.text(max_size=20) | st.just("b" * 8001)),
        "occurred_at": sometimes(past_moments | st.none(), edge_moments),
        "stage_id": sometimes(st.sampled_from([stage.id for stage in stages]) | st.none()),
        "next_step_at": sometimes(plausible_moments | st.none(), edge_moments),
        "next_step_note": sometimes(plausible_text),
        "lost_reason_id": sometimes(st.sampled_from([reason.id for reason in reasons()])),
        "lost_note": sometimes(plausible_text),
        "value": sometimes(plausible_amounts, edge_amounts),
    }
    response = send_arbitrary(
        api, "POST", f"/leads/{lead.number}/activities", data, fields, usual=["kind"]
    )
    assert response.status_code in (201, 400, 422)


@fewer_on_postgresql(
    settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck)),
    given(
        query=st.dictionaries(
            st.sampled_from(["q", "stage", "owner", "archived", "limit", "cursor"]),
            st.text(st.characters(blacklist_categories=["Cs"]), max_size=30),
        )
    ),
)
def test_arbitrary_list_parameters_never_fail(api, stages, query):
    response = api.get("/leads", query_string=query)
    assert response.status_code in (200, 422)
