"""The team's own fields in the JSON API: a `fields` object on every lead, set on create and
changed key by key on PATCH through the funnel's checks, refused by name when wrong, and
described field by field in the OpenAPI document.

Every answer is checked against the document as the API serves it now, with the team's fields
in it."""

import json
from functools import cache

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from sqlalchemy import select

from crm import custom_fields
from crm.extensions import db
from crm.models import CustomField, Lead, utcnow
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.querycount import counting_queries
from tests.test_api import SentRequest, error_of, json_values, snapshot, token_for


@cache
def specification(document):
    """The document (as JSON text) checked as OpenAPI 3.1, once for each way it is written."""
    return OpenAPI.from_dict(json.loads(document))


class Api:
    """A client that checks every answer against the document the API serves at the time."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def document(self):
        return self.client.get("/api/v1/openapi.json").get_json()

    def open(self, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        response = self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)
        specification(json.dumps(self.document(), sort_keys=True)).validate_response(
            SentRequest(response.request), WerkzeugOpenAPIResponse(response)
        )
        return response

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.open("PATCH", path, **kwargs)


@pytest.fixture
def own_fields(app, stages):
    factories.field("ИНН", "text", identifies_client=True)
    factories.field("Город", "choice", ["Москва", "Казань"], help_text="Where the client is.")
    factories.field("Сотрудников", "number")
    factories.field("Бюджет", "money")
    factories.field("Первая встреча", "date")
    factories.field("VIP", "yes_no")
    factories.field("Каналы", "choices", ["Telegram", "WhatsApp"])
    factories.field("Сайт", "link")
    factories.field("Старое", "text")
    row = db.session.scalar(select(CustomField).where(CustomField.key == "staroe"))
    row.removed_at = utcnow()
    db.session.commit()
    custom_fields.forget()


@pytest.fixture
def api(client, admin, own_fields):
    return Api(client, token_for(admin))


FULL = {
    "inn": "0105012345",
    "gorod": "moskva",
    "sotrudnikov": 120,
    "byudzhet": 1250000.5,
    "pervaya_vstrecha": "2026-12-31",
    "vip": True,
    "kanaly": ["telegram", "whatsapp"],
    "sayt": "https://romashka.ru",
}


def stored(number):
    db.session.expire_all()
    return db.session.scalar(select(Lead.fields).where(Lead.number == number))


def test_fields_go_in_with_a_new_lead_and_come_back_as_stored(api):
    response = api.post("/leads", json={"title": "Ромашка", "fields": FULL})
    assert response.status_code == 201, response.get_json()
    lead = response.get_json()
    assert lead["fields"] == FULL
    assert api.get(f"/leads/{lead['number']}").get_json()["fields"] == FULL
    assert api.get("/leads").get_json()["leads"][0]["fields"] == FULL
    assert stored(lead["number"]) == FULL


def test_what_a_person_would_type_is_taken_too(api):
    typed = {"gorod": "Казань", "byudzhet": "1 250 000,50", "pervaya_vstrecha": "31.12.2026"}
    response = api.post("/leads", json={"title": "Лютик", "fields": typed})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["fields"] == {
        "gorod": "kazan",
        "byudzhet": 1250000.5,
        "pervaya_vstrecha": "2026-12-31",
    }


def test_a_change_sets_only_the_fields_sent_and_null_empties_one(api, admin):
    number = factories.lead(title="Acme", owner=admin, fields=FULL).number
    response = api.patch(
        f"/leads/{number}", json={"fields": {"gorod": "kazan", "sayt": None, "sotrudnikov": 7}}
    )
    assert response.status_code == 200, response.get_json()
    expected = {key: value for key, value in FULL.items() if key != "sayt"}
    expected |= {"gorod": "kazan", "sotrudnikov": 7}
    assert response.get_json()["fields"] == expected
    assert stored(number) == expected
    # Other details alone leave the fields as they are.
    response = api.patch(f"/leads/{number}", json={"title": "Acme Ltd"})
    assert response.get_json()["fields"] == expected


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"sotrudnikov": "many"}, "fields.sotrudnikov", "Сотрудников: “many” is not an amount"),
        ({"gorod": "paris"}, "fields.gorod", "Город: “paris” is not one of the choices."),
        ({"vip": "perhaps"}, "fields.vip", "VIP: Answer yes or no."),
        ({"pervaya_vstrecha": "tomorrow"}, "fields.pervaya_vstrecha", "“tomorrow” is not a date"),
        ({"byudzhet": -5}, "fields.byudzhet", "Бюджет: Enter an amount of zero or more."),
        ({"sayt": "not a site"}, "fields.sayt", "Сайт: Enter a web address"),
        ({"nope": "x"}, "fields.nope", "There is no field “nope”."),
        # A removed field is hidden: it takes no new values.
        ({"staroe": "x"}, "fields.staroe", "There is no field “staroe”."),
        ({"inn": {"value": 1}}, "fields.inn", "Send text, a number, true or false"),
        ({"kanaly": ["telegram", 1]}, "fields.kanaly", "Send text, a number, true or false"),
    ],
)
def test_a_value_its_field_cannot_hold_is_a_422_naming_it(api, admin, fields, field, message):
    number = factories.lead(title="Acme", owner=admin, fields={"inn": "7701000001"}).number
    before = snapshot()
    for method, path, body in (
        ("POST", "/leads", {"title": "New", "fields": {"inn": "1", **fields}}),
        ("PATCH", f"/leads/{number}", {"title": "Renamed", "fields": {"inn": "2", **fields}}),
    ):
        response = api.open(method, path, json=body)
        assert response.status_code == 422, response.get_json()
        assert error_of(response)["field"] == field
        assert message in error_of(response)["message"]
        # Nothing half-saved: neither the title nor the other field.
        assert snapshot() == before


@pytest.mark.parametrize("fields", [["inn"], "inn=1", 12, True])
def test_fields_must_be_an_object(api, fields):
    response = api.post("/leads", json={"title": "New", "fields": fields})
    assert response.status_code == 422
    assert error_of(response) == {
        "message": "Send an object of the fields' keys and their values.",
        "field": "fields",
    }


def test_a_required_field_is_asked_for_on_a_new_lead_and_cannot_be_emptied(api, admin):
    factories.field("Отрасль", "text", required=True)
    response = api.post("/leads", json={"title": "New"})
    assert response.status_code == 422
    assert error_of(response) == {
        "message": "Отрасль: this field is required.",
        "field": "fields.otrasl",
    }
    response = api.post("/leads", json={"title": "New", "fields": {"otrasl": "Стройка"}})
    assert response.status_code == 201
    number = response.get_json()["number"]
    response = api.patch(f"/leads/{number}", json={"fields": {"otrasl": None}})
    assert response.status_code == 422 and error_of(response)["field"] == "fields.otrasl"


def test_messages_name_the_field_in_the_token_owners_language(client, own_fields):
    russian = factories.user(locale="ru")
    api = Api(client, token_for(russian))
    response = api.post("/leads", json={"title": "Лид", "fields": {"gorod": "Париж"}})
    assert error_of(response) == {
        "message": "Город: «Париж» нет среди вариантов.",
        "field": "fields.gorod",
    }


def test_a_removed_field_s_values_are_kept_but_not_shown(api, admin):
    lead = factories.lead(title="Acme", owner=admin, fields={"inn": "1"})
    lead.fields = {**lead.fields, "staroe": "kept"}
    db.session.commit()
    assert api.get(f"/leads/{lead.number}").get_json()["fields"] == {"inn": "1"}
    response = api.patch(f"/leads/{lead.number}", json={"fields": {"inn": "2"}})
    assert response.status_code == 200
    assert stored(lead.number) == {"inn": "2", "staroe": "kept"}


def test_the_document_describes_each_field_of_the_team(api):
    schemas = api.document()["components"]["schemas"]
    shown = schemas["LeadFields"]
    assert shown["additionalProperties"] is False
    assert shown["required"] == []
    properties = shown["properties"]
    # Every active field; the removed one is not offered.
    assert set(properties) == set(FULL)
    assert properties["inn"]["type"] == "string"
    assert properties["inn"]["title"] == "ИНН"
    assert "Identifies the client." in properties["inn"]["description"]
    assert properties["gorod"]["enum"] == ["moskva", "kazan"]
    assert properties["gorod"]["description"] == (
        "Город — Where the client is. — Options: moskva (Москва), kazan (Казань)."
    )
    assert properties["sotrudnikov"]["type"] == "number"
    assert properties["byudzhet"]["minimum"] == 0
    assert properties["pervaya_vstrecha"]["format"] == "date"
    assert properties["vip"]["type"] == "boolean"
    assert properties["kanaly"]["items"]["enum"] == ["telegram", "whatsapp"]
    sent = schemas["LeadFieldsIn"]["properties"]
    assert sent["gorod"]["anyOf"] == [
        {"type": "string", "enum": ["moskva", "kazan"]},
        {"type": "null"},
    ]
    assert schemas["LeadCreate"]["properties"]["fields"] == {
        "$ref": "#/components/schemas/LeadFieldsIn"
    }
    assert schemas["Lead"]["properties"]["fields"] == {"$ref": "#/components/schemas/LeadFields"}
    # A document that is OpenAPI 3.1 still.
    OpenAPI.from_dict(api.document())


def test_the_document_follows_the_definitions(api):
    factories.field("Отрасль", "choice", ["Стройка"])
    properties = api.document()["components"]["schemas"]["LeadFields"]["properties"]
    assert properties["otrasl"]["enum"] == ["stroyka"]


def test_fields_cost_no_query_per_lead_in_the_list(api, admin):
    def queries():
        with counting_queries() as statements:
            response = api.get("/leads")
        assert response.status_code == 200
        return len(statements)

    factories.lead(owner=admin, fields=FULL)
    # The token's first use of the minute is written down: not counted.
    api.get("/stages")
    few = queries()
    for _n in range(10):
        factories.lead(owner=admin, fields=FULL)
    assert queries() == few


@pytest.fixture
def filterable(own_fields):
    """Город, Сотрудников, VIP and ИНН offered as the list's filters."""
    for row in db.session.scalars(select(CustomField)):
        row.filterable = row.key in ("gorod", "sotrudnikov", "vip", "inn")
    custom_fields.changed()
    db.session.commit()


def numbers_listed(api, query):
    response = api.get(f"/leads?{query}")
    assert response.status_code == 200, response.get_json()
    return sorted(lead["number"] for lead in response.get_json()["leads"])


def test_the_list_filters_by_the_teams_fields_as_the_page_writes_them(api, admin, filterable):
    def lead(**fields):
        return factories.lead(owner=admin, fields=fields).number

    moscow = lead(gorod="moskva", sotrudnikov=120, vip=True, inn="7701234567")
    kazan = lead(gorod="kazan", sotrudnikov=15, vip=False)
    nowhere = lead(sotrudnikov=60)
    assert numbers_listed(api, "f.gorod=kazan") == [kazan]
    assert numbers_listed(api, "f.gorod=kazan&f.gorod=moskva") == [moscow, kazan]
    # As a person would write the choice: its label, in any case.
    assert numbers_listed(api, "f.gorod=%D0%BC%D0%BE%D1%81%D0%BA%D0%B2%D0%B0") == [moscow]
    assert numbers_listed(api, "f.sotrudnikov.min=50") == [moscow, nowhere]
    assert numbers_listed(api, "f.sotrudnikov.min=50&f.sotrudnikov.max=100") == [nowhere]
    assert numbers_listed(api, "f.vip=0") == [kazan]
    assert numbers_listed(api, "f.inn=770") == [moscow]
    assert numbers_listed(api, "f.gorod=kazan&f.sotrudnikov.min=50") == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("f.gorod=piter", "f.gorod", "Город: “piter” is not one of the choices."),
        ("f.nope=1", "f.nope", "“f.nope” names no field to filter by."),
        # Offered in the list only when marked filterable.
        ("f.byudzhet.min=1", "f.byudzhet.min", "“f.byudzhet.min” names no field to filter by."),
        ("f.sotrudnikov.max=много", "f.sotrudnikov.max", "Сотрудников:"),
        ("f.vip=maybe", "f.vip", "VIP:"),
        # As for every parameter: none sent empty, none twice but a choice.
        ("f.gorod=", "f.gorod", "Give this parameter a value, or leave it out."),
        ("f.sotrudnikov.min=", "f.sotrudnikov.min", "Give this parameter a value"),
        ("f.vip=1&f.vip=0", "f.vip", "Give this parameter once."),
        ("f.inn=77&f.inn=78", "f.inn", "Give this parameter once."),
    ],
)
def test_a_filter_the_page_would_leave_out_is_a_422_naming_it(
    api, filterable, query, field, message
):
    response = api.get(f"/leads?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == field
    assert error["message"].startswith(message)


def test_the_document_offers_the_filterable_fields_as_the_lists_filters(api, filterable):
    listing = api.document()["paths"]["/leads"]["get"]["parameters"]
    names = [parameter["name"] for parameter in listing]
    assert names[-2:] == ["limit", "cursor"]
    assert {"f.gorod", "f.sotrudnikov.min", "f.sotrudnikov.max", "f.vip", "f.inn"} <= set(names)
    assert "f.byudzhet.min" not in names
    gorod = next(parameter for parameter in listing if parameter["name"] == "f.gorod")
    assert gorod["schema"]["items"]["enum"] == ["moskva", "kazan"]
    OpenAPI.from_dict(api.document())


field_values = st.dictionaries(
    st.sampled_from([*FULL, "staroe", "nope", ""]),
    st.one_of(st.sampled_from(list(FULL.values())), json_values),
    max_size=4,
)


@fewer_on_postgresql(
    settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(data=st.data()),
)
def test_arbitrary_fields_never_fail_or_half_save(api, admin, data):
    lead = db.session.scalar(select(Lead).where(Lead.title == "Target"))
    if lead is None:
        lead = factories.lead(title="Target", owner=admin)
    fields = data.draw(st.one_of(field_values, json_values), label="fields")
    method, path = data.draw(
        st.sampled_from([("POST", "/leads"), ("PATCH", f"/leads/{lead.number}")]), label="to"
    )
    before = snapshot()
    body = json.dumps({"title": "Target 2", "allow_duplicates": True, "fields": fields})
    if method == "PATCH":
        body = json.dumps({"fields": fields})
    response = api.open(method, path, data=body, content_type="application/json")
    hypothesis.event(f"status {response.status_code}")
    assert response.status_code in (200, 201, 422)
    if response.status_code == 422:
        assert error_of(response)["field"].startswith("fields")
        assert snapshot() == before
