"""The people at the client in and out of the CRM: the JSON API's `people`, the exported files'
"Contact 2 / Phone 2 …" columns, and the import that reads them back and matches a row by
anyone's phone or email."""

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from crm.extensions import db
from crm.models import Lead
from tests import factories
from tests.querycount import counting_queries
from tests.test_api import Api, error_of, token_for

ANNA = {
    "name": "Анна Петрова",
    "job_title": "Директор",
    "phones": ["+7 999 111-22-33"],
    "emails": ["anna@romashka.ru"],
    "note": None,
}
IVAN = {
    "name": "Иван Сидоров",
    "job_title": "Главный инженер",
    "phones": ["+7 999 444-55-66", "8 495 123-45-67"],
    "emails": ["ivan@romashka.ru"],
    "note": "Звонить после обеда",
}


def people_of(number):
    db.session.expire_all()
    lead = db.session.scalar(select(Lead).where(Lead.number == number))
    return [
        {
            "name": p.name,
            "job_title": p.job_title,
            "phones": p.phones,
            "emails": p.emails,
            "note": p.note,
        }
        for p in lead.people
    ]


def rows_of_people():
    """Every person and contact point: what a refused write must leave as it was."""
    return {
        table: db.session.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()  # noqa: S608
        for table in ("leads", "lead_people", "contact_points")
    }


# The JSON API


@pytest.fixture
def api(client, admin, stages):
    return Api(client, token_for(admin))


def test_people_go_in_with_a_new_lead_and_come_back_main_contact_first(api):
    response = api.post("/leads", json={"title": "Ромашка", "people": [ANNA, IVAN]})
    assert response.status_code == 201, response.get_json()
    lead = response.get_json()
    assert lead["people"] == [ANNA, IVAN]
    assert (lead["contact_name"], lead["phone"], lead["email"]) == (
        "Анна Петрова",
        "+7 999 111-22-33",
        "anna@romashka.ru",
    )
    assert api.get(f"/leads/{lead['number']}").get_json()["people"] == [ANNA, IVAN]
    assert people_of(lead["number"]) == [ANNA, IVAN]


def test_a_patch_replaces_the_people_and_the_contact_fields_stay_the_main_ones(api, admin):
    lead = factories.lead(owner=admin, people=[ANNA, IVAN])
    response = api.patch(f"/leads/{lead.number}", json={"people": [IVAN]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["people"] == [IVAN]
    assert response.get_json()["contact_name"] == "Иван Сидоров"

    response = api.patch(f"/leads/{lead.number}", json={"contact_name": "Иван С.", "email": None})
    assert response.status_code == 200
    person = response.get_json()["people"][0]
    assert person["name"] == "Иван С." and person["emails"] == []
    assert person["phones"] == IVAN["phones"] and person["note"] == IVAN["note"]

    # Sent together, the people are set first and the contact fields change the main one.
    response = api.patch(
        f"/leads/{lead.number}", json={"people": [ANNA, IVAN], "phone": "+7 900 000-00-01"}
    )
    assert [p["phones"][0] for p in response.get_json()["people"]] == [
        "+7 900 000-00-01",
        IVAN["phones"][0],
    ]


def test_a_lead_without_people_has_an_empty_list(api, admin):
    lead = factories.lead(owner=admin)
    assert api.get(f"/leads/{lead.number}").get_json()["people"] == []
    response = api.patch(f"/leads/{lead.number}", json={"people": [ANNA]})
    assert response.get_json()["people"] == [ANNA]
    response = api.patch(f"/leads/{lead.number}", json={"people": []})
    assert response.get_json()["people"] == [] and response.get_json()["contact_name"] is None


@pytest.mark.parametrize(
    ("people", "field"),
    [
        ("Анна", "people"),
        ([ANNA, "Иван"], "people.1"),
        ([ANNA, {**IVAN, "phones": [123]}], "people.1.phones"),
        ([ANNA, {**IVAN, "phones": ["1" * 51]}], "people.1.phones"),
        ([ANNA, {**IVAN, "emails": ["не почта"]}], "people.1.emails"),
        ([{**ANNA, "name": ["Анна"]}], "people.0.name"),
        ([ANNA, {**IVAN, "position": "CEO"}], "people.1.position"),
        ([{**ANNA, "job_title": "Д" * 121}], "people.0.job_title"),
        ([{**ANNA, "phones": [f"+7 999 000-00-0{n}" for n in range(6)]}], "people.0"),
        ([{"name": f"Человек {n}"} for n in range(21)], "people"),
    ],
)
def test_people_that_cannot_be_kept_are_a_422_naming_the_field(api, admin, people, field):
    lead = factories.lead(owner=admin, people=[IVAN])
    before = rows_of_people()
    response = api.patch(f"/leads/{lead.number}", json={"title": "Другое", "people": people})
    assert response.status_code == 422
    assert error_of(response)["field"] == field
    assert rows_of_people() == before

    response = api.post("/leads", json={"title": "Новый", "people": people})
    assert response.status_code == 422
    assert error_of(response)["field"] == field
    assert rows_of_people() == before


def test_the_document_describes_a_person(api):
    schemas = api.get("/openapi.json").get_json()["components"]["schemas"]
    assert set(schemas["ContactPerson"]["properties"]) == {
        "name",
        "job_title",
        "phones",
        "emails",
        "note",
    }
    assert schemas["Lead"]["properties"]["people"]["items"] == {
        "$ref": "#/components/schemas/ContactPerson"
    }
    assert "people" in schemas["LeadCreate"]["properties"]
    assert "people" in schemas["LeadUpdate"]["properties"]


def test_people_cost_no_query_per_lead_in_the_list(api, admin):
    def queries():
        with counting_queries() as statements:
            response = api.get("/leads")
        assert response.status_code == 200
        return len(statements)

    factories.lead(owner=admin, people=[ANNA, IVAN])
    api.get("/stages")
    few = queries()
    for _n in range(10):
        factories.lead(owner=admin, people=[ANNA, IVAN, {"name": "Третий"}])
    assert queries() == few
    leads = api.get("/leads").get_json()["leads"]
    assert [len(lead["people"]) for lead in leads] == [3] * 10 + [2]
