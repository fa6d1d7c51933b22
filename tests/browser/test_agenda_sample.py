"""The agenda of the setup page's Russian sample (60 leads) on a laptop, 1366 × 800 in Moscow:
a lead once, each row two lines high, and the reader's place kept after acting on a row."""

import re

import pytest

from tests.browser.conftest import ADMIN_PASSWORD, RUSSIAN_EMAIL, russian_sample
from tests.browser.pages import expect, log_in_in_russian

ROW_MAX = 80
# The same sample made a page of 13,000 px when a lead could be in three sections and a row
# took 150 px.
PAGE_MAX = 5000
# How far from the acted-on row's place the row that takes the focus may be drawn.
NEAR = 40


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1366, "height": 800},
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture
def agenda(page, tmp_path):
    """Anna's agenda, open; returns the page."""
    with russian_sample(tmp_path) as (base, _number):
        log_in_in_russian(page, base, RUSSIAN_EMAIL, ADMIN_PASSWORD)
        yield page


def rows(page):
    return page.locator("#agenda-sections .agenda-row")


def test_sixty_leads_make_a_short_agenda(agenda):
    ids = [row.get_attribute("id") for row in rows(agenda).all()]
    assert len(ids) > 20
    leads = [re.fullmatch(r"agenda-\w+-(\d+)", row_id).group(1) for row_id in ids]
    assert len(set(leads)) == len(leads), "a lead is listed twice"
    heights = agenda.evaluate(
        "[...document.querySelectorAll('.agenda-row')].map(r => r.getBoundingClientRect().height)"
    )
    assert max(heights) <= ROW_MAX
    assert agenda.evaluate("document.scrollingElement.scrollHeight") <= PAGE_MAX
    assert agenda.evaluate("document.scrollingElement.scrollWidth") <= 1366


def row_with_a_next(page):
    """A row followed by another in its section, and that other row."""
    for section in page.locator("#agenda-sections .agenda-rows").all():
        found = section.locator(":scope > .agenda-row")
        if found.count() >= 3:
            return found.nth(1), found.nth(2).get_attribute("id")
    pytest.fail("no section of the sample has three rows")


def put_at(page, row, top):
    """Scroll so that `row` starts `top` px below the top of the screen; returns where it is."""
    row.evaluate("(row, top) => window.scrollBy(0, row.getBoundingClientRect().top - top)", top)
    return row.evaluate("row => row.getBoundingClientRect().top")


def focused_top(page):
    return page.evaluate("document.activeElement.getBoundingClientRect().top")


def test_after_logging_in_place_the_next_row_takes_the_rows_place(agenda):
    row, next_id = row_with_a_next(agenda)
    top = put_at(agenda, row, 300)
    row.get_by_role("button", name="Записать").click()
    body = row.locator("#log-body")
    expect(body).to_be_focused()
    body.fill("Договорились созвониться после праздников")
    row.get_by_role("button", name="Через неделю").click()
    # The form may have scrolled the page to be seen; the row's place is where it is now.
    top = row.evaluate("row => row.getBoundingClientRect().top")
    body.press("Control+Enter")

    expect(agenda.locator("#agenda-status")).to_contain_text("записан")
    expect(agenda.locator(f"#{next_id}")).to_be_focused()
    expect(agenda.locator(f"#{next_id}")).to_be_in_viewport()
    assert abs(focused_top(agenda) - max(top, 8)) <= NEAR
    assert agenda.evaluate("scrollY") > 0


def test_after_moving_a_sections_last_step_its_heading_takes_the_rows_place(agenda):
    section = agenda.locator("#section-unplanned")
    last = section.locator(".agenda-row").last
    top = put_at(agenda, last, 400)
    last.get_by_role("button", name="1 день").click()

    heading = section.get_by_role("heading", level=2)
    expect(heading).to_be_focused()
    expect(heading).to_be_in_viewport()
    assert abs(focused_top(agenda) - top) <= NEAR
    expect(agenda.locator("#agenda-status")).to_contain_text("перенесён")


def test_a_refused_change_leaves_the_focus_on_its_row(agenda, page_errors):
    row = agenda.locator("#section-unplanned .agenda-row").nth(1)
    row_id = row.get_attribute("id")
    lead_id = row_id.rpartition("-")[2]
    page_errors.allow_http_status(422, f"/agenda/leads/{lead_id}/reschedule")
    top = put_at(agenda, row, 300)
    # A day asked for and none picked.
    row.get_by_text("Другой день").click()
    row.get_by_role("button", name="Назначить").click()

    expect(agenda.locator("#agenda-status")).to_contain_text("Выберите дату")
    expect(agenda.locator(f"#{row_id}")).to_be_focused()
    assert abs(focused_top(agenda) - top) <= NEAR
