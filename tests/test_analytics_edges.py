"""Analytics at the edges: odd URL arguments, the ends of the calendar, a period that has not
begun, a kept result outliving the moment it was computed for, a colleague who left, and data
written behind the cache's back.

The comment above each test says the bug it caught. Two sweeps found nothing more, and stay
as guards: odd values for every argument of every report, and user data shaped as markup.
"""

from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from crm import demo, lists
from crm.analytics import filters as report_filters
from crm.analytics import time_in_stage
from crm.analytics.catalogue import REPORTS
from crm.board import queries as board_queries
from crm.extensions import db
from crm.models import Lead, LostReason, Stage, StageKind, utcnow
from tests import factories
from tests.analytics_pages import csv_rows, report_page

COLD, INTERESTED = 0, 1
# Per report: its downloads, and arguments that name a number of it, for the leads behind it.
TABLES = {
    "funnel": ["steps", "now"],
    "time-in-stage": ["stages"],
    "won-lost": ["months", "losses"],
    "activity": ["contacts", "per-won-lead", "overdue"],
    "sources": ["sources"],
    "by-field": ["options"],
}


def leads_args(slug, stages):
    return {
        "funnel": f"stage={stages[COLD].id}&outcome=entered",
        "time-in-stage": f"stage={stages[INTERESTED].id}&stays=ended",
        "won-lost": "outcome=lost",
        "activity": "table=contacts",
        "sources": "outcome=open",
        "by-field": "outcome=open",
    }[slug]


FILES = ["csv", "xlsx"]


def every_url(slug, stages, query):
    """The report's page, each of its downloads and the leads behind a number, for `query`."""
    return [
        f"/analytics/{slug}?{query}",
        *(f"/analytics/{slug}/{table}.{kind}?{query}" for table in TABLES[slug] for kind in FILES),
        f"/analytics/{slug}/leads?{query}&{leads_args(slug, stages)}",
    ]


def a_choice_field():
    """A field to report by and filter on, as the by-field report's downloads need one."""
    return factories.field("Город", "choice", ["Москва", "Казань"])


def test_every_report_is_covered():
    assert sorted(TABLES) == sorted(ARGUMENTS) == sorted(report.slug for report in REPORTS)


# The entry point passed its arguments on to url_for, whose own arguments they could name.


@pytest.mark.parametrize(
    "extra", ["slug=sources", "endpoint=x", "_method=POST", "_external=1", "_anchor=x"]
)
def test_analytics_opens_on_the_funnel_whatever_the_arguments(logged_in, extra):
    response = logged_in.get(f"/analytics/?period=30&{extra}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/analytics/funnel?period=30"


def test_the_entry_point_keeps_a_custom_period(logged_in):
    response = logged_in.get("/analytics/?period=custom&from=2026-08-01&to=2026-08-31&owner=me")
    assert response.headers["Location"] == (
        "/analytics/funnel?period=custom&from=2026-08-01&to=2026-08-31&owner=me"
    )


# The first and last days of the calendar have no day before or after them: bounding them in
# the user's zone, or finding their week or month, overflowed.


@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/Los_Angeles"])
@pytest.mark.parametrize("slug", sorted(TABLES))
def test_a_period_at_the_ends_of_the_calendar_falls_back_to_the_default(
    client, auth, stages, zone, slug
):
    viewer = factories.admin(email="far@example.com", timezone=zone)
    auth.login(viewer.email)
    a_choice_field()
    for first, last in [("0001-01-01", "0001-01-07"), ("9999-12-25", "9999-12-31")]:
        for url in every_url(slug, stages, f"period=custom&from={first}&to={last}"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert f'value="{last}"'.encode() not in response.data, url
    page = client.get(f"/analytics/{slug}?period=custom&from=9999-12-25&to=9999-12-31")
    assert '<option value="90" selected>' in page.text


# Odd arguments anywhere are the defaults, or 404 for the leads behind a number: never a 500.

ODD = ["", "-1", "1.5", "9" * 25, "\x00", "é😀", "１", "none", "s:", "2026-02-30"]
FILTERS = ["period", "from", "to", "owner", "source", "f", "f.gorod"]
# Per report, the arguments its leads behind a number read (the won and lost page also `stage`).
ARGUMENTS = {
    "funnel": ["stage", "outcome"],
    "time-in-stage": ["stage", "stays"],
    "won-lost": ["stage", "outcome", "month", "reason", "from_stage", "lost_owner"],
    "activity": ["table", "author", "kind", "week", "person"],
    "sources": ["source_key", "outcome"],
    "by-field": ["by", "option", "outcome"],
}


@pytest.mark.parametrize("slug", sorted(TABLES))
def test_odd_arguments_are_never_an_error(logged_in, stages, slug):
    a_choice_field()
    urls = every_url(slug, stages, "period=30")
    if db.engine.dialect.name == "postgresql":
        # The arguments are read by the same code on both databases: PostgreSQL checks the
        # report's page and the leads behind its numbers with each, SQLite every download too.
        urls = [urls[0], urls[-1]]
    for url in urls:
        for name in FILTERS + ARGUMENTS[slug]:
            for value in ODD:
                odd = f"{url}&{name}={value}&{name}=1"
                assert logged_in.get(odd).status_code in (200, 404), odd


# Names people type show as text everywhere, never as markup.

MARKUP = "<script>alert(1)</script>"


def test_names_people_type_are_shown_as_text(logged_in, stages, admin):
    for stage in stages:
        stage.name = f"{MARKUP} {stage.name}"
    reason = db.session.scalars(select(LostReason).order_by(LostReason.id)).first()
    reason.name = f"{MARKUP} price"
    call = factories.kind("call")
    call.name = f"{MARKUP} call"
    seller = factories.user(name=f"{MARKUP} Sam", email="sam@example.com")
    now = utcnow()
    for days in (1, 2):
        lost = factories.lead_with_history(
            seller,
            [(stages[COLD], now - timedelta(days=9)), (stages[8], now - timedelta(days=days))],
            lost_reason=reason,
            title=f"{MARKUP} lead",
            source=f"{MARKUP} source",
            next_step_at=now - timedelta(days=3),
        )
        factories.activity(lost, seller, occurred_at=now - timedelta(days=4))
    urls = [f"/analytics/{slug}?owner={seller.id}" for slug in TABLES]
    urls += [
        f"/analytics/won-lost?stage={stages[COLD].id}",
        f"/analytics/won-lost/leads?outcome=lost&reason={reason.id}&lost_owner={seller.id}",
        f"/analytics/funnel/leads?stage={stages[COLD].id}&outcome=entered",
        f"/analytics/activity/leads?table=contacts&author={seller.id}&kind={call.id}",
        "/analytics/sources/leads?source_key=s:" + quote(f"{MARKUP} source"),
    ]
    for url in urls:
        response = logged_in.get(url)
        assert response.status_code == 200, url
        assert MARKUP not in response.text, url
        assert "&lt;script&gt;" in response.text, url


# "When the period reaches today" the stays still going on count: a period that has not begun
# yet counted them too, though they lie wholly before it.


def test_a_period_not_begun_counts_no_stays_going_on(logged_in, stages):
    factories.lead_with_history(
        factories.user(), [(stages[INTERESTED], utcnow() - timedelta(days=3))]
    )
    first = (utcnow() + timedelta(days=30)).date()
    query = f"period=custom&from={first}&to={first + timedelta(days=30)}"
    row = report_page(logged_in, f"/analytics/time-in-stage?{query}").cells[
        f"time-{stages[INTERESTED].id}"
    ]
    assert (row["median"], row["ended"], row["ongoing"]) == ("—", "0", "—")
    leads = f"/analytics/time-in-stage/leads?{query}&stage={stages[INTERESTED].id}&stays=ongoing"
    assert logged_in.get(leads).status_code == 404
    # The same stay in a period that holds today.
    row = report_page(logged_in, "/analytics/time-in-stage?period=30").cells[
        f"time-{stages[INTERESTED].id}"
    ]
    assert (row["median"], row["ended"], row["ongoing"]) == ("3.0", "0", "1")


# A kept result was keyed on the hour, but a period ends at local midnight, which in India is
# half past a UTC hour: the result kept while the period still reached now was shown again
# after it had ended, with the stays going on that no longer count.


def test_a_kept_result_is_not_shown_once_the_period_has_ended(client, auth, stages, monkeypatch):
    viewer = factories.admin(email="kolkata@example.com", timezone="Asia/Kolkata")
    factories.lead_with_history(factories.user(), [(stages[INTERESTED], datetime(2026, 10, 5))])
    auth.login(viewer.email)
    # 1 to 10 October in Kolkata (UTC+5:30) ends at 18:30 UTC on 10 October.
    url = "/analytics/time-in-stage?period=custom&from=2026-10-01&to=2026-10-10"

    def now_is(moment):
        monkeypatch.setattr(report_filters, "utcnow", lambda: moment)
        monkeypatch.setattr(time_in_stage, "utcnow", lambda: moment)

    def interested():
        return report_page(client, url).cells[f"time-{stages[INTERESTED].id}"]

    now_is(datetime(2026, 10, 10, 18, 10))
    assert (interested()["ended"], interested()["ongoing"]) == ("0", "1")
    now_is(datetime(2026, 10, 10, 18, 40))
    assert (interested()["median"], interested()["ended"], interested()["ongoing"]) == (
        "—",
        "0",
        "—",
    )


# The owner filter's list holds the active team only, the source filter's the first sources by
# name: a report filtered to someone who has left, or to a source further down the alphabet (by
# a link or a bookmark), showed "Everyone" or "Any source" chosen above the numbers.


def test_the_owner_filter_shows_a_colleague_who_has_left(logged_in, stages):
    gone = factories.user(name="Gina Gone", email="gina@example.com", active=False)
    factories.lead_with_history(gone, [(stages[COLD], utcnow() - timedelta(days=2))])
    html = logged_in.get(f"/analytics/funnel?owner={gone.id}").text
    assert f'<option value="{gone.id}" selected>Gina Gone</option>' in html
    assert '<option value="" selected>' not in html


def test_the_source_filter_shows_a_source_past_the_ones_listed(logged_in, stages, monkeypatch):
    for source in ("Alpha", "Beta"):
        factories.lead(source=source)
    monkeypatch.setattr(board_queries, "SOURCES_SHOWN", 1)
    html = logged_in.get("/analytics/sources?source=Beta").text
    assert '<option value="Beta" selected>Beta</option>' in html
    assert '<option value="Alpha">Alpha</option>' in html


# The demo writes its rows through bulk inserts, which the session event that moves the data
# version never sees: it moves the version itself, or results kept before it ran would stay.


def test_demo_data_shows_at_once(logged_in, stages, admin):
    def open_leads():
        rows = csv_rows(logged_in, "/analytics/funnel/now.csv")
        return sum(int(row[1]) for row in rows[1:])

    assert open_leads() == 0
    demo.generate(leads=30, activities=60, owner=admin)
    db.session.commit()
    # The funnel report is the first pipeline's (the demo adds a renewals pipeline).
    first = lists.first_pipeline().id
    open_ids = select(Stage.id).where(Stage.kind == StageKind.OPEN, Stage.pipeline_id == first)
    expected = db.session.scalar(
        select(func.count())
        .select_from(Lead)
        .where(Lead.stage_id.in_(open_ids), Lead.archived.is_(False))
    )
    assert expected > 0
    assert open_leads() == expected
