"""Settings in Chromium: recolour a stage and see the badge change, reorder by keyboard."""

import re

import pytest

from crm.extensions import db
from crm.models import Stage
from tests import factories
from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_NAME,
    ADMIN_PASSWORD,
    build_app,
    serving,
)
from tests.browser.pages import expect, log_in, url_path

PHONE_WIDTH = 375


@pytest.fixture
def own_server(tmp_path):
    """A CRM of this test's own: recolouring and reordering must not leak into other tests."""
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel()
        factories.admin(name=ADMIN_NAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        stages = {s.name: s.id for s in db.session.scalars(Stage.in_funnel_order())}
        db.session.remove()
    with serving(app) as url:
        yield url, stages


def badge(page, name):
    return page.locator("#stage-list .badge", has_text=name)


def computed(locator, prop):
    return locator.evaluate(f"el => getComputedStyle(el).getPropertyValue('{prop}')")


def stage_names(page):
    return page.locator("#stage-list .badge").all_inner_texts()


def test_recolouring_a_stage_changes_its_badge(page, own_server):
    base, stages = own_server
    log_in(page, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(base + "/settings/stages")
    cold = badge(page, "Cold")
    assert computed(cold, "background-color") == "rgb(100, 116, 139)"
    link_before = page.locator('link[href^="/stages.css"]').get_attribute("href")

    page.get_by_role("link", name="Edit Cold").click()
    expect(page).to_have_url(url_path(f"/settings/stages/{stages['Cold']}"))
    colour = page.get_by_label("Colour")
    expect(colour).to_have_attribute("type", "color")
    colour.fill("#fde047")
    page.get_by_role("button", name="Save stage").click()

    expect(page).to_have_url(re.compile(rf"/settings/stages#stage-{stages['Cold']}$"))
    expect(page.get_by_role("status")).to_contain_text("Stage “Cold” saved.")
    cold = badge(page, "Cold")
    assert computed(cold, "background-color") == "rgb(253, 224, 71)"
    # A light colour gets dark text, by itself.
    assert computed(cold, "color") == "rgb(17, 24, 39)"
    assert page.locator('link[href^="/stages.css"]').get_attribute("href") != link_before


def test_reordering_stages_by_keyboard_keeps_focus(page, own_server):
    base, stages = own_server
    cold = stages["Cold"]
    log_in(page, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(base + "/settings/stages")
    page.evaluate("window.sameDocument = true")
    first_three = ["Cold", "Interested", "Estimate requested"]
    assert stage_names(page)[:3] == first_three

    page.get_by_role("button", name="Move down Cold").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#stage-list .badge").nth(1)).to_have_text("Cold")
    expect(page.get_by_role("status")).to_contain_text("“Cold” moved down.")
    # Swapped in place: no reload, and the pressed button still has the focus.
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator(f"#stage-{cold}-down")).to_be_focused()

    page.keyboard.press("Enter")
    expect(page.locator("#stage-list .badge").nth(2)).to_have_text("Cold")
    expect(page.locator(f"#stage-{cold}-down")).to_be_focused()

    page.keyboard.press("Shift+Tab")
    expect(page.locator(f"#stage-{cold}-up")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.locator("#stage-list .badge").first).to_have_text("Cold")
    # At the top "Move up" is gone: focus moves to "Move down" instead of being lost.
    expect(page.locator(f"#stage-{cold}-up")).to_have_count(0)
    expect(page.locator(f"#stage-{cold}-down")).to_be_focused()
    assert page.evaluate("window.sameDocument") is True

    page.reload()
    assert stage_names(page)[:3] == first_three


def test_settings_lists_fit_a_phone(page, own_server, tmp_path):
    base, _stages = own_server
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    log_in(page, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    for path in ["/settings/stages", "/settings/activity-kinds", "/settings/lost-reasons"]:
        page.goto(base + path)
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH, path
    page.goto(base + "/settings/stages")
    page.screenshot(path=tmp_path / "stages-phone.png", full_page=True)
    expect(page.get_by_role("button", name="Move down Cold")).to_be_visible()
