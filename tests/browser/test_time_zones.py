"""Time zones in Chromium, as a Russian team meets them: a browser in Moscow or Vladivostok
(its clock and its language), the setup page choosing that zone, a person choosing theirs
under My account, and the log form and the agenda then counting on their clock."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Activity, User
from tests import factories
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, url_path

MOSCOW = "Europe/Moscow"
VLADIVOSTOK = "Asia/Vladivostok"
PASSWORD = factories.PASSWORD


def browser_in(zone):
    """A Russian browser whose clock is in `zone`."""
    return {"viewport": {"width": 1280, "height": 800}, "locale": "ru-RU", "timezone_id": zone}


def stored(moment):
    """An aware moment as the database keeps it (naive UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def team(tmp_path):
    """A CRM of this test's own, in Russian, whose team zone was never chosen (so UTC): Olga
    without a zone of her own, Vlad in Vladivostok as an administrator set him, and a lead of
    each. Returns (base URL, app, {name: user id}, {name: lead number})."""
    app = build_app(tmp_path)
    with app.app_context():
        stages = factories.funnel("ru")
        olga = factories.user(name="Ольга", email="olga@example.com", locale="ru")
        vlad = factories.user(
            name="Влад", email="vlad@example.com", locale="ru", timezone=VLADIVOSTOK
        )
        midnight = datetime.combine(
            datetime.now(ZoneInfo(VLADIVOSTOK)).date(), time.min, tzinfo=ZoneInfo(VLADIVOSTOK)
        )
        late = factories.lead(
            title="Вчерашний звонок",
            owner=vlad,
            stage=stages[0],
            next_step_at=stored(midnight - timedelta(minutes=5)),
        )
        early = factories.lead(
            title="Сегодняшний звонок",
            owner=vlad,
            stage=stages[0],
            next_step_at=stored(midnight + timedelta(minutes=5)),
        )
        olgas = factories.lead(title="ООО Ромашка", owner=olga, stage=stages[0])
        people = {"olga": olga.id, "vlad": vlad.id}
        leads = {"late": late.id, "early": early.id, "olgas": olgas.number}
        db.session.remove()
    with serving(app) as url:
        yield url, app, people, leads


def log_in(page, base, email):
    """The login page in Russian, by its fields' ids."""
    page.goto(f"{base}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(url_path("/agenda/"))
    # The agenda's buttons answer once htmx has loaded: wait for it, as a person would.
    page.wait_for_load_state()


def read(app, model, record_id, column):
    with app.app_context():
        value = getattr(db.session.get(model, record_id), column)
        db.session.remove()
    return value


@pytest.mark.parametrize("context_options", [browser_in(VLADIVOSTOK)])
def test_setup_chooses_the_browsers_zone(page, fresh_server):
    page.goto(fresh_server + "/setup")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    zone = page.locator("#timezone")
    expect(zone).to_have_value(VLADIVOSTOK)
    expect(zone.locator("option:checked")).to_have_text("Владивосток (UTC+10)")

    page.locator("#name").fill("Ольга Владелец")
    page.locator("#email").fill("owner@example.com")
    page.locator("#password").fill("correct horse battery staple")
    page.locator("#password_again").fill("correct horse battery staple")
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(url_path("/agenda/"))

    # The administrator starts in it, and so does everyone added after.
    page.get_by_role("link", name="Ольга Владелец").click()
    expect(page).to_have_url(url_path("/account"))
    expect(page.locator("#timezone")).to_have_value(VLADIVOSTOK)
    page.goto(fresh_server + "/settings/users")
    expect(page.locator("#timezone")).to_have_value(VLADIVOSTOK)
    expect(page.locator("#language")).to_have_value("ru")


@pytest.mark.parametrize("context_options", [browser_in(MOSCOW)])
def test_a_person_in_moscow_chooses_her_zone_and_logs_on_her_clock(page, team):
    base, app, people, leads = team
    log_in(page, base, "olga@example.com")
    page.locator("a.who").click()
    expect(page).to_have_url(url_path("/account"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Моя учётная запись")
    zone = page.locator("#timezone")
    expect(zone).to_have_value("UTC")

    # The box above the list narrows it as she types.
    page.get_by_placeholder("Найти город или пояс").fill("моск")
    expect(zone).to_have_value(MOSCOW)
    expect(zone.locator(f'option[value="{VLADIVOSTOK}"]')).to_have_attribute("hidden", "")
    page.locator("main button[type=submit]").click()
    expect(page.locator("#messages")).to_contain_text("Учётная запись сохранена.")
    expect(zone).to_have_value(MOSCOW)
    assert read(app, User, people["olga"], "timezone") == MOSCOW

    # The log form offers the time on her clock, and what she types is read on it.
    page.goto(f"{base}/leads/{leads['olgas']}")
    when = page.locator("#occurred_at")
    offered = datetime.fromisoformat(when.input_value())
    assert abs(datetime.now(ZoneInfo(MOSCOW)).replace(tzinfo=None) - offered) < timedelta(minutes=2)
    yesterday = offered.date() - timedelta(days=1)
    when.fill(f"{yesterday.isoformat()}T09:15")
    page.locator("#log-body").fill("Договорились о встрече")
    page.get_by_label("Нет следующего шага").check()
    page.locator("#log-form button[type=submit]").click()
    logged = page.locator("#timeline-items li", has_text="Договорились о встрече")
    expect(logged).to_contain_text("09:15")
    with app.app_context():
        occurred_at = db.session.scalar(select(Activity.occurred_at))
        db.session.remove()
    assert occurred_at == datetime.combine(yesterday, time(6, 15))


@pytest.mark.parametrize("context_options", [browser_in(VLADIVOSTOK)])
def test_the_agenda_day_in_vladivostok_begins_at_its_midnight(page, team):
    base, _app, _people, leads = team
    log_in(page, base, "vlad@example.com")
    expect(page.locator(f"#agenda-overdue-{leads['late']}")).to_contain_text("Вчерашний звонок")
    expect(page.locator(f"#agenda-today-{leads['early']}")).to_contain_text("Сегодняшний звонок")
    expect(page.locator(f"#agenda-today-{leads['late']}")).to_have_count(0)

    # The log form on the agenda, too, offers Vladivostok's time.
    page.locator(f"#agenda-today-{leads['early']}").get_by_role("button", name="Записать").click()
    offered = datetime.fromisoformat(page.locator("#occurred_at").input_value())
    now = datetime.now(ZoneInfo(VLADIVOSTOK)).replace(tzinfo=None)
    assert abs(now - offered) < timedelta(minutes=2)
