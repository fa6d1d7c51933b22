"""The next step's fields wherever a step is set: a day typed and read in the user's zone, the
line that says what it was read as, and the buttons that pick a day in one click."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import g
from sqlalchemy import select

from crm import forms, timezones
from crm.extensions import db
from crm.models import Lead, utcnow
from crm.typed_dates import Misreading
from tests import factories
from tests.test_typed_dates import TABLE

MOSCOW = ZoneInfo("Europe/Moscow")
HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


@pytest.mark.parametrize(("zone", "instant", "text", "meant"), TABLE)
def test_a_typed_step_is_stored_in_utc_from_the_users_zone(
    app, monkeypatch, zone, instant, text, meant
):
    monkeypatch.setattr(timezones, "utcnow", lambda: instant)
    with app.test_request_context():
        g.user_zone = zone
        stored = forms.understood(text)
    if isinstance(meant, Misreading):
        assert stored is meant
    else:
        assert stored.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None) == meant.moment()


@pytest.fixture
def moscow(app, stages):
    return factories.admin(name="Ada", email="ada@example.com", timezone="Europe/Moscow")


@pytest.fixture
def as_moscow(client, auth, moscow):
    auth.login(moscow.email)
    return client


def preview(client, typed):
    response = client.get("/leads/next-step", query_string={"next_step_when": typed}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    return response.text


def test_the_preview_says_what_was_understood(as_moscow, moscow):
    assert preview(as_moscow, "12.12.2030 14:00") == "Thursday, December 12, 2030, 2:00\u202fPM"
    assert preview(as_moscow, "12 dec 2030") == "Thursday, December 12, 2030"
    assert preview(as_moscow, "").startswith("For example: tomorrow 10")
    assert preview(as_moscow, "soonish").startswith("Not understood.")
    assert preview(as_moscow, "01.01.2020") == "That moment has passed: choose a later one."
    # What was typed is never echoed back, markup or not.
    assert "<b>" not in preview(as_moscow, "<b>friday</b>")
    assert preview(as_moscow, "завтра " * 40).startswith("Not understood.")
    moscow.locale = "ru"
    db.session.commit()
    assert preview(as_moscow, "12.12.2030 14:00") == "четверг, 12 декабря 2030\u202fг., 14:00"


def typed_field(page, prefix):
    tag = re.search(rf'<input[^>]*id="{prefix}-when"[^>]*>', page).group()
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def quick_days(page):
    """The one-click buttons: (name, the day it shows, the text it types, pressed)."""
    return [
        (name, shown, typed, pressed == "true")
        for typed, pressed, name, shown in re.findall(
            r'<button type="button" class="quick-day" data-typed="([^"]*)" '
            r'aria-pressed="(true|false)">([^<]*) <span class="quick-day-date">([^<]*)</span>',
            page,
        )
    ]


def test_the_buttons_pick_days_from_the_users_today(as_moscow, moscow, stages):
    lead = factories.lead(owner=moscow)
    page = as_moscow.get(f"/leads/{lead.number}").text
    today = datetime.now(MOSCOW).date()
    monday = today + timedelta(days=7 - today.weekday())
    expected = [
        ("Today", today),
        ("Tomorrow", today + timedelta(days=1)),
        ("In 3 days", today + timedelta(days=3)),
        ("In a week", today + timedelta(days=7)),
        ("Next Monday", monday),
    ]
    assert [(name, typed) for name, _shown, typed, _pressed in quick_days(page)] == [
        (name, f"{day.day} {day:%b %Y}") for name, day in expected
    ]
    tomorrow = today + timedelta(days=1)
    assert quick_days(page)[1][1] == f"{tomorrow:%b} {tomorrow.day}"
    # Shown only by the script: without it they would do nothing.
    assert re.search(r'class="quick-days"[^>]*data-quick-days hidden', page)
    assert not any(pressed for *_rest, pressed in quick_days(page))


def test_a_planned_step_is_offered_to_keep(as_moscow, moscow, stages):
    ahead = datetime.combine(datetime.now(MOSCOW).date() + timedelta(days=2), time(10))
    stored = ahead.replace(tzinfo=MOSCOW).astimezone(UTC).replace(tzinfo=None)
    lead = factories.lead(owner=moscow, next_step_at=stored, next_step_note="Send offer")
    page = as_moscow.get(f"/leads/{lead.number}").text
    shown = f"{ahead.day} {ahead:%b %Y} 10:00"
    assert typed_field(page, "log-next-step") == shown
    assert quick_days(page)[0] == ("Keep", f"{ahead:%b} {ahead.day}, 10:00\u202fAM", shown, True)
    assert 'value="Send offer"' in page


def test_the_lead_details_keep_a_due_step_left_as_shown(as_moscow, moscow, stages):
    due = utcnow().replace(second=0, microsecond=0) - timedelta(days=3)
    lead = factories.lead(owner=moscow, title="Acme", next_step_at=due)
    form = as_moscow.get(f"/leads/{lead.number}/details", headers=HTMX).text
    shown = typed_field(form, "details-next-step")
    assert shown
    details = {"title": "Acme Corp", "owner_id": str(moscow.id), "next_step_note": ""}
    saved = as_moscow.post(
        f"/leads/{lead.number}/details", data=details | {"next_step_when": shown}
    )
    assert saved.status_code == 303
    db.session.refresh(lead)
    assert (lead.title, lead.next_step_at) == ("Acme Corp", due)

    refused = as_moscow.post(
        f"/leads/{lead.number}/details", data=details | {"next_step_when": "someday"}
    )
    assert refused.status_code == 422
    assert "Not understood." in refused.text
    assert 'aria-invalid="true"' in refused.text

    as_moscow.post(f"/leads/{lead.number}/details", data=details | {"next_step_when": "+3 10:00"})
    db.session.refresh(lead)
    local = lead.next_step_at.replace(tzinfo=UTC).astimezone(MOSCOW)
    assert (local.date(), local.time()) == (
        datetime.now(MOSCOW).date() + timedelta(days=3),
        time(10),
    )


def test_a_new_lead_takes_its_step_as_typed(as_moscow, moscow, stages):
    response = as_moscow.post(
        "/leads/new",
        data={
            "title": "Baltic Timber",
            "owner_id": str(moscow.id),
            "stage_id": str(stages[0].id),
            "next_step_when": "завтра 10",
            "next_step_note": "Call the buyer",
        },
    )
    assert response.status_code == 303
    lead = db.session.scalar(select(Lead))
    local = lead.next_step_at.replace(tzinfo=UTC).astimezone(MOSCOW)
    assert (local.date(), local.time()) == (
        datetime.now(MOSCOW).date() + timedelta(days=1),
        time(10),
    )
    assert lead.next_step_note == "Call the buyer"
