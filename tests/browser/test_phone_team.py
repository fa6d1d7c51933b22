"""A Russian team on a phone (375 × 740, ru-RU, Moscow), with the setup page's sample data: no
main page scrolls sideways, the top bar stays short, its menu works from the keyboard, and the
lead list is a card per lead."""

import pytest

from tests.browser.conftest import ADMIN_PASSWORD, RUSSIAN_EMAIL, russian_sample
from tests.browser.pages import expect, log_in_in_russian, url_path

WIDTH = 375
HEADER_MAX = 120


def main_pages(lead_number):
    return [
        "/agenda/",
        "/board/",
        "/leads/",
        f"/leads/{lead_number}",
        "/leads/new",
        "/activities/",
        "/agenda/calendar",
        "/agenda/missed",
        *(f"/analytics/{report}" for report in REPORTS),
        "/settings/",
        "/settings/general",
        "/settings/stages",
        # The demo's second pipeline (Продления).
        "/settings/stages?pipeline=2",
        "/settings/pipelines",
        "/settings/pipelines/2/archive",
        "/settings/users",
        "/settings/activity-kinds",
        "/settings/lost-reasons",
        "/settings/audit",
        "/settings/intake-forms",
        "/settings/intake-forms/new",
        "/settings/import/",
        "/account",
        "/account/password",
    ]


REPORTS = ["funnel", "time-in-stage", "won-lost", "activity", "sources"]


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": WIDTH, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    with russian_sample(tmp_path_factory.mktemp("phone")) as found:
        yield found


@pytest.fixture
def anna(page, sample):
    """Anna's phone, logged in; returns (base URL, the number of one of her leads)."""
    base, number = sample
    log_in_in_russian(page, base, RUSSIAN_EMAIL, ADMIN_PASSWORD)
    return base, number


# A phone's browser widens its layout to whatever sticks out, so innerWidth alone would not
# tell: the page must fit the phone's own width too.
MEASURE = """() => ({
  scrolled: document.scrollingElement.scrollWidth,
  inner: innerWidth,
  header: document.querySelector("header").getBoundingClientRect().height,
})"""


def test_no_main_page_scrolls_sideways_and_the_top_bar_stays_short(page, anna):
    base, number = anna
    for path in main_pages(number):
        page.goto(base + path)
        page.wait_for_load_state()
        found = page.evaluate(MEASURE)
        assert found["scrolled"] <= min(found["inner"], WIDTH), f"{path} scrolls sideways: {found}"
        assert found["header"] <= HEADER_MAX, f"the top bar of {path} is {found['header']} px"


def main_menu(page):
    return page.get_by_role("navigation", name="Главное меню")


def test_the_menu_opens_and_closes_by_keyboard(page, anna):
    base, _number = anna
    menu_button = page.locator("header summary")
    expect(menu_button).to_have_text("Меню")
    expect(main_menu(page)).to_be_hidden()
    for _key in range(4):
        page.keyboard.press("Tab")
        if menu_button.evaluate("button => button === document.activeElement"):
            break
    expect(menu_button).to_be_focused()

    page.keyboard.press("Enter")
    expect(main_menu(page)).to_be_visible()
    for name in ["Дела", "Лиды", "Журнал", "Воронка", "Аналитика", "Настройки"]:
        link = main_menu(page).get_by_role("link", name=name, exact=True)
        expect(link).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("button", name="Выйти")).to_be_in_viewport(ratio=1)
    page.keyboard.press("Tab")
    expect(main_menu(page).get_by_role("link", name="Дела")).to_be_focused()

    page.keyboard.press("Escape")
    expect(main_menu(page)).to_be_hidden()
    expect(menu_button).to_be_focused()

    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(main_menu(page).get_by_role("link", name="Лиды")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Лиды")
    expect(main_menu(page)).to_be_hidden()


def test_a_tap_elsewhere_closes_the_menu(page, anna):
    page.locator("header summary").tap()
    expect(main_menu(page)).to_be_visible()
    # In the page's margin, below the panel: nothing there but the page.
    page.touchscreen.tap(4, 700)
    expect(main_menu(page)).to_be_hidden()
    expect(page).to_have_url(url_path("/agenda/"))


def test_the_lead_list_is_a_card_per_lead(page, anna):
    base, _number = anna
    page.goto(base + "/leads/")
    first = page.locator("#lead-rows tbody tr").first
    first.scroll_into_view_if_needed()
    # Every cell of the card is on the screen, the last contact too (the table showed only the
    # number, the name and the contact).
    for cell in ["number", "title", "contact", "stage", "owner", "next_step", "last_contact"]:
        expect(first.locator(f"td.col-{cell}")).to_be_in_viewport(ratio=1)
    card = first.bounding_box()
    assert card["x"] >= 0 and card["x"] + card["width"] <= WIDTH
    # The column heads are still the sort links.
    page.locator("#lead-rows th").get_by_role("link", name="Название").tap()
    expect(page.locator("#lead-rows th.col-title")).to_have_attribute("aria-sort", "ascending")


# Every element of the lead's card whose right edge passes the card's own.
STICKING_OUT = """() => {
  const card = document.querySelector("#lead-summary").getBoundingClientRect();
  return [...document.querySelectorAll("#lead-summary dd *")]
    .filter((element) => element.getBoundingClientRect().right > card.right + 0.5)
    .map((element) => element.outerHTML.slice(0, 80));
}"""


def test_the_lead_card_keeps_every_value_inside_it(page, anna):
    """A long choice of the team's fields ("Транспорт и логистика") wraps inside the card
    rather than running past its edge, as the next step and the address already do."""
    base, _number = anna
    page.goto(base + "/leads/")
    links = page.locator("#lead-rows td.col-number a")
    addresses = [links.nth(index).get_attribute("href") for index in range(links.count())]
    with_chips = 0
    for address in addresses[:10]:
        page.goto(base + address)
        with_chips += bool(page.locator("#lead-summary .option-chip").count())
        assert page.evaluate(STICKING_OUT) == [], address
    assert with_chips, "none of the first ten leads has a choice to show"
