"""A real checker on the main pages: axe-core finds nothing serious or critical, for a Russian
team with sample data, on a laptop and on a phone."""

import pytest

from crm import custom_fields, demo
from crm.extensions import db
from crm.models import Lead
from tests import factories
from tests.browser.axe import described, violations
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, url_path

EMAIL = "anna@example.com"
PAGES = [
    "/agenda/",
    "/leads/",
    "/leads/{number}",
    "/leads/new",
    "/board/",
    "/agenda/calendar",
    "/agenda/missed",
    "/activities/",
    "/analytics/funnel",
    "/analytics/time-in-stage",
    "/analytics/won-lost",
    "/analytics/activity",
    "/analytics/sources",
    "/settings/",
    "/settings/general",
    "/settings/users",
    "/settings/stages",
    "/settings/pipelines",
    # The demo's second pipeline (Продления), and a salesperson who may be kept to some.
    "/settings/pipelines/2/archive",
    "/settings/users/2",
    "/settings/intake-forms/new",
    "/settings/fields",
    "/settings/fields/new",
    "/settings/fields/{field}",
    "/settings/fields/{field}/type?type=text",
    "/account",
    "/account/two-step",
    "/account/two-step/on",
    "/account/notifications",
    "/notifications/",
    "/settings/email",
    "/settings/notifications",
    "/settings/telephony",
    "/settings/telephony/new",
]
SIZES = {"laptop": {"width": 1366, "height": 800}, "phone": {"width": 375, "height": 740}}


@pytest.fixture(scope="module")
def russian_team(tmp_path_factory):
    """A team with three months of sample history in Russian, a field of its own, and an
    administrator who reads Russian; yields the base URL, a lead's number and the field's id."""
    app = build_app(tmp_path_factory.mktemp("axe"))
    with app.app_context():
        demo.generate("ru", leads=150, activities=1200, users=5, history_days=90, seed=5)
        db.session.commit()
        factories.admin(name="Анна Админова", email=EMAIL, locale="ru", timezone="Europe/Moscow")
        number = db.session.scalar(db.select(Lead.number).order_by(Lead.number.desc()).limit(1))
        # Not one of the demo's own fields, whatever those are.
        heard = factories.field(
            "Откуда узнали", "choice", ["Реклама", "Рекомендация", "Выставка"], filterable=True
        )
        custom_fields.update_option(heard.id, "reklama", "Реклама", "#16a34a")
        custom_fields.retire_option(heard.id, "vystavka")
        db.session.commit()
        db.session.remove()
    with serving(app) as url:
        yield url, number, heard.id


@pytest.fixture(params=sorted(SIZES))
def context_options(request):
    return {"viewport": SIZES[request.param], "locale": "ru-RU", "timezone_id": "Europe/Moscow"}


def log_in(page, base):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Пароль").fill(factories.PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(url_path("/agenda/"))
    # The agenda's buttons answer once htmx has loaded: wait for it, as a person would.
    page.wait_for_load_state()


# The walk in two halves, so the two test processes can share it.
@pytest.mark.parametrize("half", [0, 1], ids=["first-half", "second-half"])
def test_the_main_pages_have_no_serious_violation(page, russian_team, half):
    base, number, field = russian_team
    log_in(page, base)
    found = {}
    for path in PAGES[half::2]:
        page.goto(base + path.format(number=number, field=field))
        page.wait_for_load_state("networkidle")
        if problems := violations(page):
            found[path] = described(problems)
    assert not found, "\n\n".join(f"{path}\n{text}" for path, text in found.items())
