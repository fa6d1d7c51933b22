"""The calendar over HTTP: days in the user's zone, counts, whose leads, moves, and the feed."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm import funnel
from crm.extensions import db
from crm.models import Lead, Role, User, utcnow
from tests import factories
from tests.querycount import count_queries

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
VLADIVOSTOK, LOS_ANGELES = "Asia/Vladivostok", "America/Los_Angeles"


def utc_of(local, zone):
    """A wall-clock time in `zone`, as stored (naive UTC)."""
    aware = local.replace(tzinfo=ZoneInfo(zone))
    return aware.astimezone(UTC).replace(tzinfo=None)


def page(client, url, headers=None):
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text[:500]
    return response.text


def cell(html, day):
    """The HTML of one day of the calendar."""
    start = html.index(f'id="cal-day-{day}"')
    end = html.find('<section class="calendar-cell', start)
    return html[start : end if end != -1 else len(html)]


def items(html, day):
    return [int(n) for n in re.findall(r'id="cal-lead-(\d+)"', cell(html, day))]


def count_text(html, day):
    found = re.search(r'class="calendar-count"[^>]*>([^<]*)<', cell(html, day))
    return found.group(1) if found else ""


def listed(html):
    return [int(n) for n in re.findall(r'id="cal-list-lead-(\d+)"', html)]


def reload(lead):
    db.session.expire_all()
    return db.session.get(Lead, lead.id)


def log_in(client, user):
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 303


@pytest.fixture
def user_in(app, stages, client):
    """A salesperson in `zone`, logged in."""

    def make(zone, role=Role.SALESPERSON, **fields):
        person = factories.user(role=role, timezone=zone, **fields)
        log_in(client, person)
        return person

    return make


def planned(owner, at, stage=None, note=None, title=None):
    return factories.lead(title, owner=owner, stage=stage, next_step_at=at, next_step_note=note)


# Days in the user's zone


@pytest.mark.parametrize("zone", [VLADIVOSTOK, LOS_ANGELES])
def test_a_next_step_shows_on_the_users_local_day(client, user_in, zone):
    me = user_in(zone)
    # Late on the 10th, just after midnight on the 11th, and the 12th as a whole day.
    late = planned(me, utc_of(datetime(2026, 3, 10, 23, 30), zone), title="Late call")
    early = planned(me, utc_of(datetime(2026, 3, 11, 0, 30), zone), title="Early call")
    whole_day = planned(me, utc_of(datetime(2026, 3, 12), zone), title="Some time that day")
    html = page(client, "/agenda/calendar?date=2026-03-05")

    assert items(html, "2026-03-10") == [late.id]
    assert items(html, "2026-03-11") == [early.id]
    assert items(html, "2026-03-12") == [whole_day.id]
    assert "11:30" in cell(html, "2026-03-10")
    assert "12:30" in cell(html, "2026-03-11")
    # Planned for the day, not for an hour: no time shown.
    assert "calendar-time" not in cell(html, "2026-03-12")
    # The day's list agrees.
    day = page(client, "/agenda/calendar/day?date=2026-03-10", HTMX)
    assert listed(day) == [late.id]


def test_days_across_a_change_of_daylight_saving_time(client, user_in):
    me = user_in(LOS_ANGELES)
    # Clocks go forward on 8 March 2026 in Los Angeles: each evening is still its own day.
    evenings = {
        day: planned(me, utc_of(datetime(2026, 3, day, 23, 45), LOS_ANGELES)) for day in (7, 8, 9)
    }
    html = page(client, "/agenda/calendar?date=2026-03-01")
    for day, lead in evenings.items():
        assert items(html, f"2026-03-0{day}") == [lead.id]


def test_the_same_moment_falls_on_different_days_in_different_zones(app, stages, client):
    east = factories.user(timezone=VLADIVOSTOK)
    west = factories.user(timezone=LOS_ANGELES)
    # 2026-03-10 20:00 UTC: the 11th in Vladivostok, still the 10th in Los Angeles.
    moment = datetime(2026, 3, 10, 20, 0)
    leads = {person.id: planned(person, moment) for person in (east, west)}
    log_in(client, east)
    assert items(page(client, "/agenda/calendar?date=2026-03-10"), "2026-03-11") == [
        leads[east.id].id
    ]
    client.post("/logout")
    log_in(client, west)
    assert items(page(client, "/agenda/calendar?date=2026-03-10"), "2026-03-10") == [
        leads[west.id].id
    ]


# What the month and the week show


def test_the_month_is_whole_weeks_with_counts_and_more(client, user_in):
    me = user_in(VLADIVOSTOK)
    busy = [
        planned(me, utc_of(datetime(2026, 3, 17, hour), VLADIVOSTOK), note=f"Call {hour}")
        for hour in (15, 9, 11, 17, 13)
    ]
    html = page(client, "/agenda/calendar?date=2026-03-20")

    # March 2026 in whole weeks from Monday: 23 February to 5 April.
    days = re.findall(r'id="cal-day-([\d-]+)"', html)
    assert days[0] == "2026-02-23" and days[-1] == "2026-04-05" and len(days) == 42
    assert 'class="calendar-cell outside"' in html
    assert "March 2026" in html
    assert count_text(html, "2026-03-17") == "5 leads"
    # The first three by time, then the rest behind "+2 more".
    by_time = [lead.id for lead in sorted(busy, key=lambda lead: lead.next_step_at)]
    assert items(html, "2026-03-17") == by_time[:3]
    assert "+2 more" in cell(html, "2026-03-17")
    assert count_text(html, "2026-03-18") == ""
    assert 'href="/agenda/calendar?date=2026-02-01" rel="prev"' in html
    assert 'href="/agenda/calendar?date=2026-04-01" rel="next"' in html
    assert f'class="calendar-item stage-{busy[0].stage_id}"' in html

    week = page(client, "/agenda/calendar?view=week&date=2026-03-17")
    assert re.findall(r'id="cal-day-([\d-]+)"', week) == [f"2026-03-{day}" for day in range(16, 23)]
    assert items(week, "2026-03-17") == by_time
    assert "more" not in cell(week, "2026-03-17")
    assert 'href="/agenda/calendar?view=week&amp;date=2026-03-10" rel="prev"' in week

    day = page(client, "/agenda/calendar/day?date=2026-03-17", HTMX)
    assert listed(day) == by_time
    assert "5 leads" in day and "Call 9" in day


def test_the_calendar_in_russian(client, user_in):
    user_in(VLADIVOSTOK, locale="ru")
    html = page(client, "/agenda/calendar?date=2026-03-20")
    assert re.findall(r'id="cal-day-([\d-]+)"', html)[0] == "2026-02-23"
    assert "Март 2026" in html
    assert re.search(r'class="calendar-weekday" title="понедельник">пн<', html)


def test_only_open_kept_planned_leads_of_the_owner(client, user_in, stages):
    me = user_in(VLADIVOSTOK)
    colleague = factories.user()
    at = utc_of(datetime(2026, 3, 10, 12), VLADIVOSTOK)
    shown = planned(me, at)
    archived = planned(me, at)
    funnel.archive_lead(archived, me)
    won = planned(me, at, stage=stages[-2])
    lost = planned(me, at, stage=stages[-1])
    # The funnel clears a closed lead's next step; one left over from before still does not count.
    for lead in (won, lost):
        lead.next_step_at = at
    planned(colleague, at)
    planned(None, at)
    factories.lead("Nothing planned", owner=me)
    db.session.commit()
    html = page(client, "/agenda/calendar?date=2026-03-10")
    assert items(html, "2026-03-10") == [shown.id]
    assert count_text(html, "2026-03-10") == "1 lead"


# Whose leads


@pytest.fixture
def team(app, stages):
    manager = factories.user(name="Mona Manager", role=Role.MANAGER, timezone=VLADIVOSTOK)
    seller = factories.user(name="Sam Seller", timezone=VLADIVOSTOK)
    at = utc_of(datetime(2026, 3, 10, 12), VLADIVOSTOK)
    leads = {
        "manager": planned(manager, at),
        "seller": planned(seller, at),
        "nobody": planned(None, at),
    }
    return manager, seller, leads


def test_a_manager_sees_a_colleague_or_everyone(client, team):
    manager, seller, leads = team
    log_in(client, manager)
    url = "/agenda/calendar?date=2026-03-10"
    html = page(client, url)
    assert items(html, "2026-03-10") == [leads["manager"].id]
    assert '<select id="calendar-owner" name="owner">' in html
    assert f'<option value="{seller.id}">Sam Seller</option>' in html

    assert items(page(client, f"{url}&owner={seller.id}"), "2026-03-10") == [leads["seller"].id]
    everyone = page(client, f"{url}&owner=everyone")
    assert sorted(items(everyone, "2026-03-10")) == sorted(lead.id for lead in leads.values())
    assert 'title="Sam Seller">SS<' in everyone
    day = page(client, f"/agenda/calendar/day?date=2026-03-10&owner={seller.id}", HTMX)
    assert listed(day) == [leads["seller"].id]


@pytest.mark.parametrize("owner", ["everyone", "{manager}", "x", "99999999999", "%00", ""])
def test_a_salesperson_sees_only_their_own_whatever_the_url(client, team, owner):
    manager, seller, leads = team
    log_in(client, seller)
    owner = owner.format(manager=manager.id)
    html = page(client, f"/agenda/calendar?date=2026-03-10&owner={owner}")
    assert items(html, "2026-03-10") == [leads["seller"].id]
    assert 'id="calendar-owner"' not in html
    day = page(client, f"/agenda/calendar/day?date=2026-03-10&owner={owner}", HTMX)
    assert listed(day) == [leads["seller"].id]


def test_an_unknown_colleague_falls_back_to_ones_own(client, team):
    manager, _seller, leads = team
    log_in(client, manager)
    html = page(client, "/agenda/calendar?date=2026-03-10&owner=424242")
    assert items(html, "2026-03-10") == [leads["manager"].id]


# The day's list


def test_the_days_list_as_a_fragment_and_as_a_page(client, user_in):
    me = user_in(VLADIVOSTOK)
    lead = planned(me, utc_of(datetime(2026, 3, 10, 9), VLADIVOSTOK), note="Send the offer")
    fragment = page(client, "/agenda/calendar/day?date=2026-03-10", HTMX)
    assert "<html" not in fragment
    assert "Tuesday, March 10, 2026" in fragment
    assert "Send the offer" in fragment
    assert f'<label for="cal-move-{lead.id}">Move to</label>' in fragment
    assert f'action="/agenda/calendar/leads/{lead.id}/reschedule"' in fragment
    whole = page(client, "/agenda/calendar/day?date=2026-03-10")
    assert "<html" in whole and listed(whole) == [lead.id]
    assert 'href="/agenda/calendar?date=2026-03-10">Calendar<' in whole
    empty = page(client, "/agenda/calendar/day?date=2026-03-11", HTMX)
    assert "Nothing planned for this day." in empty


@pytest.mark.parametrize(
    "query", ["", "date=2026-02-30", "date=99999-01-01", "date=tomorrow", "date=%00"]
)
def test_a_day_that_is_no_day_is_404(client, user_in, query):
    user_in(VLADIVOSTOK)
    assert client.get(f"/agenda/calendar/day?{query}").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "view=year",
        "date=2026-02-30",
        "date=0001-01-01",
        "date=9999-12-31",
        "date=%00",
        "date=2026-1-1",
        "owner=%00",
        "view=week&date=1900-01-01",
        "view=week&date=2999-12-31",
    ],
)
def test_tampered_calendar_urls_never_fail(client, user_in, query):
    user_in(LOS_ANGELES, role=Role.MANAGER)
    assert client.get(f"/agenda/calendar?{query}").status_code == 200


def test_the_calendar_needs_a_login(client, admin):
    assert client.get("/agenda/calendar").status_code in (302, 303)
    assert client.get("/agenda/calendar/day?date=2026-03-10").status_code in (302, 303)
    response = client.post("/agenda/calendar/leads/1/reschedule", data={"date": "2026-03-10"})
    assert response.status_code in (302, 303)


# Moving a next step to another day


def reschedule(client, lead, day, **page_state):
    """A move as the calendar page sends it, showing March 2026 unless told otherwise."""
    data = {"date": day, "view": "month", "anchor": "2026-03-10", "owner": "me"} | page_state
    return client.post(f"/agenda/calendar/leads/{lead.id}/reschedule", data=data, headers=HTMX)


def partial_targets(html):
    return re.findall(r'<hx-partial hx-target="([^"]+)"', html)


def test_a_move_keeps_the_time_of_day_and_redraws_both_days(client, user_in):
    me = user_in(VLADIVOSTOK)
    lead = planned(me, utc_of(datetime(2026, 3, 10, 23, 30), VLADIVOSTOK))
    other = planned(me, utc_of(datetime(2026, 3, 10, 9), VLADIVOSTOK))
    response = reschedule(client, lead, "2026-03-12", **{"from": "2026-03-10"})

    assert response.status_code == 200
    assert reload(lead).next_step_at == utc_of(datetime(2026, 3, 12, 23, 30), VLADIVOSTOK)
    html = response.text
    assert partial_targets(html) == ["#messages", "#cal-day-2026-03-10", "#cal-day-2026-03-12"]
    assert f"Lead #{lead.number}: next step moved to Mar 12, 2026." in html
    assert items(html, "2026-03-10") == [other.id]
    assert count_text(html, "2026-03-10") == "1 lead"
    assert items(html, "2026-03-12") == [lead.id]
    assert count_text(html, "2026-03-12") == "1 lead"
    # The moved item takes the focus in its new day.
    assert f'href="/leads/{lead.number}" draggable="false" data-autofocus' in html
    after = page(client, "/agenda/calendar?date=2026-03-10")
    assert items(after, "2026-03-12") == [lead.id]


def test_a_next_step_planned_for_the_day_stays_for_the_day(client, user_in):
    me = user_in(LOS_ANGELES)
    lead = planned(me, utc_of(datetime(2026, 3, 7), LOS_ANGELES))
    # Across the change to summer time: still local midnight.
    assert reschedule(client, lead, "2026-03-09").status_code == 200
    assert reload(lead).next_step_at == utc_of(datetime(2026, 3, 9), LOS_ANGELES)
    assert reload(lead).next_step_at.hour == 7


def test_a_move_from_the_days_list_redraws_the_list(client, user_in):
    me = user_in(VLADIVOSTOK)
    lead = planned(me, utc_of(datetime(2026, 3, 10, 10), VLADIVOSTOK))
    response = reschedule(client, lead, "2026-05-04", listed="2026-03-10")
    assert response.status_code == 200
    # May is not on the page: the list and the day it left are redrawn, the focus goes to
    # the list's heading.
    assert partial_targets(response.text) == ["#messages", "#cal-day-2026-03-10", "#calendar-day"]
    assert "Nothing planned for this day." in response.text
    assert 'id="calendar-day-title" tabindex="-1" data-autofocus' in response.text


def test_a_move_without_the_pages_state_says_only_what_happened(client, user_in):
    me = user_in(VLADIVOSTOK)
    lead = planned(me, utc_of(datetime(2026, 3, 10, 10), VLADIVOSTOK))
    response = client.post(
        f"/agenda/calendar/leads/{lead.id}/reschedule", data={"date": "2026-03-11"}, headers=HTMX
    )
    assert response.status_code == 200
    assert partial_targets(response.text) == ["#messages"]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2026-02-30", "Enter a date as year-month-day, for example 2026-03-07."),
        ("", "Choose a day for the next step."),
        ("99999-01-01", "Enter a date as year-month-day, for example 2026-03-07."),
        ("9999-12-31", "Enter a date between 1900 and 2999."),
        ("0001-01-01", "Enter a date between 1900 and 2999."),
        ("20260311", "Enter a date as year-month-day, for example 2026-03-07."),
        ("2026-03-11T10:00", "Enter a date as year-month-day, for example 2026-03-07."),
        ("２０２６-03-11", "Enter a date as year-month-day, for example 2026-03-07."),
        ("2026-03-11\x00", "Enter a date as year-month-day, for example 2026-03-07."),
    ],
)
def test_a_bad_date_is_refused_and_the_item_goes_back(client, user_in, day, message):
    me = user_in(VLADIVOSTOK)
    at = utc_of(datetime(2026, 3, 10, 10), VLADIVOSTOK)
    lead = planned(me, at)
    response = reschedule(client, lead, day, **{"from": "2026-03-10"})
    assert response.status_code == 422
    assert message in response.text
    assert "message-error" in response.text
    assert reload(lead).next_step_at == at
    # The day it was dragged from is drawn again, with the item in it.
    assert items(response.text, "2026-03-10") == [lead.id]


def test_a_closed_lead_has_no_next_step_to_move(client, user_in, stages):
    me = user_in(VLADIVOSTOK)
    at = utc_of(datetime(2026, 3, 10, 10), VLADIVOSTOK)
    lead = planned(me, at, stage=stages[-2])
    response = reschedule(client, lead, "2026-03-11")
    assert response.status_code == 422
    assert "Only an open lead has a next step." in response.text
    assert reload(lead).next_step_at == at


def test_an_archived_lead_is_not_moved(client, user_in):
    me = user_in(VLADIVOSTOK)
    at = utc_of(datetime(2026, 3, 10, 10), VLADIVOSTOK)
    lead = planned(me, at)
    funnel.archive_lead(lead, me)
    db.session.commit()
    response = reschedule(client, lead, "2026-03-11", **{"from": "2026-03-10"})
    assert response.status_code == 409
    assert f"Lead #{lead.number} was archived meanwhile." in response.text
    assert reload(lead).next_step_at == at
    assert items(response.text, "2026-03-10") == []
    assert items(response.text, "2026-03-11") == []


def test_a_salesperson_cannot_move_a_colleagues_lead(client, team):
    manager, seller, leads = team
    log_in(client, seller)
    lead = leads["manager"]
    before = lead.next_step_at
    response = reschedule(client, lead, "2026-03-11", **{"from": "2026-03-10"})
    assert response.status_code == 403
    assert "This lead is someone else" in response.text
    assert reload(lead).next_step_at == before
    # Only their own calendar is redrawn: the colleague's lead is nowhere in it.
    assert items(response.text, "2026-03-10") == [leads["seller"].id]
    # An unclaimed lead is anyone's to move.
    assert reschedule(client, leads["nobody"], "2026-03-11").status_code == 200


def test_a_manager_moves_a_colleagues_lead_on_their_calendar(client, team):
    manager, seller, leads = team
    log_in(client, manager)
    lead = leads["seller"]
    response = reschedule(client, lead, "2026-03-13", owner=str(seller.id))
    assert response.status_code == 200
    assert items(response.text, "2026-03-13") == [lead.id]
    assert reload(lead).next_step_at == utc_of(datetime(2026, 3, 13, 12), VLADIVOSTOK)


@pytest.mark.parametrize("lead_id", ["424242", "99999999999"])
def test_moving_an_unknown_lead_is_404(client, user_in, lead_id):
    user_in(VLADIVOSTOK)
    response = client.post(
        f"/agenda/calendar/leads/{lead_id}/reschedule", data={"date": "2026-03-11"}
    )
    assert response.status_code == 404


def test_a_plain_form_move_goes_back_to_the_days_list(client, user_in):
    me = user_in(VLADIVOSTOK)
    lead = planned(me, utc_of(datetime(2026, 3, 10, 10), VLADIVOSTOK))
    response = client.post(
        f"/agenda/calendar/leads/{lead.id}/reschedule",
        data={"date": "2026-03-11", "listed": "2026-03-10", "owner": "me"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/agenda/calendar/day?date=2026-03-10"
    followed = page(client, response.headers["Location"])
    assert f"Lead #{lead.number}: next step moved to Mar 11, 2026." in followed
    assert listed(followed) == []

    refused = client.post(
        f"/agenda/calendar/leads/{lead.id}/reschedule",
        data={"date": "2026-02-30", "listed": "2026-03-11", "owner": "me"},
    )
    assert refused.status_code == 422
    assert "<html" in refused.text
    assert "Enter a date as year-month-day" in refused.text
    assert listed(refused.text) == [lead.id]


def test_a_plain_form_move_from_todays_list_goes_back_to_it(client, user_in):
    me = user_in(VLADIVOSTOK)
    today = datetime.now(ZoneInfo(VLADIVOSTOK)).date()
    lead = planned(me, utc_of(datetime.combine(today, datetime.min.time()), VLADIVOSTOK))
    response = client.post(
        f"/agenda/calendar/leads/{lead.id}/reschedule",
        data={"date": (today + timedelta(days=1)).isoformat(), "listed": today.isoformat()},
    )
    assert response.headers["Location"] == f"/agenda/calendar/day?date={today.isoformat()}"
    assert client.get(response.headers["Location"]).status_code == 200


# The feed for phone calendars


def make_feed(client):
    response = client.post("/agenda/calendar/feed", headers=HTMX)
    assert response.status_code == 200
    return re.search(r'value="http://localhost(/agenda/calendar/[^"]+\.ics)"', response.text)[1]


def unfolded(body):
    """The content lines of an iCalendar text, continuation lines joined back."""
    return body.replace("\r\n ", "").split("\r\n")[:-1]


def test_the_feed_is_valid_icalendar(app, client, user_in, stages):
    me = user_in(LOS_ANGELES)
    today = datetime.now(ZoneInfo(LOS_ANGELES)).date()
    timed = planned(
        me,
        utc_of(
            datetime.combine(today + timedelta(days=2), datetime.min.time()).replace(hour=15),
            LOS_ANGELES,
        ),
        title="Acme, Inc; the \\ big one",
        note="Call back\nabout the price, maybe; later",
    )
    whole_day = planned(
        me, utc_of(datetime.combine(today + timedelta(days=3), datetime.min.time()), LOS_ANGELES)
    )
    long_title = "Очень длинное название лида, чтобы строка точно не поместилась в 75 октетов"
    folded = planned(me, utcnow() + timedelta(days=5), title=long_title)
    recent = planned(me, utcnow() - timedelta(days=20))
    # Not in the feed: too old, too far ahead, closed, archived, someone else's, unplanned.
    planned(me, utcnow() - timedelta(days=40))
    planned(me, utcnow() + timedelta(days=400))
    closed = planned(me, utcnow() + timedelta(days=1), stage=stages[-1])
    closed.next_step_at = utcnow() + timedelta(days=1)
    funnel.archive_lead(planned(me, utcnow() + timedelta(days=1)), me)
    planned(factories.user(), utcnow() + timedelta(days=1))
    factories.lead("Nothing planned", owner=me)
    db.session.commit()
    path = make_feed(client)

    client.post("/logout")
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    raw = response.data
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    physical = raw.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in physical)
    assert any(line.startswith(b" ") for line in physical), "the long title is folded"
    body = raw.decode()
    lines = unfolded(body)
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 4
    nesting = [line for line in lines if line.startswith(("BEGIN:", "END:"))]
    assert nesting == ["BEGIN:VCALENDAR"] + ["BEGIN:VEVENT", "END:VEVENT"] * 4 + ["END:VCALENDAR"]

    events = event_blocks(lines)
    assert set(events) == {
        f"lead-{lead.id}@localhost" for lead in (timed, whole_day, folded, recent)
    }
    event = events[f"lead-{timed.id}@localhost"]
    escaped = "Acme\\, Inc\\; the \\\\ big one: Call back\\nabout the price\\, maybe\\; later"
    assert event["SUMMARY"] == f"#{timed.number} {escaped}"
    assert event["DTSTART"] == f"{timed.next_step_at:%Y%m%dT%H%M%S}Z"
    assert event["URL"] == f"http://localhost/leads/{timed.number}"
    assert re.fullmatch(r"\d{8}T\d{6}Z", event["DTSTAMP"])
    all_day = events[f"lead-{whole_day.id}@localhost"]
    assert all_day["DTSTART;VALUE=DATE"] == f"{today + timedelta(days=3):%Y%m%d}"
    assert "DURATION" not in all_day
    assert events[f"lead-{folded.id}@localhost"][
        "SUMMARY"
    ] == f"#{folded.number} " + long_title.replace(",", "\\,")


def event_blocks(lines):
    """{UID: {property (with its parameters): value}} for every VEVENT."""
    events, current = {}, None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events[current["UID"]] = current
            current = None
        elif current is not None:
            name, _sep, value = line.partition(":")
            current[name] = value
    return events


def test_the_feed_keeps_each_leads_uid_when_it_moves(client, user_in):
    me = user_in(VLADIVOSTOK)
    lead = planned(me, utcnow() + timedelta(days=2))
    path = make_feed(client)
    before = event_blocks(unfolded(client.get(path).data.decode()))
    day = (datetime.now(ZoneInfo(VLADIVOSTOK)) + timedelta(days=4)).date()
    assert reschedule(client, lead, day.isoformat()).status_code == 200
    after = event_blocks(unfolded(client.get(path).data.decode()))
    uid = f"lead-{lead.id}@localhost"
    assert list(before) == list(after) == [uid]
    assert before[uid]["DTSTART"] != after[uid]["DTSTART"]


def test_a_wrong_or_old_token_is_404(client, user_in):
    me = user_in(VLADIVOSTOK)
    planned(me, utcnow() + timedelta(days=1))
    assert client.get("/agenda/calendar/nothing-here-yet-0123456789.ics").status_code == 404
    first = make_feed(client)
    assert client.get(first).status_code == 200
    second = make_feed(client)
    assert second != first
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    token = second.removeprefix("/agenda/calendar/").removesuffix(".ics")
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), token.upper(), "x", "%00"):
        assert client.get(f"/agenda/calendar/{wrong}.ics").status_code == 404
    assert client.get(f"/agenda/calendar/{token}").status_code == 404


def test_a_deactivated_users_feed_is_404(client, user_in):
    me = user_in(VLADIVOSTOK)
    path = make_feed(client)
    me.active = False
    db.session.commit()
    assert client.get(path).status_code == 404


def test_the_feed_panel_shows_the_address_once_there_is_one(client, user_in):
    me = user_in(VLADIVOSTOK)
    html = page(client, "/agenda/calendar")
    assert "Make an address" in html and 'id="calendar-feed-url"' not in html
    response = client.post("/agenda/calendar/feed")
    assert response.status_code == 303
    html = page(client, "/agenda/calendar")
    token = db.session.scalar(select(User.calendar_token).where(User.id == me.id))
    assert f'value="http://localhost/agenda/calendar/{token}.ics"' in html
    assert "Make a new address" in html
    assert "Your calendar now has an address to subscribe to." in html
    fragment = client.post("/agenda/calendar/feed", headers=HTMX).text
    assert "<html" not in fragment and "the previous one no longer works" in fragment


def test_making_a_feed_address_needs_the_csrf_token(app, client, user_in):
    me = user_in(VLADIVOSTOK)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/agenda/calendar/feed").status_code == 400
    assert db.session.scalar(select(User.calendar_token).where(User.id == me.id)) is None


# Cost


def spread(owner, count, start):
    """`count` planned leads over six weeks from `start`, a few an hour apart each day."""
    for n in range(count):
        at = datetime.combine(start, datetime.min.time()) + timedelta(days=n % 42, hours=n % 9)
        funnel.create_lead(owner, title=f"Lead {n}", next_step_at=at)
    db.session.commit()


@pytest.mark.parametrize(
    "url",
    [
        "/agenda/calendar?date=2026-03-10",
        "/agenda/calendar?view=week&date=2026-03-10&owner=everyone",
    ],
)
def test_the_calendar_costs_the_same_whatever_the_leads(client, user_in, url):
    me = user_in(VLADIVOSTOK, role=Role.MANAGER)
    spread(me, 3, date(2026, 3, 9))
    few = count_queries(client, url)
    spread(me, 200, date(2026, 3, 9))
    assert count_queries(client, url) == few
    # Eight for the calendar, and the bell's unread count at the top of every page.
    assert few <= 9


def test_the_days_list_costs_the_same_whatever_the_leads(client, user_in):
    me = user_in(VLADIVOSTOK)
    url = "/agenda/calendar/day?date=2026-03-10"
    planned(me, utc_of(datetime(2026, 3, 10, 10), VLADIVOSTOK))
    few = count_queries(client, url)
    for hour in range(8, 20):
        planned(me, utc_of(datetime(2026, 3, 10, hour), VLADIVOSTOK), stage=None)
    assert count_queries(client, url) == few


def test_the_feed_falls_back_to_the_configured_zone_not_the_servers(app, monkeypatch):
    from types import SimpleNamespace

    from crm.timezones import zone_of

    monkeypatch.setitem(app.config, "BABEL_DEFAULT_TIMEZONE", "Europe/Moscow")
    with app.app_context():
        assert str(zone_of(SimpleNamespace(timezone=None))) == "Europe/Moscow"
        assert str(zone_of(SimpleNamespace(timezone="Asia/Tokyo"))) == "Asia/Tokyo"
