"""The activity report, proven on a small hand-built history.

The period is 1 to 20 October 2026 (20 days): the weeks of Monday 28 September (1 to 4 October
only), 5 October, 12 October and 19 October (19 and 20 only). Moments are UTC; the viewers are
in UTC unless a test says otherwise. Ann is a salesperson, Bob a manager, so he may log
contacts on Ann's leads, and they count for him.

Every contact of the history, and whether it counts, is in `CONTACTS`; the right answers are
worked out by hand from it and written in the tests.
"""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.analytics import activity as report
from crm.analytics import cache
from crm.analytics.filters import ReportFilters
from crm.extensions import db
from crm.models import Lead, Role, utcnow
from crm.timezones import local_today
from tests import factories
from tests.analytics_pages import ReportPage, csv_rows, listed, report_page
from tests.querycount import count_queries

PERIOD = "period=custom&from=2026-10-01&to=2026-10-20"
PAGE = f"/analytics/activity?{PERIOD}"
LEADS = f"/analytics/activity/leads?{PERIOD}"
COLD, WON = 0, 7
W0, W1, W2, W3 = "2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19"
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")

# (name, author, kind, lead, when): the contacts of the history. Those named "-..." do not
# count: outside the period, on an archived lead, or deleted.
CONTACTS = [
    ("-before", "ann", "call", "L1", "2026-09-30 23:59"),
    ("a1", "ann", "call", "L1", "2026-10-01 09:00"),
    ("a2", "ann", "email", "L1", "2026-10-04 23:59"),
    ("a3", "ann", "call", "W0", "2026-10-02 10:00"),
    ("-early", "ann", "call", "W1", "2026-09-29 10:00"),
    ("a4", "ann", "call", "W1", "2026-10-05 00:00"),
    ("a5", "ann", "meeting", "W1", "2026-10-08 10:00"),
    ("-archived", "ann", "call", "L3", "2026-10-07 10:00"),
    # Sunday 11 October in UTC; Monday 12 October, 00:30 in Vladivostok.
    ("a6", "ann", "call", "L1", "2026-10-11 14:30"),
    ("b1", "bob", "call", "L1", "2026-10-06 10:00"),
    ("b2", "bob", "email", "W1", "2026-10-09 12:00"),
    ("-deleted", "bob", "email", "L2", "2026-10-09 13:00"),
    ("b3", "bob", "call", "W2", "2026-10-12 08:00"),
    ("b4", "bob", "call", "W2", "2026-10-13 08:00"),
    ("b5", "bob", "call", "W2", "2026-10-16 10:00"),
    ("b6", "bob", "message", "L2", "2026-10-19 00:00"),
    ("b7", "bob", "meeting", "W2", "2026-10-20 23:59"),
    ("-after", "bob", "call", "L2", "2026-10-21 00:00"),
]
# The week each counted contact falls in, for a viewer in UTC.
WEEKS = {
    "a1": W0,
    "a2": W0,
    "a3": W0,
    "a4": W1,
    "a5": W1,
    "a6": W1,
    "b1": W1,
    "b2": W1,
    "b3": W2,
    "b4": W2,
    "b5": W2,
    "b6": W3,
    "b7": W3,
}


def at(text):
    return datetime.fromisoformat(text)


@pytest.fixture(autouse=True)
def fresh_results():
    cache.forget_all()
    yield
    cache.forget_all()


def csv_of(name, query=PERIOD):
    """The address of the report's CSV download `name` for `query`."""
    return f"/analytics/activity/{name}.csv?{query}"


def login(auth, user):
    response = auth.login(user.email)
    assert response.status_code == 303


# The history


class History:
    def __init__(self, stages, admin):
        s = stages
        self.admin = admin
        self.ann = factories.user(name="Ann Archer", email="ann@example.com")
        self.bob = factories.user(name="Bob Baker", email="bob@example.com", role=Role.MANAGER)
        ann, bob = self.ann, self.bob

        def won(owner, created, won_at, **details):
            path = [(s[COLD], at(created)), (s[WON], at(won_at))]
            return factories.lead_with_history(owner, path, **details)

        self.leads = {
            "L1": factories.lead(owner=ann, source="Website"),
            "L2": factories.lead(owner=bob, source="Referral"),
            "L3": factories.lead(owner=ann, source="Website"),
            # Won before the period: its contacts count, but not as contacts on a won lead.
            "W0": won(ann, "2026-09-01 10:00", "2026-09-25 10:00", source="Website"),
            "W1": won(ann, "2026-09-20 10:00", "2026-10-10 12:00", source="Website"),
            "W2": won(bob, "2026-10-01 10:00", "2026-10-15 09:00", source="Referral"),
        }
        self.contacts = {}
        for name, author, kind, lead, when in CONTACTS:
            self.contacts[name] = factories.activity(
                self.leads[lead], getattr(self, author), kind_code=kind, occurred_at=at(when)
            )
        self.contacts["-deleted"].deleted_at = at("2026-10-10 00:00")
        self.leads["L3"].archived = True
        db.session.commit()

    def numbers(self, *names):
        return {self.leads[name].number for name in names}

    def counted(self, author=None, kind=None, week=None):
        """The leads of the counted contacts, narrowed as a link's arguments narrow them."""
        found = set()
        for name, who, what, lead, _when in CONTACTS:
            if name.startswith("-"):
                continue
            if author is not None and getattr(self, who).id != int(author):
                continue
            if kind is not None and factories.kind(what).id != int(kind):
                continue
            if week is not None and WEEKS[name] != week:
                continue
            found.add(self.leads[lead].number)
        return found


@pytest.fixture
def history(app, stages, admin):
    return History(stages, admin)


def kind_id(code):
    return factories.kind(code).id


# Contacts per person, kind and week


def test_contacts_per_person_and_kind(logged_in, history):
    shown = report_page(logged_in, PAGE)
    ann, bob = history.ann, history.bob
    # Columns: person, contacts, per week, Call, Email, Meeting, Message, Note, the strip.
    # Ann: a1 a3 a4 a6 calls, a2 email, a5 meeting; 6 in 20 days is 2.1 a week.
    assert shown.rows[f"contacts-{ann.id}"][:8] == [
        "Ann Archer",
        "6",
        "2.1",
        "4",
        "1",
        "1",
        "0",
        "0",
    ]
    # Bob: b1 b3 b4 b5 calls, b2 email, b7 meeting, b6 message: 7, 2.45 a week, rounded up.
    assert shown.rows[f"contacts-{bob.id}"][:8] == [
        "Bob Baker",
        "7",
        "2.5",
        "4",
        "1",
        "1",
        "1",
        "0",
    ]
    assert shown.rows["contacts-total"][:8] == ["Everyone", "13", "4.6", "8", "2", "2", "1", "0"]
    # The most contacts first; the administrator logged none.
    order = [row for row in shown.rows if re.fullmatch(r"contacts-\d+", row)]
    assert order == [f"contacts-{bob.id}", f"contacts-{ann.id}"]


def test_contacts_week_by_week(logged_in, history):
    shown = report_page(logged_in, PAGE)
    # Columns: the week, Bob, Ann, everyone.
    assert shown.rows[f"week-{W0}"] == ["Sep 28, 2026", "0", "3", "3"]
    assert shown.rows[f"week-{W1}"] == ["Oct 5, 2026", "2", "3", "5"]
    assert shown.rows[f"week-{W2}"] == ["Oct 12, 2026", "3", "0", "3"]
    assert shown.rows[f"week-{W3}"] == ["Oct 19, 2026", "2", "0", "2"]
    assert len([row for row in shown.rows if row.startswith("week-")]) == 4


def test_compute_returns_plain_counts(app, history):
    with app.test_request_context():
        filters = ReportFilters.from_args(
            {"period": "custom", "from": "2026-10-01", "to": "2026-10-20"}, history.admin
        )
        result = report.compute(filters)
    assert [kind.name for kind in result.kinds] == ["Call", "Email", "Meeting", "Message", "Note"]
    assert [str(monday) for monday in result.weeks] == [W0, W1, W2, W3]
    bob, ann = result.people
    assert (bob.name, bob.by_week, ann.by_week) == ("Bob Baker", (0, 2, 3, 2), (3, 3, 0, 0))
    # Kinds by weeks: calls in weeks 1 and 2, the email in week 1 ...
    assert bob.cells == ((0, 1, 3, 0), (0, 1, 0, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert result.everyone.by_week == (3, 5, 3, 2)
    assert result.busiest_week == 3


def test_deleted_archived_and_outside_contacts_are_not_counted(logged_in, history):
    shown = report_page(logged_in, PAGE)
    assert shown.rows["contacts-total"][1] == "13"
    # L3 is archived: none of Ann's leads behind her number is it.
    behind = listed(logged_in, LEADS, f"table=contacts&author={history.ann.id}")
    assert behind == history.numbers("L1", "W0", "W1")
    # L2's only counted contact is Bob's message: the deleted email and the call after the
    # period are not.
    behind = listed(
        logged_in, LEADS, f"table=contacts&author={history.bob.id}&kind={kind_id('email')}"
    )
    assert behind == history.numbers("W1")


def test_a_monday_past_midnight_in_vladivostok_is_in_the_new_week(client, auth, history):
    far_east = factories.user(
        name="Vera Far East",
        email="vera@example.com",
        role=Role.MANAGER,
        timezone="Asia/Vladivostok",
    )
    login(auth, far_east)
    shown = report_page(client, PAGE)
    # In Vladivostok (UTC+10) the period runs from 30 September 14:00 to 20 October 14:00 UTC.
    # Ann: "-before" (1 Oct 09:59 there), a1 and a3 in the first week; a2 (Monday 5 Oct,
    # 09:59), a4 and a5 in the second; a6, Monday 12 October 00:30, in the third.
    # Bob's b7, 21 October 09:59 there, is after the period: Ann has the most contacts, so
    # her column comes first.
    assert shown.rows[f"contacts-{history.ann.id}"][1:3] == ["7", "2.5"]
    assert shown.rows[f"contacts-{history.bob.id}"][1] == "6"
    assert shown.rows[f"week-{W0}"][1:] == ["3", "0", "3"]
    assert shown.rows[f"week-{W1}"][1:] == ["3", "2", "5"]
    assert shown.rows[f"week-{W2}"][1:] == ["1", "3", "4"]
    assert shown.rows[f"week-{W3}"][1:] == ["0", "1", "1"]
    behind = listed(client, LEADS, f"table=contacts&author={history.ann.id}&week={W2}")
    assert behind == history.numbers("L1")


def test_the_owner_filter_picks_the_author(logged_in, history):
    bob = history.bob
    shown = report_page(logged_in, f"{PAGE}&owner={bob.id}")
    # Bob's contacts, on his leads and on Ann's (b1 on L1, b2 on W1).
    assert shown.rows[f"contacts-{bob.id}"][:3] == ["Bob Baker", "7", "2.5"]
    assert f"contacts-{history.ann.id}" not in shown.rows
    assert shown.rows["contacts-total"][1] == "7"
    behind = listed(logged_in, LEADS, f"owner={bob.id}&table=contacts")
    assert behind == history.numbers("L1", "L2", "W1", "W2")


def test_the_source_filter_is_the_leads_source(logged_in, history):
    shown = report_page(logged_in, f"{PAGE}&source=Website")
    # Ann's contacts are all on Website leads; Bob's b1 (L1) and b2 (W1) are.
    assert shown.rows[f"contacts-{history.ann.id}"][1] == "6"
    assert shown.rows[f"contacts-{history.bob.id}"][:4] == ["Bob Baker", "2", "0.7", "1"]
    assert shown.rows["contacts-total"][1] == "8"
    behind = listed(logged_in, LEADS, f"source=Website&table=contacts&author={history.bob.id}")
    assert behind == history.numbers("L1", "W1")
    shown = report_page(logged_in, f"{PAGE}&source=Referral&owner={history.bob.id}")
    # Bob's b3 to b7 on W2 and L2; the deleted email and the call after the period are not.
    assert shown.rows[f"contacts-{history.bob.id}"][:8] == [
        "Bob Baker",
        "5",
        "1.8",
        "3",
        "0",
        "1",
        "1",
        "0",
    ]
    assert list(shown.rows).count(f"contacts-{history.ann.id}") == 0


def test_contacts_strip_and_empty_period(logged_in, history):
    response = logged_in.get(PAGE)
    assert response.text.count('class="hbar bar-neutral week-strip"') == 2
    empty = logged_in.get("/analytics/activity?period=custom&from=2020-01-01&to=2020-01-31")
    assert "No contacts were logged in this period." in empty.text
    assert "No contacts on leads won in this period." in empty.text


# Contacts per won lead


def test_contacts_per_won_lead(logged_in, history):
    shown = report_page(logged_in, PAGE)
    # W1 (won 10 October) and W2 (won 15 October); W0 was won before the period.
    # Ann: a4 and a5 on W1. Bob: b2 on W1, b3 b4 b5 b7 on W2.
    assert shown.rows[f"won-{history.bob.id}"] == ["Bob Baker", "5", "2", "2.5", ""]
    assert shown.rows[f"won-{history.ann.id}"] == ["Ann Archer", "2", "1", "2.0", ""]
    assert shown.rows["won-total"] == ["Everyone", "7", "2", "3.5", ""]
    assert listed(
        logged_in, LEADS, f"table=per-won-lead&author={history.bob.id}"
    ) == history.numbers("W1", "W2")
    assert listed(
        logged_in, LEADS, f"table=per-won-lead&author={history.ann.id}"
    ) == history.numbers("W1")
    assert listed(logged_in, LEADS, "table=per-won-lead") == history.numbers("W1", "W2")


def test_a_lead_won_then_reopened_is_not_won(logged_in, stages, history):
    from crm import funnel

    funnel.move_lead(history.leads["W2"], stages[COLD], history.bob, at=at("2026-10-18 10:00"))
    db.session.commit()
    shown = report_page(logged_in, PAGE)
    assert shown.rows[f"won-{history.bob.id}"] == ["Bob Baker", "1", "1", "1.0", ""]
    assert f"won-{history.ann.id}" in shown.rows
    assert shown.rows["won-total"] == ["Everyone", "3", "1", "3.0", ""]


# Overdue next steps


@pytest.fixture
def overdue(app, stages, history):
    """Open leads with next steps around the start of today (UTC)."""
    today_starts = datetime.combine(utcnow().date(), datetime.min.time())
    ann, bob = history.ann, history.bob

    def lead(owner, due, stage=None, **details):
        return factories.lead(owner=owner, stage=stage, next_step_at=due, **details)

    leads = {
        "yesterday": lead(ann, today_starts - timedelta(minutes=1)),
        "today": lead(ann, today_starts),
        "bob-3": lead(bob, today_starts - timedelta(days=3)),
        "bob-10": lead(bob, today_starts - timedelta(days=10), source="Website"),
        "nobody": lead(None, today_starts - timedelta(days=2)),
        "archived": lead(ann, today_starts - timedelta(days=5)),
        "won": lead(bob, today_starts - timedelta(days=5), stage=stages[WON]),
    }
    leads["archived"].archived = True
    db.session.commit()
    return {name: each.number for name, each in leads.items()}


def test_most_overdue_next_steps(logged_in, history, overdue):
    shown = report_page(logged_in, PAGE)
    ann, bob = history.ann, history.bob
    # Ann's step due at the start of today is not overdue; the one a minute before is.
    assert shown.rows[f"overdue-{bob.id}"] == ["Bob Baker", "2", ""]
    assert shown.rows[f"overdue-{ann.id}"] == ["Ann Archer", "1", ""]
    assert shown.rows["overdue-none"] == ["Nobody", "1", ""]
    assert shown.rows["overdue-total"] == ["Total", "4", ""]
    order = [row for row in shown.rows if row.startswith("overdue-") and row != "overdue-total"]
    assert order == [f"overdue-{bob.id}", f"overdue-{ann.id}", "overdue-none"]
    assert listed(logged_in, LEADS, f"table=overdue&person={bob.id}") == {
        overdue["bob-3"],
        overdue["bob-10"],
    }
    assert listed(logged_in, LEADS, f"table=overdue&person={ann.id}") == {overdue["yesterday"]}
    assert listed(logged_in, LEADS, "table=overdue&person=none") == {overdue["nobody"]}
    assert listed(logged_in, LEADS, "table=overdue") == {
        overdue["yesterday"],
        overdue["bob-3"],
        overdue["bob-10"],
        overdue["nobody"],
    }
    # The owner filter is the lead's owner here, and the source the lead's.
    shown = report_page(logged_in, f"{PAGE}&owner={ann.id}")
    assert [row for row in shown.rows if row.startswith("overdue-")] == [
        f"overdue-{ann.id}",
        "overdue-total",
    ]
    shown = report_page(logged_in, f"{PAGE}&source=Website")
    assert shown.rows["overdue-total"] == ["Total", "1", ""]
    html = logged_in.get(PAGE).text
    assert html.count('class="hbar bar-danger"') == 3


def test_overdue_is_counted_from_the_start_of_the_viewers_today(client, auth, history):
    far_east = factories.user(
        name="Vera Far East",
        email="vera@example.com",
        role=Role.MANAGER,
        timezone="Asia/Vladivostok",
    )
    midnight = datetime.now(VLADIVOSTOK).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = midnight.astimezone(UTC).replace(tzinfo=None)
    factories.lead(owner=history.ann, next_step_at=starts - timedelta(minutes=1))
    factories.lead(owner=history.ann, next_step_at=starts)
    login(auth, far_east)
    shown = report_page(client, PAGE)
    assert shown.rows[f"overdue-{history.ann.id}"] == ["Ann Archer", "1", ""]


def test_overdue_moves_with_the_day(app, history):
    with app.test_request_context():
        assert report.REPORT.moves_with() == (local_today(), "UTC")


# Who sees what


def test_a_salesperson_sees_only_their_own(client, auth, history, overdue):
    ann, bob = history.ann, history.bob
    login(auth, ann)
    shown = report_page(client, f"{PAGE}&owner={bob.id}")
    assert shown.rows[f"contacts-{ann.id}"][:3] == ["Ann Archer", "6", "2.1"]
    assert f"contacts-{bob.id}" not in shown.rows
    assert shown.rows["contacts-total"][1] == "6"
    assert shown.rows[f"won-{ann.id}"] == ["Ann Archer", "2", "1", "2.0", ""]
    assert f"won-{bob.id}" not in shown.rows
    assert shown.rows["overdue-total"] == ["Total", "1", ""]
    assert f"overdue-{bob.id}" not in shown.rows
    # Bob's numbers are not hers to list.
    assert listed(client, LEADS, f"table=contacts&author={bob.id}") == set()
    assert listed(client, LEADS, f"table=overdue&person={bob.id}") == set()
    assert listed(client, LEADS, "table=contacts") == history.numbers("L1", "W0", "W1")
    rows = csv_rows(client, csv_of("contacts", f"{PERIOD}&owner={bob.id}"))
    assert {row[0] for row in rows[1:]} == {"Ann Archer"}


# The leads behind every number


def test_every_number_lists_the_leads_it_counts(logged_in, history):
    shown = report_page(logged_in, PAGE)
    contacts = {key: text for key, text in shown.links.items() if ("table", "contacts") in key}
    # Everyone, two people, their kinds, the weeks: every count with its own link.
    assert len(contacts) == 23
    for key in contacts:
        args = dict(key)
        query = "&".join(f"{name}={value}" for name, value in key)
        assert listed(logged_in, LEADS, query) == history.counted(
            args.get("author"), args.get("kind"), args.get("week")
        ), key


@pytest.mark.parametrize(
    "query",
    [
        "",
        "table=nothing",
        "table=contacts&author=abc",
        "table=contacts&author=0",
        "table=contacts&author=",
        "table=contacts&author=99999999999999999999",
        "table=contacts&author=987654",
        "table=contacts&kind=x",
        "table=contacts&kind=987654",
        "table=contacts&week=2026-10-13",
        "table=contacts&week=2026-13-01",
        "table=contacts&week=2026-10-26",
        "table=contacts&week=2026-10-05T00",
        "table=contacts&week=",
        "table=per-won-lead&author=-1",
        "table=per-won-lead&author=987654",
        "table=overdue&person=abc",
        "table=overdue&person=987654",
        "table=overdue&person=",
    ],
)
def test_bad_arguments_are_404(logged_in, history, query):
    assert logged_in.get(f"{LEADS}&{query}").status_code == 404


def test_captions_name_the_number(logged_in, history):
    response = logged_in.get(
        f"{LEADS}&table=contacts&author={history.bob.id}&kind={kind_id('call')}&week={W2}"
    )
    assert "Contacts, Bob Baker, Call, week of Oct 12, 2026" in response.text


# Downloads


def test_csv_downloads(logged_in, history, overdue):
    rows = csv_rows(logged_in, csv_of("contacts"))
    assert rows[0] == ["Person", "Kind", "Week", "Contacts"]
    # Long form: a row per person, kind and week with any contacts; Bob first.
    assert rows[1:] == [
        ["Bob Baker", "Call", W1, "1"],
        ["Bob Baker", "Call", W2, "3"],
        ["Bob Baker", "Email", W1, "1"],
        ["Bob Baker", "Meeting", W3, "1"],
        ["Bob Baker", "Message", W3, "1"],
        ["Ann Archer", "Call", W0, "2"],
        ["Ann Archer", "Call", W1, "2"],
        ["Ann Archer", "Email", W0, "1"],
        ["Ann Archer", "Meeting", W1, "1"],
    ]
    assert csv_rows(logged_in, csv_of("per-won-lead")) == [
        ["Person", "Contacts on won leads", "Won leads", "Contacts per won lead"],
        ["Bob Baker", "5", "2", "2.5"],
        ["Ann Archer", "2", "1", "2.0"],
        ["Everyone", "7", "2", "3.5"],
    ]
    assert csv_rows(logged_in, csv_of("overdue")) == [
        ["Owner", "Overdue next steps"],
        ["Bob Baker", "2"],
        ["Ann Archer", "1"],
        ["Nobody", "1"],
    ]
    assert logged_in.get(f"/analytics/activity/nothing.csv?{PERIOD}").status_code == 404


# Language, and the cost of a page


def test_the_page_in_russian(client, auth, history):
    ivan = factories.user(
        name="Иван Иванов", email="ivan@example.com", role=Role.MANAGER, locale="ru"
    )
    login(auth, ivan)
    response = client.get(PAGE)
    assert response.status_code == 200
    shown = ReportPage(response.text)
    assert shown.rows["contacts-total"][:3] == ["Все", "13", "4,6"]
    assert shown.rows[f"won-{history.bob.id}"][3] == "2,5"
    assert 'lang="ru"' in response.text


def test_queries_do_not_grow_with_the_data(logged_in, history, overdue):
    urls = [
        PAGE,
        f"{LEADS}&table=contacts&author={history.bob.id}&week={W2}",
        f"{LEADS}&table=per-won-lead",
        f"{LEADS}&table=overdue",
        f"/analytics/activity/contacts.csv?{PERIOD}",
    ]
    # A listed lead with a contact costs its hint's query: have one from the start.
    contacted = db.session.scalar(select(Lead).where(Lead.number == overdue["bob-3"]))
    factories.activity(contacted, history.bob, occurred_at=at("2026-10-02 10:00"))
    before = [count_queries(logged_in, url) for url in urls]
    for n in range(3):
        someone = factories.user(name=f"Extra {n}", role=Role.MANAGER)
        for day in range(1, 20, 3):
            lead = factories.lead(owner=someone, next_step_at=at("2026-10-01 10:00"))
            for code in ("call", "email", "meeting"):
                factories.activity(
                    lead, someone, kind_code=code, occurred_at=at(f"2026-10-{day:02d} 12:00")
                )
    cache.forget_all()
    assert [count_queries(logged_in, url) for url in urls] == before


def test_a_renamed_kind_shows_at_once(logged_in, history):
    report_page(logged_in, PAGE)
    factories.kind("call").name = "Phone call"
    db.session.commit()
    assert "Phone call" in logged_in.get(PAGE).text
