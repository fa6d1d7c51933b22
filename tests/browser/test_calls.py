"""Calls from the phone system in Chromium, as a Russian salesperson in Moscow: the card of a
call ringing from a lead's number on the page she has open, and a call that ended written up
from the agenda in one go. The events come as the phone system sends them: signed POSTs to the
connection's address."""

import hashlib
import hmac
import json
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm import i18n
from crm.extensions import db
from crm.models import Activity, Call, Lead, PhoneConnection, utcnow
from crm.telephony.tokens import new_token
from tests import factories
from tests.browser import axe
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, log_in_in_russian, url_path

EMAIL = "sasha@example.com"
SECRET = "a shared secret"
NUMBER = "+7 (999) 123-45-67"
# The bell polls every 30 seconds: the page's clock is moved past that.
POLL = "00:31"


@pytest.fixture
def phone_team(tmp_path):
    """A Russian team's CRM with a phone system connected (signed events; extension 101 is
    Саша's) and a lead of hers whose phone calls, contacted three days ago. Yields the base
    URL, the connection's token, the lead's id and the app."""
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel("ru")
        i18n.set_team_language("ru")
        sasha = factories.user(name="Саша", email=EMAIL, locale="ru", timezone="Europe/Moscow")
        lead = factories.lead(title="ООО «Ромашка»", owner=sasha, phone=NUMBER)
        factories.activity(
            lead,
            sasha,
            body="Просили прайс на стулья.",
            occurred_at=utcnow() - timedelta(days=3),
            next_step_at=utcnow() + timedelta(days=2),
        )
        connection = PhoneConnection(
            name="Офис", token=new_token(), secret=SECRET, extensions={"101": sasha.id}
        )
        db.session.add(connection)
        db.session.commit()
        token, lead_id = connection.token, lead.id
        db.session.remove()
    with serving(app) as url:
        yield url, token, lead_id, app


def send(base, token, **fields):
    """POST a generic event to the connection's address, signed as the phone system signs."""
    event = {
        "call_id": "call-1",
        "event": "ended",
        "direction": "in",
        "from": NUMBER,
        "to": "+7 495 000-00-00",
        "user": "101",
        "started_at": (utcnow() - timedelta(minutes=2)).isoformat() + "Z",
    } | fields
    body = json.dumps(event).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    # Our own server's address, http alone.
    request = urllib.request.Request(  # noqa: S310
        f"{base}/hooks/calls/{token}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Signature": f"sha256={signature}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


def stored(app, query):
    with app.app_context():
        value = db.session.scalar(query)
        db.session.remove()
    return value


class TestTheCardOfACallRinging:
    """On a phone (375 px), with the agenda open."""

    @pytest.fixture
    def context_options(self):
        return {
            "viewport": {"width": 375, "height": 740},
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
            "locale": "ru-RU",
            "timezone_id": "Europe/Moscow",
        }

    def test_a_call_from_a_lead_shows_its_card_until_it_ends(self, page, phone_team):
        base, token, lead_id, app = phone_team
        number = stored(app, select(Lead.number).where(Lead.id == lead_id))
        page.clock.install()
        log_in_in_russian(page, base, EMAIL, factories.PASSWORD)
        place = page.locator("#call-card")
        expect(place).to_be_empty()

        send(base, token, event="started")
        page.clock.fast_forward(POLL)
        card = page.get_by_role("region", name="Входящий звонок")
        expect(card).to_be_visible()
        expect(place).to_have_attribute("aria-live", "polite")
        expect(card.get_by_role("link", name=f"#{number} ООО «Ромашка»")).to_have_attribute(
            "href", f"/leads/{number}"
        )
        expect(card.locator(".badge")).to_have_text("Холодный")
        expect(card).to_contain_text(NUMBER)
        expect(card).to_contain_text("Последний контакт:")
        expect(card).to_contain_text("3 дня назад: Просили прайс на стулья.")
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        found = axe.violations(page)
        assert not found, axe.described(found)

        # Another page opened while it rings shows the card too.
        page.goto(base + "/leads/")
        expect(page.get_by_role("region", name="Входящий звонок")).to_be_visible()

        send(base, token, event="ended", answered=True, duration_s=83)
        page.clock.fast_forward(POLL)
        expect(place).to_be_empty()
        expect(page.get_by_role("region", name="Входящий звонок")).to_have_count(0)

    def test_a_dismissed_card_stays_away(self, page, phone_team):
        base, token, _lead_id, _app = phone_team
        page.clock.install()
        log_in_in_russian(page, base, EMAIL, factories.PASSWORD)
        send(base, token, event="started")
        page.clock.fast_forward(POLL)
        card = page.get_by_role("region", name="Входящий звонок")
        card.get_by_role("button", name="Скрыть").tap()
        expect(card).to_have_count(0)
        expect(page.locator("#main")).to_be_focused()
        # The call answered moves the bell on: the card it dismissed does not come back.
        send(base, token, event="answered")
        page.clock.fast_forward(POLL)
        page.reload()
        page.wait_for_load_state()
        expect(page.locator("#bell")).to_be_visible()
        expect(page.locator("#call-card .call-card")).to_have_count(0)


class TestACallWrittenUp:
    """On a laptop: the issue's "done means"."""

    @pytest.fixture
    def context_options(self):
        return {
            "viewport": {"width": 1280, "height": 800},
            "locale": "ru-RU",
            "timezone_id": "Europe/Moscow",
        }

    def test_an_ended_call_is_written_up_from_the_agenda_in_one_go(self, page, phone_team):
        base, token, lead_id, app = phone_team
        number = stored(app, select(Lead.number).where(Lead.id == lead_id))
        answered = {"answered": True, "duration_s": 83}
        assert send(base, token, **answered)["status"] == "to_write_up"
        log_in_in_russian(page, base, EMAIL, factories.PASSWORD)

        queue = page.get_by_role("region", name="Звонки без описания")
        expect(queue).to_be_visible()
        row = queue.get_by_role("listitem").filter(has_text="ООО «Ромашка»")
        expect(row).to_contain_text("1:23")
        row.get_by_role("link", name="Описать").click()
        body = row.get_by_label("О чём говорили")
        expect(body).to_be_visible()
        body.fill("Хотят 30 стульев, ждут смету к пятнице.")
        row.locator("label.status-option", has_text="Интересуется").click()
        row.get_by_role("button", name="Завтра").click()
        row.get_by_role("button", name="Записать").click()
        expect(page.get_by_role("region", name="Звонки без описания")).to_have_count(0)

        # The same event again changes nothing.
        send(base, token, **answered)
        page.goto(f"{base}/leads/{number}")
        calls = page.locator("#timeline-items li.item").filter(has=page.locator(".item-call"))
        expect(calls).to_have_count(1)
        expect(calls).to_contain_text("Хотят 30 стульев, ждут смету к пятнице.")
        expect(calls.locator(".call-duration")).to_have_text("1:23")
        expect(calls.locator(".item-move .badge").last).to_have_text("Интересуется")
        expect(calls).not_to_contain_text("Описать")
        assert stored(app, select(func.count()).select_from(Activity)) == 2
        assert stored(app, select(func.count()).select_from(Call)) == 1

    def test_an_unknown_number_makes_a_lead_and_a_missed_call_a_call_back(self, page, phone_team):
        base, token, lead_id, app = phone_team
        stranger = "+7 912 555-44-33"
        send(base, token, call_id="call-2", answered=True, duration_s=40, **{"from": stranger})
        send(base, token, call_id="call-3", answered=False, duration_s=0)
        log_in_in_russian(page, base, EMAIL, factories.PASSWORD)

        # The stranger's lead waits for its write-up; the missed call is today's call back.
        queue = page.get_by_role("region", name="Звонки без описания")
        expect(queue.get_by_role("listitem").filter(has_text=stranger)).to_be_visible()
        expect(page.locator(f"#agenda-overdue-{lead_id}, #agenda-today-{lead_id}")).to_contain_text(
            "Перезвонить: пропущенный звонок"
        )
        new_number = stored(app, select(Lead.number).where(Lead.phone == stranger))
        page.goto(f"{base}/leads/{new_number}")
        expect(page).to_have_url(url_path(f"/leads/{new_number}"))
        expect(page.get_by_text("Входящий звонок").first).to_be_visible()
