"""The team's own fields in a real browser, in Russian and in Moscow: a salesperson sets Город
and ИНН in place on a lead; a new lead with the same ИНН is warned of as the client's other
lead, saved anyway, and then both leads list each other as the client's."""

import pytest

from crm.custom_fields import Option
from crm.extensions import db
from crm.models import FieldType
from tests import factories
from tests.browser.axe import described, violations
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, log_in_in_russian

EMAIL = "olga@example.com"
INN = "7707083893"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A CRM of its own (its fields would show on every other test's pages): an administrator
    added Город and ИНН; Ольга sells, in Russian, in Moscow, and owns ООО Альфа."""
    app = build_app(tmp_path_factory.mktemp("lead_fields"))
    with app.app_context():
        stages = factories.funnel("ru")
        factories.admin(name="Анна Админова", email="anna@example.com", locale="ru")
        olga = factories.user(
            name="Ольга Продавцова", email=EMAIL, locale="ru", timezone="Europe/Moscow"
        )
        factories.field(
            "Город",
            FieldType.CHOICE,
            [Option("", "Москва", colour="#1d4ed8"), Option("", "Казань", colour="#facc15")],
            filterable=True,
        )
        factories.field("ИНН", identifies_client=True, help_text="10 или 12 цифр")
        lead = factories.lead("ООО Альфа", owner=olga, stage=stages[0])
        number = lead.number
        db.session.remove()
    with serving(app) as url:
        yield url, number


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1280, "height": 900},
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


def test_the_inn_names_the_clients_other_leads(page, team):
    """The whole story, each page checked for accessibility on the way."""
    base, number = team
    log_in_in_russian(page, base, EMAIL, factories.PASSWORD)

    # Город and ИНН, set in place: the details swap to a form and back, no page load.
    page.goto(f"{base}/leads/{number}")
    page.evaluate("window.stillTheSamePage = true")
    summary = page.locator("#lead-summary")
    folded = summary.locator("summary")
    expect(folded).to_have_text("Показать 2 пустых поля")
    folded.click()
    problems = violations(page)
    page.get_by_role("link", name="Изменить данные").click()
    page.get_by_label("Город").select_option(label="Казань")
    inn = page.get_by_label("ИНН")
    expect(inn).to_have_accessible_description("10 или 12 цифр")
    problems += violations(page)
    inn.fill(INN)
    page.get_by_role("button", name="Сохранить").click()
    expect(summary.locator("dd#lead-field-gorod")).to_have_text("Казань")
    expect(summary.locator("dd#lead-field-inn")).to_have_text(INN)
    # The chip has its option's colour, from the stylesheet of the options' colours.
    chip = summary.locator("dd#lead-field-gorod .option-chip")
    expect(chip).to_have_css("background-color", "rgb(250, 204, 21)")
    assert page.evaluate("window.stillTheSamePage") is True

    # A new lead with the same ИНН: the warning names ООО Альфа and says why.
    page.goto(f"{base}/leads/new")
    page.get_by_label("Название").fill("Альфа, второй проект")
    page.get_by_label("ИНН").fill(INN)
    page.get_by_role("button", name="Создать лида").click()
    warning = page.get_by_role("alert")
    expect(warning).to_contain_text("Возможные дубликаты")
    expect(warning.get_by_role("link", name=f"#{number} ООО Альфа")).to_be_visible()
    expect(warning).to_contain_text("совпадает ИНН")
    problems += violations(page)
    page.get_by_role("button", name="Всё равно сохранить").click()

    # Saved, its page lists ООО Альфа as the client's other lead, and ООО Альфа lists it.
    expect(page.locator("#messages")).to_contain_text("создан")
    new_number = int(page.url.rstrip("/").rsplit("/", 1)[1])
    others = page.get_by_role("region", name="Другие лиды этого клиента")
    expect(others.get_by_role("link", name=f"#{number} ООО Альфа")).to_be_visible()
    expect(others).to_contain_text("совпадает ИНН")
    page.goto(f"{base}/leads/{number}")
    others = page.get_by_role("region", name="Другие лиды этого клиента")
    expect(others.get_by_role("link", name=f"#{new_number} Альфа, второй проект")).to_be_visible()
    expect(others).to_contain_text("В работе")
    problems += violations(page)
    assert not problems, described(problems)

    # Another ИНН, set in place: the list of the client's leads goes with it, no page load.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name="Изменить данные").click()
    page.get_by_label("ИНН").fill("7728168971")
    page.get_by_role("button", name="Сохранить").click()
    expect(summary.locator("dd#lead-field-inn")).to_have_text("7728168971")
    expect(page.locator("#client-leads")).to_be_hidden()
    assert page.evaluate("window.stillTheSamePage") is True
