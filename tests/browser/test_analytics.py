"""Analytics in Chromium: a manager finds the worst step of the funnel and the commonest reason
leads are lost there in two clicks, in English and in Russian."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import LostReason, Role, utcnow
from tests import factories
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, log_in, main_nav

PASSWORD = factories.PASSWORD
COLD, INTERESTED, REQUESTED, MADE = range(4)
LOST = 8


@pytest.fixture
def funnel_history(tmp_path):
    """Ten leads reached "Estimate requested" this month; two moved on, eight were lost there,
    six of them as too expensive. Returns (base URL, the price reason's names)."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel()
        factories.user(name="Max Manager", email="max@example.com", role=Role.MANAGER)
        factories.user(name="Иван Иванов", email="ivan@example.com", role=Role.MANAGER, locale="ru")
        seller = factories.user(name="Sam Seller")
        reasons = db.session.scalars(select(LostReason).order_by(LostReason.id)).all()
        price, other = reasons[0], reasons[1]
        start = utcnow() - timedelta(days=20)
        for n in range(10):
            path = [
                (stages[COLD], start + timedelta(hours=n)),
                (stages[INTERESTED], start + timedelta(days=1, hours=n)),
                (stages[REQUESTED], start + timedelta(days=2, hours=n)),
            ]
            if n < 2:
                path.append((stages[MADE], start + timedelta(days=5, hours=n)))
            else:
                path.append((stages[LOST], start + timedelta(days=6, hours=n)))
            factories.lead_with_history(
                seller, path, lost_reason=price if n < 8 else other, title=f"Lead {n}"
            )
        names = (price.name, stages[REQUESTED].name)
        db.session.remove()
    with serving(app) as url:
        yield url, names


def test_worst_step_and_its_top_loss_reason_in_two_clicks(page, funnel_history):
    base, (reason, stage) = funnel_history
    log_in(page, base, "max@example.com", PASSWORD)

    main_nav(page).get_by_role("link", name="Analytics").click()
    worst = page.locator("tr.is-worst")
    expect(worst).to_contain_text(stage)
    expect(worst).to_contain_text("Worst step")
    expect(page.get_by_text(f"Worst step: {stage}.")).to_be_visible()

    page.get_by_role("link", name="Why leads were lost there").click()
    expect(page.get_by_role("heading", name=f"Losses from {stage}")).to_be_visible()
    top = page.locator("table.loss-matrix tbody tr").first
    expect(top.get_by_role("rowheader")).to_have_text(reason)
    expect(top.locator("strong.worst-mark")).to_contain_text("6")


def test_the_same_two_clicks_in_russian(page, funnel_history):
    base, _names = funnel_history
    log_in(page, base, "ivan@example.com", PASSWORD)

    page.get_by_role("link", name="Аналитика", exact=True).click()
    expect(page.locator("tr.is-worst")).to_be_visible()
    page.get_by_role("link", name="Почему здесь упускают лиды").click()
    expect(page.locator("#losses-title")).to_contain_text("Упущенные на этапе")
    expect(page.locator("table.loss-matrix strong.worst-mark")).to_contain_text("6")
