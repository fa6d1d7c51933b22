"""The people at the client, added and reordered in place on the lead's page."""

import pytest

from crm.extensions import db
from crm.models import LeadPerson
from tests import factories
from tests.browser.axe import described, violations
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in, log_in_in_russian


@pytest.fixture
def lead(live_app):
    with live_app.app_context():
        record = factories.lead(title="ООО Альфа", contact_name="Ирина", phone="+7 999 123-45-67")
        number, lead_id = record.number, record.id
        db.session.remove()
        return number, lead_id


def test_a_second_person_is_added_and_made_the_main_contact_in_place(
    page, live_server, live_app, lead
):
    number, lead_id = lead
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/leads/{number}")
    page.evaluate("window.stillTheSamePage = true")
    people = page.locator("#lead-people")
    people.get_by_role("link", name="Edit people").click()

    added = people.get_by_role("group", name="Add a person")
    expect(added.get_by_label("Name")).to_be_focused()
    page.keyboard.type("Пётр Сидоров")
    added.get_by_label("Job title").fill("Закупки")
    added.get_by_label("Emails, one a line").fill("petr@alfa.ru")
    added.get_by_label("Main contact").check()
    people.get_by_role("button", name="Save").click()

    expect(people.locator(".person").first).to_contain_text("Пётр Сидоров, Закупки")
    expect(people).to_contain_text("Main contact")
    expect(people.get_by_role("link", name="petr@alfa.ru")).to_have_attribute(
        "href", "mailto:petr@alfa.ru"
    )
    # The summary names the new main contact without a reload.
    expect(page.locator("#lead-summary")).to_contain_text("Пётр Сидоров")
    assert page.evaluate("window.stillTheSamePage") is True
    with live_app.app_context():
        names = db.session.scalars(
            db.select(LeadPerson.name)
            .where(LeadPerson.lead_id == lead_id)
            .order_by(LeadPerson.position)
        ).all()
        db.session.remove()
    assert names == ["Пётр Сидоров", "Ирина"]


@pytest.fixture
def olgas_lead(live_app):
    """A Russian salesperson in Moscow and her lead, with its main contact."""
    with live_app.app_context():
        olga = factories.user(
            name="Ольга Продавцова",
            email="olga.people@example.com",
            locale="ru",
            timezone="Europe/Moscow",
        )
        record = factories.lead(
            title="ООО Бета", owner=olga, contact_name="Ирина", phone="+7 999 765-43-21"
        )
        number = record.number
        db.session.remove()
        return number


@pytest.mark.parametrize(
    "context_options",
    [
        {
            "viewport": {"width": 375, "height": 740},
            "locale": "ru-RU",
            "timezone_id": "Europe/Moscow",
        }
    ],
)
def test_on_a_phone_in_russian_the_people_form_fits_and_reads_out(page, live_server, olgas_lead):
    log_in_in_russian(page, live_server, "olga.people@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/leads/{olgas_lead}")
    people = page.locator("#lead-people")
    people.get_by_role("link", name="Изменить список людей").click()
    added = people.get_by_role("group", name="Добавить человека")
    expect(added.get_by_label("Имя")).to_be_focused()
    problems = violations(page)
    page.keyboard.type("Пётр")
    added.get_by_label("Телефоны, по номеру в строке").fill("+7 (999) 765-43-21\nнет")
    people.get_by_role("button", name="Сохранить").click()
    expect(people.locator(".person")).to_have_count(2)
    problems += violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert problems == [], described(problems)
