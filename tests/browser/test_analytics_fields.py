"""Analytics by the team's own fields in Chromium, in Russian: a manager opens the report by
Город and sees a row per city; on another report, chooses Отрасль in the field filter, its
options come to tick, and the numbers narrow to the leads in that industry."""

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.extensions import db
from crm.models import Role, utcnow
from tests import factories
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, log_in, url_path

PASSWORD = factories.PASSWORD
COLD, WON = 0, 7
# Each lead's city and industry (None: not filled in), and whether it was won.
LEADS = [
    ("Москва", "Торговля", True),
    ("Москва", "Услуги", False),
    ("Москва", None, False),
    ("Казань", "Торговля", False),
    ("Казань", "Услуги", True),
    (None, "Торговля", False),
]


@pytest.fixture
def team_with_fields(tmp_path):
    """A Russian manager's team with the fields Город and Отрасль and six leads from this
    month (see LEADS); returns the base URL."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel("ru")
        factories.user(name="Иван Иванов", email="ivan@example.com", role=Role.MANAGER, locale="ru")
        seller = factories.user(name="Сэм Продавцов")
        factories.field("Город", "choice", ["Москва", "Казань", "Пермь"], filterable=True)
        factories.field("Отрасль", "choice", ["Торговля", "Услуги"])
        start = utcnow() - timedelta(days=10)
        for n, (city, industry, won) in enumerate(LEADS):
            path = [(stages[COLD], start + timedelta(hours=n))]
            if won:
                path.append((stages[WON], start + timedelta(days=2, hours=n)))
            fields = {"gorod": city, "otrasl": industry}
            factories.lead_with_history(
                seller,
                path,
                title=f"ООО «Лид {n}»",
                value=Decimal(1000),
                fields={key: value for key, value in fields.items() if value},
            )
        db.session.remove()
    with serving(app) as url:
        yield url


def test_the_report_by_city_in_russian(page, team_with_fields):
    base = team_with_fields
    log_in(page, base, "ivan@example.com", PASSWORD)

    page.goto(f"{base}/analytics/funnel")
    page.get_by_role("navigation", name="Отчёты").get_by_role("link", name="По полям").click()
    expect(page).to_have_url(url_path("/analytics/by-field"))
    expect(page.get_by_role("heading", name="Лиды по полю «Город»")).to_be_visible()
    expect(page.get_by_label("Отчёт по полю")).to_have_value("gorod")
    rows = page.locator("section.report table tbody tr")
    expect(rows.locator("th")).to_have_text(["Москва", "Казань", "Пермь", "Нет значения"])
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("3")
    expect(rows.nth(1).locator("td").nth(0)).to_have_text("2")
    expect(page.locator("section.report tfoot th")).to_have_text("Итого")
    expect(page.locator("section.report tfoot td").first).to_have_text("6")

    # By industry instead: chosen in the form, shown with Show.
    page.get_by_label("Отчёт по полю").select_option(label="Отрасль")
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_role("heading", name="Лиды по полю «Отрасль»")).to_be_visible()
    expect(rows.locator("th")).to_have_text(["Торговля", "Услуги", "Нет значения"])


def test_choosing_a_field_to_filter_on_brings_its_options(page, team_with_fields):
    base = team_with_fields
    log_in(page, base, "ivan@example.com", PASSWORD)
    page.goto(f"{base}/analytics/sources")
    total = page.locator("section.report tfoot td").first
    expect(total).to_have_text("6")
    expect(page.get_by_role("group", name="Отрасль")).to_have_count(0)

    page.get_by_label("Фильтр по полю").select_option(label="Отрасль")
    options = page.get_by_role("group", name="Отрасль")
    expect(options.get_by_role("checkbox")).to_have_count(2)
    options.get_by_label("Торговля").check()
    page.get_by_role("button", name="Показать").click()

    expect(page).to_have_url(url_path("/analytics/sources"))
    assert "f.otrasl=torgovlya" in page.url
    expect(total).to_have_text("3")
    expect(page.locator(".report-scope")).to_contain_text("Отрасль: Торговля")
    expect(page.get_by_role("group", name="Отрасль").get_by_label("Торговля")).to_be_checked()

    # The filter follows to the other reports, and "no field filter" lets it go.
    page.get_by_role("navigation", name="Отчёты").get_by_role("link", name="По полям").click()
    expect(page.locator("section.report tfoot td").first).to_have_text("3")
    page.get_by_label("Фильтр по полю").select_option(label="Без фильтра по полю")
    expect(page.get_by_role("group", name="Отрасль")).to_have_count(0)
    page.get_by_role("button", name="Показать").click()
    expect(page.locator("section.report tfoot td").first).to_have_text("6")
