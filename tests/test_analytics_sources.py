"""The sources report, proven on a small hand-built history.

Leads created August to October 2026 (UTC unless a test says otherwise), by source, and where
they stand now. The right answers are worked out by hand in the comments of `history`.
"""

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import pytest

from crm import funnel
from crm.analytics import cache
from crm.extensions import db
from crm.models import Lead, Role
from tests import factories
from tests.analytics_pages import csv_rows, listed, numbers_of, report_page
from tests.querycount import count_queries

PERIOD = "period=custom&from=2026-08-01&to=2026-10-31"
PAGE = f"/analytics/sources?{PERIOD}"
LEADS = f"/analytics/sources/leads?{PERIOD}"
COLD, INTERESTED, REQUESTED, MADE, TASK, TERMS, SIGNING, WON, LOST = range(9)


def at(text):
    return datetime.fromisoformat(text)


def body(page):
    """The rows after the header: source, leads, (bar), won, lost, open, win rate, value."""
    return page.table_rows[1:]


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


@pytest.fixture
def colleague(app, stages):
    return factories.user(name="Cleo Colleague", email="cleo@example.com")


@pytest.fixture
def history(app, stages, admin, seller, colleague):
    s = stages

    def made(path, owner=seller, **details):
        return factories.lead_with_history(owner, path, **details)

    leads = {
        # Website: 4 leads, 1 won (1,000), 1 lost, 2 open; win rate 50%.
        "W1": made(
            [(s[COLD], at("2026-08-05 10:00")), (s[WON], at("2026-09-01 10:00"))],
            source="Website",
            value=Decimal("1000"),
        ),
        "W2": made(
            [(s[COLD], at("2026-08-06 10:00")), (s[LOST], at("2026-09-02 10:00"))],
            source="Website",
        ),
        "W3": made([(s[INTERESTED], at("2026-09-01 10:00"))], source="Website"),
        # Lost, then taken up again: open.
        "W4": made(
            [
                (s[COLD], at("2026-09-03 10:00")),
                (s[LOST], at("2026-09-10 10:00")),
                (s[TERMS], at("2026-09-20 10:00")),
            ],
            source="Website",
        ),
        # Referral: 2 leads, both won (2,500 and 500), the second after the period.
        "R1": made(
            [(s[COLD], at("2026-08-10 10:00")), (s[WON], at("2026-10-01 10:00"))],
            source="Referral",
            value=Decimal("2500"),
        ),
        "R2": made(
            [(s[COLD], at("2026-10-02 10:00")), (s[WON], at("2026-11-20 10:00"))],
            source="Referral",
            value=Decimal("500"),
        ),
        # No source: 2 leads, 1 open, 1 lost (created on the last evening of the period).
        "N1": made([(s[COLD], at("2026-08-01 00:00"))]),
        "N2": made([(s[COLD], at("2026-10-31 23:00")), (s[LOST], at("2026-11-02 10:00"))]),
        # Cleo's Partner lead, won (1,000).
        "P1": made(
            [(s[COLD], at("2026-08-20 10:00")), (s[WON], at("2026-08-30 10:00"))],
            owner=colleague,
            source="Partner",
        ),
        # Left out: created before the period; archived.
        "X1": made(
            [(s[COLD], at("2026-07-31 09:00")), (s[WON], at("2026-08-10 10:00"))],
            source="Website",
        ),
        "X2": made([(s[COLD], at("2026-08-15 10:00"))], source="Referral"),
        # 00:30 on 1 August in Vladivostok: in the period there, not in UTC.
        "V1": made([(s[COLD], at("2026-07-31 14:30"))], source="Exhibition"),
    }
    funnel.archive_lead(leads["X2"], admin)
    db.session.commit()
    return leads


def test_leads_and_outcomes_by_source(logged_in, history):
    page = report_page(logged_in, PAGE)
    assert body(page) == [
        ["Website", "4", "", "1", "1", "2", "50%", "1,000"],
        ["Referral", "2", "", "2", "0", "0", "100%", "3,000"],
        ["No source", "2", "", "0", "1", "1", "0%", "0"],
        ["Partner", "1", "", "1", "0", "0", "100%", "1,000"],
        ["Total", "9", "", "4", "2", "3", "67%", "5,000"],
    ]


def test_numbers_link_to_the_leads_behind_them(logged_in, history):
    h = history
    page = report_page(logged_in, PAGE)
    assert page.numbers[(("source_key", "s:Website"),)] == 4
    assert page.numbers[(("outcome", "open"), ("source_key", "s:Website"))] == 2
    assert page.numbers[(("outcome", "lost"), ("source_key", "none"))] == 1
    assert listed(logged_in, LEADS, "source_key=none") == numbers_of(h["N1"], h["N2"])
    assert listed(logged_in, LEADS, "source_key=s:Website&outcome=open") == numbers_of(
        h["W3"], h["W4"]
    )
    assert listed(logged_in, LEADS, "outcome=won") == numbers_of(h["W1"], h["R1"], h["R2"], h["P1"])
    # A source's bar opens the same list as its number of leads.
    assert [dict(key)["source_key"] for key in page.bars] == [
        "s:Website",
        "s:Referral",
        "none",
        "s:Partner",
    ]
    for key, count in page.numbers.items():
        query = "&".join(f"{name}={quote(value)}" for name, value in key)
        assert len(listed(logged_in, LEADS, query)) == count, key


def test_the_source_filter_narrows_to_one_source(logged_in, history):
    page = report_page(logged_in, f"{PAGE}&source=Referral")
    assert body(page) == [
        ["Referral", "2", "", "2", "0", "0", "100%", "3,000"],
        ["Total", "2", "", "2", "0", "0", "100%", "3,000"],
    ]
    # A drill-down for another source under that filter lists nothing.
    assert listed(logged_in, LEADS, "source=Referral&source_key=s:Website") == set()


def test_owner_filter_and_a_salesperson(client, auth, logged_in, history, colleague, seller):
    page = report_page(logged_in, f"{PAGE}&owner={colleague.id}")
    assert body(page) == [
        ["Partner", "1", "", "1", "0", "0", "100%", "1,000"],
        ["Total", "1", "", "1", "0", "0", "100%", "1,000"],
    ]
    auth.logout()
    auth.login(seller.email)
    for url in (PAGE, f"{PAGE}&owner={colleague.id}"):
        page = report_page(client, url)
        assert [row[0] for row in body(page)] == ["Website", "Referral", "No source", "Total"]
        assert body(page)[-1] == ["Total", "8", "", "3", "2", "3", "60%", "4,000"]
    assert history["P1"].number not in listed(client, LEADS, "outcome=won")
    assert listed(client, LEADS, "source_key=s:Partner") == set()


def test_the_period_in_the_users_zone(client, auth, history):
    far = factories.admin(name="Vlad", email="vlad@example.com", timezone="Asia/Vladivostok")
    auth.login(far.email)
    page = report_page(client, PAGE)
    rows = {row[0]: row[1] for row in body(page)}
    # V1 (00:30 on 1 August there) comes in; N2 (09:00 on 1 November there) goes out.
    assert rows["Exhibition"] == "1"
    assert rows["No source"] == "1"
    assert rows["Total"] == "9"
    assert listed(client, LEADS, "source_key=none") == numbers_of(history["N1"])


def test_csv_download(logged_in, history, admin):
    assert csv_rows(logged_in, f"/analytics/sources/sources.csv?{PERIOD}") == [
        ["Source", "Leads", "Leads won", "Leads lost", "Still open", "Win rate (%)", "Won value"],
        ["Website", "4", "1", "1", "2", "50.0", "1000.00"],
        ["Referral", "2", "2", "0", "0", "100.0", "3000.00"],
        ["No source", "2", "0", "1", "1", "0.0", "0"],
        ["Partner", "1", "1", "0", "0", "100.0", "1000.00"],
        ["Total", "9", "4", "2", "3", "66.7", "5000.00"],
    ]
    admin.locale = "ru"
    db.session.commit()
    header = csv_rows(logged_in, f"/analytics/sources/sources.csv?{PERIOD}")[0]
    assert header[:2] == ["Источник", "Лиды"]
    assert logged_in.get(PAGE).status_code == 200


def test_a_formula_like_source_is_made_inert(logged_in, stages):
    factories.lead_with_history(None, [(stages[COLD], at("2026-08-05 10:00"))], source="=1+2")
    text = logged_in.get(f"/analytics/sources/sources.csv?{PERIOD}").text
    assert "\r\n'=1+2,1," in text


def test_no_leads_in_the_period(logged_in, stages):
    response = logged_in.get(PAGE)
    assert response.status_code == 200
    assert "No leads were created in the period." in response.text


@pytest.mark.parametrize(
    "query",
    [
        "source_key=Website",
        "source_key=",
        "source_key=s:",
        "source_key=NONE",
        "source_key=s:%00",
        "outcome=",
        "outcome=closed",
        "outcome=won&source_key=x",
    ],
)
def test_args_that_name_no_number_are_404(logged_in, stages, query):
    assert logged_in.get(f"{LEADS}&{query}").status_code == 404


def test_bad_filters_are_not_an_error(logged_in, history):
    for query in ("period=custom&from=2026-13-01&to=x", "owner=abc", "source=%00", "owner=-5"):
        assert logged_in.get(f"/analytics/sources?{query}").status_code == 200
        assert logged_in.get(f"/analytics/sources/sources.csv?{query}").status_code == 200
        assert logged_in.get(f"/analytics/sources/leads?{query}").status_code == 200


def test_the_query_count_does_not_grow_with_the_data(logged_in, stages, admin):
    def add(n, source, owner):
        for i in range(n):
            path = [(stages[COLD], at("2026-08-05 10:00"))]
            if i % 3:
                path.append((stages[WON if i % 3 == 1 else LOST], at("2026-09-05 10:00")))
            factories.lead_with_history(owner, path, source=source)

    add(2, "Website", admin)
    logged_in.get(PAGE)
    cache.forget_all()
    small = count_queries(logged_in, PAGE)
    for n, source in enumerate(["Referral", "Partner", None, "Exhibition"]):
        add(5, source, factories.user(role=Role.SALESPERSON, email=f"p{n}@example.com"))
    cache.forget_all()
    large = count_queries(logged_in, PAGE)
    assert small == large
    assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 22
