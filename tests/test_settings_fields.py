"""Settings → Fields: the team's own fields, defined by an administrator; their choices, their
type changed with a dry run, removed (values kept) and deleted (only unused)."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from crm import custom_fields, funnel
from crm.extensions import db
from crm.models import AuditEntry, CustomField, FieldType, Lead
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.querycount import count_queries

CITIES = ["Москва", "Казань", "Тверь"]


def definitions():
    """Every definition as saved, for "nothing changed" checks."""
    db.session.expire_all()
    rows = db.session.scalars(select(CustomField).order_by(CustomField.id))
    return [
        (
            row.key,
            row.label,
            row.type,
            row.options,
            row.help_text,
            row.position,
            row.removed_at,
            *(getattr(row, flag) for flag in custom_fields.FLAGS),
        )
        for row in rows
    ]


def saved():
    """The definitions as saved now, not as this test's context last read them."""
    custom_fields.forget()
    db.session.expire_all()
    return custom_fields.all_fields()


def saved_by_key():
    return {field.key: field for field in saved()}


def fields_in_use():
    return [field for field in saved() if not field.removed]


def values(lead):
    db.session.expire_all()
    return db.session.get(Lead, lead.id).fields


def new_field(**changes):
    """What the new-field form sends for a plain text field shown on the new-lead form."""
    return {"label": "ИНН", "type": "text", "on_new_form": "y"} | changes


def names(page):
    """The names of the entries of a settings list, in order."""
    return re.findall(r'class="settings-item-name">([^<]*)<', page)


def error_text(page):
    """The messages the page shows next to boxes and above forms."""
    return " ".join(re.findall(r'<p class="error"[^>]*>([^<]*)</p>', page)) + " ".join(
        re.findall(r'<div class="form-errors" role="alert">\s*<p>([^<]*)</p>', page)
    )


@pytest.fixture
def city(admin):
    return factories.field("Город", FieldType.CHOICE, CITIES, filterable=True)


# Who may


def admin_routes(field_id):
    return [
        ("get", "/settings/fields", None),
        ("get", "/settings/fields/new", None),
        ("post", "/settings/fields/new", new_field()),
        ("get", f"/settings/fields/{field_id}", None),
        ("post", f"/settings/fields/{field_id}", new_field(label="Город 2")),
        ("post", f"/settings/fields/{field_id}/move", {"direction": "down"}),
        ("post", f"/settings/fields/{field_id}/remove", {}),
        ("post", f"/settings/fields/{field_id}/restore", {}),
        ("get", f"/settings/fields/{field_id}/delete", None),
        ("post", f"/settings/fields/{field_id}/delete", {}),
        ("get", f"/settings/fields/{field_id}/type?type=text", None),
        ("post", f"/settings/fields/{field_id}/type", {"type": "text", "clear_misfits": "y"}),
        ("post", f"/settings/fields/{field_id}/options", {"option-label": "Омск"}),
        ("get", f"/settings/fields/{field_id}/options/kazan", None),
        ("post", f"/settings/fields/{field_id}/options/kazan", {"label": "Kazan"}),
        ("post", f"/settings/fields/{field_id}/options/kazan/move", {"direction": "up"}),
        ("post", f"/settings/fields/{field_id}/options/kazan/offered", {"active": "off"}),
        ("post", f"/settings/fields/{field_id}/options/kazan/delete", {}),
    ]


@pytest.mark.parametrize("role", ["salesperson", "manager"])
def test_only_administrators_reach_the_fields(app, auth, client, city, role):
    member = factories.user(role=role)
    auth.login(member.email)
    before = definitions()
    for method, url, data in admin_routes(city.id):
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, (method, url)
    assert definitions() == before
    assert "/settings/fields" not in client.get("/settings/").text


def test_the_settings_page_links_to_the_fields(logged_in):
    assert 'href="/settings/fields"' in logged_in.get("/settings/").text


# The list


def test_the_list_shows_each_field_with_its_type_and_marks(logged_in, city):
    factories.field("ИНН", identifies_client=True, required=True, in_list=True)
    gone = factories.field("Факс")
    custom_fields.remove_field(gone.id)
    db.session.commit()

    page = logged_in.get("/settings/fields").text
    assert "<html" in page
    in_use, removed = page.split('id="removed-fields"')
    assert names(in_use) == ["Город", "ИНН"]
    assert names(removed) == ["Факс"]
    assert "Choice: 3 choices" in in_use
    assert "identifies the client" in in_use and "required" in in_use
    assert "Shown: list column, new-lead form" in in_use
    assert "Restore field" in removed


def test_the_list_is_a_fragment_for_htmx(hx, logged_in, city):
    hx.post("/login", data={"email": "ada@example.com", "password": factories.PASSWORD})
    response = hx.get("/settings/fields")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Город" in response.text
    assert "HX-Request" in response.headers["Vary"]


def test_query_count_of_the_fields_page_does_not_grow_with_the_fields(logged_in, admin):
    factories.field("Город", FieldType.CHOICE, CITIES)
    few = count_queries(logged_in, "/settings/fields")
    for n in range(12):
        factories.field(f"Поле {n}", FieldType.CHOICES if n % 2 else FieldType.NUMBER, ["a"] * 0)
    gone = factories.field("Факс")
    custom_fields.remove_field(gone.id)
    db.session.commit()
    assert count_queries(logged_in, "/settings/fields") == few


def test_query_count_of_a_fields_page_does_not_grow_with_its_choices(logged_in, admin):
    few = factories.field("Город", FieldType.CHOICE, CITIES)
    many = factories.field("Отрасль", FieldType.CHOICES, [f"Отрасль {n}" for n in range(40)])
    factories.lead(owner=admin, fields={"gorod": "Казань", "otrasl": "Отрасль 3; Отрасль 7"})
    assert count_queries(logged_in, f"/settings/fields/{many.id}") == count_queries(
        logged_in, f"/settings/fields/{few.id}"
    )


# Adding


def test_an_administrator_adds_a_choice_field_with_its_choices(logged_in, admin):
    response = logged_in.post(
        "/settings/fields/new",
        data=new_field(
            label=" Город ",
            type="choice",
            options="Москва\n\nКазань\r\n Тверь \n",
            help_text="Где офис клиента",
            in_list="y",
            filterable="y",
        ),
    )
    assert response.status_code == 303
    field = saved_by_key()["gorod"]
    assert response.location.endswith(f"/settings/fields#field-{field.id}")
    assert field.label == "Город"
    assert [(o.key, o.label) for o in field.options] == [
        ("moskva", "Москва"),
        ("kazan", "Казань"),
        ("tver", "Тверь"),
    ]
    assert field.help_text == "Где офис клиента"
    assert (field.in_list, field.filterable, field.on_new_form, field.required) == (
        True,
        True,
        True,
        False,
    )
    # Filterable: indexed at once.
    assert custom_fields.existing_indexes(db.session.connection()) == {"ix_leads_field_gorod"}
    page = logged_in.get(response.location).text
    assert "Field “Город” added." in page


def test_the_new_field_form_offers_the_eleven_types_by_name(logged_in):
    page = logged_in.get("/settings/fields/new").text
    offered = re.findall(r'<option (?:selected )?value="([a-z_]+)"', page)
    assert offered == [t.value for t in FieldType]
    assert ">Several choices<" in page and ">Yes/no<" in page


@pytest.mark.parametrize(
    ("sent", "box", "says"),
    [
        ({"label": ""}, "label", "Name the field in at most 80 characters."),
        ({"label": "   "}, "label", "Name the field in at most 80 characters."),
        ({"label": "И" * 81}, "label", "Name the field in at most 80 characters."),
        ({"label": "город"}, "label", "A field named “город” exists already"),
        ({"type": "colour"}, "type", "Not a valid choice"),
        ({"help_text": "x" * 301}, "help_text", "Keep it under 300 characters."),
        ({"type": "choice", "options": "Москва\nмосква"}, "options", "“москва” is a choice"),
        ({"type": "choice", "options": "М" * 81}, "options", "at most 80 characters"),
        (
            {"type": "choice", "options": "\n".join(str(n) for n in range(201))},
            "options",
            "at most 200 choices",
        ),
        ({"type": "choices", "options": "Опт, розница"}, "options", "cannot hold “;” or “,”"),
        ({"required": "y", "on_new_form": ""}, "required", "must be on the new-lead form"),
        ({"type": "yes_no", "identifies_client": "y"}, "identifies_client", "can identify"),
    ],
)
def test_a_bad_new_field_is_refused_with_a_message_and_nothing_saved(
    logged_in, city, sent, box, says
):
    before = definitions()
    response = logged_in.post("/settings/fields/new", data=new_field(**sent))
    assert response.status_code == 422
    assert says in error_text(response.text)
    assert f'id="{box}-error"' in response.text
    assert definitions() == before
    assert custom_fields.existing_indexes(db.session.connection()) == {"ix_leads_field_gorod"}


def test_no_more_than_a_hundred_fields(logged_in, admin):
    for n in range(custom_fields.FIELDS_MAX):
        custom_fields.add_field(f"Поле {n}", FieldType.TEXT)
    db.session.commit()
    assert "the most it can have" in logged_in.get("/settings/fields").text
    response = logged_in.post("/settings/fields/new", data=new_field())
    assert response.status_code == 422
    assert "at most 100 fields" in error_text(response.text)
    assert db.session.scalar(select(func.count()).select_from(CustomField)) == 100


# Editing


def test_renaming_a_field_keeps_its_key_and_the_leads_values(logged_in, admin, city):
    lead = factories.lead(owner=admin, fields={"gorod": "Казань"})
    page = logged_in.get(f"/settings/fields/{city.id}").text
    assert 'value="Город"' in page and "<code>gorod</code>" in page
    response = logged_in.post(
        f"/settings/fields/{city.id}",
        data={"label": "Город клиента", "on_card": "y", "identifies_client": ""},
    )
    assert response.status_code == 303
    field = saved_by_key()["gorod"]
    assert field.label == "Город клиента"
    assert (field.on_card, field.on_new_form, field.filterable) == (True, False, False)
    assert values(lead) == {"gorod": "kazan"}
    # No longer filterable: its index goes.
    assert custom_fields.existing_indexes(db.session.connection()) == set()


def test_marking_a_field_identifying_indexes_it(logged_in, admin):
    inn = factories.field("ИНН")
    assert custom_fields.existing_indexes(db.session.connection()) == set()
    data = {"label": "ИНН", "identifies_client": "y", "on_new_form": "y"}
    assert logged_in.post(f"/settings/fields/{inn.id}", data=data).status_code == 303
    assert custom_fields.existing_indexes(db.session.connection()) == {"ix_leads_field_inn"}


@pytest.mark.parametrize(
    ("sent", "box", "says"),
    [
        ({"label": ""}, "label", "Name the field"),
        ({"label": "ИНН"}, "label", "A field named “ИНН” exists already"),
        ({"label": "инн "}, "label", "exists already"),
        ({"help_text": "x" * 301}, "help_text", "Keep it under 300 characters."),
        ({"required": "y", "on_new_form": ""}, "required", "must be on the new-lead form"),
        ({"identifies_client": "y"}, "identifies_client", "can identify a client"),
    ],
)
def test_a_bad_edit_is_refused_with_a_message_and_nothing_saved(logged_in, city, sent, box, says):
    factories.field("ИНН")
    before = definitions()
    data = {"label": "Город", "on_new_form": "y"} | sent
    response = logged_in.post(f"/settings/fields/{city.id}", data=data)
    assert response.status_code == 422
    assert says in error_text(response.text)
    assert f'id="{box}-error"' in response.text
    assert definitions() == before


def test_a_removed_fields_name_may_be_taken_again(logged_in, admin):
    old = factories.field("Сайт")
    custom_fields.remove_field(old.id)
    db.session.commit()
    assert logged_in.post("/settings/fields/new", data=new_field(label="сайт")).status_code == 303
    assert [f.key for f in fields_in_use()] == ["sayt_2"]


def test_an_unknown_field_is_not_found(logged_in, admin):
    assert logged_in.get("/settings/fields/99").status_code == 404
    assert logged_in.post("/settings/fields/99/move", data={"direction": "up"}).status_code == 404
    assert logged_in.get("/settings/fields/99/options/x").status_code == 404


# Reordering


def test_reordering_by_htmx_swaps_the_list_and_keeps_focus(hx, admin):
    first, second = factories.field("Город"), factories.field("ИНН")
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    response = hx.post(f"/settings/fields/{first.id}/move", data={"direction": "down"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert names(response.text) == ["ИНН", "Город"]
    # At the bottom "Move down" is gone: the focus goes to "Move up".
    assert re.search(rf'id="field-{first.id}-up" autofocus', response.text)
    assert "“Город” moved down." in response.text
    assert [f.id for f in fields_in_use()] == [second.id, first.id]


def test_reordering_by_a_plain_form_comes_back_to_the_list(logged_in, admin):
    first, second = factories.field("Город"), factories.field("ИНН")
    response = logged_in.post(f"/settings/fields/{second.id}/move", data={"direction": "up"})
    assert response.status_code == 303
    assert f"focus=field-{second.id}-down" in response.location
    page = logged_in.get(response.location).text
    assert names(page) == ["ИНН", "Город"]
    assert re.search(rf'id="field-{second.id}-down" autofocus', page)
    assert (
        logged_in.post(
            f"/settings/fields/{first.id}/move", data={"direction": "sideways"}
        ).status_code
        == 422
    )


def test_removed_fields_are_left_out_of_the_order(logged_in, admin):
    first, gone, last = factories.field("А"), factories.field("Б"), factories.field("В")
    custom_fields.remove_field(gone.id)
    db.session.commit()
    logged_in.post(f"/settings/fields/{last.id}/move", data={"direction": "up"})
    assert [f.id for f in fields_in_use()] == [last.id, first.id]


# Removing, restoring, deleting


def test_a_removed_field_is_hidden_but_keeps_its_values_and_comes_back(logged_in, admin, city):
    lead = factories.lead(owner=admin, fields={"gorod": "Тверь"})
    response = logged_in.post(f"/settings/fields/{city.id}/remove")
    assert response.status_code == 303
    assert [f.key for f in fields_in_use()] == []
    assert saved_by_key()["gorod"].removed
    assert values(lead) == {"gorod": "tver"}
    # No longer offered: a value for it is refused by name; no longer indexed.
    with pytest.raises(funnel.FunnelError, match="There is no field"):
        funnel.update_lead(db.session.get(Lead, lead.id), admin, fields={"gorod": "Москва"})
    db.session.rollback()
    assert custom_fields.existing_indexes(db.session.connection()) == set()
    page = logged_in.get(response.location).text
    assert "is removed: hidden everywhere, its values kept" in page
    assert re.search(rf'id="field-{city.id}-restore" autofocus', page)

    assert logged_in.post(f"/settings/fields/{city.id}/restore").status_code == 303
    assert [f.key for f in fields_in_use()] == ["gorod"]
    assert custom_fields.existing_indexes(db.session.connection()) == {"ix_leads_field_gorod"}
    assert values(lead) == {"gorod": "tver"}


def test_restoring_is_refused_while_another_field_has_its_name(logged_in, admin):
    old = factories.field("Сайт")
    custom_fields.remove_field(old.id)
    factories.field("Сайт")
    before = definitions()
    response = logged_in.post(f"/settings/fields/{old.id}/restore")
    assert response.status_code == 409
    assert "is named “Сайт” too: rename one of them first" in response.text
    assert definitions() == before


def test_a_field_leads_use_cannot_be_deleted_only_removed(logged_in, admin, city):
    lead = factories.lead(owner=admin, fields={"gorod": "Тверь"})
    page = logged_in.get(f"/settings/fields/{city.id}/delete").text
    assert "1 lead has a value in this field, so it cannot be deleted" in page
    assert f'action="/settings/fields/{city.id}/remove"' in page
    before = definitions()
    response = logged_in.post(f"/settings/fields/{city.id}/delete")
    assert response.status_code == 409
    assert "1 lead has a value in this field, so it cannot be deleted. Remove it instead" in (
        response.text
    )
    assert definitions() == before
    # An archived lead's value counts too.
    funnel.archive_lead(db.session.get(Lead, lead.id), admin)
    db.session.commit()
    assert logged_in.post(f"/settings/fields/{city.id}/delete").status_code == 409


def test_a_field_no_lead_uses_is_deleted_with_its_index(logged_in, admin, city):
    factories.lead(owner=admin, fields={})
    assert "Delete it for good?" in logged_in.get(f"/settings/fields/{city.id}/delete").text
    response = logged_in.post(f"/settings/fields/{city.id}/delete")
    assert response.status_code == 303
    assert saved() == ()
    assert custom_fields.existing_indexes(db.session.connection()) == set()
    assert "Field “Город” deleted." in logged_in.get(response.location).text


# Choices


def test_choices_are_added_renamed_and_recoloured_by_key(logged_in, admin, city):
    lead = factories.lead(owner=admin, fields={"gorod": "Казань"})
    response = logged_in.post(
        f"/settings/fields/{city.id}/options",
        data={"option-label": "Нижний Новгород", "option-colour": "#16a34a"},
    )
    assert response.status_code == 303
    assert response.location.endswith("#choices")
    page = logged_in.get(f"/settings/fields/{city.id}").text
    assert "Choice “Нижний Новгород” added." in page
    assert names(page) == ["Москва", "Казань", "Тверь", "Нижний Новгород"]
    assert 'fill="#16a34a"' in page and ">Green<" in page

    edit = logged_in.get(f"/settings/fields/{city.id}/options/kazan").text
    assert 'value="Казань"' in edit
    response = logged_in.post(
        f"/settings/fields/{city.id}/options/kazan", data={"label": "Казань (Татарстан)"}
    )
    assert response.status_code == 303
    option = saved_by_key()["gorod"].option("kazan")
    assert (option.label, option.colour) == ("Казань (Татарстан)", None)
    # The lead still holds the key, now shown by its new name.
    assert values(lead) == {"gorod": "kazan"}
    new_city = saved_by_key()["gorod"]
    assert custom_fields.as_text(new_city, "kazan") == "Казань (Татарстан)"
    assert saved_by_key()["gorod"].option("nizhniy_novgorod").colour == "#16a34a"


def test_choices_are_added_by_htmx_in_place(hx, admin, city):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    response = hx.post(f"/settings/fields/{city.id}/options", data={"option-label": "Омск"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert names(response.text) == [*CITIES, "Омск"]
    assert re.search(r'<input[^>]* autofocus id="option-label"[^>]* value="">', response.text)
    assert "Choice “Омск” added." in response.text
    response = hx.post(f"/settings/fields/{city.id}/options", data={"option-label": "омск"})
    assert response.status_code == 422
    assert "“омск” is a choice already." in error_text(response.text)


@pytest.mark.parametrize(
    ("sent", "says"),
    [
        ({"option-label": ""}, "Name the choice in at most 80 characters."),
        ({"option-label": "К" * 81}, "Name the choice in at most 80 characters."),
        ({"option-label": "казань"}, "“казань” is a choice already."),
        ({"option-label": "Омск", "option-colour": "red"}, "Not a valid choice"),
    ],
)
def test_a_bad_choice_is_refused_with_a_message_and_nothing_saved(logged_in, city, sent, says):
    before = definitions()
    response = logged_in.post(f"/settings/fields/{city.id}/options", data=sent)
    assert response.status_code == 422
    assert "<html" in response.text
    assert says in error_text(response.text)
    assert definitions() == before


def test_a_refused_choice_shows_the_fields_page_as_it_is(logged_in, city):
    response = logged_in.post(f"/settings/fields/{city.id}/options", data={"option-label": ""})
    assert response.status_code == 422
    assert re.search(r'<input[^>]* id="label"[^>]* value="Город">', response.text)
    assert re.search(r'<input checked id="filterable"', response.text)


def test_renaming_a_choice_to_another_ones_name_is_refused(logged_in, city):
    before = definitions()
    response = logged_in.post(f"/settings/fields/{city.id}/options/kazan", data={"label": "ТВЕРЬ"})
    assert response.status_code == 422
    assert "“ТВЕРЬ” is a choice already." in error_text(response.text)
    assert definitions() == before


def test_a_choice_among_several_holds_no_separator(logged_in, admin):
    tags = factories.field("Теги", FieldType.CHOICES, ["Опт"])
    for label in ("Опт; VIP", "Розница, мелкий опт"):
        response = logged_in.post(f"/settings/fields/{tags.id}/options/opt", data={"label": label})
        assert response.status_code == 422
        assert "cannot hold “;” or “,”" in error_text(response.text)
    assert [o.label for o in saved_by_key()["tegi"].options] == ["Опт"]


def test_a_fields_choices_are_at_most_two_hundred(logged_in, admin):
    many = factories.field("Много", FieldType.CHOICE, [f"Вариант {n}" for n in range(200)])
    response = logged_in.post(f"/settings/fields/{many.id}/options", data={"option-label": "Ещё"})
    assert response.status_code == 422
    assert "at most 200 choices" in error_text(response.text)
    assert len(saved_by_key()["mnogo"].options) == 200


def test_a_retired_choice_is_not_offered_but_leads_keep_it(logged_in, admin, city):
    lead = factories.lead(owner=admin, fields={"gorod": "Тверь"})
    response = logged_in.post(
        f"/settings/fields/{city.id}/options/tver/offered", data={"active": "off"}
    )
    assert response.status_code == 303
    page = logged_in.get(response.location).text
    assert "“Тверь” is retired: no longer offered; the leads that have it keep it." in page
    assert re.search(rf'id="option-{city.id}-tver-offered" autofocus>Offer again', page)
    field = saved_by_key()["gorod"]
    assert [o.label for o in field.offered_options] == ["Москва", "Казань"]
    assert values(lead) == {"gorod": "tver"}
    assert custom_fields.as_text(field, "tver") == "Тверь"
    # Not given anew; kept where it is, and the lead's other changes still save.
    other = factories.lead(owner=admin)
    with pytest.raises(funnel.FunnelError, match="no longer offered"):
        funnel.update_lead(db.session.get(Lead, other.id), admin, fields={"gorod": "Тверь"})
    db.session.rollback()
    kept = db.session.get(Lead, lead.id)
    funnel.update_lead(kept, admin, title="Renamed", fields={"gorod": "tver"})
    db.session.commit()
    assert values(lead) == {"gorod": "tver"}

    logged_in.post(f"/settings/fields/{city.id}/options/tver/offered", data={"active": "on"})
    assert len(saved_by_key()["gorod"].offered_options) == 3


def test_a_choice_in_use_cannot_be_deleted_only_retired(hx, admin, city):
    factories.lead(owner=admin, fields={"gorod": "Тверь"})
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    page = hx.get(f"/settings/fields/{city.id}").text
    # Only the unused ones offer "Delete".
    assert f'id="option-{city.id}-moskva-delete"' in page
    assert f'id="option-{city.id}-tver-delete"' not in page
    before = definitions()
    response = hx.post(f"/settings/fields/{city.id}/options/tver/delete")
    assert response.status_code == 409
    assert "Leads hold “Тверь”, so it cannot be deleted: retire it instead" in response.text
    assert definitions() == before

    response = hx.post(f"/settings/fields/{city.id}/options/moskva/delete")
    assert response.status_code == 200
    assert names(response.text) == ["Казань", "Тверь"]
    assert [o.key for o in saved_by_key()["gorod"].options] == ["kazan", "tver"]


def test_a_choice_held_among_several_cannot_be_deleted(logged_in, admin):
    tags = factories.field("Теги", FieldType.CHOICES, ["Опт", "Розница", "VIP"])
    factories.lead(owner=admin, fields={"tegi": "VIP; Опт"})
    page = logged_in.get(f"/settings/fields/{tags.id}").text
    assert "1 lead" in page and "0 leads" in page
    assert logged_in.post(f"/settings/fields/{tags.id}/options/vip/delete").status_code == 409
    assert logged_in.post(f"/settings/fields/{tags.id}/options/roznitsa/delete").status_code == 303
    assert [o.key for o in saved_by_key()["tegi"].options] == ["opt", "vip"]


def test_choices_are_reordered_in_place(hx, admin, city):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    response = hx.post(f"/settings/fields/{city.id}/options/tver/move", data={"direction": "up"})
    assert response.status_code == 200
    assert names(response.text) == ["Москва", "Тверь", "Казань"]
    assert re.search(rf'id="option-{city.id}-tver-up" autofocus', response.text)
    response = hx.post(f"/settings/fields/{city.id}/options/tver/move", data={"direction": "up"})
    assert names(response.text) == ["Тверь", "Москва", "Казань"]
    # At the top, the focus goes to "Move down".
    assert re.search(rf'id="option-{city.id}-tver-down" autofocus', response.text)
    assert [o.key for o in saved_by_key()["gorod"].options] == ["tver", "moskva", "kazan"]


def test_a_text_field_has_no_choices_to_change(logged_in, admin):
    inn = factories.field("ИНН")
    assert (
        logged_in.post(f"/settings/fields/{inn.id}/options", data={"option-label": "x"}).status_code
        == 422
    )
    assert logged_in.get(f"/settings/fields/{inn.id}/options/x").status_code == 404


# Changing the type


@pytest.fixture
def staff(admin):
    """A text field of head counts as a sheet had them, one of them not a number."""
    field = factories.field("Сотрудников", filterable=True)
    leads = [
        factories.lead(title=title, owner=admin, fields={"sotrudnikov": typed})
        for title, typed in [("Альфа", "1 250"), ("Бета", "много"), ("Гамма", "12"), ("Дельта", "")]
    ]
    return field, leads


def audit_of(field_key):
    """Each lead's recorded change of the field: (lead id, who, old, new), by lead."""
    rows = db.session.execute(
        select(AuditEntry.lead_id, AuditEntry.actor_id, AuditEntry.old, AuditEntry.new).where(
            AuditEntry.field == f"fields.{field_key}", AuditEntry.action == "changed"
        )
    ).all()
    return sorted(tuple(row) for row in rows)


def test_the_dry_run_lists_the_leads_whose_values_do_not_fit(logged_in, staff):
    field, (alfa, beta, gamma, _delta) = staff
    before = definitions(), [values(lead) for lead in staff[1]]
    page = logged_in.get(f"/settings/fields/{field.id}/type?type=number")
    assert page.status_code == 200
    text = page.text
    assert "3 leads have a value." in text and "2 convert." in text and "1 does not fit." in text
    misfits = re.findall(r'<a href="/leads/(\d+)">#\d+ ([^<]*)</a>', text)
    assert misfits == [(str(beta.number), "Бета")]
    assert "много" in text and "not an amount" in text
    assert "Clear the values that do not fit" in text
    assert (definitions(), [values(lead) for lead in staff[1]]) == before


def test_a_type_change_with_misfits_is_refused_unless_clearing_is_confirmed(logged_in, staff):
    field, leads = staff
    before = definitions(), [values(lead) for lead in leads]
    response = logged_in.post(f"/settings/fields/{field.id}/type", data={"type": "number"})
    assert response.status_code == 422
    assert "Tick this to clear the values that do not fit" in error_text(response.text)
    # The dry run is shown again with it.
    assert "1 does not fit." in response.text
    assert (definitions(), [values(lead) for lead in leads]) == before
    assert audit_of("sotrudnikov") == []


def test_a_confirmed_type_change_converts_clears_and_records_each_lead(logged_in, staff):
    field, (alfa, beta, gamma, delta) = staff
    response = logged_in.post(
        f"/settings/fields/{field.id}/type", data={"type": "number", "clear_misfits": "y"}
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/settings/fields/{field.id}")
    page = logged_in.get(response.location).text
    assert "“Сотрудников” is now of type “Number”. 2 values converted." in page
    assert "1 value that did not fit was cleared." in page
    assert saved_by_key()["sotrudnikov"].type == FieldType.NUMBER
    assert [values(lead) for lead in (alfa, beta, gamma, delta)] == [
        {"sotrudnikov": 1250},
        {},
        {"sotrudnikov": 12},
        {},
    ]
    admin_id = alfa.owner_id
    assert audit_of("sotrudnikov") == [
        (alfa.id, admin_id, '"1 250"', "1250"),
        (beta.id, admin_id, '"много"', None),
        (gamma.id, admin_id, '"12"', "12"),
    ]
    # Still filterable, now as a number: a range query is served by its index again.
    assert custom_fields.existing_indexes(db.session.connection()) == {"ix_leads_field_sotrudnikov"}
    found = db.session.scalars(
        select(Lead.id).where(custom_fields.stored_number("sotrudnikov") >= 100)
    ).all()
    assert found == [alfa.id]


def test_a_type_change_goes_through_the_leads_a_batch_at_a_time(logged_in, admin, monkeypatch):
    monkeypatch.setattr(custom_fields, "VALUES_BATCH", 2)
    monkeypatch.setattr(funnel, "REASSIGN_BATCH", 2)
    factories.field("Сайт")
    leads = [factories.lead(owner=admin, fields={"sayt": f"alfa{n}.ru"}) for n in range(5)]
    field_id = saved_by_key()["sayt"].id
    dry = logged_in.get(f"/settings/fields/{field_id}/type?type=link").text
    assert "5 leads have a value." in dry and "0 do not fit." in dry
    response = logged_in.post(f"/settings/fields/{field_id}/type", data={"type": "link"})
    assert response.status_code == 303
    assert [values(lead)["sayt"] for lead in leads] == [f"https://alfa{n}.ru" for n in range(5)]


def test_text_becomes_a_choice_of_its_different_values(logged_in, admin):
    factories.field("Город")
    typed = ["Москва", "москва ", "Казань", "Тверь"]
    leads = [factories.lead(owner=admin, fields={"gorod": city}) for city in typed]
    field_id = saved_by_key()["gorod"].id
    dry = logged_in.get(f"/settings/fields/{field_id}/type?type=choice").text
    assert "Its different values become its choices:" in dry
    assert "Казань; Москва; Тверь" in dry
    assert (
        logged_in.post(f"/settings/fields/{field_id}/type", data={"type": "choice"}).status_code
        == 303
    )
    city = saved_by_key()["gorod"]
    assert [(o.key, o.label) for o in city.options] == [
        ("kazan", "Казань"),
        ("moskva", "Москва"),
        ("tver", "Тверь"),
    ]
    assert [values(lead)["gorod"] for lead in leads] == ["moskva", "moskva", "kazan", "tver"]


def test_choices_become_one_choice_where_a_lead_holds_only_one(logged_in, admin):
    tags = factories.field("Теги", FieldType.CHOICES, ["Опт", "Розница"])
    one = factories.lead(title="Один", owner=admin, fields={"tegi": "Опт"})
    both = factories.lead(title="Оба", owner=admin, fields={"tegi": "Опт; Розница"})
    dry = logged_in.get(f"/settings/fields/{tags.id}/type?type=choice").text
    assert re.findall(r'<a href="/leads/\d+">#\d+ ([^<]*)</a>', dry) == ["Оба"]
    assert "“Опт; Розница” is not one of the choices." in dry
    response = logged_in.post(
        f"/settings/fields/{tags.id}/type", data={"type": "choice", "clear_misfits": "y"}
    )
    assert response.status_code == 303
    assert (values(one), values(both)) == ({"tegi": "opt"}, {})
    assert [o.key for o in saved_by_key()["tegi"].options] == ["opt", "roznitsa"]


def test_a_choice_becomes_text_by_its_name_and_the_search_finds_it(logged_in, admin, city):
    lead = factories.lead(owner=admin, fields={"gorod": "Казань"})
    assert "казань" not in db.session.get(Lead, lead.id).search_text
    assert (
        logged_in.post(f"/settings/fields/{city.id}/type", data={"type": "text"}).status_code == 303
    )
    assert values(lead) == {"gorod": "Казань"}
    assert saved_by_key()["gorod"].options == ()
    assert "казань" in db.session.get(Lead, lead.id).search_text


@pytest.mark.parametrize(
    ("type_", "says"),
    [
        ("text", "not a valid choice"),
        ("colour", "not a valid choice"),
        ("yes_no", "untick “Identifies the client” first"),
    ],
)
def test_a_type_that_cannot_be_is_refused(logged_in, admin, type_, says):
    inn = factories.field("ИНН", identifies_client=True)
    lead = factories.lead(owner=admin, fields={"inn": "7707083893"})
    before = definitions()
    dry = logged_in.get(f"/settings/fields/{inn.id}/type?type={type_}")
    assert dry.status_code == 422
    assert says in error_text(dry.text).casefold() or says in error_text(dry.text)
    response = logged_in.post(f"/settings/fields/{inn.id}/type", data={"type": type_})
    assert response.status_code == 422
    assert definitions() == before
    assert values(lead) == {"inn": "7707083893"}


def test_a_removed_fields_type_does_not_change(logged_in, admin):
    fax = factories.field("Факс")
    custom_fields.remove_field(fax.id)
    db.session.commit()
    response = logged_in.get(f"/settings/fields/{fax.id}/type?type=phone")
    assert response.status_code == 422
    assert "Restore the field before changing its type." in error_text(response.text)


# Whatever is typed into the field form


labels = st.text(max_size=90) | st.sampled_from(["Город", "город ", "  ", "ИНН\x00", "И" * 80])
flags = st.fixed_dictionaries({flag: st.sampled_from(["", "y"]) for flag in custom_fields.FLAGS})
option_lines = st.lists(st.text(max_size=12), max_size=5).map("\n".join)


@fewer_on_postgresql(
    settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    ),
    given(
        label=labels,
        type_=st.sampled_from([t.value for t in FieldType]),
        options=option_lines,
        ticked=flags,
    ),
)
def test_the_field_form_saves_what_it_accepts_and_explains_what_it_does_not(
    logged_in, city, label, type_, options, ticked
):
    before = definitions()
    sent = {"label": label, "type": type_, "options": options} | ticked
    response = logged_in.post("/settings/fields/new", data=sent)
    assert response.status_code in (303, 422)
    if response.status_code == 422:
        assert error_text(response.text).strip()
        assert definitions() == before
        return
    added = saved()[-1]
    assert added.label == label.replace("\x00", "").strip()
    assert custom_fields.KEY_PATTERN.match(added.key)
    assert added.type == type_
    if added.has_options:
        typed = [line.replace("\x00", "").strip() for line in options.splitlines()]
        assert [o.label for o in added.options] == [line for line in typed if line]
    custom_fields.delete_field(added.id)
    db.session.commit()


def test_a_value_written_before_the_checks_is_listed_not_a_failure(logged_in, admin):
    due = factories.field("Срок", FieldType.DATE)
    lead = factories.lead(title="Старый импорт", owner=admin)
    # As a hand edit of the database might have left it.
    db.session.execute(update(Lead).where(Lead.id == lead.id).values(fields={"srok": "в пятницу"}))
    db.session.commit()
    dry = logged_in.get(f"/settings/fields/{due.id}/type?type=number")
    assert dry.status_code == 200
    assert "Старый импорт" in dry.text and "в пятницу" in dry.text
    as_text = logged_in.get(f"/settings/fields/{due.id}/type?type=text")
    assert "1 convert" in as_text.text and "0 do not fit." in as_text.text
