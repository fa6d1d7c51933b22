"""Pipelines in Chromium, as a Russian team meets them: an administrator adds «Продления», the
board switches between pipelines, a lead moved to the new pipeline leaves one board and shows
on a colleague's open board of the other, and each pipeline's funnel report counts its own."""

import re

import pytest

from crm.extensions import db
from crm.models import Role
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, build_app, serving, stored
from tests.browser.pages import expect, log_in_in_russian

MANAGER_EMAIL = "mona@example.com"


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1366, "height": 800},
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture
def crm(tmp_path):
    """A Russian CRM with one lead in the first stage, and a manager besides the admin.

    Returns (base URL, the lead's id and number, the first stage's id, the app)."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel("ru")
        admin = factories.admin(
            name="Анна", email=ADMIN_EMAIL, password=ADMIN_PASSWORD, locale="ru"
        )
        factories.user(name="Мона", email=MANAGER_EMAIL, role=Role.MANAGER, locale="ru")
        lead = factories.lead(title="Балтийский лес", owner=admin, stage=stages[0])
        found = (lead.id, lead.number, stages[0].id)
        db.session.remove()
    with serving(app) as url:
        yield url, *found, app


def test_a_lead_moves_to_a_new_pipeline_and_a_colleagues_board_shows_it(
    page, browser, page_errors, crm
):
    base, lead_id, number, first_stage, app = crm
    log_in_in_russian(page, base, ADMIN_EMAIL, ADMIN_PASSWORD)

    # Settings → Pipelines: «Продления» starts with a stage of each kind, in their colours.
    page.goto(base + "/settings/")
    page.get_by_role("link", name="Воронки: новые продажи, продления, партнёры").click()
    page.get_by_label("Название воронки").fill("Продления")
    page.get_by_role("button", name="Добавить воронку").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Этапы воронки: Продления")
    stages = page.locator(".settings-list .badge")
    expect(stages).to_have_text(["Новый", "Выигран", "Упущен"])
    assert stages.nth(0).evaluate("e => getComputedStyle(e).backgroundColor") != stages.nth(
        1
    ).evaluate("e => getComputedStyle(e).backgroundColor")

    # A colleague watches the new pipeline's board.
    colleague = browser.new_context(locale="ru-RU", timezone_id="Europe/Moscow")
    other = colleague.new_page()
    other.on("pageerror", page_errors.on_page_error)
    try:
        log_in_in_russian(other, base, MANAGER_EMAIL, factories.PASSWORD)
        other.goto(base + "/board/")
        switch = other.get_by_role("navigation", name="Воронки")
        expect(switch.get_by_role("link")).to_have_text(["Продажи", "Продления"])
        switch.get_by_role("link", name="Продления").click()
        expect(switch.get_by_role("link", name="Продления")).to_have_attribute(
            "aria-current", "page"
        )
        expect(other.locator("#board .board-column")).to_have_count(3)

        # The administrator moves the lead from the sales board to «Продления».
        page.goto(base + "/board/")
        card = page.locator(f"#card-{lead_id}")
        card.get_by_role("button", name="Переместить").click()
        dialog = page.locator("dialog#move-dialog")
        dialog.get_by_label("Куда").select_option(label="Новый")
        dialog.get_by_role("button", name="Переместить").click()
        expect(page.locator(f"#card-{lead_id}")).to_have_count(0)
        assert stored(app, lead_id, "stage_id") != first_stage

        # Live on the colleague's board: the board polls every 4 seconds.
        expect(other.locator(f"#card-{lead_id}")).to_be_visible(timeout=5_000)
    finally:
        colleague.close()

    # Each pipeline's funnel counts its own steps: the lead entered «Новый» in «Продления».
    page.goto(base + "/analytics/funnel")
    page.get_by_label("Воронка", exact=True).select_option(label="Продления")
    page.get_by_role("button", name="Показать").click()
    expect(page).to_have_url(re.compile(r"pipeline=\d+"))
    steps = page.locator("table").filter(has_text="Попали")
    expect(steps).to_contain_text("Новый")
    page.goto(base + "/analytics/funnel")
    expect(page.locator("table").filter(has_text="Попали")).not_to_contain_text("Новый")
