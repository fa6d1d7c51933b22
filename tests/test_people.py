"""People per lead: the main contact is the first of them, and every person's phones and emails
are kept as matching compares them."""

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from crm import audit, create_app, funnel
from crm.extensions import db
from crm.models import ContactPoint, Lead, LeadPerson
from tests import factories, old_schema
from tests.conftest import BACKENDS, own_database


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """The URL of a database with nothing in it."""
    with own_database(request.param, tmp_path, "people") as url:
        yield url


def people_of(lead):
    return db.session.execute(
        select(LeadPerson.position, LeadPerson.name, LeadPerson.phones, LeadPerson.emails)
        .where(LeadPerson.lead_id == lead.id)
        .order_by(LeadPerson.position)
    ).all()


def points_of(lead):
    return set(
        db.session.execute(
            select(ContactPoint.kind, ContactPoint.value).where(ContactPoint.lead_id == lead.id)
        ).all()
    )


def test_a_new_leads_contact_is_its_first_person(admin, stages):
    lead = funnel.create_lead(
        admin, title="Альфа", contact_name="Ирина", phone="8 (999) 123-45-67", email="IRA@alfa.ru"
    )
    db.session.commit()
    assert people_of(lead) == [(0, "Ирина", ["8 (999) 123-45-67"], ["ira@alfa.ru"])]
    assert points_of(lead) == {("phone", "9991234567"), ("email", "ira@alfa.ru")}


def test_changing_the_details_changes_the_main_contact_only(admin, stages):
    lead = factories.lead(owner=admin, contact_name="Ирина", phone="+7 999 123-45-67")
    funnel.set_people(
        lead,
        [
            {"name": "Ирина", "phones": ["+7 999 123-45-67", "+7 495 000-00-01"]},
            {"name": "Пётр", "job_title": "Закупки", "emails": ["petr@alfa.ru"]},
        ],
    )
    db.session.commit()
    funnel.update_lead(lead, admin, phone="+7 916 555-44-33", contact_name="Ирина Петровна")
    db.session.commit()
    assert people_of(lead) == [
        (0, "Ирина Петровна", ["+7 916 555-44-33", "+7 495 000-00-01"], []),
        (1, "Пётр", [], ["petr@alfa.ru"]),
    ]
    assert (lead.contact_name, lead.phone, lead.phone_digits) == (
        "Ирина Петровна",
        "+7 916 555-44-33",
        "79165554433",
    )
    assert points_of(lead) == {
        ("phone", "9165554433"),
        ("phone", "4950000001"),
        ("email", "petr@alfa.ru"),
    }


def test_the_second_person_becomes_the_main_contact_when_the_first_leaves(admin, stages):
    lead = factories.lead(owner=admin, contact_name="Ирина", email="ira@alfa.ru")
    funnel.set_people(lead, [{"name": "Пётр", "emails": ["petr@alfa.ru"]}, {"name": "  "}])
    db.session.commit()
    assert people_of(lead) == [(0, "Пётр", [], ["petr@alfa.ru"])]
    assert (lead.contact_name, lead.email) == ("Пётр", "petr@alfa.ru")
    assert points_of(lead) == {("email", "petr@alfa.ru")}
    funnel.update_lead(lead, admin, contact_name="", email="")
    db.session.commit()
    assert people_of(lead) == [] and points_of(lead) == set()


@pytest.mark.parametrize(
    ("people", "field"),
    [
        ([{"name": "x" * 201}], "people.0.name"),
        ([{"name": "Ирина"}, {"phones": ["1" * 51]}], "people.1.phones"),
        ([{"name": "Ирина", "emails": [f"{n}@alfa.ru" for n in range(6)]}], "people.0"),
        ([{"name": f"P{n}"} for n in range(21)], "people"),
    ],
)
def test_a_person_who_cannot_be_kept_is_refused_by_place(admin, stages, people, field):
    lead = factories.lead(owner=admin, contact_name="Ирина")
    with pytest.raises(funnel.FunnelError) as refused:
        funnel.set_people(lead, people)
    assert refused.value.field == field
    db.session.rollback()
    assert people_of(lead) == [(0, "Ирина", [], [])]


def test_upgrading_moves_each_leads_contact_into_its_first_person(
    empty_database, tmp_path, monkeypatch
):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database})
    with app.app_context(), audit.paused(db.session):
        flask_migrate.upgrade(revision="0012")
        stage_id = old_schema.install_funnel("ru")[0].id
        leads = sa.table("leads", *map(sa.column, LEADS_AT_0012))
        now = funnel.utcnow()
        rows = [
            ("Альфа", "Ирина", "+7 (999) 123-45-67", "79991234567", "ira@alfa.ru"),
            ("Бета", None, None, None, "info@beta.ru"),
            ("Гамма", None, None, None, None),
        ]
        for number, (title, name, phone, digits, email) in enumerate(rows, start=1):
            db.session.execute(
                sa.insert(leads).values(
                    number=number,
                    title=title,
                    contact_name=name,
                    phone=phone,
                    phone_digits=digits,
                    email=email,
                    stage_id=stage_id,
                    search_text="",
                    archived=False,
                    stage_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        db.session.commit()

        flask_migrate.upgrade()
        ids = dict(db.session.execute(select(Lead.title, Lead.id)).all())
        people = db.session.execute(
            select(LeadPerson.lead_id, LeadPerson.name, LeadPerson.phones, LeadPerson.emails)
        ).all()
        points = set(db.session.execute(select(ContactPoint.lead_id, ContactPoint.value)).all())
        db.session.remove()
        db.engine.dispose()
    assert sorted(people) == [
        (ids["Альфа"], "Ирина", ["+7 (999) 123-45-67"], ["ira@alfa.ru"]),
        (ids["Бета"], None, [], ["info@beta.ru"]),
    ]
    assert points == {
        (ids["Альфа"], "9991234567"),
        (ids["Альфа"], "ira@alfa.ru"),
        (ids["Бета"], "info@beta.ru"),
    }


def test_upgrading_lets_the_search_read_everyone_on_a_lead(empty_database, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database})
    with app.app_context(), audit.paused(db.session):
        flask_migrate.upgrade(revision="0013")
        stage_id = old_schema.install_funnel("ru")[0].id
        leads = sa.table("leads", *map(sa.column, LEADS_AT_0012))
        now = funnel.utcnow()
        for number, (title, search) in enumerate(
            [("Альфа", "#1 альфа ирина ira@alfa.ru"), ("Бета", "#2 бета  ")], start=1
        ):
            db.session.execute(
                sa.insert(leads).values(
                    number=number,
                    title=title,
                    stage_id=stage_id,
                    search_text=search,
                    archived=False,
                    stage_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        ids = dict(db.session.execute(select(Lead.title, Lead.id)).all())
        typed = [
            (ids["Альфа"], 0, "Ирина", ["+7 999 123-45-67"], ["ira@alfa.ru", "i@home.ru"]),
            (ids["Альфа"], 1, "Пётр", ["8 (495) 000-11-22"], ["Petr@Alfa.ru"]),
        ]
        for lead_id, position, name, phones, emails in typed:
            db.session.execute(
                sa.insert(LeadPerson.__table__).values(
                    lead_id=lead_id, position=position, name=name, phones=phones, emails=emails
                )
            )
        db.session.commit()

        flask_migrate.upgrade()
        texts = dict(db.session.execute(select(Lead.title, Lead.search_text)).all())
        db.session.remove()
        db.engine.dispose()
    assert texts == {
        "Альфа": "#1 альфа ирина ira@alfa.ru i@home.ru 79991234567 пётр petr@alfa.ru 84950001122",
        "Бета": "#2 бета  ",
    }


LEADS_AT_0012 = (
    *("id", "number", "title", "contact_name", "phone", "phone_digits", "email", "stage_id"),
    *("search_text", "archived", "stage_changed_at", "created_at", "updated_at"),
)


@pytest.fixture
def alfa(admin, stages):
    return factories.lead(
        title="ООО Альфа", owner=admin, contact_name="Ирина", phone="+7 999 123-45-67"
    )


def form_of(*people, main=0):
    """The people form as a browser sends it."""
    data = {"main": str(main)}
    for index, person in enumerate(people):
        for name, value in person.items():
            data[f"people-{index}-{name}"] = value
    return data


def log_in(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})


def test_the_lead_page_lists_its_people_and_edits_them_in_place(logged_in, hx, admin, alfa):
    page = logged_in.get(f"/leads/{alfa.number}").text
    assert 'id="lead-people"' in page and "Ирина" in page and 'href="tel:+79991234567"' in page

    log_in(hx, admin)
    form = hx.get(f"/leads/{alfa.number}/people/edit").text
    assert "<html" not in form and 'name="people-1-name"' in form
    answer = hx.post(
        f"/leads/{alfa.number}/people/edit",
        data=form_of(
            {"name": "Ирина", "phones": "+7 999 123-45-67"},
            {"name": "Пётр", "job_title": "Закупки", "emails": "petr@alfa.ru\n"},
            main=1,
        ),
    )
    assert answer.status_code == 200
    assert "Пётр" in answer.text and 'hx-swap-oob="outerHTML"' in answer.text
    assert people_of(alfa) == [
        (0, "Пётр", [], ["petr@alfa.ru"]),
        (1, "Ирина", ["+7 999 123-45-67"], []),
    ]
    assert db.session.get(Lead, alfa.id).contact_name == "Пётр"


def test_removing_a_person_without_htmx_goes_back_to_the_lead(logged_in, alfa):
    funnel.set_people(alfa, [{"name": "Ирина"}, {"name": "Пётр"}])
    db.session.commit()
    answer = logged_in.post(
        f"/leads/{alfa.number}/people/edit",
        data=form_of({"name": "Ирина"}, {"name": "Пётр", "remove": "y"}, {}),
    )
    assert answer.status_code == 303 and answer.headers["Location"].endswith(
        f"/leads/{alfa.number}"
    )
    assert people_of(alfa) == [(0, "Ирина", [], [])]


def test_a_person_refused_shows_why_at_the_field_and_saves_nothing(logged_in, alfa):
    answer = logged_in.post(
        f"/leads/{alfa.number}/people/edit",
        data=form_of({"name": "Ирина"}, {"name": "Пётр", "phones": "1" * 51}),
    )
    assert answer.status_code == 422
    assert "under 50 characters" in answer.text and 'id="people-1-phones-error"' in answer.text
    assert people_of(alfa) == [(0, "Ирина", ["+7 999 123-45-67"], [])]


def test_changes_to_people_are_in_the_leads_history(logged_in, alfa):
    logged_in.post(
        f"/leads/{alfa.number}/people/edit",
        data=form_of({"name": "Ирина", "phones": "+7 999 123-45-67"}, {"name": "Пётр"}),
    )
    history = logged_in.get(f"/leads/{alfa.number}/history").text
    assert "Person added" in history and "Пётр" in history


def test_a_colleagues_lead_shows_its_people_but_not_their_form(client, auth, alfa):
    sam = factories.user(name="Sam Seller")
    auth.login(sam.email)
    page = client.get(f"/leads/{alfa.number}").text
    assert "Ирина" in page and "Edit people" not in page
    assert client.get(f"/leads/{alfa.number}/people/edit").status_code == 403


def test_anyone_on_a_lead_is_found_by_phone_and_named_by_the_duplicate_warning(
    logged_in, admin, alfa
):
    funnel.set_people(
        alfa,
        [
            {"name": "Ирина", "phones": ["+7 999 123-45-67"]},
            {"name": "Пётр", "phones": ["+7 (495) 000-11-22"], "emails": ["petr@alfa.ru"]},
        ],
    )
    db.session.commit()
    found = logged_in.get("/leads/?q=84950001122").text
    assert f"/leads/{alfa.number}" in found
    # Part of their number, their name or their email, as a salesperson half remembers them.
    for typed in ("000-11", "0001122", "пётр", "PETR@alfa"):
        assert f"/leads/{alfa.number}" in logged_in.get("/leads/", query_string={"q": typed}).text
    warned = logged_in.post(
        "/leads/new", data={"title": "Новая сделка", "email": "Petr@Alfa.ru", "owner_id": ""}
    )
    assert warned.status_code == 200
    assert f"#{alfa.number}" in warned.text and "Save anyway" in warned.text
