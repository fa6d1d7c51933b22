"""Missed contacts over HTTP: which steps count as missed, by which day, for whom, and the cost."""

from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from crm import access, funnel
from crm.agenda import queries
from crm.extensions import db
from crm.models import Lead, LostReason, Role, utcnow
from tests import factories
from tests.querycount import count_queries

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}

# Reading the page


class MissedPage(HTMLParser):
    """What the tests look at: the bar of each day, the leads listed, the totals per person."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.bars = {}
        self.lead_ids = []
        self.links = []
        self.people = []
        self._person_row = None
        self._in_people = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "li" and "missed-day" in classes:
            self.bars[attrs["data-day"]] = int(attrs["data-count"])
        elif tag == "tr" and (attrs.get("id") or "").startswith("missed-step-"):
            self.lead_ids.append(int(attrs["data-lead"]))
        elif tag == "table" and "missed-people" in classes:
            self._in_people = True
        elif tag == "tr" and self._in_people:
            self._person_row = []
        elif tag == "td" and self._person_row is not None:
            self._person_row.append("")
        elif tag == "a":
            self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_people = False
        elif tag == "tr" and self._person_row:
            self.people.append((self._person_row[0].strip(), int(self._person_row[1])))
            self._person_row = None

    def handle_data(self, data):
        if self._person_row:
            self._person_row[-1] += data

    def missed_on(self, day):
        return self.bars[day.isoformat()]


def missed_page(client, url="/agenda/missed"):
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return response.text, MissedPage(response.text)


def utc_today():
    return utcnow().date()


def yesterday_noon():
    """Noon yesterday in UTC, the zone of an account that has none."""
    return datetime.combine(utc_today() - timedelta(days=1), time(12))


def step(owner, due, stage=None, note="Call about the estimate", **details):
    return factories.lead(
        owner=owner, stage=stage, next_step_at=due, next_step_note=note, **details
    )


def reload(lead):
    db.session.expire_all()
    return db.session.get(Lead, lead.id)


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


@pytest.fixture
def colleague(app, stages):
    return factories.user(name="Cleo Colleague", email="cleo@example.com")


@pytest.fixture
def manager(app, stages):
    return factories.user(name="Max Manager", email="max@example.com", role=Role.MANAGER)


@pytest.fixture
def as_seller(client, auth, seller):
    auth.login(seller.email)
    return client


@pytest.fixture
def as_manager(client, auth, manager):
    auth.login(manager.email)
    return client


# Which steps count as missed


def test_needs_login(client, stages):
    assert client.get("/agenda/missed").status_code in (302, 303)


def test_a_step_due_yesterday_with_no_contact_is_missed(as_seller, seller):
    lead = step(seller, yesterday_noon(), title="Acme")
    html, page = missed_page(as_seller)
    assert page.lead_ids == [lead.id]
    assert page.missed_on(utc_today() - timedelta(days=1)) == 1
    assert sum(page.bars.values()) == 1
    assert f"/leads/{lead.number}" in page.links
    assert "Acme" in html and "Call about the estimate" in html
    assert "1 step missed" in html


def test_a_contact_after_the_step_means_it_was_not_missed(as_seller, seller):
    lead = step(seller, yesterday_noon())
    factories.activity(lead, seller, occurred_at=yesterday_noon() + timedelta(hours=3))
    _html, page = missed_page(as_seller)
    assert page.lead_ids == []
    assert sum(page.bars.values()) == 0


def test_a_contact_at_the_very_moment_of_the_step_counts(as_seller, seller):
    lead = step(seller, yesterday_noon())
    factories.activity(lead, seller, occurred_at=yesterday_noon())
    assert missed_page(as_seller)[1].lead_ids == []


def test_a_contact_before_the_step_does_not_count(as_seller, seller):
    lead = step(seller, yesterday_noon())
    # Logged as it happened, while the step was still to come: it stands.
    with at(yesterday_noon() - timedelta(hours=2)):
        factories.activity(
            lead, seller, occurred_at=yesterday_noon() - timedelta(hours=2), body="Promised to call"
        )
    html, page = missed_page(as_seller)
    assert page.lead_ids == [lead.id]
    # The last contact's hint, to pick the thread up.
    assert "Promised to call" in html


def test_a_deleted_contact_does_not_count(as_seller, seller):
    lead = step(seller, yesterday_noon())
    contact = factories.activity(lead, seller, occurred_at=yesterday_noon() + timedelta(hours=1))
    assert missed_page(as_seller)[1].lead_ids == []
    funnel.delete_activity(contact, seller)
    db.session.commit()
    assert missed_page(as_seller)[1].lead_ids == [lead.id]


def test_archived_won_and_lost_leads_are_left_out(as_seller, seller, stages):
    kept = step(seller, yesterday_noon())
    archived = step(seller, yesterday_noon())
    funnel.archive_lead(archived, seller)
    won = [stage for stage in stages if stage.kind == "won"][0]
    lost = [stage for stage in stages if stage.kind == "lost"][0]
    # Closing clears the next step; a step left on a closed lead (older data, an import)
    # still does not count.
    closed = [step(seller, yesterday_noon(), stage=won), step(seller, yesterday_noon(), stage=lost)]
    db.session.commit()
    for lead in closed:
        assert reload(lead).next_step_at is not None
    _html, page = missed_page(as_seller)
    assert page.lead_ids == [kept.id]
    assert sum(page.bars.values()) == 1


def test_a_step_missed_before_the_lead_closed_still_counts(as_seller, seller, stages):
    """Closing a lead on the board clears its next step; one already missed stays missed."""
    missed_then = step(seller, yesterday_noon())
    closed_in_time = step(seller, utcnow() + timedelta(hours=2))
    reason = db.session.query(LostReason).first()
    lost = [stage for stage in stages if stage.kind == "lost"][0]
    for lead in (missed_then, closed_in_time):
        funnel.move_lead(lead, lost, seller, lost_reason=reason)
    db.session.commit()
    html, page = missed_page(as_seller)
    assert page.lead_ids == [missed_then.id]
    assert "Moved or cleared" in html


def test_a_lead_closed_by_logging_a_contact_kept_its_step(as_seller, seller, stages):
    lead = step(seller, yesterday_noon())
    won = [stage for stage in stages if stage.kind == "won"][0]
    factories.activity(lead, seller, occurred_at=yesterday_noon() - timedelta(hours=3), stage=won)
    assert reload(lead).next_step_at is None
    assert missed_page(as_seller)[1].lead_ids == []


# What became of a step: moved, replaced, answered late


@contextmanager
def at(moment):
    """Work the funnel as if it were `moment`: when steps were planned and moved, contacts
    logged and corrected."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(funnel, "utcnow", lambda: moment)
        patch.setattr(access, "utcnow", lambda: moment)
        yield


def days_ago(days, hour=12):
    return datetime.combine(utc_today() - timedelta(days=days), time(hour))


def test_a_step_moved_after_its_time_without_a_contact_is_still_missed(as_seller, seller):
    lead = step(seller, yesterday_noon())
    funnel.reschedule(lead, seller, utcnow() + timedelta(days=2))
    db.session.commit()
    html, page = missed_page(as_seller)
    assert page.lead_ids == [lead.id]
    assert page.missed_on(utc_today() - timedelta(days=1)) == 1
    assert sum(page.bars.values()) == 1
    assert "Moved or cleared" in html


def test_a_step_moved_before_its_time_is_not_missed(as_seller, seller):
    with at(days_ago(1, hour=9)):
        lead = step(seller, days_ago(1))
        funnel.reschedule(lead, seller, utcnow() + timedelta(days=2))
        db.session.commit()
    _html, page = missed_page(as_seller)
    assert page.lead_ids == []
    assert sum(page.bars.values()) == 0


def test_each_day_a_step_was_put_off_is_missed(as_seller, seller):
    """Due three days ago, put off every morning to noon: missed three times, once a day."""
    with at(days_ago(3, hour=9)):
        lead = step(seller, days_ago(3))
    for days in (2, 1):
        with at(days_ago(days, hour=9)):
            funnel.reschedule(lead, seller, days_ago(days))
            db.session.commit()
    html, page = missed_page(as_seller)
    assert page.lead_ids == [lead.id] * 3
    assert {day for day, count in page.bars.items() if count} == {
        (utc_today() - timedelta(days=days)).isoformat() for days in (1, 2, 3)
    }
    assert "3 steps missed" in html
    # Only the last one is still the lead's next step.
    assert html.count("Still the next step") == 1
    assert html.count("Moved or cleared") == 2


def test_a_late_contact_keeps_the_step(as_seller, seller):
    """Called a day late, and the step then moved on: the call was made."""
    lead = step(seller, days_ago(2))
    with at(days_ago(1, hour=10)):
        factories.activity(lead, seller, occurred_at=days_ago(1, hour=9))
        funnel.reschedule(lead, seller, utcnow() + timedelta(days=3))
        db.session.commit()
    assert missed_page(as_seller)[1].lead_ids == []


def test_a_contact_after_the_step_was_moved_does_not_answer_it(as_seller, seller):
    lead = step(seller, days_ago(2))
    with at(days_ago(1, hour=9)):
        funnel.reschedule(lead, seller, days_ago(1, hour=15))
        db.session.commit()
    factories.activity(lead, seller, occurred_at=days_ago(1, hour=16))
    _html, page = missed_page(as_seller)
    # The step moved to yesterday 15:00 was answered at 16:00; the one before was not.
    assert page.lead_ids == [lead.id]
    assert page.missed_on(utc_today() - timedelta(days=2)) == 1
    assert sum(page.bars.values()) == 1


def test_a_step_replaced_by_logging_a_contact_is_not_missed(as_seller, seller):
    """Logging a contact with a new next step answers the step it replaces, even a contact
    dated before the step's time; deleting that contact takes the answer back."""
    lead = step(seller, yesterday_noon())
    contact = factories.activity(
        lead,
        seller,
        occurred_at=yesterday_noon() - timedelta(hours=2),
        next_step_at=utcnow() + timedelta(days=2),
        next_step_note="Send the contract",
    )
    assert missed_page(as_seller)[1].lead_ids == []
    funnel.delete_activity(contact, seller)
    db.session.commit()
    html, page = missed_page(as_seller)
    assert page.lead_ids == [lead.id]
    assert "Call about the estimate" in html and "Send the contract" not in html


def test_a_contact_moved_before_the_step_no_longer_answers_it(as_seller, seller):
    lead = step(seller, yesterday_noon())
    # Logged (and corrected) while the step was still to come, so it stands: only the
    # contact's time says whether it answered the step.
    with at(yesterday_noon() - timedelta(minutes=30)):
        contact = factories.activity(
            lead, seller, occurred_at=yesterday_noon() + timedelta(hours=1)
        )
    assert missed_page(as_seller)[1].lead_ids == []
    earlier = yesterday_noon() - timedelta(hours=1)
    with at(yesterday_noon() - timedelta(minutes=20)):
        funnel.edit_activity(contact, seller, contact.kind, contact.body, earlier)
    db.session.commit()
    assert missed_page(as_seller)[1].lead_ids == [lead.id]
    with at(yesterday_noon() - timedelta(minutes=10)):
        funnel.edit_activity(contact, seller, contact.kind, contact.body, yesterday_noon())
    db.session.commit()
    assert missed_page(as_seller)[1].lead_ids == []


def test_a_missed_step_stays_with_who_had_the_lead(as_manager, manager, seller, colleague):
    """Handing a lead over moves its coming step to the new owner, not a missed one."""
    missed_by_sam = step(seller, yesterday_noon())
    with at(days_ago(3)):
        handed_over = step(seller, days_ago(1, hour=15))
        funnel.update_lead(handed_over, manager, owner_id=colleague.id)
        db.session.commit()
    funnel.update_lead(missed_by_sam, manager, owner_id=colleague.id)
    db.session.commit()
    _html, page = missed_page(as_manager, "/agenda/missed?owner=everyone")
    assert sorted(page.people) == [("Cleo Colleague", 1), ("Sam Seller", 1)]
    _html, page = missed_page(as_manager, f"/agenda/missed?owner={seller.id}")
    assert page.lead_ids == [missed_by_sam.id]
    _html, page = missed_page(as_manager, f"/agenda/missed?owner={colleague.id}")
    assert page.lead_ids == [handed_over.id]


def test_future_steps_and_leads_with_no_step_are_left_out(as_seller, seller):
    step(seller, utcnow() + timedelta(minutes=5))
    step(seller, utcnow() + timedelta(days=3))
    factories.lead(owner=seller)
    _html, page = missed_page(as_seller)
    assert page.lead_ids == []


def test_a_step_earlier_today_is_missed_today(as_seller, seller):
    now = utcnow()
    due = max(datetime.combine(now.date(), time.min), now - timedelta(minutes=30))
    lead = step(seller, due)
    _html, page = missed_page(as_seller)
    assert page.lead_ids == [lead.id]
    assert page.missed_on(now.date()) == 1


def test_steps_due_before_the_period_are_counted_apart(as_seller, seller):
    """Before the period only the steps still standing are counted: what can still be done."""
    recent = step(seller, yesterday_noon())
    old = step(seller, yesterday_noon() - timedelta(days=40))
    moved_on = step(seller, yesterday_noon() - timedelta(days=50))
    funnel.reschedule(moved_on, seller, utcnow() + timedelta(days=1))
    db.session.commit()
    html, page = missed_page(as_seller)
    assert page.lead_ids == [recent.id]
    assert sum(page.bars.values()) == 1
    assert "and 1 more due before this period" in html
    _html, page = missed_page(as_seller, "/agenda/missed?days=90")
    assert page.lead_ids == [recent.id, old.id, moved_on.id]
    assert len(page.bars) == 90
    assert sum(page.bars.values()) == 3


def test_the_days_of_the_period(as_seller, seller):
    for days in (7, 30, 90):
        _html, page = missed_page(as_seller, f"/agenda/missed?days={days}")
        assert len(page.bars) == days
        assert max(page.bars) == utc_today().isoformat()


@pytest.mark.parametrize("days, back", [(7, [0, 1, 2, 3, 4, 5, 6]), (90, [1, 13, 45, 88, 89])])
def test_each_day_gets_its_own_steps(as_seller, seller, days, back):
    """Day n back holds n + 1 steps, so a step counted on the wrong day shows."""
    now = utcnow()
    for n in back:
        due = yesterday_noon() + timedelta(days=1 - n) if n else now - timedelta(seconds=1)
        for _ in range(n + 1):
            funnel.create_lead(seller, title=f"Lead {n}", next_step_at=due)
    funnel.create_lead(
        seller, title="Too old", next_step_at=yesterday_noon() - timedelta(days=days)
    )
    db.session.commit()
    html, page = missed_page(as_seller, f"/agenda/missed?days={days}")
    expected = {(utc_today() - timedelta(days=n)).isoformat(): n + 1 for n in back}
    assert {day: count for day, count in page.bars.items() if count} == expected
    assert "and 1 more due before this period" in html


def test_a_day_with_nothing_missed(as_seller, seller):
    step(seller, yesterday_noon())
    day = (utc_today() - timedelta(days=5)).isoformat()
    html, page = missed_page(as_seller, f"/agenda/missed?day={day}")
    assert page.lead_ids == []
    assert "Nothing was missed on this day." in html


def test_days_are_the_users_own(client, auth, stages):
    """A step at 05:00 in Vladivostok is 19:00 the day before in UTC: each sees it on their day."""
    zone = ZoneInfo("Asia/Vladivostok")
    far = factories.user(email="far@example.com", timezone="Asia/Vladivostok")
    near = factories.user(email="near@example.com", role=Role.MANAGER)
    local_yesterday = datetime.now(zone).date() - timedelta(days=1)
    due = datetime.combine(local_yesterday, time(5), tzinfo=zone)
    due_utc = due.astimezone(UTC).replace(tzinfo=None)
    assert due_utc.date() == local_yesterday - timedelta(days=1)
    lead = step(far, due_utc)

    auth.login(far.email)
    html, page = missed_page(client)
    assert page.lead_ids == [lead.id]
    assert page.missed_on(local_yesterday) == 1
    assert sum(page.bars.values()) == 1
    assert "Days are counted in your time zone, Vladivostok (UTC+10)." in html
    assert max(page.bars) == datetime.now(zone).date().isoformat()
    auth.logout()

    auth.login(near.email)
    _html, page = missed_page(client, f"/agenda/missed?owner={far.id}")
    assert page.missed_on(due_utc.date()) == 1
    assert sum(page.bars.values()) == 1


def test_a_local_midnight_starts_the_day(client, auth, stages):
    """Steps a minute either side of midnight in the user's zone fall on two days."""
    zone = ZoneInfo("Asia/Vladivostok")
    far = factories.user(email="far@example.com", timezone="Asia/Vladivostok")
    local_yesterday = datetime.now(zone).date() - timedelta(days=1)
    midnight = datetime.combine(local_yesterday, time.min, tzinfo=zone)
    midnight = midnight.astimezone(UTC).replace(tzinfo=None)
    before = step(far, midnight - timedelta(minutes=1))
    at = step(far, midnight)
    auth.login(far.email)
    _html, page = missed_page(client)
    assert page.missed_on(local_yesterday) == 1
    assert page.missed_on(local_yesterday - timedelta(days=1)) == 1
    _html, page = missed_page(client, f"/agenda/missed?day={local_yesterday.isoformat()}")
    assert page.lead_ids == [at.id]
    assert before.id not in page.lead_ids


# The list


def test_a_day_picked_on_the_chart_lists_its_leads(as_seller, seller):
    yesterday = step(seller, yesterday_noon())
    earlier = step(seller, yesterday_noon() - timedelta(days=2))
    _html, page = missed_page(as_seller)
    assert page.lead_ids == [yesterday.id, earlier.id]
    day = (utc_today() - timedelta(days=3)).isoformat()
    assert f"/agenda/missed?day={day}" in page.links
    html, page = missed_page(as_seller, f"/agenda/missed?day={day}")
    assert page.lead_ids == [earlier.id]
    assert "Show every day of the period" in html
    # The chart still shows the whole period.
    assert sum(page.bars.values()) == 2


def test_the_list_is_capped_with_a_count(as_seller, seller, monkeypatch):
    for hours in range(1, 8):
        funnel.create_lead(
            seller, title=f"Lead {hours}", next_step_at=utcnow() - timedelta(hours=hours)
        )
    db.session.commit()
    monkeypatch.setattr(queries, "MISSED_LISTED", 5)
    html, page = missed_page(as_seller)
    assert len(page.lead_ids) == 5
    assert "The first 5 of 7, the most recently due first." in html
    assert "7 steps missed" in html


def test_nothing_missed(as_seller, seller):
    html, page = missed_page(as_seller)
    assert page.lead_ids == []
    assert "Nothing slipped" in html
    assert "0 steps missed" in html


def test_the_results_alone_for_htmx(as_seller, seller):
    step(seller, yesterday_noon())
    response = as_seller.get("/agenda/missed?days=7", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert len(MissedPage(response.text).bars) == 7
    assert "HX-Request" in response.headers["Vary"]
    full = as_seller.get("/agenda/missed?days=7")
    assert "<html" in full.text and 'id="missed-results"' in full.text


# Whose steps


def test_a_salesperson_sees_only_their_own(as_seller, seller, colleague):
    mine = step(seller, yesterday_noon())
    step(colleague, yesterday_noon())
    step(None, yesterday_noon())
    html, page = missed_page(as_seller)
    assert page.lead_ids == [mine.id]
    assert 'name="owner"' not in html
    assert missed_page(as_seller, f"/agenda/missed?owner={seller.id}")[1].lead_ids == [mine.id]


@pytest.mark.parametrize("owner", ["everyone", "colleague"])
def test_a_salesperson_cannot_see_anothers(as_seller, colleague, owner):
    step(colleague, yesterday_noon())
    wanted = colleague.id if owner == "colleague" else owner
    response = as_seller.get(f"/agenda/missed?owner={wanted}")
    assert response.status_code == 403
    assert "only your own missed contacts" in response.text
    assert 'id="missed-step-' not in response.text
    response = as_seller.get("/agenda/missed?owner=everyone", headers=HTMX)
    assert response.status_code == 403


def test_a_manager_sees_a_colleague_and_everyone(as_manager, manager, seller, colleague):
    own = step(manager, yesterday_noon())
    sams = [step(seller, yesterday_noon()), step(seller, yesterday_noon() - timedelta(days=1))]
    cleos = step(colleague, yesterday_noon())
    nobodys = step(None, yesterday_noon())

    assert missed_page(as_manager)[1].lead_ids == [own.id]
    html, page = missed_page(as_manager, f"/agenda/missed?owner={seller.id}")
    assert sorted(page.lead_ids) == sorted(lead.id for lead in sams)
    assert "Sam Seller" in html
    assert page.people == []

    html, page = missed_page(as_manager, "/agenda/missed?owner=everyone")
    assert sorted(page.lead_ids) == sorted([own.id, cleos.id, nobodys.id, *(s.id for s in sams)])
    assert page.people[0] == ("Sam Seller", 2)
    assert sorted(page.people[1:]) == [("Cleo Colleague", 1), ("Max Manager", 1), ("Nobody", 1)]
    assert f"/agenda/missed?owner={seller.id}" in page.links


def test_an_admin_sees_everyone(logged_in, seller):
    lead = step(seller, yesterday_noon())
    assert missed_page(logged_in, "/agenda/missed?owner=everyone")[1].lead_ids == [lead.id]


def test_a_person_who_does_not_exist(as_manager):
    assert as_manager.get("/agenda/missed?owner=999999").status_code == 404


def test_a_closed_account_can_still_be_looked_at(as_manager, seller):
    lead = step(seller, yesterday_noon())
    seller.active = False
    db.session.commit()
    html, page = missed_page(as_manager, f"/agenda/missed?owner={seller.id}")
    assert page.lead_ids == [lead.id]
    assert f'<option value="{seller.id}" selected>' in html


# Hand-made addresses


@pytest.mark.parametrize(
    "query",
    [
        "days=abc",
        "days=0",
        "days=-30",
        "days=31",
        "days=30.5",
        "days=99999999999999999999999",
        "days=%D9%A3%D9%A0",
        "days=%00",
        "days=",
        "days=7&days=90",
        "day=2024-02-30",
        "day=tomorrow",
        "day=9999-12-31",
        "day=0001-01-01",
        "day=%00",
        "owner=",
        "owner=nobody",
        "owner=%00",
        "owner=-1",
    ],
)
def test_tampered_addresses_never_fail(as_seller, seller, query):
    step(seller, yesterday_noon())
    response = as_seller.get(f"/agenda/missed?{query}")
    assert response.status_code == 200
    assert 'id="missed-step-' in response.text


def test_an_unknown_period_falls_back_to_thirty_days(as_seller, seller):
    assert len(missed_page(as_seller, "/agenda/missed?days=abc")[1].bars) == 30


@pytest.mark.parametrize("owner", ["99999999999999999999", "2147483648", "0"])
def test_tampered_owner_for_a_manager(as_manager, manager, owner):
    own = step(manager, yesterday_noon())
    assert missed_page(as_manager, f"/agenda/missed?owner={owner}")[1].lead_ids == [own.id]


# Cost


@pytest.mark.parametrize(
    "url", ["/agenda/missed", "/agenda/missed?owner=everyone&days=90", "/agenda/missed?day={day}"]
)
def test_queries_do_not_grow_with_the_leads(logged_in, admin, seller, url):
    url = url.format(day=(utc_today() - timedelta(days=1)).isoformat())

    def make(count):
        for n in range(count):
            owner = admin if n % 2 else seller
            lead = funnel.create_lead(
                owner, title=f"Lead {n}", next_step_at=yesterday_noon() - timedelta(hours=n)
            )
            db.session.flush()
            talked = yesterday_noon() - timedelta(days=1, hours=n)
            # Logged as it happened, before the step was due: the step stands, missed.
            with at(talked):
                funnel.log_activity(lead, owner, factories.kind(), "Talked", occurred_at=talked)
        db.session.commit()

    make(2)
    few = count_queries(logged_in, url)
    make(40)
    assert count_queries(logged_in, url) == few


def test_the_page_in_russian(client, auth, stages):
    russian = factories.user(name="Иван Петров", role=Role.MANAGER, locale="ru")
    step(russian, yesterday_noon())
    auth.login(russian.email)
    response = client.get("/agenda/missed?owner=everyone")
    assert response.status_code == 200
    assert 'lang="ru"' in response.text
