"""The won and lost report, proven on a small hand-built history.

Months August to October 2026 (UTC unless a test says otherwise). The right answers are worked
out by hand in the comments of `history` and written in the tests: wins and losses per month,
days to win, the losses by reason and the stage lost from, a lead won and then lost, a lost
lead revived, a lead created lost, an archived lead and leads closed outside the period.
"""

from datetime import datetime
from decimal import Decimal

import pytest

from crm import funnel
from crm.analytics import cache, outcomes
from crm.analytics.filters import ReportFilters
from crm.extensions import db
from crm.models import Lead, LostReason, Role
from tests import factories
from tests.analytics_pages import ReportPage, csv_rows, listed, numbers_of, report_page
from tests.querycount import count_queries

PERIOD = "period=custom&from=2026-08-01&to=2026-10-31"
PAGE = f"/analytics/won-lost?{PERIOD}"
LEADS = f"/analytics/won-lost/leads?{PERIOD}"
COLD, INTERESTED, REQUESTED, MADE, TASK, TERMS, SIGNING, WON, LOST = range(9)


def at(text):
    return datetime.fromisoformat(text)


# The history


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Sam Seller", email="sam@example.com")


@pytest.fixture
def colleague(app, stages):
    return factories.user(name="Cleo Colleague", email="cleo@example.com")


@pytest.fixture
def reasons(app, stages):
    found = db.session.scalars(db.select(LostReason).order_by(LostReason.id)).all()
    return {"price": found[0], "competitor": found[1], "budget": found[2]}


@pytest.fixture
def history(app, stages, admin, seller, colleague, reasons):
    s = stages
    price, competitor, budget = reasons["price"], reasons["competitor"], reasons["budget"]

    def made(owner, path, **details):
        return factories.lead_with_history(owner, path, **details)

    leads = {
        # Won 10 August, 21.0 days after creation.
        "A": made(
            seller,
            [
                (s[COLD], at("2026-07-20 10:00")),
                (s[TERMS], at("2026-07-25 10:00")),
                (s[WON], at("2026-08-10 10:00")),
            ],
            value=Decimal("1000"),
            source="Website",
        ),
        # Won 11 August, 10.0 days after creation.
        "B": made(
            seller,
            [(s[COLD], at("2026-08-01 00:00")), (s[WON], at("2026-08-11 00:00"))],
            value=Decimal("3000"),
        ),
        # Cleo's: lost on price at Discussing terms on 3 September.
        "C": made(
            colleague,
            [
                (s[COLD], at("2026-08-05 09:00")),
                (s[TERMS], at("2026-08-20 09:00")),
                (s[LOST], at("2026-09-03 12:00")),
            ],
            lost_reason=price,
            value=Decimal("500"),
            source="Website",
        ),
        # Lost on price at Discussing terms, 10 and 20 September.
        "D": made(
            seller,
            [
                (s[COLD], at("2026-08-02 09:00")),
                (s[TERMS], at("2026-08-15 09:00")),
                (s[LOST], at("2026-09-10 09:00")),
            ],
            lost_reason=price,
            value=Decimal("700"),
        ),
        "L": made(
            seller,
            [
                (s[COLD], at("2026-08-03 09:00")),
                (s[TERMS], at("2026-08-16 09:00")),
                (s[LOST], at("2026-09-20 09:00")),
            ],
            lost_reason=price,
            value=Decimal("700"),
        ),
        # Lost to a competitor at Estimate made, 15 September.
        "E": made(
            seller,
            [
                (s[COLD], at("2026-06-01 09:00")),
                (s[MADE], at("2026-07-01 09:00")),
                (s[LOST], at("2026-09-15 09:00")),
            ],
            lost_reason=competitor,
        ),
        # Lost on 20 August, taken up again on 1 September: not lost, not counted.
        "F": made(
            seller,
            [
                (s[COLD], at("2026-08-01 09:00")),
                (s[LOST], at("2026-08-20 09:00")),
                (s[INTERESTED], at("2026-09-01 09:00")),
            ],
            lost_reason=budget,
        ),
        # Won in September, but archived: left out.
        "G": made(seller, [(s[COLD], at("2026-08-01 09:00")), (s[WON], at("2026-09-05 09:00"))]),
        # Won 1 October, 30.5 days after creation.
        "H": made(
            seller,
            [(s[COLD], at("2026-09-01 00:00")), (s[WON], at("2026-10-01 12:00"))],
            value=Decimal("2000"),
        ),
        # Created lost on 5 October: no reason, no stage lost from.
        "I": made(seller, [(s[LOST], at("2026-10-05 09:00"))]),
        # Cleo's: won in August, then lost to a competitor on 10 October: lost from Work!, and
        # no longer won.
        "K": made(
            colleague,
            [
                (s[COLD], at("2026-08-01 09:00")),
                (s[WON], at("2026-08-25 09:00")),
                (s[LOST], at("2026-10-10 09:00")),
            ],
            lost_reason=competitor,
        ),
        # Closed outside the period.
        "J": made(seller, [(s[COLD], at("2026-07-01 09:00")), (s[WON], at("2026-07-31 23:00"))]),
        "M": made(
            seller,
            [(s[COLD], at("2026-07-01 09:00")), (s[LOST], at("2026-11-01 00:00"))],
            lost_reason=price,
        ),
    }
    funnel.archive_lead(leads["G"], admin)
    db.session.commit()
    return leads


# Per month


def test_wins_and_losses_per_month(logged_in, history):
    page = report_page(logged_in, PAGE)
    # Month: won, won value, (bar), lost, win rate, average days to win.
    assert page.rows["month-2026-08"] == ["August 2026", "2", "4,000", "", "0", "100%", "15.5"]
    assert page.rows["month-2026-09"] == ["September 2026", "0", "0", "", "4", "0%", ""]
    assert page.rows["month-2026-10"] == ["October 2026", "1", "2,000", "", "2", "33%", "30.5"]
    # 3 won of 9 closed; (21 + 10 + 30.5) / 3 days.
    assert page.rows["month-total"] == ["Total", "3", "6,000", "", "6", "33%", "20.5"]


def test_numbers_link_to_the_leads_behind_them(logged_in, history):
    page = report_page(logged_in, PAGE)
    assert page.numbers[(("month", "2026-08"), ("outcome", "won"))] == 2
    assert page.numbers[(("month", "2026-09"), ("outcome", "lost"))] == 4
    assert page.numbers[(("outcome", "won"),)] == 3
    assert page.numbers[(("outcome", "lost"),)] == 6
    h = history
    assert listed(logged_in, LEADS, "month=2026-08&outcome=won") == numbers_of(h["A"], h["B"])
    assert listed(logged_in, LEADS, "month=2026-09&outcome=lost") == numbers_of(
        h["C"], h["D"], h["L"], h["E"]
    )
    assert listed(logged_in, LEADS, "month=2026-10&outcome=lost") == numbers_of(h["I"], h["K"])
    assert listed(logged_in, LEADS, "outcome=won") == numbers_of(h["A"], h["B"], h["H"])
    # A month's bar opens the same list as its number of leads won.
    assert page.bars == [
        (("month", month), ("outcome", "won")) for month in ("2026-08", "2026-09", "2026-10")
    ]


def test_every_number_lists_as_many_leads(logged_in, history):
    page = report_page(logged_in, PAGE)
    assert len(page.numbers) > 20
    for key, count in page.numbers.items():
        query = "&".join(f"{name}={value}" for name, value in key)
        assert len(listed(logged_in, LEADS, query)) == count, key


# Loss analysis


def test_losses_by_reason_and_stage(logged_in, history, stages, reasons):
    page = report_page(logged_in, PAGE)
    price, competitor = reasons["price"].id, reasons["competitor"].id
    # Columns: Estimate made, Discussing terms, Work!, — (created lost); then the total.
    assert page.rows[f"loss-reason-{price}"] == [
        "Price too high",
        "0",
        "3 (the largest)",
        "0",
        "0",
        "3",
    ]
    assert page.rows[f"loss-reason-{competitor}"] == ["Chose a competitor", "1", "0", "1", "0", "2"]
    assert page.rows["loss-reason-none"] == ["No reason given", "0", "0", "0", "1", "1"]
    assert page.rows["loss-reason-total"] == ["Total", "1", "3", "1", "1", "6"]
    # Reasons by their total, the largest first.
    ids = [key for key in page.rows if key.startswith("loss-reason-")]
    assert ids == [
        f"loss-reason-{price}",
        f"loss-reason-{competitor}",
        "loss-reason-none",
        "loss-reason-total",
    ]
    # Lost on price at Discussing terms stands out.
    terms = stages[TERMS].id
    cell = (("from_stage", str(terms)), ("outcome", "lost"), ("reason", str(price)))
    assert page.largest == [cell]
    assert page.numbers[cell] == 3
    h = history
    assert listed(
        logged_in, LEADS, f"outcome=lost&reason={price}&from_stage={terms}"
    ) == numbers_of(h["C"], h["D"], h["L"])
    assert listed(logged_in, LEADS, "outcome=lost&reason=none&from_stage=none") == numbers_of(
        h["I"]
    )
    won_stage = stages[WON].id
    assert listed(logged_in, LEADS, f"outcome=lost&from_stage={won_stage}") == numbers_of(h["K"])


def test_losses_by_owner(logged_in, history, stages, reasons, seller, colleague):
    rows = report_page(logged_in, PAGE).tables["losses-by-owner"]
    assert rows[1:] == [
        ["Price too high", "Discussing terms", "Sam Seller", "2", "1,400"],
        ["Chose a competitor", "Estimate made", "Sam Seller", "1", "1,000"],
        ["Chose a competitor", "Work!", "Cleo Colleague", "1", "1,000"],
        ["No reason given", "— created as lost", "Sam Seller", "1", "1,000"],
        ["Price too high", "Discussing terms", "Cleo Colleague", "1", "500"],
        ["Total", "6", "4,900"],
    ]
    price, terms = reasons["price"].id, stages[TERMS].id
    query = f"outcome=lost&reason={price}&from_stage={terms}&lost_owner={seller.id}"
    assert listed(logged_in, LEADS, query) == numbers_of(history["D"], history["L"])


def test_losses_function_gives_plain_rows(app, history, stages, reasons, seller, colleague):
    filters = ReportFilters(
        period="custom",
        first_day=datetime(2026, 8, 1).date(),
        last_day=datetime(2026, 10, 31).date(),
    )
    price, competitor = reasons["price"], reasons["competitor"]
    terms, made, won = stages[TERMS].id, stages[MADE].id, stages[WON].id
    rows = outcomes.losses(filters)
    assert set(rows) == {
        (price.id, "Price too high", terms, seller.id, 2, Decimal("1400")),
        (None, None, None, seller.id, 1, Decimal("1000")),
        (competitor.id, "Chose a competitor", made, seller.id, 1, Decimal("1000")),
        (competitor.id, "Chose a competitor", won, colleague.id, 1, Decimal("1000")),
        (price.id, "Price too high", terms, colleague.id, 1, Decimal("500")),
    }
    assert len(rows) == 5
    assert rows[0] == (price.id, "Price too high", terms, seller.id, 2, Decimal("1400"))
    assert outcomes.losses(filters, from_stage_id=terms) == [
        (price.id, "Price too high", terms, seller.id, 2, Decimal("1400")),
        (price.id, "Price too high", terms, colleague.id, 1, Decimal("500")),
    ]
    assert outcomes.losses(filters, from_stage_id=stages[COLD].id) == []
    assert outcomes.top_reasons(rows)[terms] == (price.id, "Price too high", 3)


def test_losses_narrowed_to_a_stage(logged_in, history, stages, reasons):
    terms = stages[TERMS].id
    response = logged_in.get(f"{PAGE}&stage={terms}")
    assert response.status_code == 200
    assert "Losses from Discussing terms" in response.text
    assert f'href="/analytics/won-lost?{PERIOD}#losses"' in response.text.replace("&amp;", "&")
    assert 'id="losses"' in response.text
    page = ReportPage(response.text)
    price = reasons["price"].id
    assert page.rows[f"loss-reason-{price}"] == ["Price too high", "3 (the largest)", "3"]
    assert page.rows["loss-reason-total"] == ["Total", "3", "3"]
    assert f"loss-reason-{reasons['competitor'].id}" not in page.rows
    # The months are not narrowed.
    assert page.rows["month-total"][4] == "6"
    # A stage nothing was lost from, and arguments that name no stage.
    cold = logged_in.get(f"{PAGE}&stage={stages[COLD].id}")
    assert "No leads were lost from this stage in the period." in cold.text
    for bad in ("abc", "0", "99999999999999999999", "-1", "\x00"):
        response = logged_in.get(f"{PAGE}&stage={bad}")
        assert response.status_code == 200
        assert "Why leads were lost" in response.text


def test_a_revived_lead_is_not_lost(logged_in, history, reasons):
    page = report_page(logged_in, PAGE)
    budget = reasons["budget"].id
    assert f"loss-reason-{budget}" not in page.rows
    assert history["F"].number not in listed(logged_in, LEADS, "outcome=lost")


# Filters, people and time zones


def test_owner_and_source_filters(logged_in, history, colleague):
    page = report_page(logged_in, f"{PAGE}&owner={colleague.id}")
    assert page.rows["month-2026-08"][1:5] == ["0", "0", "", "0"]
    assert page.rows["month-2026-09"][4] == "1"
    assert page.rows["month-2026-10"][4] == "1"
    assert page.rows["month-total"] == ["Total", "0", "0", "", "2", "0%", ""]
    cleo = listed(logged_in, LEADS, f"owner={colleague.id}&outcome=lost")
    assert cleo == numbers_of(history["C"], history["K"])

    page = report_page(logged_in, f"{PAGE}&source=Website")
    assert page.rows["month-2026-08"] == ["August 2026", "1", "1,000", "", "0", "100%", "21.0"]
    assert page.rows["month-2026-09"][4] == "1"
    assert page.rows["month-total"][1:5] == ["1", "1,000", "", "1"]


def test_a_salesperson_sees_only_their_own(
    client, auth, history, seller, colleague, reasons, stages
):
    auth.login(seller.email)
    # Asking for a colleague's leads changes nothing.
    for url in (PAGE, f"{PAGE}&owner={colleague.id}"):
        page = report_page(client, url)
        # Cleo's loss on price (C) and her lead lost from Work! (K) are not counted.
        assert page.rows["month-2026-09"][4] == "3"
        assert page.rows["month-2026-10"][4] == "1"
        assert page.rows[f"loss-reason-{reasons['price'].id}"] == [
            "Price too high",
            "0",
            "2 (the largest)",
            "0",
            "2",
        ]
    assert history["C"].number not in listed(client, LEADS, "outcome=lost")
    terms = stages[TERMS].id
    assert listed(client, LEADS, f"outcome=lost&from_stage={terms}") == numbers_of(
        history["D"], history["L"]
    )
    assert "Cleo Colleague" not in client.get(PAGE).text


def test_a_month_edge_in_the_users_zone(client, auth, app, stages):
    far = factories.admin(name="Vlad", email="vlad@example.com", timezone="Asia/Vladivostok")
    near = factories.admin(name="Una", email="una@example.com")
    s = stages
    # 23:30 on 31 August in Vladivostok (UTC+10): August for both.
    factories.lead_with_history(
        far, [(s[COLD], at("2026-08-01 00:00")), (s[WON], at("2026-08-31 13:30"))]
    )
    # 00:30 on 1 September in Vladivostok, still 31 August in UTC.
    factories.lead_with_history(
        far, [(s[COLD], at("2026-08-01 00:00")), (s[WON], at("2026-08-31 14:30"))]
    )
    url = "/analytics/won-lost?period=custom&from=2026-08-01&to=2026-09-30"
    auth.login(near.email)
    page = report_page(client, url)
    assert page.rows["month-2026-08"][1] == "2"
    assert page.rows["month-2026-09"][1] == "0"
    auth.logout()
    cache.forget_all()
    auth.login(far.email)
    page = report_page(client, url)
    assert page.rows["month-2026-08"][1] == "1"
    assert page.rows["month-2026-09"][1] == "1"
    # Days to win do not depend on the zone: 30.56 and 30.60.
    assert page.rows["month-2026-08"][6] == "30.6"
    assert page.rows["month-2026-09"][6] == "30.6"
    listed_far = client.get(
        "/analytics/won-lost/leads?period=custom&from=2026-08-01&to=2026-09-30"
        "&month=2026-09&outcome=won"
    )
    assert listed_far.status_code == 200
    assert "1 lead" in listed_far.text


def test_months_cut_to_the_period(logged_in, stages):
    s = stages
    factories.lead_with_history(
        None, [(s[COLD], at("2026-08-01 00:00")), (s[WON], at("2026-08-14 12:00"))]
    )
    factories.lead_with_history(
        None, [(s[COLD], at("2026-08-01 00:00")), (s[WON], at("2026-08-16 12:00"))]
    )
    page = report_page(logged_in, "/analytics/won-lost?period=custom&from=2026-08-15&to=2026-09-10")
    assert page.rows["month-2026-08"][:2] == ["August 2026 Aug 15, 2026 to Aug 31, 2026", "1"]
    assert page.rows["month-2026-09"][0] == "September 2026 Sep 1, 2026 to Sep 10, 2026"
    assert "month-2026-07" not in page.rows and "month-2026-10" not in page.rows
    rows = csv_rows(
        logged_in, "/analytics/won-lost/months.csv?period=custom&from=2026-08-15&to=2026-09-10"
    )
    assert rows[1][:4] == ["2026-08", "2026-08-15", "2026-08-31", "1"]
    assert rows[2][:3] == ["2026-09", "2026-09-01", "2026-09-10"]


# Downloads


def test_csv_downloads(logged_in, history, stages, admin):
    assert csv_rows(logged_in, f"/analytics/won-lost/months.csv?{PERIOD}") == [
        [
            "Month",
            "First day",
            "Last day",
            "Leads won",
            "Won value",
            "Leads lost",
            "Win rate (%)",
            "Average days to win",
        ],
        ["2026-08", "2026-08-01", "2026-08-31", "2", "4000.00", "0", "100.0", "15.5"],
        ["2026-09", "2026-09-01", "2026-09-30", "0", "0", "4", "0.0", ""],
        ["2026-10", "2026-10-01", "2026-10-31", "1", "2000.00", "2", "33.3", "30.5"],
        ["Total", "2026-08-01", "2026-10-31", "3", "6000.00", "6", "33.3", "20.5"],
    ]
    assert csv_rows(logged_in, f"/analytics/won-lost/losses.csv?{PERIOD}") == [
        ["Why lost", "Lost from stage", "Owner", "Leads", "Value"],
        ["Price too high", "Discussing terms", "Sam Seller", "2", "1400.00"],
        ["Chose a competitor", "Estimate made", "Sam Seller", "1", "1000.00"],
        ["Chose a competitor", "Work!", "Cleo Colleague", "1", "1000.00"],
        ["No reason given", "", "Sam Seller", "1", "1000.00"],
        ["Price too high", "Discussing terms", "Cleo Colleague", "1", "500.00"],
    ]
    assert logged_in.get(f"/analytics/won-lost/nothing.csv?{PERIOD}").status_code == 404
    # Narrowed to the losses from one stage, as the page shows them.
    narrowed = f"/analytics/won-lost/losses.csv?{PERIOD}&stage={stages[TERMS].id}"
    assert csv_rows(logged_in, narrowed)[1:] == [
        ["Price too high", "Discussing terms", "Sam Seller", "2", "1400.00"],
        ["Price too high", "Discussing terms", "Cleo Colleague", "1", "500.00"],
    ]

    admin.locale = "ru"
    db.session.commit()
    assert csv_rows(logged_in, f"/analytics/won-lost/months.csv?{PERIOD}")[0][0] == "Месяц"
    header = csv_rows(logged_in, f"/analytics/won-lost/losses.csv?{PERIOD}")[0]
    assert header[2:] == ["Ответственный", "Лиды", "Сумма"]
    page = logged_in.get(PAGE)
    assert page.status_code == 200
    assert 'lang="ru"' in page.text or "Месяц" in page.text


# Refusals and cost


@pytest.mark.parametrize(
    "query",
    [
        "",
        "outcome=",
        "outcome=open",
        "outcome=WON",
        "month=2026-08",
        "outcome=won&month=2026-13",
        "outcome=won&month=2026-07",
        "outcome=won&month=nonsense",
        "outcome=won&month=",
        "outcome=won&reason=1",
        "outcome=lost&reason=abc",
        "outcome=lost&reason=",
        "outcome=lost&reason=-1",
        "outcome=lost&from_stage=99999999999999999999",
        "outcome=lost&lost_owner=1.5",
        "outcome=lost&lost_owner=%00",
    ],
)
def test_args_that_name_no_number_are_404(logged_in, stages, query):
    assert logged_in.get(f"{LEADS}&{query}").status_code == 404


def test_bad_filters_are_not_an_error(logged_in, history):
    for query in ("period=custom&from=2026-13-01&to=x", "owner=abc", "source=%00", "period=9"):
        assert logged_in.get(f"/analytics/won-lost?{query}").status_code == 200
        assert logged_in.get(f"/analytics/won-lost/months.csv?{query}").status_code == 200
        assert logged_in.get(f"/analytics/won-lost/leads?{query}&outcome=lost").status_code == 200


def test_needs_login(client, stages):
    assert client.get(PAGE).status_code in (302, 303)


def test_the_query_count_does_not_grow_with_the_data(logged_in, stages, admin, reasons):
    s = stages

    def close(n, owner):
        for i in range(n):
            factories.lead_with_history(
                owner,
                [
                    (s[COLD], at("2026-08-01 09:00")),
                    (s[TERMS], at("2026-08-10 09:00")),
                    (s[LOST if i % 2 else WON], at(f"2026-{8 + i % 3:02d}-2{i % 9} 09:00")),
                ],
                lost_reason=list(reasons.values())[i % 3],
            )

    close(2, admin)
    logged_in.get(PAGE)
    cache.forget_all()
    small = count_queries(logged_in, PAGE)
    others = [factories.user(role=Role.SALESPERSON) for _ in range(3)]
    for person in others:
        close(6, person)
    cache.forget_all()
    large = count_queries(logged_in, PAGE)
    assert small == large
    assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 20


def test_the_page_lists_the_largest_losses_only(logged_in, history, monkeypatch):
    monkeypatch.setattr(outcomes, "DETAILS_SHOWN", 2)
    response = logged_in.get(PAGE)
    assert len(ReportPage(response.text).tables["losses-by-owner"]) == 1 + 2 + 1
    assert "The 2 largest of 5; the CSV download holds them all." in response.text
    assert len(csv_rows(logged_in, f"/analytics/won-lost/losses.csv?{PERIOD}")) == 1 + 5
