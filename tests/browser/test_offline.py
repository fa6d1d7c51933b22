"""The installable app on a phone: the service worker keeps the static files (never a page),
contacts logged without signal wait in the browser and arrive once when it returns, and
logging out leaves nothing behind."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm import funnel
from crm.extensions import db
from crm.models import Activity, Lead, Stage, User, utcnow
from tests import factories
from tests.browser.axe import described, violations
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, log_in_in_russian, open_menu

EMAIL = "olga@example.com"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A Russian team; yields the base URL and the app (to look in its database)."""
    app = build_app(tmp_path_factory.mktemp("offline"))
    with app.app_context():
        factories.funnel("ru")
        factories.admin(name="Ольга", email=EMAIL, locale="ru", timezone="Europe/Moscow")
        db.session.remove()
    with serving(app) as url:
        yield url, app


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 375, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture
def lead(team):
    """A lead with its next call planned for tomorrow; yields its number and id."""
    base, app = team
    with app.app_context():
        record = factories.lead(
            title="ООО «Вектор»", next_step_at=utcnow() + timedelta(days=1), next_step_note="Звонок"
        )
        found = record.number, record.id
        db.session.remove()
    return found


def contacts(app, lead_id):
    """The contacts the database holds for the lead: their text and stage moves."""
    with app.app_context():
        rows = db.session.scalars(
            select(Activity).where(Activity.lead_id == lead_id).order_by(Activity.id)
        ).all()
        found = [row.body for row in rows]
        db.session.remove()
    return found


def stage_of(app, lead_id):
    with app.app_context():
        name = db.session.get(Lead, lead_id).stage.name
        db.session.remove()
    return name


def open_lead(page, base, number):
    log_in_in_russian(page, base, EMAIL, factories.PASSWORD)
    page.goto(f"{base}/leads/{number}")
    page.wait_for_load_state()
    controlled(page)


def controlled(page):
    """Make sure the service worker controls the page: from then on its static files (the
    favicon the browser asks for later, too) come from the worker's cache when offline. A
    page loaded before the worker was active is not its own until loaded again."""
    active = page.evaluate(
        """() => Promise.race([
            navigator.serviceWorker.ready.then(() => true),
            new Promise(resolve => setTimeout(() => resolve(false), 15000)),
        ])"""
    )
    assert active, "the service worker never became active"
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
        page.wait_for_load_state()
    assert page.evaluate("() => navigator.serviceWorker.controller !== null")


def log_contact(page, text, stage=None):
    page.get_by_label("О чём говорили").fill(text)
    if stage:
        page.get_by_role("radio", name=stage).check()
    page.locator("#log-form").get_by_role("button", name="Записать").click()


def queued(page):
    """The contacts kept in the browser's queue, as stored."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
          const opening = indexedDB.open("crm-offline", 1);
          opening.onupgradeneeded = () => opening.result.createObjectStore(
            "contacts", {keyPath: "id", autoIncrement: true});
          opening.onsuccess = () => {
            const all = opening.result.transaction("contacts").objectStore("contacts").getAll();
            all.onsuccess = () => { opening.result.close(); resolve(all.result); };
          };
          opening.onerror = () => reject(opening.error);
        })"""
    )


def test_contacts_logged_offline_arrive_once_when_the_signal_returns(page, team, lead):
    base, app = team
    number, lead_id = lead
    open_lead(page, base, number)
    first_key = page.locator("#log-form [name=idempotency_key]").input_value()

    page.context.set_offline(True)
    log_contact(page, "Позвонил из лифта: просят смету до пятницы.")
    waiting = page.locator("#offline-queue")
    expect(waiting.get_by_role("heading", name="Ждут отправки")).to_be_visible()
    expect(waiting).to_contain_text("Позвонил из лифта")
    expect(waiting).to_contain_text("Ждём связи, чтобы отправить.")
    # The form is ready for the next contact, under a key of its own.
    expect(page.get_by_label("О чём говорили")).to_have_value("")
    second_key = page.locator("#log-form [name=idempotency_key]").input_value()
    assert second_key != first_key

    log_contact(page, "Перезвонили: смета нужна и на монтаж.", stage="Интересуется")
    expect(waiting.locator("li")).to_have_count(2)
    assert contacts(app, lead_id) == []
    assert [entry["label"] for entry in queued(page)] == [f"#{number} ООО «Вектор»"] * 2

    page.context.set_offline(False)
    expect(waiting).to_be_empty()
    timeline = page.locator("#timeline-items")
    expect(timeline).to_contain_text("Позвонил из лифта")
    expect(timeline).to_contain_text("Перезвонили")
    expect(page.locator(f"#lead-{lead_id}-stage")).to_have_text("Интересуется")
    expect(page.locator("#messages")).to_contain_text(
        f"Контакт по #{number} ООО «Вектор» отправлен."
    )
    assert contacts(app, lead_id) == [
        "Позвонил из лифта: просят смету до пятницы.",
        "Перезвонили: смета нужна и на монтаж.",
    ]
    assert queued(page) == []


def test_a_contact_logged_offline_from_an_agenda_row_arrives_once(page, team):
    base, app = team
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == EMAIL))
        overdue = factories.lead(
            title="ИП Соколов", owner=owner, next_step_at=utcnow() - timedelta(days=2)
        )
        number, lead_id = overdue.number, overdue.id
        db.session.remove()
    log_in_in_russian(page, base, EMAIL, factories.PASSWORD)
    controlled(page)
    row = page.locator(f"#agenda-overdue-{lead_id}")
    row.get_by_role("button", name="Записать").click()
    expect(row.locator("#log-form")).to_be_visible()

    page.context.set_offline(True)
    row.get_by_label("О чём говорили").fill("Перенесли на завтра: директор в отъезде.")
    row.get_by_role("button", name="Завтра").click()
    row.locator("#log-form").get_by_role("button", name="Записать").click()
    expect(page.locator("#offline-queue")).to_contain_text(f"#{number} ИП Соколов")
    assert contacts(app, lead_id) == []

    page.context.set_offline(False)
    expect(page.locator("#offline-queue")).to_be_empty()
    # The sections are drawn afresh: the call answered, the lead is no longer overdue.
    expect(page.locator(f"#agenda-overdue-{lead_id}")).to_have_count(0)
    assert contacts(app, lead_id) == ["Перенесли на завтра: директор в отъезде."]


def test_a_queued_contact_sent_twice_is_saved_once(page, team, lead):
    base, app = team
    number, lead_id = lead
    open_lead(page, base, number)
    page.context.set_offline(True)
    log_contact(page, "Договорились о встрече.")
    expect(page.locator("#offline-queue li")).to_have_count(1)
    (entry,) = queued(page)

    page.context.set_offline(False)
    expect(page.locator("#offline-queue")).to_be_empty()
    # The answer lost on its way back: the browser sends the same contact again.
    replayed = page.evaluate(
        """async (entry) => {
          const token = document.querySelector('meta[name="csrf-token"]').content;
          const fields = entry.fields.map(([name, value]) =>
            [name, name === "csrf_token" ? token : value]);
          const response = await fetch(entry.url, {
            method: "POST", body: new URLSearchParams(fields),
            headers: {"HX-Request": "true", "X-CSRFToken": token},
          });
          return [response.status, response.headers.get("Idempotent-Replayed")];
        }""",
        entry,
    )
    assert replayed == [200, "true"]
    assert contacts(app, lead_id) == ["Договорились о встрече."]


def test_a_contact_whose_answer_was_lost_is_kept_and_saved_once(page, page_errors, team, lead):
    base, app = team
    number, lead_id = lead
    open_lead(page, base, number)
    # Online in name only: the server gets the contact, its answer never comes back.
    page_errors.allow_message("htmx: htmx:error")
    page_errors.allow_message("Failed to load resource: net::ERR_CONNECTION_RESET")

    def answer_lost(route):
        route.fetch()
        route.abort("connectionreset")

    page.route(f"**/leads/{number}/log", answer_lost)
    log_contact(page, "Связь оборвалась на полуслове.")
    expect(page.locator("#offline-queue li")).to_contain_text("Связь оборвалась")
    assert contacts(app, lead_id) == ["Связь оборвалась на полуслове."]

    page.unroute(f"**/leads/{number}/log")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#offline-queue")).to_be_empty()
    expect(page.locator("#timeline-items")).to_contain_text("Связь оборвалась")
    assert contacts(app, lead_id) == ["Связь оборвалась на полуслове."]


def test_a_lead_moved_meanwhile_keeps_its_stage_and_a_refused_move_keeps_the_contact(
    page, page_errors, team, lead
):
    base, app = team
    number, lead_id = lead
    page_errors.allow_http_status(422, f"/leads/{number}/log")
    open_lead(page, base, number)
    page.context.set_offline(True)
    # Left as drawn, the status is not a move: a colleague's move made meanwhile stands.
    log_contact(page, "Уточнил адрес доставки.")
    # Lost without a reason: the funnel refuses the move, the contact is kept all the same.
    log_contact(page, "Сказали, что купили у других.", stage="Упущен")
    expect(page.locator("#offline-queue li")).to_have_count(2)
    with app.app_context():
        moved = db.session.get(Lead, lead_id)
        interested = db.session.scalar(select(Stage).where(Stage.name == "Интересуется"))
        colleague = db.session.scalar(select(User).where(User.email == EMAIL))
        funnel.move_lead(moved, interested, colleague)
        db.session.commit()
        db.session.remove()

    page.context.set_offline(False)
    expect(page.locator("#offline-queue")).to_be_empty()
    expect(page.locator("#messages")).to_contain_text(
        f"Контакт по #{number} ООО «Вектор» сохранён без смены статуса: Укажите, почему лид упущен."
    )
    assert contacts(app, lead_id) == ["Уточнил адрес доставки.", "Сказали, что купили у других."]
    assert stage_of(app, lead_id) == "Интересуется"


def test_a_contact_the_server_refuses_stays_with_the_reason(page, page_errors, team, lead):
    base, app = team
    number, lead_id = lead
    page_errors.allow_http_status(422, f"/leads/{number}/log")
    open_lead(page, base, number)
    page.context.set_offline(True)
    page.get_by_label("Когда").fill("2099-01-01T10:00")
    log_contact(page, "Из будущего.")
    page.context.set_offline(False)
    refused = page.locator("#offline-queue li")
    expect(refused).to_contain_text("Не отправлено: Контакт не может быть в будущем.")
    assert contacts(app, lead_id) == []
    assert not violations(page), described(violations(page))

    refused.get_by_role("button", name="Убрать").click()
    expect(page.locator("#offline-queue")).to_be_empty()
    assert queued(page) == []


def cache_contents(page):
    return page.evaluate(
        """async () => {
          const found = {};
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            found[name] = (await cache.keys()).map(request => new URL(request.url).pathname);
          }
          return found;
        }"""
    )


def test_the_service_worker_keeps_static_files_and_never_a_page(page, page_errors, team, lead):
    base, _app = team
    number, _lead_id = lead
    open_lead(page, base, number)
    kept = cache_contents(page)
    (name,) = kept
    assert name.startswith("crm-static-")
    assert "/static/css/app.css" in kept[name]
    assert "/static/vendor/htmx-4.0.1.min.js" in kept[name]
    assert "/static/icons/icon-512.png" in kept[name]
    assert all(path.startswith("/static/") for path in kept[name]), kept[name]

    page.context.set_offline(True)
    stylesheet = page.evaluate(
        "fetch('/static/css/app.css').then(r => r.text()).then(t => t.includes('--accent'))"
    )
    assert stylesheet is True
    # Opened on its own, offline, the file still comes (the browser's own try for a
    # /favicon.ico fails, as it should: that is no file of the app's).
    page_errors.allowed.append(("net::ERR_INTERNET_DISCONNECTED", "/favicon.ico"))
    page.goto(f"{base}/static/js/offline.js")
    expect(page.locator("body")).to_contain_text("IndexedDB")


def test_the_app_can_be_installed(page, team):
    base, _app = team
    log_in_in_russian(page, base, EMAIL, factories.PASSWORD)
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.evaluate(f"fetch('{href}').then(r => r.json())")
    assert manifest["start_url"] == "/agenda/"
    assert manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        assert page.request.get(base + icon["src"]).ok
    assert page.locator("meta[name=theme-color]").get_attribute("content") == "#1d4ed8"


def test_logging_out_clears_the_caches_and_the_queue(page, page_errors, team, lead):
    base, _app = team
    number, _lead_id = lead
    page_errors.allow_http_status(422, f"/leads/{number}/log")
    open_lead(page, base, number)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.evaluate("caches.open('probe').then(c => c.put('/probe', new Response('kept')))")
    page.context.set_offline(True)
    page.get_by_label("Когда").fill("2099-01-01T10:00")
    log_contact(page, "Не уйдёт.")
    page.context.set_offline(False)
    expect(page.locator("#offline-queue li")).to_contain_text("Не отправлено")
    assert len(queued(page)) == 1

    open_menu(page)
    page.get_by_role("button", name="Выйти").click()
    expect(page.locator("#messages")).to_contain_text("Вы вышли")
    assert "probe" not in cache_contents(page)
    assert queued(page) == []
