"""Analytics on a Russian team's laptop (1366 × 800) and phone (375 px): every report's tables
fit the screen, and what cannot fit scrolls inside a named box the keyboard reaches, never the
page itself."""

import pytest

from crm import demo
from crm.extensions import db
from tests import factories
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, url_path

LAPTOP = {"width": 1366, "height": 800}
PHONE = {"width": 375, "height": 740}
REPORTS = ["funnel", "time-in-stage", "won-lost", "activity", "sources", "by-field"]
EMAIL = "anna@example.com"


@pytest.fixture
def context_options():
    return {"viewport": LAPTOP, "locale": "ru-RU", "timezone_id": "Europe/Moscow"}


@pytest.fixture
def russian_team(tmp_path):
    """A team of eight with four months of sample history in Russian, and an administrator
    who reads Russian; returns the base URL."""
    app = build_app(tmp_path)
    with app.app_context():
        demo.generate("ru", leads=400, activities=3000, users=8, history_days=120, seed=3)
        db.session.commit()
        factories.admin(name="Анна Админова", email=EMAIL, locale="ru", timezone="Europe/Moscow")
        db.session.remove()
    with serving(app) as url:
        yield url


def log_in(page, base):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Пароль").fill(factories.PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(url_path("/agenda/"))
    # The agenda's buttons answer once htmx has loaded: wait for it, as a person would.
    page.wait_for_load_state()


# What sticks out of the screen, read in the page: an element counts unless it lies inside a
# box that scrolls sideways, has a name (aria-label, or aria-labelledby naming text) and takes
# the focus. Also how wide the page is and whether each table fits its box without scrolling.
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const named = (box) => {
    if ((box.getAttribute("aria-label") || "").trim()) return true;
    const ids = (box.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    return ids.some((id) => (document.getElementById(id)?.textContent || "").trim());
  };
  const scrollBox = (element) => {
    for (let box = element.parentElement; box; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === "auto" || overflow === "scroll") {
        return box.getAttribute("role") === "region" && named(box) && box.tabIndex === 0
          ? box : null;
      }
    }
    return null;
  };
  const sticking = [];
  for (const element of document.querySelectorAll("main *")) {
    const rect = element.getBoundingClientRect();
    if (!rect.width || scrollBox(element)) continue;
    if (rect.left < -0.5 || rect.right > width + 0.5) {
      const name = `${element.tagName.toLowerCase()}.${element.className}`;
      sticking.push(`${name} ends at ${Math.round(rect.right)}`);
    }
  }
  const tables = [...document.querySelectorAll("main table")].map((table) => {
    const box = scrollBox(table);
    return {
      name: box ? box.getAttribute("aria-labelledby").split(" ").pop() : table.className,
      inBox: Boolean(box),
      fits: box ? box.scrollWidth <= box.clientWidth : table.offsetWidth <= width,
    };
  });
  return {pageWidth: document.documentElement.scrollWidth, sticking, tables};
}"""


def measure(page):
    """The page laid out with every folded part (how it is counted, the weekly numbers) open."""
    page.wait_for_load_state()
    page.locator("main details").evaluate_all("all => all.forEach(d => d.open = true)")
    return page.evaluate(MEASURE)


def report_urls(page, base):
    """Every report for the last 90 days, and the leads behind the busiest step's count."""
    urls = [f"{base}/analytics/{slug}?period=90" for slug in REPORTS]
    page.goto(urls[0])
    first = page.locator(".steps-table td[data-outcome='entered'] a").first
    return [*urls, base + first.get_attribute("href")]


def test_every_report_table_fits_a_laptop_and_nothing_widens_a_phone(page, russian_team):
    log_in(page, russian_team)
    urls = report_urls(page, russian_team)

    for url in urls:
        page.goto(url)
        laid_out = measure(page)
        assert laid_out["pageWidth"] <= LAPTOP["width"], url
        assert laid_out["sticking"] == [], url
        assert laid_out["tables"], url
        # Each table is in a named box and, at this width, fits it without scrolling.
        assert all(table["inBox"] and table["fits"] for table in laid_out["tables"]), (
            url,
            laid_out["tables"],
        )

    page.set_viewport_size(PHONE)
    for url in urls:
        page.goto(url)
        laid_out = measure(page)
        assert laid_out["pageWidth"] <= PHONE["width"], url
        assert laid_out["sticking"] == [], url


def test_a_table_too_wide_for_a_phone_scrolls_by_keyboard_keeping_its_first_column(
    page, russian_team
):
    page.set_viewport_size(PHONE)
    log_in(page, russian_team)
    page.goto(f"{russian_team}/analytics/funnel?period=90")

    box = page.get_by_role("region", name="Таблица Конверсия по шагам")
    first_step = box.locator("tbody th").first
    step_left = first_step.bounding_box()["x"]
    box.focus()
    expect(box).to_be_focused()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    expect(box.locator("th", has_text="Конверсия")).to_be_in_viewport()
    assert box.evaluate("box => box.scrollLeft") > 0
    assert first_step.bounding_box()["x"] == pytest.approx(step_left, abs=1)
