"""The history of changes and reassigning, in a real browser."""

import pytest

from crm.extensions import db
from crm.models import Stage
from tests import factories
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in


@pytest.fixture
def leads(live_app, request):
    """Two leads named for the test (the server's database is shared by the module's tests),
    and a colleague to give them to."""
    with live_app.app_context():
        stages = db.session.scalars(Stage.in_funnel_order()).all()
        name = request.node.name.removeprefix("test_")[:12]
        factories.user(name=f"Sue {name}")
        numbers = [
            factories.lead(title=f"{name} branch {n}", stage=stages[0]).number for n in range(2)
        ]
        db.session.remove()
        return name, numbers


def test_the_history_opens_in_place_and_names_the_change(page, live_server, leads):
    name, (number, _other) = leads
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/leads/{number}")
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Title").fill(f"{name} head office")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=f"{name} head office")).to_be_visible()

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_text("History of changes", exact=True).click()
    change = page.locator(".lead-history li").first
    expect(change).to_contain_text(f"Lead changed: Title {name} branch 0 → {name} head office")
    expect(change).to_contain_text("Ada")
    assert page.evaluate("window.stillTheSamePage") is True


def test_a_manager_reassigns_what_the_list_shows(page, live_server, leads):
    name, _numbers = leads
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"{live_server}/leads/?q={name}")
    page.get_by_text("Reassign these 2 leads").click()
    page.get_by_label("New owner").select_option(label=f"Sue {name}")
    page.get_by_role("button", name="Reassign", exact=True).click()
    expect(page.locator("#messages")).to_contain_text(f"2 leads now belong to Sue {name}.")
    rows = page.locator("#lead-rows tbody tr")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_contain_text(f"Sue {name}")
