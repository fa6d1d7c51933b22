"""On a phone: nothing sticks out sideways and every section is two taps away, in the menu."""

import pytest

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import NAV_LINKS, expect, log_in, main_nav, open_menu, url_path

WIDTH = 375
# Where a menu link lands, when its address is not its name: Analytics opens on its first report.
LANDINGS = {"Activity log": "/activities/", "Analytics": "/analytics/funnel"}


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": WIDTH, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "en-GB",
    }


def page_width(page):
    """The document's width once its stylesheet and scripts have loaded."""
    page.wait_for_load_state()
    return page.evaluate("document.documentElement.scrollWidth")


def test_login_page_fits_a_phone(page, live_server, tmp_path):
    page.goto(live_server + "/login")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page_width(page) <= WIDTH
    page.screenshot(path=tmp_path / "login-phone.png", full_page=True)


def test_setup_page_fits_a_phone(page, page_errors, fresh_server, tmp_path):
    page.goto(fresh_server + "/setup")
    assert page_width(page) <= WIDTH

    # Sent empty, the form grows an error under each field: it still has to fit.
    page_errors.allow_http_status(422, "/setup")
    page.get_by_role("button", name="Create administrator").tap()
    expect(page.get_by_text("This field is required.").first).to_be_visible()
    assert page_width(page) <= WIDTH
    page.screenshot(path=tmp_path / "setup-phone.png", full_page=True)


def test_agenda_fits_a_phone_and_every_section_is_reachable(page, live_server, tmp_path):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)

    screenshot = tmp_path / "agenda-phone.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.is_file()
    assert screenshot.stat().st_size > 0
    assert page_width(page) <= WIDTH

    expect(main_nav(page)).to_be_hidden()
    open_menu(page)
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    for name in NAV_LINKS:
        open_menu(page)
        link = main_nav(page).get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        link.tap()
        landing = LANDINGS.get(name, f"/{name.lower()}/")
        expect(page).to_have_url(url_path(landing))
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        open_menu(page)
        expect(main_nav(page).get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        assert page_width(page) <= WIDTH, f"{name} is wider than the phone"


def test_every_section_shows_without_scrolling_sideways(page, live_server):
    # A link hidden in a sideways-scrolling strip, with no sign that it is there, is lost.
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)

    open_menu(page)
    for name in NAV_LINKS:
        link = main_nav(page).get_by_role("link", name=name, exact=True)
        expect(link, f"{name} is cut off on a phone").to_be_in_viewport(ratio=1, timeout=1_000)
