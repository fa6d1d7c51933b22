"""The team's own fields: values checked against their definitions, kept on the lead by the
funnel service, recorded in the audit trail, and found through their indexes."""

import contextlib
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from crm import custom_fields, funnel
from crm.custom_fields import FieldValueError, Option, clean_value
from crm.extensions import db
from crm.models import AuditEntry, FieldType, Lead
from tests import factories


def a_field(type_, options=(), **flags):
    """A definition as pages read it, without a database."""
    return custom_fields.Field(
        id=1,
        key="f",
        label="Поле",
        type=type_,
        options=tuple(Option(key=slug, label=label) for slug, label in options),
        **flags,
    )


CITIES = (("moskva", "Москва"), ("kazan", "Казань"), ("tver", "Тверь"))


@pytest.mark.parametrize(
    ("type_", "typed", "stored"),
    [
        (FieldType.TEXT, "  ООО «Альфа»  ", "ООО «Альфа»"),
        (FieldType.NUMBER, "1 250", 1250),
        (FieldType.NUMBER, "-3,5", -3.5),
        (FieldType.NUMBER, 42, 42),
        (FieldType.MONEY, "1 250 000,50 ₽", 1250000.5),
        (FieldType.DATE, "31.12.2026", "2026-12-31"),
        (FieldType.DATE, "2026-12-31", "2026-12-31"),
        (FieldType.DATE, datetime(2026, 12, 31, 10), "2026-12-31"),
        (FieldType.DATE, date(2026, 12, 31), "2026-12-31"),
        (FieldType.YES_NO, "да", True),
        (FieldType.YES_NO, "Нет", False),
        (FieldType.YES_NO, True, True),
        (FieldType.LINK, "alfa.ru", "https://alfa.ru"),
        (FieldType.LINK, "http://alfa.ru/about", "http://alfa.ru/about"),
        (FieldType.PHONE, "+7 (999) 123-45-67", "+7 (999) 123-45-67"),
        (FieldType.EMAIL, "Info@Alfa.RU", "info@alfa.ru"),
        (FieldType.TEXT, "   ", None),
        (FieldType.NUMBER, "", None),
    ],
)
def test_what_a_person_types_is_stored_as_its_type(type_, typed, stored):
    assert clean_value(a_field(type_), typed) == stored


def test_a_choice_is_stored_as_its_key_whichever_way_it_is_named():
    city = a_field(FieldType.CHOICE, CITIES)
    assert clean_value(city, "казань") == "kazan"
    assert clean_value(city, "kazan") == "kazan"
    cities = a_field(FieldType.CHOICES, CITIES)
    assert clean_value(cities, "Тверь; Москва") == ["moskva", "tver"]
    assert clean_value(cities, ["tver", "Тверь", "kazan"]) == ["kazan", "tver"]


@pytest.mark.parametrize(
    ("type_", "typed", "says"),
    [
        (FieldType.NUMBER, "много", "not an amount"),
        (FieldType.NUMBER, True, "number"),
        (FieldType.NUMBER, "1" * 17, "16 digits"),
        (FieldType.MONEY, "-5", "zero or more"),
        (FieldType.DATE, "31.02.2026", "not a date"),
        (FieldType.DATE, 45000, "date"),
        (FieldType.YES_NO, "может быть", "yes or no"),
        (FieldType.LINK, "not a link", "web address"),
        (FieldType.EMAIL, "info@", "not an email"),
        (FieldType.TEXT, "x" * 501, "under 500"),
        (FieldType.TEXT, {"a": 1}, "as text"),
        (FieldType.CHOICE, "Париж", "not one of the choices"),
    ],
)
def test_a_value_its_field_cannot_hold_is_refused_by_the_fields_name(type_, typed, says):
    field = a_field(type_, CITIES)
    with pytest.raises(FieldValueError) as refused:
        clean_value(field, typed)
    assert refused.value.key == "f"
    assert refused.value.message.startswith("Поле: ")
    assert says in refused.value.message


def test_a_retired_choice_is_kept_where_it_is_but_not_given_anew():
    city = custom_fields.Field(
        id=1,
        key="city",
        label="Город",
        type=FieldType.CHOICE,
        options=(Option("moskva", "Москва"), Option("tver", "Тверь", retired=True)),
    )
    with pytest.raises(FieldValueError, match="no longer offered"):
        custom_fields.clean_values({"city": "Тверь"}, [city])
    assert custom_fields.clean_values({"city": "Тверь"}, [city], current={"city": "tver"}) == {
        "city": "tver"
    }


@given(st.text(max_size=60))
def test_any_label_makes_a_key_the_queries_accept(label):
    key = custom_fields.slug(label)
    assert custom_fields.KEY_PATTERN.match(key)


def test_keys_are_latin_and_never_taken_twice():
    assert custom_fields.slug("Откуда узнали") == "otkuda_uznali"
    assert custom_fields.slug("ИНН") == "inn"
    assert custom_fields.slug("2GIS") == "field_2gis"
    assert custom_fields.unique_key("Город", {"gorod"}) == "gorod_2"


@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.booleans(), st.none()))
def test_no_value_of_any_type_escapes_other_than_as_a_refusal(raw):
    for type_ in FieldType:
        with contextlib.suppress(FieldValueError):
            clean_value(a_field(type_, CITIES), raw)


def test_a_lead_keeps_its_fields_and_the_search_reads_their_text(admin, stages):
    factories.field("ИНН", identifies_client=True)
    factories.field("Город", FieldType.CHOICE, ["Москва", "Казань"], filterable=True)
    lead = funnel.create_lead(
        admin, title="Альфа", fields={"inn": " 7707083893 ", "gorod": "Казань"}
    )
    db.session.commit()
    assert lead.fields == {"inn": "7707083893", "gorod": "kazan"}
    assert "7707083893" in lead.search_text

    funnel.update_lead(lead, admin, fields={"gorod": ""})
    db.session.commit()
    assert db.session.get(Lead, lead.id).fields == {"inn": "7707083893"}


def test_a_bad_value_refuses_the_whole_lead_naming_the_field(admin, stages):
    factories.field("Сотрудников", FieldType.NUMBER)
    with pytest.raises(funnel.FunnelError) as refused:
        funnel.create_lead(admin, title="Альфа", fields={"sotrudnikov": "много"})
    assert refused.value.field == "fields.sotrudnikov"
    with pytest.raises(funnel.FunnelError) as refused:
        funnel.create_lead(admin, title="Альфа", fields={"nope": "1"})
    assert refused.value.field == "fields.nope"
    db.session.rollback()
    assert db.session.scalar(select(Lead.id)) is None


def test_a_required_field_is_asked_of_a_person_but_waits_for_a_web_request(admin, stages):
    factories.field("ИНН", required=True)
    with pytest.raises(funnel.FunnelError, match="ИНН: this field is required"):
        funnel.create_lead(admin, title="Альфа")
    db.session.rollback()
    lead = funnel.create_lead(None, title="Заявка с сайта", ask_required=False)
    db.session.commit()
    with pytest.raises(funnel.FunnelError) as refused:
        funnel.update_lead(lead, admin, fields={"inn": ""})
    assert refused.value.field == "fields.inn"


def test_every_field_change_is_in_the_audit_trail(admin, stages):
    factories.field("Город")
    lead = factories.lead(owner=admin, fields={"gorod": "Москва"})
    funnel.update_lead(lead, admin, fields={"gorod": "Казань"})
    db.session.commit()
    entries = db.session.execute(
        select(AuditEntry.field, AuditEntry.old, AuditEntry.new)
        .where(AuditEntry.action == "changed")
        .order_by(AuditEntry.id)
    ).all()
    assert ("fields.gorod", '"Москва"', '"Казань"') in entries


def test_leads_are_found_by_their_fields_through_the_indexes(admin, stages):
    inn = factories.field("ИНН", identifies_client=True)
    city = factories.field("Город", FieldType.CHOICE, ["Москва", "Казань"], filterable=True)
    tags = factories.field("Теги", FieldType.CHOICES, ["Опт", "Розница", "VIP"], filterable=True)
    staff = factories.field("Сотрудников", FieldType.NUMBER, filterable=True)
    vat = factories.field("С НДС", FieldType.YES_NO, filterable=True)
    alfa = factories.lead(
        owner=admin,
        fields={"inn": "7707083893", "gorod": "Москва", "tegi": "Опт; VIP", "sotrudnikov": 250},
    )
    beta = factories.lead(owner=admin, fields={"gorod": "Казань", "sotrudnikov": 12, "s_nds": "да"})

    def found(condition):
        return set(db.session.scalars(select(Lead.id).where(condition)))

    assert found(custom_fields.stored(inn.key) == "7707083893") == {alfa.id}
    assert found(custom_fields.equals_any(city, ["kazan"])) == {beta.id}
    assert found(custom_fields.equals_any(tags, ["vip", "roznitsa"])) == {alfa.id}
    assert found(custom_fields.stored_number(staff.key) >= 100) == {alfa.id}
    assert found(custom_fields.equals_any(vat, [True])) == {beta.id}
    indexes = custom_fields.existing_indexes(db.session.connection())
    assert indexes == {f"ix_leads_field_{key}" for key in ("inn", "gorod", "sotrudnikov", "s_nds")}
