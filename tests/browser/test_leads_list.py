"""The lead register in Chromium: search as you type, the back button, and new leads."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from crm.extensions import db
from crm.models import User
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in, url_path


@pytest.fixture
def leads(live_app):
    """Two leads only this module's searches find: (Ромашка's number, Лютик's number)."""
    with live_app.app_context():
        admin = db.session.scalar(User.by_email(ADMIN_EMAIL))
        daisy = factories.lead(
            title="ООО Ромашка-Браузер", owner=admin, phone="8 999 765 43 21", email="daisy@k.ru"
        )
        buttercup = factories.lead(title="Лютик-Браузер", owner=admin)
        numbers = (daisy.number, buttercup.number)
        db.session.remove()
    return numbers


def row(page, number):
    return page.locator("#lead-rows tbody tr").filter(
        has=page.get_by_role("link", name=f"#{number}")
    )


def query_of(page):
    return parse_qs(urlsplit(page.url).query)


def test_search_filters_the_rows_as_you_type(page, live_server, leads):
    daisy, buttercup = leads
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/leads/")
    expect(row(page, daisy)).to_be_visible()
    expect(row(page, buttercup)).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_label("Search leads").press_sequentially("ромашка-бр", delay=30)

    expect(row(page, buttercup)).to_have_count(0)
    expect(row(page, daisy)).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q="))
    assert query_of(page)["q"] == ["ромашка-бр"]
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.get_by_label("Search leads")).to_be_focused()

    # Enter searches too, still without leaving the page.
    page.get_by_label("Search leads").press("Enter")
    expect(row(page, daisy)).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True

    # By phone, written another way.
    page.get_by_label("Search leads").fill("+7 (999) 765-43-21")
    expect(row(page, buttercup)).to_have_count(0)
    expect(row(page, daisy)).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=%2B7"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=%D1%80"))
    expect(row(page, daisy)).to_be_visible()
    expect(row(page, buttercup)).to_have_count(0)


def test_sorting_and_filters_keep_the_search(page, live_server, leads):
    daisy, buttercup = leads
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/leads/?q=браузер")
    expect(row(page, daisy)).to_be_visible()
    expect(row(page, buttercup)).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("link", name="Title").click()
    title_header = page.get_by_role("columnheader", name="Title")
    expect(title_header).to_have_attribute("aria-sort", "ascending")
    assert query_of(page) == {"q": ["браузер"], "sort": ["title"]}

    # A new search keeps the order the list is in.
    page.get_by_label("Search leads").fill("лютик")
    expect(row(page, daisy)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"sort=title"))
    assert query_of(page)["q"] == ["лютик"]

    page.locator("summary", has_text="Filters").click()
    page.get_by_role("search").get_by_label("Owner").select_option(label="Mine")
    expect(page).to_have_url(re.compile(r"owner=me"))
    expect(row(page, buttercup)).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True


def test_create_a_lead_from_the_list(page, live_server):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/leads/")

    page.get_by_text("New lead", exact=True).click()
    form = page.get_by_role("form", name="New lead")
    form.get_by_label("Title").fill("Берёзка из браузера")
    form.get_by_label("Phone").fill("+7 912 000 11 22")
    form.get_by_role("button", name="Create lead").click()

    expect(page).to_have_url(re.compile(r"/leads/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Берёзка из браузера")
    expect(page.get_by_role("status")).to_contain_text("created")


def test_possible_duplicates_then_save_anyway(page, live_server, leads):
    daisy, _buttercup = leads
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/leads/new")

    page.get_by_label("Title").fill("Совсем другое название")
    page.get_by_label("Email").fill("DAISY@k.ru")
    page.get_by_role("button", name="Create lead").click()

    warning = page.get_by_role("alert")
    expect(warning).to_contain_text("Possible duplicates")
    expect(warning.get_by_role("link", name=re.compile(rf"#{daisy} "))).to_be_visible()
    expect(page).to_have_url(url_path("/leads/new"))

    page.get_by_role("button", name="Save anyway").click()
    expect(page).to_have_url(re.compile(r"/leads/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Совсем другое название")


@pytest.mark.parametrize("width", [375, 1280])
def test_the_list_fits_the_screen(page, live_server, leads, width, tmp_path):
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/leads/")
    page.wait_for_load_state()
    expect(page.get_by_label("Search leads")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_text("New lead", exact=True).click()
    page.locator("summary", has_text="Filters").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=tmp_path / f"leads-{width}.png", full_page=True)
