"""The people at the client in and out of the CRM: the JSON API's `people`, the exported files'
"Contact 2 / Phone 2 …" columns, and the import that reads them back and matches a row by
anyone's phone or email."""

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
        ([{**ANNA, "phones": [f"+7 999 000-00-0{n}" for n in range(6)]}], "people.0.phones"),
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


# The exported files


def export_table(client, separator=";"):
    from tests.test_export import table

    return table(client.get("/export/leads.csv"), separator)


def test_no_column_for_a_second_person_when_nobody_has_one(logged_in, admin, stages):
    speaks(admin, "ru")
    factories.lead(owner=admin, people=[ANNA])
    header, row = export_table(logged_in)
    assert header[2:7] == ["Контактное лицо", "Телефон", "Email", "Должность", "Источник"]
    assert not any(name.endswith(" 2") for name in header)
    assert row[5] == "Директор"


def test_the_people_after_the_main_contact_have_columns_for_russian_excel(logged_in, admin, stages):
    speaks(admin, "ru")
    factories.lead(owner=admin, title="Ромашка", people=[ANNA, IVAN, {"name": "Ольга"}])
    factories.lead(owner=admin, title="Лютик", people=[IVAN])
    header, *rows = export_table(logged_in)
    assert header[2:15] == [
        "Контактное лицо",
        "Телефон",
        "Email",
        "Должность",
        "Контакт 2",
        "Телефон 2",
        "Email 2",
        "Должность 2",
        "Контакт 3",
        "Телефон 3",
        "Email 3",
        "Должность 3",
        "Источник",
    ]
    by_title = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    romashka = by_title["Ромашка"]
    assert romashka["Контактное лицо"] == "Анна Петрова"
    assert romashka["Должность"] == "Директор"
    assert romashka["Контакт 2"] == "Иван Сидоров"
    assert romashka["Телефон 2"] == "+7 999 444-55-66; 8 495 123-45-67"
    assert romashka["Email 2"] == "ivan@romashka.ru"
    assert romashka["Должность 2"] == "Главный инженер"
    assert (romashka["Контакт 3"], romashka["Телефон 3"]) == ("Ольга", "")
    assert by_title["Лютик"]["Контакт 2"] == ""


def test_at_most_five_more_people_have_columns(logged_in, admin, stages):
    factories.lead(owner=admin, people=[{"name": f"Person {n}"} for n in range(1, 10)])
    header, row = export_table(logged_in, ",")
    assert [name for name in header if name[:8] == "Contact " and name[-1].isdigit()] == [
        f"Contact {n}" for n in range(2, 7)
    ]
    assert row[header.index("Contact 6")] == "Person 6"


def test_the_workbook_has_the_people_columns_too(logged_in, admin, stages):
    factories.lead(owner=admin, people=[ANNA, IVAN])
    book = load_workbook(io.BytesIO(logged_in.get("/export/leads.xlsx").data))
    header, row = ([cell.value for cell in line] for line in book["Leads"].iter_rows())
    cells = dict(zip(header, row, strict=True))
    assert cells["Job title"] == "Директор"
    assert cells["Contact 2"] == "Иван Сидоров"
    assert cells["Phone 2"] == "+7 999 444-55-66; 8 495 123-45-67"
    assert cells["Job title 2"] == "Главный инженер"


def test_the_json_export_carries_the_people(logged_in, admin, stages):
    lead = factories.lead(owner=admin, people=[ANNA, IVAN])
    everything = logged_in.get("/export/everything.json").get_json()
    people = [p for p in everything["lead_people"] if p["lead_id"] == lead.id]
    assert [(p["position"], p["name"], p["phones"], p["note"]) for p in people] == [
        (0, "Анна Петрова", ANNA["phones"], None),
        (1, "Иван Сидоров", IVAN["phones"], IVAN["note"]),
    ]


def test_the_export_reads_people_a_chunk_at_a_time(logged_in, admin, stages, monkeypatch):
    from crm.exports import queries

    monkeypatch.setattr(queries, "CHUNK", 3)

    def statements():
        with counting_queries() as found:
            assert logged_in.get("/export/leads.csv").status_code == 200
        return sum("lead_people" in statement for statement in found)

    for _n in range(3):
        factories.lead(owner=admin, people=[ANNA, IVAN])
    few = statements()
    for _n in range(3):
        factories.lead(owner=admin, people=[ANNA, IVAN])
    # One query for the columns, then one a chunk.
    assert statements() == few + 1


# The import


def speaks(user, language):
    user.locale = language
    db.session.commit()


def write(tmp_path, name, rows, encoding="cp1251"):
    path = tmp_path / name
    path.write_bytes("".join(";".join(row) + "\r\n" for row in rows).encode(encoding))
    return str(path)


SHEET = [
    ["Название", "Контакт", "Телефон", "Должность", "Контакт 2", "Телефон 2", "Должность 2"],
    [
        "ООО Ромашка",
        "Анна Петрова",
        "+7 999 111-22-33",
        "Директор",
        "Иван Сидоров",
        '"+7 999 444-55-66; 8 495 123-45-67"',
        "Главный инженер",
    ],
    ["ИП Лютик", "Ольга", "+7 999 777-88-99", "", "", "", ""],
]


def import_file(runner, path, *options):
    result = runner.invoke(args=["import", "leads", path, *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_sheet_with_a_second_person_imports_and_again_changes_nothing(
    runner, admin, stages, tmp_path
):
    path = write(tmp_path, "Клиенты.csv", SHEET)
    output = import_file(runner, path, "--dry-run")
    assert "Контакт 2 → people.2.contact_name" in output
    assert "Должность → job_title" in output
    assert db.session.scalar(select(Lead.id)) is None

    output = import_file(runner, path)
    assert "2 new" in output
    romashka = db.session.scalar(select(Lead).where(Lead.title == "ООО Ромашка"))
    assert people_of(romashka.number) == [
        {**ANNA, "emails": []},
        {**IVAN, "emails": [], "note": None},
    ]

    before = rows_of_people()
    output = import_file(runner, path)
    assert "0 new, 0 updated, 2 skipped" in output
    assert rows_of_people() == before


def test_our_own_export_imported_back_changes_nothing(logged_in, runner, admin, stages, tmp_path):
    speaks(admin, "ru")
    factories.lead(owner=admin, title="Ромашка", people=[ANNA, IVAN, {"name": "Ольга"}])
    factories.lead(owner=admin, title="Лютик", people=[IVAN])
    path = tmp_path / "leads.csv"
    path.write_bytes(logged_in.get("/export/leads.csv").data)
    before = rows_of_people()
    output = import_file(runner, str(path))
    assert "0 new, 0 updated, 2 skipped" in output
    assert rows_of_people() == before


def test_a_row_updates_the_person_at_its_place_and_keeps_the_rest(runner, admin, stages, tmp_path):
    lead = factories.lead(owner=admin, title="ООО Ромашка", people=[ANNA, IVAN])
    rows = [["№", "Название", "Телефон 2", "Email 2"], [str(lead.number), "ООО Ромашка", "", ""]]
    rows[1][2:] = ["+7 999 000-00-00", "Ivan@Other.ru"]
    import_file(runner, write(tmp_path, "update.csv", rows))
    assert people_of(lead.number) == [
        ANNA,
        {**IVAN, "phones": ["+7 999 000-00-00"], "emails": ["ivan@other.ru"]},
    ]


def test_a_row_is_matched_by_a_second_persons_phone(runner, admin, stages, tmp_path):
    lead = factories.lead(owner=admin, title="ООО Ромашка", people=[ANNA, IVAN])
    rows = [["Название", "Телефон", "Источник"], ["Ромашка (филиал)", "8 495 123-45-67", "Сайт"]]
    output = import_file(runner, write(tmp_path, "match.csv", rows))
    assert "0 new, 1 updated" in output
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).source == "Сайт"


def test_a_row_is_matched_by_the_phone_in_its_second_persons_column(
    runner, admin, stages, tmp_path
):
    factories.lead(owner=admin, title="ООО Ромашка", people=[ANNA])
    rows = [["Название", "Контакт 2", "Телефон 2"], ["Ромашка", "Анна", "8 999 111 22 33"]]
    output = import_file(runner, write(tmp_path, "match.csv", rows))
    assert "0 new, 1 updated" in output


def test_a_bad_email_of_a_second_person_names_its_column(runner, admin, stages, tmp_path):
    rows = [["Название", "Контакт 2", "Email 2"], ["Ромашка", "Иван", "не почта"]]
    result = runner.invoke(args=["import", "leads", write(tmp_path, "bad.csv", rows), "--dry-run"])
    assert "“Email 2”" in result.output and "не почта" in result.output
    assert db.session.scalar(select(Lead.id)) is None
