"""The funnel report and time in stage, proven on a small hand-built history.

The right answers are worked out by hand in the comments and written in the tests: skipped
steps, a lead moved back, a lost lead revived, a move after the period, an archived lead and a
lead created across midnight in another time zone.
"""

from datetime import datetime, timedelta

import pytest

from crm import funnel
from crm.analytics import cache
from crm.extensions import db
from crm.models import LostReason, Role, Stage, utcnow
from tests import factories
from tests.analytics_pages import csv_rows, listed, report_page
from tests.querycount import count_queries

OCTOBER = "/analytics/funnel?period=custom&from=2026-10-01&to=2026-10-31"
COLD, INTERESTED, REQUESTED, MADE, TASK, TERMS, SIGNING, WON, LOST = range(9)


def at(day, hour=10, month=10):
    return datetime(2026, month, day, hour)


def numbers(page, stage, prefix="step"):
    """The named numbers of a stage's row: {"entered": "3", ...}."""
    return page.cells[f"{prefix}-{stage.id}"]


@pytest.fixture
def history(app, stages, admin):
    """Leads A to I (see each comment), owned by a salesperson, in October 2026 (UTC)."""
    seller = factories.user(name="Sam Seller", email="sam@example.com")
    price = db.session.scalars(db.select(LostReason).order_by(LostReason.id)).first()
    s = stages
    leads = {
        # Created in Cold, to Interested, to Estimate requested: passes Cold and Interested.
        "A": [(s[COLD], at(2)), (s[INTERESTED], at(5)), (s[REQUESTED], at(10))],
        # Jumps from Cold to Signing: enters and passes every step between.
        "B": [(s[COLD], at(3)), (s[SIGNING], at(4))],
        # Created in Interested in September; in October to Estimate requested, then lost.
        "C": [(s[INTERESTED], at(20, month=9)), (s[REQUESTED], at(6)), (s[LOST], at(8))],
        # Reached Estimate requested in September, moved back to Interested and forward again
        # in October: enters Estimate requested only.
        "D": [
            (s[COLD], at(1, month=9)),
            (s[INTERESTED], at(2, month=9)),
            (s[REQUESTED], at(3, month=9)),
            (s[INTERESTED], at(7)),
            (s[REQUESTED], at(9)),
        ],
        # Lost on the 2nd, revived into Interested on the 12th, on to Estimate made in
        # November: enters Cold and Interested in October and has passed both.
        "E": [
            (s[COLD], at(1)),
            (s[LOST], at(2)),
            (s[INTERESTED], at(12)),
            (s[MADE], at(5, month=11)),
        ],
        # Created in Discussing terms and won: enters Discussing terms and Signing, passes both.
        "F": [(s[TERMS], at(15)), (s[WON], at(20))],
        # November only: not in October.
        "G": [(s[COLD], at(2, month=11))],
        # Archived: left out.
        "H": [(s[COLD], at(3))],
        # 22:30 UTC on 30 September: still September in UTC, 1 October in Moscow.
        "I": [(s[COLD], datetime(2026, 9, 30, 22, 30))],
    }
    made = {
        name: factories.lead_with_history(seller, path, lost_reason=price, title=f"Lead {name}")
        for name, path in leads.items()
    }
    funnel.archive_lead(made["H"], admin)
    db.session.commit()
    return made


def test_step_conversion_counts_each_step_by_hand(logged_in, stages, history):
    page = report_page(logged_in, OCTOBER)
    expected = {
        COLD: ("3", "3", "0", "0", "0.0 %"),
        INTERESTED: ("3", "3", "0", "0", "0.0 %"),
        REQUESTED: ("4", "1", "1", "2", "25.0 %"),
        MADE: ("1", "1", "0", "0", "0.0 %"),
        TASK: ("1", "1", "0", "0", "0.0 %"),
        TERMS: ("2", "2", "0", "0", "0.0 %"),
        SIGNING: ("2", "1", "0", "1", "0.0 %"),
    }
    for index, (entered, passed, lost, still, drop) in expected.items():
        row = numbers(page, stages[index])
        assert (row["entered"], row["passed"], row["lost"], row["still"], row["drop-off"]) == (
            entered,
            passed,
            lost,
            still,
            drop,
        ), stages[index].name
    assert page.worst == f"step-{stages[REQUESTED].id}"


def test_the_worst_step_links_to_why_leads_were_lost_there(logged_in, stages, history):
    html = logged_in.get(OCTOBER).get_data(as_text=True)
    assert f"Worst step: {stages[REQUESTED].name}." in html
    period = "period=custom&amp;from=2026-10-01&amp;to=2026-10-31"
    reasons = f"/analytics/won-lost?{period}&amp;stage={stages[REQUESTED].id}#losses"
    assert f'<a href="{reasons}">Why leads were lost there</a>' in html
    page = logged_in.get(reasons.replace("&amp;", "&")).get_data(as_text=True)
    assert history["C"].lost_reason.name in page


def test_a_viewer_in_moscow_counts_the_lead_created_after_their_midnight(
    client, auth, stages, history
):
    factories.user(email="moscow@example.com", role=Role.MANAGER, timezone="Europe/Moscow")
    auth.login("moscow@example.com")
    page = report_page(client, OCTOBER)
    row = numbers(page, stages[COLD])
    assert (row["entered"], row["passed"], row["still"]) == ("4", "3", "1")


def test_the_leads_behind_each_number_are_the_ones_counted(logged_in, stages, history):
    base = OCTOBER.replace("/analytics/funnel?", "/analytics/funnel/leads?")

    def behind(stage, outcome):
        return listed(logged_in, base, f"stage={stages[stage].id}&outcome={outcome}")

    number = {name: lead.number for name, lead in history.items()}
    assert behind(REQUESTED, "entered") == {number[n] for n in "ABCD"}
    assert behind(REQUESTED, "passed") == {number["B"]}
    assert behind(REQUESTED, "lost") == {number["C"]}
    assert behind(REQUESTED, "still") == {number[n] for n in "AD"}
    assert behind(COLD, "passed") == {number[n] for n in "ABE"}
    assert behind(SIGNING, "still") == {number["B"]}


def test_funnel_now_counts_open_leads_where_they_stand(logged_in, stages, history):
    page = report_page(logged_in, OCTOBER)
    assert f"now-{stages[COLD].id}" in page.rows
    base = OCTOBER.replace("/analytics/funnel?", "/analytics/funnel/leads?")
    number = {name: lead.number for name, lead in history.items()}

    def now(stage):
        return listed(logged_in, base, f"stage={stages[stage].id}&outcome=now")

    assert now(COLD) == {number[n] for n in "GI"}
    assert now(REQUESTED) == {number[n] for n in "AD"}
    assert now(MADE) == {number["E"]}
    assert now(INTERESTED) == set()


def test_owner_and_source_filters_narrow_the_counts(logged_in, stages, history, admin):
    funnel.update_lead(history["B"], admin, source="Website")
    funnel.update_lead(history["A"], admin, owner_id=admin.id)
    db.session.commit()
    page = report_page(logged_in, OCTOBER + "&source=Website")
    assert numbers(page, stages[COLD])["entered"] == "1"
    assert numbers(page, stages[SIGNING])["still"] == "1"
    page = report_page(logged_in, OCTOBER + "&owner=me")
    assert numbers(page, stages[COLD])["entered"] == "1"
    assert numbers(page, stages[REQUESTED])["still"] == "1"


def test_a_salesperson_sees_only_their_own_leads(client, auth, stages, history):
    auth.login("sam@example.com")
    other = factories.user(email="olga@example.com")
    factories.lead_with_history(other, [(stages[COLD], at(3)), (stages[INTERESTED], at(4))])
    page = report_page(client, OCTOBER + "&owner=")
    assert numbers(page, stages[COLD])["entered"] == "3"
    assert 'id="report-owner"' not in client.get(OCTOBER).get_data(as_text=True)


def test_the_steps_download_as_csv_with_a_byte_order_mark(logged_in, stages, history):
    url = "/analytics/funnel/steps.csv?period=custom&from=2026-10-01&to=2026-10-31"
    assert "attachment" in logged_in.get(url).headers["Content-Disposition"]
    rows = csv_rows(logged_in, url)
    assert rows[0][:5] == ["Step", "Entered", "Passed", "Lost", "Still there"]
    requested = next(row for row in rows if row[0] == stages[REQUESTED].name)
    assert requested[1:6] == ["4", "1", "1", "2", "25.0"]


@pytest.fixture
def four_leads(app, stages, admin):
    """P, Q, R and S created in Cold in October. Q and R reached Interested, P went on to
    Estimate requested; S was lost from Cold and Q from Interested. Nobody went further."""
    seller = factories.user(name="Sam Seller", email="sam@example.com")
    s = stages
    paths = {
        "P": [(s[COLD], at(2)), (s[INTERESTED], at(3)), (s[REQUESTED], at(4))],
        "Q": [(s[COLD], at(2)), (s[INTERESTED], at(3)), (s[LOST], at(5))],
        "R": [(s[COLD], at(2)), (s[INTERESTED], at(3))],
        "S": [(s[COLD], at(2)), (s[LOST], at(6))],
    }
    for name, path in paths.items():
        factories.lead_with_history(seller, path, title=f"Lead {name}")


# Per step: entered, passed, lost, still there, drop-off, conversion. Cold: 3 of 4 passed and
# 1 was lost. Interested: 1 of 3 passed, 1 lost, 1 still there. Estimate requested: its one
# lead is still there. Estimate made: nobody entered, so neither share exists.
FOUR_LEADS = {
    COLD: ("4", "3", "1", "0", "25.0 %", "75.0 %"),
    INTERESTED: ("3", "1", "1", "1", "33.3 %", "33.3 %"),
    REQUESTED: ("1", "0", "0", "1", "0.0 %", "0.0 %"),
    MADE: ("0", "0", "0", "0", "—", "—"),
}


def test_conversion_is_the_share_of_a_step_that_passed_it(logged_in, stages, four_leads):
    page = report_page(logged_in, OCTOBER)
    for index, expected in FOUR_LEADS.items():
        row = numbers(page, stages[index])
        shown = tuple(
            row[name] for name in ("entered", "passed", "lost", "still", "drop-off", "conversion")
        )
        assert shown == expected, stages[index].name


def test_conversion_downloads_next_to_the_drop_off(logged_in, stages, four_leads):
    rows = csv_rows(logged_in, "/analytics/funnel/steps.csv?" + OCTOBER.split("?")[1])
    assert rows[0][5:7] == ["Drop-off, %", "Conversion, %"]
    by_step = {row[0]: row[1:7] for row in rows[1:]}
    assert by_step[stages[COLD].name] == ["4", "3", "1", "0", "25.0", "75.0"]
    assert by_step[stages[INTERESTED].name][4:] == ["33.3", "33.3"]
    # Nobody entered: the cells are left empty, not 0, so a spreadsheet does not average them in.
    assert by_step[stages[MADE].name] == ["0", "0", "0", "0", "", ""]


def test_conversion_is_written_the_russian_way_in_russian(client, auth, stages, four_leads):
    factories.user(email="ivan@example.com", role=Role.MANAGER, locale="ru")
    auth.login("ivan@example.com")
    page = report_page(client, OCTOBER)
    assert numbers(page, stages[COLD])["conversion"] == "75,0 %"
    assert numbers(page, stages[INTERESTED])["conversion"] == "33,3 %"
    assert numbers(page, stages[MADE])["conversion"] == "—"
    header = page.table_rows[0]
    assert header[6:8] == ["Отсев", "Конверсия"]
    rows = csv_rows(client, "/analytics/funnel/steps.csv?" + OCTOBER.split("?")[1])
    assert rows[0][5:7] == ["Отсев, %", "Конверсия, %"]


def test_the_report_is_in_russian_for_a_russian_user(client, auth, stages, history):
    factories.user(email="ivan@example.com", role=Role.MANAGER, locale="ru")
    auth.login("ivan@example.com")
    html = client.get(OCTOBER).get_data(as_text=True)
    assert "Конверсия по шагам" in html
    csv_text = client.get(
        "/analytics/funnel/steps.csv?period=custom&from=2026-10-01&to=2026-10-31"
    ).get_data(as_text=True)
    # Semicolons, as Excel with Russian settings splits a file.
    assert csv_text.startswith("\ufeffШаг;")


@pytest.mark.parametrize(
    "args",
    [
        "stage=abc&outcome=lost",
        "stage=99999&outcome=lost",
        "outcome=lost",
        "stage=1&outcome=nonsense",
        "stage=99999999999999999999&outcome=passed",
    ],
)
def test_nonsense_in_the_leads_behind_is_404(logged_in, stages, args):
    assert logged_in.get(f"/analytics/funnel/leads?{args}").status_code == 404


@pytest.mark.parametrize(
    "args",
    [
        "period=custom&from=2026-13-40&to=x",
        "period=custom&from=2026-10-31&to=2026-10-01",
        "period=custom&from=0001-01-01&to=9999-12-31",
        "period=%00&owner=%00&source=%00",
        "owner=99999999999999999999",
    ],
)
def test_nonsense_filters_fall_back_to_the_defaults(logged_in, stages, args):
    assert logged_in.get(f"/analytics/funnel?{args}").status_code == 200


def test_a_write_anywhere_shows_on_the_next_view(app, logged_in, stages, history, admin):
    """The kept result is keyed on the data version in the database, which every writer
    moves: a second app (another worker) moving a lead changes what this one shows."""
    before = report_page(logged_in, OCTOBER)
    assert numbers(before, stages[REQUESTED])["still"] == "2"
    from crm import create_app

    other = create_app(
        {"TESTING": True, "SECRET_KEY": "other", "DATABASE_URL": app.config["DATABASE_URL"]}
    )
    lead_id = history["A"].id
    with other.app_context():
        from crm.models import Lead, Stage

        lead = db.session.get(Lead, lead_id)
        made = db.session.scalars(db.select(Stage).where(Stage.position == MADE)).one()
        funnel.move_lead(lead, made, None, at=at(30))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    after = report_page(logged_in, OCTOBER)
    assert numbers(after, stages[REQUESTED])["still"] == "1"
    assert numbers(after, stages[REQUESTED])["passed"] == "2"


@pytest.fixture
def reports_may_lag(app, monkeypatch):
    """Reports may lag colleagues' writes by 30 s, as by default, with nothing kept yet."""
    monkeypatch.setitem(app.config, "REPORTS_MAY_LAG_SECONDS", 30)
    cache.forget_all()


def still_requested(client, stages):
    """How many leads the October funnel says are still at "Estimate requested"."""
    return numbers(report_page(client, OCTOBER), stages[REQUESTED])["still"]


def colleague_moves_a(history):
    """A colleague moves lead A on from "Estimate requested"; the stage it went to."""
    made = db.session.scalars(db.select(Stage).where(Stage.position == MADE)).one()
    funnel.move_lead(history["A"], made, None, at=at(30))
    db.session.commit()
    return made


def test_a_report_may_lag_a_colleagues_write_but_never_ones_own(
    app, logged_in, stages, history, reports_may_lag, monkeypatch
):
    """While a team logs contact after contact, a report is counted once in
    REPORTS_MAY_LAG_SECONDS, not for every look; what the viewer changed shows at once."""
    assert still_requested(logged_in, stages) == "2"
    # A colleague moves a lead: the report, counted a moment ago, may leave it out for now.
    made = colleague_moves_a(history)
    assert still_requested(logged_in, stages) == "2"
    # Once the lag is over it counts afresh.
    monkeypatch.setitem(app.config, "REPORTS_MAY_LAG_SECONDS", 0)
    assert still_requested(logged_in, stages) == "1"
    monkeypatch.setitem(app.config, "REPORTS_MAY_LAG_SECONDS", 30)
    # The viewer's own write, through a page, shows on their next look.
    lead = history["D"]
    response = logged_in.post(
        f"/board/leads/{lead.id}/move",
        data={"stage_id": str(made.id), "from_stage_id": str(lead.stage_id)},
    )
    assert response.status_code < 400
    assert still_requested(logged_in, stages) == "0"


def test_a_report_counted_by_one_worker_serves_the_others(
    logged_in, stages, history, reports_may_lag
):
    """Kept in the database too: another worker (this one with its own results forgotten)
    shows the count already made, without counting it again, even after a colleague's write
    while the lag lasts."""
    counted = count_queries(logged_in, OCTOBER)
    colleague_moves_a(history)
    cache.forget_in_this_worker()
    assert count_queries(logged_in, OCTOBER) < counted
    assert still_requested(logged_in, stages) == "2"


def test_a_report_past_half_its_lag_is_counted_again_once_answered(
    logged_in, stages, history, reports_may_lag, monkeypatch
):
    """The viewer gets the kept count at once; the next viewer, in any worker, the new one,
    counted after the first answer went out."""
    assert still_requested(logged_in, stages) == "2"
    colleague_moves_a(history)
    # A few seconds on, the kept count is shown as it is.
    clock = cache.now()
    monkeypatch.setattr(cache, "now", lambda: clock + 5)
    assert still_requested(logged_in, stages) == "2"
    assert still_requested(logged_in, stages) == "2"
    # Past half the lag: shown once more, and counted again after that answer.
    monkeypatch.setattr(cache, "now", lambda: clock + 20)
    assert still_requested(logged_in, stages) == "2"
    assert still_requested(logged_in, stages) == "1"
    cache.forget_in_this_worker()
    assert still_requested(logged_in, stages) == "1"


def test_a_count_kept_by_older_code_is_never_read(
    logged_in, stages, history, reports_may_lag, monkeypatch
):
    """After an upgrade a result pickled by the old code may no longer fit the new: the code's
    digest is part of where a result is kept."""
    counted = count_queries(logged_in, OCTOBER)
    cache.forget_in_this_worker()
    monkeypatch.setattr(cache, "CODE", "another release")
    assert count_queries(logged_in, OCTOBER) == counted


def test_an_unchanged_view_is_served_from_the_kept_result(logged_in, stages, history):
    cache.forget_all()
    computed = count_queries(logged_in, OCTOBER)
    kept = count_queries(logged_in, OCTOBER)
    assert kept < computed


def test_the_page_costs_the_same_queries_with_more_data(logged_in, stages, history):
    cache.forget_all()
    few = count_queries(logged_in, OCTOBER)
    seller = factories.user()
    for day in range(2, 12):
        factories.lead_with_history(
            seller, [(stages[COLD], at(day)), (stages[MADE], at(day + 1))], source=f"S{day}"
        )
    cache.forget_all()
    assert count_queries(logged_in, OCTOBER) == few


# Time in stage


def days_ago(days):
    return utcnow() - timedelta(days=days)


@pytest.fixture
def stays(app, stages, admin):
    """Stays in Interested of 1, 2 and 10 days that ended, and one of 4 days still going on;
    two leads still in Estimate requested, for 19 and 13 days."""
    seller = factories.user()
    s = stages
    factories.lead_with_history(
        seller, [(s[INTERESTED], days_ago(20)), (s[REQUESTED], days_ago(19))]
    )
    factories.lead_with_history(
        seller, [(s[INTERESTED], days_ago(15)), (s[REQUESTED], days_ago(13))]
    )
    factories.lead_with_history(seller, [(s[INTERESTED], days_ago(30)), (s[MADE], days_ago(20))])
    factories.lead_with_history(seller, [(s[INTERESTED], days_ago(4))])
    # Ended before the period (the last 30 days): left out.
    factories.lead_with_history(seller, [(s[INTERESTED], days_ago(80)), (s[MADE], days_ago(40))])


def time_row(client, stage, url="/analytics/time-in-stage?period=30"):
    return report_page(client, url).cells[f"time-{stage.id}"]


def test_time_in_stage_reads_median_and_80th_percentile(logged_in, stages, stays):
    row = time_row(logged_in, stages[INTERESTED])
    # Stays of 1, 2, 4 and 10 days: the 2nd of 4 is the median, the 4th the 80th percentile.
    assert (row["median"], row["p80"], row["ended"], row["ongoing"]) == ("2.0", "10.0", "3", "1")
    assert row["stuck"] == str(stages[INTERESTED].stuck_after_days)
    row = time_row(logged_in, stages[REQUESTED])
    # Two stays still going on, of 13 and 19 days.
    assert (row["median"], row["p80"], row["ended"], row["ongoing"]) == ("13.0", "19.0", "0", "2")


def test_a_past_period_counts_only_the_stays_that_ended_in_it(logged_in, stages, stays):
    first = (utcnow() - timedelta(days=45)).date()
    last = (utcnow() - timedelta(days=35)).date()
    url = f"/analytics/time-in-stage?period=custom&from={first}&to={last}"
    row = time_row(logged_in, stages[INTERESTED], url)
    assert (row["median"], row["p80"], row["ended"], row["ongoing"]) == ("40.0", "40.0", "1", "—")


def test_time_in_stage_downloads_as_csv(logged_in, stages, stays):
    rows = csv_rows(logged_in, "/analytics/time-in-stage/stages.csv?period=30")
    interested = next(row for row in rows if row[0] == stages[INTERESTED].name)
    assert interested[1:5] == ["4", "1", "2.0", "10.0"]


def test_the_stays_behind_the_numbers(logged_in, stages, stays):
    base = f"/analytics/time-in-stage/leads?period=30&stage={stages[INTERESTED].id}"
    assert len(listed(logged_in, base, "stays=ended")) == 3
    assert len(listed(logged_in, base, "stays=ongoing")) == 1


def test_a_step_few_leads_reached_is_not_called_the_worst():
    from crm.analytics.conversion import Step, worst_step

    steps = [Step(1, 100, passed=40, lost=30), Step(2, 40, passed=30, lost=5), Step(3, 2, lost=2)]
    assert worst_step(steps) == 1
    assert worst_step([Step(1, 0), Step(2, 0)]) is None
    # Nothing lost anywhere: no step is the worst.
    assert worst_step([Step(1, 10, passed=2, still=8)]) is None


def test_dates_changed_by_hand_are_used_without_choosing_dates(logged_in, stages, history):
    """The form sends the preset's dates along; changing them is enough to use them."""
    by_hand = "/analytics/funnel?period=90&from=2026-10-01&to=2026-10-31"
    page = report_page(logged_in, by_hand)
    assert numbers(page, stages[REQUESTED])["entered"] == "4"
    html = logged_in.get(by_hand).get_data(as_text=True)
    assert '<option value="custom" selected>' in html
