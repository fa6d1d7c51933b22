"""Settings → Fields in Chromium, in Russian: an administrator adds «Город» (a choice) and
«ИНН» (identifying the client), reorders them by keyboard, adds a coloured choice and retires
one that a lead holds, all in place."""

import re

import pytest

from crm import custom_fields
from crm.extensions import db
from crm.models import Lead
from tests import factories
from tests.browser.conftest import (
    ADMIN_PASSWORD,
    RUSSIAN_EMAIL,
    RUSSIAN_NAME,
    build_app,
    serving,
)
from tests.browser.pages import expect, log_in_in_russian, url_path

PHONE_WIDTH = 375


@pytest.fixture
def context_options():
    return {"viewport": {"width": 1280, "height": 800}, "locale": "ru-RU"}


@pytest.fixture
def own_server(tmp_path):
    """A CRM of this test's own, with a Russian administrator: fields must not leak."""
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel()
        factories.admin(
            name=RUSSIAN_NAME, email=RUSSIAN_EMAIL, password=ADMIN_PASSWORD, locale="ru"
        )
        db.session.remove()
    with serving(app) as url:
        yield app, url


def field_names(page):
    return page.locator("#field-list ol .settings-item-name").all_inner_texts()


def choice_names(page):
    return page.locator("#choices .settings-item-name").all_inner_texts()


def add_field(page, label, type_label, choices=None, ticks=()):
    page.get_by_role("link", name="Добавить поле").click()
    expect(page).to_have_url(url_path("/settings/fields/new"))
    page.get_by_label("Название поля").fill(label)
    page.get_by_label("Тип").select_option(label=type_label)
    if choices:
        page.get_by_label("Варианты").fill("\n".join(choices))
    for tick in ticks:
        page.get_by_label(tick).check()
    page.get_by_role("button", name="Добавить поле").click()
    expect(page).to_have_url(re.compile(r"/settings/fields#field-\d+$"))
    expect(page.get_by_role("status")).to_contain_text(f"Поле «{label}» добавлено.")


def test_an_administrator_defines_the_teams_fields(page, own_server):
    app, base = own_server
    log_in_in_russian(page, base, RUSSIAN_EMAIL, ADMIN_PASSWORD)
    page.goto(base + "/settings/")
    page.get_by_role("link", name=re.compile("^Поля:")).click()
    expect(page).to_have_url(url_path("/settings/fields"))
    expect(page.get_by_text("Своих полей у команды пока нет.")).to_be_visible()

    add_field(page, "Город", "Выбор из списка", ["Москва", "Казань", "Тверь"], ["Для фильтра"])
    add_field(page, "ИНН", "Текст", ticks=["Определяет клиента"])
    assert field_names(page) == ["Город", "ИНН"]
    inn = page.locator("#field-list li", has_text="ИНН")
    expect(inn).to_contain_text("определяет клиента")
    expect(page.locator("#field-list li", has_text="Город")).to_contain_text("3 варианта")

    # Reordered by keyboard, in place: no reload, and the pressed button keeps the focus.
    page.evaluate("window.sameDocument = true")
    page.get_by_role("button", name="Выше ИНН").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#field-list ol .settings-item-name").first).to_have_text("ИНН")
    expect(page.get_by_role("status")).to_contain_text("«ИНН» перемещён выше.")
    assert page.evaluate("window.sameDocument") is True
    expect(page.get_by_role("button", name="Ниже ИНН")).to_be_focused()
    page.reload()
    assert field_names(page) == ["ИНН", "Город"]

    # A lead is in Tver before its choice is retired.
    with app.app_context():
        lead = factories.lead(title="ООО «Тверской»", fields={"gorod": "Тверь"})
        lead_id = lead.id
        db.session.remove()

    page.get_by_role("link", name="Изменить Город").click()
    expect(page.get_by_role("heading", name="Поле «Город»")).to_be_visible()
    choices = page.locator("#choices")
    assert choice_names(page) == ["Москва", "Казань", "Тверь"]
    # Only a choice no lead holds can be deleted.
    expect(choices.get_by_role("button", name="Удалить Москва")).to_be_visible()
    expect(choices.get_by_role("button", name="Удалить Тверь")).to_have_count(0)

    page.evaluate("window.sameDocument = true")
    choices.get_by_role("button", name="Больше не предлагать Тверь").click()
    tver = choices.locator("li", has_text="Тверь")
    expect(tver).to_contain_text("больше не предлагается")
    expect(tver).to_contain_text("1 лид")
    expect(page.get_by_role("status")).to_contain_text("Вариант «Тверь» больше не предлагается")
    expect(choices.get_by_role("button", name="Предлагать снова Тверь")).to_be_focused()
    assert page.evaluate("window.sameDocument") is True

    # A new choice, coloured, added in place; the focus is back in the box for the next one.
    choices.get_by_label("Название варианта").fill("Нижний Новгород")
    choices.get_by_label("Цвет").select_option(label="Зелёный")
    choices.get_by_role("button", name="Добавить вариант").click()
    expect(choices.locator("li", has_text="Нижний Новгород")).to_contain_text("Зелёный")
    expect(choices.get_by_label("Название варианта")).to_be_focused()
    expect(choices.get_by_label("Название варианта")).to_have_value("")
    assert page.evaluate("window.sameDocument") is True
    swatch = choices.locator("li", has_text="Нижний Новгород").locator("svg rect")
    assert swatch.get_attribute("fill") == "#16a34a"

    page.reload()
    assert choice_names(page) == ["Москва", "Казань", "Тверь", "Нижний Новгород"]
    with app.app_context():
        city = custom_fields.by_key()["gorod"]
        assert [o.label for o in city.offered_options] == ["Москва", "Казань", "Нижний Новгород"]
        assert db.session.get(Lead, lead_id).fields == {"gorod": "tver"}
        assert custom_fields.identifying_fields()[0].key == "inn"
        db.session.remove()


def test_the_fields_pages_fit_a_phone(page, own_server, tmp_path):
    app, base = own_server
    with app.app_context():
        city = factories.field("Город", "choice", ["Москва", "Казань", "Тверь"], filterable=True)
        factories.field("ИНН", identifies_client=True, in_list=True, required=True)
        db.session.remove()
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    log_in_in_russian(page, base, RUSSIAN_EMAIL, ADMIN_PASSWORD)
    paths = ["/settings/fields", "/settings/fields/new", f"/settings/fields/{city.id}"]
    for n, path in enumerate(paths):
        page.goto(base + path)
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH, path
        page.screenshot(path=tmp_path / f"fields-{n}.png", full_page=True)
