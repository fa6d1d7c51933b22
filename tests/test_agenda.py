"""The agenda over HTTP: which lead is in which section, logging and rescheduling in place."""

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm import funnel, lists
from crm.agenda import queries
from crm.extensions import db
from crm.models import Activity, AppSetting, Lead, Role, utcnow
from tests import factories
from tests.querycount import count_queries

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")


def stored(local_moment, zone):
    """A moment on the user's wall clock, as the database keeps it (naive UTC)."""
    return local_moment.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def local_today(zone):
    return datetime.now(zone).date()


def agenda(client, url="/agenda/"):
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return response.text


def section(html, key):
    start = html.index(f'id="section-{key}"')
    end = html.find("<section", start + 1)
    return html[start : end if end != -1 else len(html)]


def members(html, key):
    return {int(n) for n in re.findall(r'id="agenda-\w+-(\d+)"', section(html, key))}


def count(html, key):
    return int(re.search(rf'id="count-{key}">(\d+)<', html).group(1))


def reload(lead):
    db.session.expire_all()
    return db.session.get(Lead, lead.id)


@pytest.fixture
def moscow_admin(app, stages):
    return factories.admin(name="Ada Admin", email="ada@example.com", timezone="Europe/Moscow")


@pytest.fixture
def agenda_client(client, auth, moscow_admin):
    auth.login(moscow_admin.email)
    return client


def lead_due(owner, stage, moment, **details):
    return factories.lead(owner=owner, stage=stage, next_step_at=moment, **details)


def test_agenda_is_the_start_page(agenda_client):
    response = agenda_client.get("/")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith("/agenda/")


def test_sections_at_the_edges_of_the_users_day(agenda_client, moscow_admin, stages):
    today = local_today(MOSCOW)
    midnight = datetime.combine(today, time.min)
    cold = stages[0]
    yesterday_late = lead_due(moscow_admin, cold, stored(midnight - timedelta(minutes=1), MOSCOW))
    today_start = lead_due(moscow_admin, cold, stored(midnight, MOSCOW))
    now = lead_due(moscow_admin, cold, utcnow())
    week_last = lead_due(
        moscow_admin, cold, stored(midnight + timedelta(days=8, minutes=-1), MOSCOW)
    )
    beyond = lead_due(moscow_admin, cold, stored(midnight + timedelta(days=8), MOSCOW))
    html = agenda(agenda_client)
    assert members(html, "overdue") == {yesterday_late.id}
    assert members(html, "today") == {today_start.id, now.id}
    assert members(html, "week") == {week_last.id}
    everywhere = set().union(*(members(html, key) for key in queries_keys()))
    assert beyond.id not in everywhere
    assert (count(html, "overdue"), count(html, "today"), count(html, "week")) == (1, 2, 1)


def queries_keys():
    return ("overdue", "today", "week", "unplanned", "stuck", "quiet")


def test_today_is_the_users_today_in_a_far_zone(client, auth, stages):
    far = factories.admin(name="Vlad", email="vlad@example.com", timezone="Asia/Vladivostok")
    utc_user = factories.admin(name="Uma", email="uma@example.com")
    today = local_today(VLADIVOSTOK)
    # Five past midnight in Vladivostok is still the day before in UTC.
    moment = stored(datetime.combine(today, time(0, 5)), VLADIVOSTOK)
    lead = lead_due(far, stages[0], moment)
    auth.login(far.email)
    assert lead.id in members(agenda(client), "today")
    auth.logout()
    auth.login(utc_user.email)
    in_utc = agenda(client, f"/agenda/?owner={far.id}")
    expected = "today" if moment.date() == datetime.now(UTC).date() else "overdue"
    assert lead.id in members(in_utc, expected)


def test_no_next_step_lists_open_leads_only(agenda_client, moscow_admin, stages):
    unplanned = factories.lead(owner=moscow_admin, stage=stages[1])
    won = factories.lead(owner=moscow_admin, stage=stages[-2], value=Decimal(10))
    archived = factories.lead(owner=moscow_admin, stage=stages[1])
    funnel.archive_lead(archived, moscow_admin)
    db.session.commit()
    html = agenda(agenda_client)
    assert members(html, "unplanned") == {unplanned.id}
    everywhere = set().union(*(members(html, key) for key in queries_keys()))
    assert won.id not in everywhere and archived.id not in everywhere


def test_stuck_once_the_stage_threshold_is_reached(agenda_client, moscow_admin, stages):
    # "Interested" is stuck after 14 days. The steps are planned beyond the week, so that no
    # section above lists the leads.
    now = utcnow()
    later = now + timedelta(days=30)
    reached = factories.lead(owner=moscow_admin, stage=stages[1], next_step_at=later)
    reached.stage_changed_at = now - timedelta(days=14, seconds=-30)
    early = factories.lead(owner=moscow_admin, stage=stages[1], next_step_at=later)
    early.stage_changed_at = now - timedelta(days=13, hours=23)
    db.session.commit()
    html = agenda(agenda_client)
    assert reached.id not in members(html, "stuck")
    reached.stage_changed_at = now - timedelta(days=14, minutes=1)
    db.session.commit()
    html = agenda(agenda_client)
    assert reached.id in members(html, "stuck")
    assert early.id not in members(html, "stuck")


def test_gone_quiet_follows_the_setting(agenda_client, moscow_admin, stages):
    lead = factories.lead(owner=moscow_admin, stage=stages[0], next_step_at=far_ahead())
    factories.activity(lead, moscow_admin, occurred_at=utcnow() - timedelta(days=10))
    assert lead.id not in members(agenda(agenda_client), "quiet")
    db.session.add(AppSetting(key=lists.QUIET_SETTING, value="7"))
    db.session.commit()
    html = agenda(agenda_client)
    assert lead.id in members(html, "quiet")
    assert "No contact for 7 days or more." in html


def far_ahead():
    """A next step beyond the week: a lead planned so is in none of the sections of steps."""
    return utcnow() + timedelta(days=30)


def overdue_stuck_and_quiet(owner, stage, days_ago=40):
    """A lead whose step is overdue, in its stage and without contact for `days_ago` days."""
    long_ago = utcnow() - timedelta(days=days_ago)
    lead = lead_due(owner, stage, utcnow() - timedelta(days=2))
    lead.created_at = lead.stage_changed_at = long_ago
    db.session.commit()
    return lead


# Next steps as each of the first four sections has them, and one beyond the week (in none).
STEPS = {
    "overdue": lambda: utcnow() - timedelta(days=2),
    "today": utcnow,
    "week": lambda: utcnow() + timedelta(days=3),
    "unplanned": lambda: None,
    None: far_ahead,
}


def test_a_lead_is_listed_once_in_its_most_urgent_section(agenda_client, moscow_admin, stages):
    # Every next step, stuck or not, quiet or not: Cold is stuck after 30 days in the stage (or
    # without contact), a lead goes quiet after 14 days without contact.
    now = utcnow()
    expected = {key: set() for key in queries_keys()}
    for step, moment in STEPS.items():
        for stuck in (False, True):
            for quiet in (False, True):
                lead = lead_due(moscow_admin, stages[0], moment())
                lead.stage_changed_at = now - timedelta(days=40 if stuck else 0)
                lead.created_at = now - timedelta(days=20 if quiet else 0)
                first = step or ("stuck" if stuck else "quiet" if quiet else None)
                if first:
                    expected[first].add(lead.id)
    db.session.commit()
    html = agenda(agenda_client)
    assert {key: members(html, key) for key in queries_keys()} == expected
    # Each count still counts every lead that meets its condition, and says how many of them
    # are shown above.
    counts = {key: count(html, key) for key in queries_keys()}
    assert counts == {"overdue": 4, "today": 4, "week": 4, "unplanned": 4, "stuck": 10, "quiet": 10}
    assert listed_above(html, "stuck") == "8 of them are shown above."
    assert listed_above(html, "quiet") == "9 of them are shown above."
    for key in ("overdue", "today", "week", "unplanned"):
        assert listed_above(html, key) is None


def test_a_section_whose_leads_are_all_shown_above_says_so(agenda_client, moscow_admin, stages):
    overdue_stuck_and_quiet(moscow_admin, stages[0])
    html = agenda(agenda_client)
    assert (count(html, "stuck"), members(html, "stuck")) == (1, set())
    assert listed_above(html, "stuck") == "It is shown above."
    overdue_stuck_and_quiet(moscow_admin, stages[0])
    html = agenda(agenda_client)
    assert listed_above(html, "quiet") == "All 2 are shown above."
    assert "Nothing here." not in section(html, "quiet")
    assert "Nothing here." in section(html, "today")


def test_the_note_is_in_russian_too(client, auth, stages):
    anna = factories.admin(name="Анна", email="anna@example.com", locale="ru")
    for _n in range(5):
        overdue_stuck_and_quiet(anna, stages[0])
    auth.login(anna.email)
    html = agenda(client)
    assert listed_above(html, "stuck") == "Все 5 показаны выше."
    lead = factories.lead(owner=anna, stage=stages[0], next_step_at=far_ahead())
    lead.stage_changed_at = utcnow() - timedelta(days=31)
    db.session.commit()
    assert listed_above(agenda(client), "stuck") == "Из них 5 показаны выше."


def listed_above(html, key):
    found = re.search(rf'id="listed-above-{key}">([^<]*)<', html)
    return found and found.group(1).strip()


def test_more_rows_of_a_section_are_only_the_leads_it_lists(agenda_client, moscow_admin, stages):
    for _n in range(queries.ROWS + 2):
        overdue_stuck_and_quiet(moscow_admin, stages[0])
    kept = [overdue_stuck_and_quiet(moscow_admin, stages[0]) for _n in range(3)]
    for lead in kept:
        lead.next_step_at = far_ahead()
    db.session.commit()
    html = agenda(agenda_client)
    assert members(html, "stuck") == {lead.id for lead in kept}
    assert "Show more" not in section(html, "stuck")
    more = agenda_client.get(f"/agenda/sections/overdue?offset={queries.ROWS}").text
    assert more.count('class="agenda-row"') == 2
    stuck = agenda_client.get("/agenda/sections/stuck?offset=0").text
    assert stuck.count('class="agenda-row"') == 3


def test_a_salesperson_sees_only_their_own_agenda(client, auth, moscow_admin, stages):
    seller = factories.user(name="Sam", email="sam@example.com")
    theirs = factories.lead(owner=moscow_admin, stage=stages[0])
    mine = factories.lead(owner=seller, stage=stages[0])
    auth.login(seller.email)
    html = agenda(client, f"/agenda/?owner={moscow_admin.id}")
    assert members(html, "unplanned") == {mine.id}
    assert theirs.id not in members(agenda(client, "/agenda/?owner=everyone"), "unplanned")
    assert 'id="agenda-owner"' not in html


def test_a_manager_switches_to_a_colleague_or_everyone(client, auth, stages):
    manager = factories.user(name="Mona", email="mona@example.com", role=Role.MANAGER)
    seller = factories.user(name="Sam", email="sam@example.com")
    theirs = factories.lead(owner=seller, stage=stages[0])
    own = factories.lead(owner=manager, stage=stages[0])
    auth.login(manager.email)
    assert members(agenda(client), "unplanned") == {own.id}
    assert members(agenda(client, f"/agenda/?owner={seller.id}"), "unplanned") == {theirs.id}
    everyone = agenda(client, "/agenda/?owner=everyone")
    assert members(everyone, "unplanned") == {own.id, theirs.id}
    assert '<option value="everyone" selected>' in everyone


@pytest.mark.parametrize("query", ["owner=x", "owner=99999999999", "owner=-1", "owner=%00"])
def test_tampered_agenda_urls_never_fail(agenda_client, query):
    assert agenda_client.get(f"/agenda/?{query}").status_code == 200


def test_query_count_does_not_grow_with_the_leads(agenda_client, moscow_admin, stages):
    def make(n):
        for i in range(n):
            due = utcnow() + timedelta(i % 9 - 4)
            lead = factories.lead(owner=moscow_admin, stage=stages[i % 3], next_step_at=due)
            # An incoming request: a last contact that leaves the step, overdue or not.
            factories.activity(lead)

    make(6)
    few = count_queries(agenda_client, "/agenda/")
    make(30)
    assert count_queries(agenda_client, "/agenda/") == few


def test_more_rows_of_a_section(agenda_client, moscow_admin, stages):
    for n in range(queries.ROWS + 3):
        factories.lead(f"Lead {n}", owner=moscow_admin, stage=stages[0])
    html = agenda(agenda_client)
    assert len(members(html, "unplanned")) == queries.ROWS
    more = agenda_client.get(f"/agenda/sections/unplanned?offset={queries.ROWS}").text
    assert len(re.findall(r'class="agenda-row"', more)) == 3
    assert agenda_client.get("/agenda/sections/nope").status_code == 404


# Acting from the agenda


def reschedule(client, lead, **data):
    return client.post(f"/agenda/leads/{lead.id}/reschedule", data=data, headers=HTMX)


def test_reschedule_by_days_keeps_the_time_of_day(agenda_client, moscow_admin, stages):
    yesterday = local_today(MOSCOW) - timedelta(days=1)
    lead = lead_due(
        moscow_admin, stages[0], stored(datetime.combine(yesterday, time(15, 30)), MOSCOW)
    )
    html = agenda(agenda_client)
    assert count(html, "overdue") == 1
    response = reschedule(agenda_client, lead, days="3")
    assert response.status_code == 200
    assert count(response.text, "overdue") == 0
    assert lead.id in members(response.text, "week")
    assert f"Next step of #{lead.number} moved to" in response.text
    moved = reload(lead).next_step_at.replace(tzinfo=UTC).astimezone(MOSCOW)
    assert (moved.date(), moved.time()) == (local_today(MOSCOW) + timedelta(3), time(15, 30))


def test_reschedule_to_a_picked_date(agenda_client, moscow_admin, stages):
    lead = factories.lead(owner=moscow_admin, stage=stages[0])
    picked = local_today(MOSCOW) + timedelta(days=20)
    assert reschedule(agenda_client, lead, date=picked.isoformat()).status_code == 200
    moved = reload(lead).next_step_at.replace(tzinfo=UTC).astimezone(MOSCOW)
    assert (moved.date(), moved.time()) == (picked, time(0, 0))


def test_reschedule_to_a_typed_day_and_time(agenda_client, moscow_admin, stages):
    at_three = stored(datetime.combine(local_today(MOSCOW), time(15)), MOSCOW)
    lead = lead_due(moscow_admin, stages[0], at_three)
    assert reschedule(agenda_client, lead, date="пт 10:30").status_code == 200
    moved = reload(lead).next_step_at.replace(tzinfo=UTC).astimezone(MOSCOW)
    assert (moved.weekday(), moved.time()) == (4, time(10, 30))
    assert 0 < (moved.date() - local_today(MOSCOW)).days <= 7
    # A day without a time keeps the step's time of day, as the buttons do.
    assert reschedule(agenda_client, lead, date="+2").status_code == 200
    moved = reload(lead).next_step_at.replace(tzinfo=UTC).astimezone(MOSCOW)
    assert (moved.date(), moved.time()) == (local_today(MOSCOW) + timedelta(2), time(10, 30))


NOT_UNDERSTOOD = "Not understood."
NOTHING_PICKED = "Pick a date for the next step."


@pytest.mark.parametrize(("data", "message"), [
    ({}, NOTHING_PICKED), ({"days": "5"}, NOTHING_PICKED), ({"date": "\x00"}, NOTHING_PICKED),
    ({"date": "2026-02-30"}, NOT_UNDERSTOOD), ({"date": "x"}, NOT_UNDERSTOOD),
    ({"date": "99999-01-01"}, NOT_UNDERSTOOD), ({"date": "0001-01-01"}, NOT_UNDERSTOOD),
    ({"date": "2026W011"}, NOT_UNDERSTOOD), ({"date": "20260101"}, NOT_UNDERSTOOD),
    ({"date": "01.01.2020"}, "That moment has passed"),
])  # fmt: skip
def test_reschedule_refuses_bad_dates(agenda_client, moscow_admin, stages, data, message):
    # A step at local midnight (a day without a time), in a zone east of UTC: year 1 would
    # fall outside what a date can hold once turned into UTC.
    midnight = datetime.combine(local_today(MOSCOW), time.min)
    lead = lead_due(moscow_admin, stages[0], stored(midnight, MOSCOW))
    before = lead.next_step_at
    response = reschedule(agenda_client, lead, **data)
    assert response.status_code == 422
    assert message in response.text
    assert reload(lead).next_step_at == before


def test_reschedule_refuses_closed_and_others_leads(client, auth, moscow_admin, stages):
    won = factories.lead(owner=moscow_admin, stage=stages[-2], value=Decimal(5))
    seller = factories.user(name="Sam", email="sam@example.com")
    auth.login(seller.email)
    assert reschedule(client, won, days="1").status_code == 403
    auth.logout()
    auth.login(moscow_admin.email)
    response = reschedule(client, won, days="1")
    assert response.status_code == 422
    assert "Only an open lead has a next step." in response.text
    assert client.post("/agenda/leads/99999/reschedule", data={"days": "1"}).status_code == 404


def test_log_a_call_from_the_agenda(agenda_client, moscow_admin, stages):
    yesterday = local_today(MOSCOW) - timedelta(days=1)
    lead = lead_due(moscow_admin, stages[0], stored(datetime.combine(yesterday, time(10)), MOSCOW))
    form = agenda_client.get(f"/agenda/leads/{lead.id}/log", headers=HTMX)
    assert form.status_code == 200
    assert f'hx-post="/agenda/leads/{lead.id}/log"' in form.text
    assert 'hx-target="#agenda-sections"' in form.text
    tomorrow = local_today(MOSCOW) + timedelta(days=1)
    response = agenda_client.post(
        f"/agenda/leads/{lead.id}/log",
        data={
            "kind_id": factories.kind("call").id,
            "occurred_at": datetime.now(MOSCOW).strftime("%Y-%m-%dT%H:%M"),
            "body": "They will decide on Friday",
            "stage_id": stages[1].id,
            "next_step_when": f"{tomorrow:%d.%m.%Y}",
            "next_step_note": "Call back",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert count(response.text, "overdue") == 0
    assert lead.id in members(response.text, "week")
    assert f"Contact with #{lead.number} logged." in response.text
    lead = reload(lead)
    assert lead.stage_id == stages[1].id
    bodies = db.session.scalars(select(Activity.body).where(Activity.lead_id == lead.id)).all()
    assert bodies == ["They will decide on Friday"]


def test_a_call_logged_on_an_overdue_lead_says_what_comes_next(agenda_client, moscow_admin, stages):
    yesterday = local_today(MOSCOW) - timedelta(days=1)
    lead = lead_due(moscow_admin, stages[0], stored(datetime.combine(yesterday, time(10)), MOSCOW))
    form = agenda_client.get(f"/agenda/leads/{lead.id}/log", headers=HTMX).text
    assert "this contact answers it" in form
    call = {
        "kind_id": factories.kind("call").id,
        "occurred_at": datetime.now(MOSCOW).strftime("%Y-%m-%dT%H:%M"),
        "body": "No answer",
        "stage_id": stages[0].id,
    }
    refused = agenda_client.post(f"/agenda/leads/{lead.id}/log", data=call, headers=HTMX)
    assert refused.status_code == 422
    assert 'id="log-form"' in refused.text and 'id="agenda-sections"' not in refused.text
    assert "Plan the next step, or say there is none." in refused.text
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    assert lead.id in members(agenda(agenda_client), "overdue")

    response = agenda_client.post(
        f"/agenda/leads/{lead.id}/log", data=call | {"no_next_step": "y"}, headers=HTMX
    )
    assert response.status_code == 200
    assert count(response.text, "overdue") == 0
    assert lead.id in members(response.text, "unplanned")


def test_log_errors_stay_in_the_form(agenda_client, moscow_admin, stages):
    lead = factories.lead(owner=moscow_admin, stage=stages[0])
    response = agenda_client.post(
        f"/agenda/leads/{lead.id}/log",
        data={"kind_id": "", "occurred_at": "", "stage_id": stages[-1].id},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert 'id="log-form"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0


def test_quiet_setting_parses_safely(app, stages):
    db.session.add(AppSetting(key=lists.QUIET_SETTING, value="lots"))
    db.session.commit()
    assert lists.quiet_after_days() == lists.QUIET_DEFAULT


def test_admin_sets_when_a_lead_goes_quiet(logged_in, admin, stages):
    page = logged_in.get("/settings/general")
    assert 'for="quiet_after_days"' in page.text
    form = factories.general_settings(quiet_after_days="21")
    saved = logged_in.post("/settings/general", data=form)
    assert saved.status_code == 303
    assert lists.quiet_after_days() == 21
    refused = logged_in.post("/settings/general", data=form | {"quiet_after_days": "0"})
    assert refused.status_code == 422
    assert lists.quiet_after_days() == 21


def test_a_salesperson_cannot_change_the_quiet_setting(client, auth, stages):
    seller = factories.user(name="Sam", email="sam@example.com")
    auth.login(seller.email)
    form = factories.general_settings(quiet_after_days="3")
    response = client.post("/settings/general", data=form)
    assert response.status_code == 403


def test_an_archived_leads_next_step_is_not_moved(agenda_client, moscow_admin, stages):
    lead = lead_due(moscow_admin, stages[0], utcnow())
    funnel.archive_lead(lead, moscow_admin)
    db.session.commit()
    before = lead.next_step_at
    assert reschedule(agenda_client, lead, days="1").status_code == 422
    assert reload(lead).next_step_at == before
