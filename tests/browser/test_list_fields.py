"""The team's own fields in the list and on the board, in Chromium, in Russian: the list filters
by Город and shows it as a column, the board card shows it, and a phone scrolls no sideways."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from crm.extensions import db
from crm.models import FieldType
from tests import factories
from tests.browser.axe import described, violations
from tests.browser.conftest import ADMIN_PASSWORD, RUSSIAN_EMAIL, RUSSIAN_NAME, build_app, serving
from tests.browser.pages import expect, log_in_in_russian, url_path

LEADS = {"ООО Альфа": "Москва", "ИП Бета": "Казань", "Гамма": "Тверь", "Дельта": None}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Russian team's CRM with a Город field (a choice, filterable, a list column, on cards)
    and an ИНН field, and four leads: {title: lead number} and the base URL."""
    app = build_app(tmp_path_factory.mktemp("list_fields"))
    with app.app_context():
        factories.funnel("ru")
        anna = factories.admin(
            name=RUSSIAN_NAME, email=RUSSIAN_EMAIL, locale="ru", timezone="Europe/Moscow"
        )
        factories.field(
            "Город",
            FieldType.CHOICE,
            ["Москва", "Казань", "Тверь"],
            filterable=True,
            in_list=True,
            on_card=True,
        )
        factories.field("ИНН", FieldType.TEXT, identifies_client=True, in_list=True)
        numbers = {}
        for n, (title, city) in enumerate(LEADS.items()):
            values = {"inn": f"77070838{n:02d}"} | ({"gorod": city} if city else {})
            numbers[title] = factories.lead(title, owner=anna, fields=values).number
        db.session.remove()
    with serving(app) as base:
        yield base, numbers


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1280, "height": 800},
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture
def signed_in(page, server):
    base, numbers = server
    log_in_in_russian(page, base, RUSSIAN_EMAIL, ADMIN_PASSWORD)
    return page, base, numbers


def row(page, number):
    return page.locator("#lead-rows tbody tr").filter(
        has=page.get_by_role("link", name=f"#{number}", exact=True)
    )


def city_cell(page, number):
    return row(page, number).locator('td[data-field="gorod"]')


def test_the_list_filters_by_city_and_shows_it_as_a_column(signed_in):
    page, base, numbers = signed_in
    page.goto(base + "/leads/")
    expect(page.get_by_role("columnheader", name="Город")).to_be_visible()
    expect(city_cell(page, numbers["ООО Альфа"])).to_have_text("Москва")
    expect(city_cell(page, numbers["Дельта"])).to_have_text("")
    page.evaluate("window.stillTheSamePage = true")

    page.locator("summary", has_text="Фильтры").click()
    city = page.get_by_role("group", name="Город")
    city.get_by_label("Казань").check()
    expect(row(page, numbers["ООО Альфа"])).to_have_count(0)
    expect(city_cell(page, numbers["ИП Бета"])).to_have_text("Казань")
    city.get_by_label("Тверь").check()
    expect(row(page, numbers["Гамма"])).to_be_visible()
    expect(page.locator("#lead-rows tbody tr")).to_have_count(2)
    assert parse_qs(urlsplit(page.url).query)["f.gorod"] == ["kazan", "tver"]
    assert page.evaluate("window.stillTheSamePage") is True

    # Sorted by the city, in the order of its options, page and filter kept.
    page.get_by_role("link", name="Город").click()
    expect(page.get_by_role("columnheader", name="Город")).to_have_attribute(
        "aria-sort", "ascending"
    )
    cells = page.locator('#lead-rows td[data-field="gorod"]')
    expect(cells).to_have_text(["Казань", "Тверь"])

    # The address alone brings the same list back.
    page.goto(page.url)
    expect(page.locator("#lead-rows tbody tr")).to_have_count(2)
    expect(page.get_by_role("group", name="Город").get_by_label("Казань")).to_be_checked()
    expect(page.locator("summary", has_text="Фильтры")).to_contain_text("(1)")


def test_the_person_picks_the_columns(signed_in):
    page, base, numbers = signed_in
    page.goto(base + "/leads/")
    expect(page.get_by_role("columnheader", name="ИНН")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    page.locator("summary", has_text="Столбцы").click()
    page.get_by_role("group", name="Показать поля команды").get_by_label("ИНН").uncheck()
    expect(page.get_by_role("columnheader", name="ИНН")).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Город")).to_be_visible()
    assert parse_qs(urlsplit(page.url).query, keep_blank_values=True)["col"] == ["", "gorod"]

    page.get_by_role("group", name="Показать поля команды").get_by_label("Город").uncheck()
    expect(page.locator("#lead-rows th.col-field")).to_have_count(0)
    expect(row(page, numbers["ООО Альфа"])).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True


def test_the_board_card_shows_the_city_and_the_board_filters_by_it(signed_in):
    page, base, numbers = signed_in
    page.goto(base + "/board/")
    alfa = page.locator(".board-card").filter(has_text="ООО Альфа")
    expect(alfa.locator(".card-fields")).to_have_text("Город: Москва")
    # The ИНН is not marked for cards; a lead without a city has no line for it.
    expect(
        page.locator(".board-card").filter(has_text="Дельта").locator(".card-fields")
    ).to_have_count(0)

    page.get_by_role("group", name="Город").get_by_label("Москва").check()
    expect(page.locator(".board-card")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"f\.gorod=moskva"))
    # The live poll asks with the filter.
    changes = page.locator("#board").get_attribute("data-changes-url")
    assert parse_qs(urlsplit(changes).query)["f.gorod"] == ["moskva"]


@pytest.mark.parametrize("path", ["/leads/", "/board/?f.gorod=moskva", "/agenda/?f.gorod=kazan"])
def test_a_phone_scrolls_no_sideways(browser, server, page_errors, path):
    base, numbers = server
    phone = browser.new_context(
        viewport={"width": 375, "height": 800}, locale="ru-RU", timezone_id="Europe/Moscow"
    )
    page = phone.new_page()
    page.on("console", page_errors.on_console)
    page.on("pageerror", page_errors.on_page_error)
    try:
        log_in_in_russian(page, base, RUSSIAN_EMAIL, ADMIN_PASSWORD)
        page.goto(base + path)
        expect(page).to_have_url(url_path(urlsplit(path).path))
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        if path == "/leads/":
            # Each lead a card, its fields said with their names.
            cell = city_cell(page, numbers["ООО Альфа"])
            expect(cell).to_be_visible()
            label = cell.evaluate("cell => getComputedStyle(cell, '::before').content")
            assert label == '"Город: "'
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    finally:
        phone.close()


@pytest.mark.parametrize("path", ["/leads/?f.gorod=kazan", "/board/", "/agenda/"])
def test_the_field_controls_pass_the_accessibility_checker(signed_in, path):
    page, base, _numbers = signed_in
    page.goto(base + path)
    page.evaluate(
        "document.querySelectorAll('.lead-filter-more, .lead-columns, .board-filter-panel')"
        ".forEach((details) => { details.open = true; })"
    )
    found = violations(page)
    assert not found, described(found)
