"""`make load`'s arithmetic and its reading of the pages, without serving anything."""

import pytest

from bench.load_board import read_columns
from bench.load_http import log_form_fields
from bench.load_report import summarize


def test_the_table_counts_the_run_only_and_compares_each_p50_with_healthz():
    samples = [("healthz", 0, 1.0, ms, True) for ms in (2, 4, 6, 8)]
    samples += [("lead_page", 0, 2.0, ms, True) for ms in range(1, 101)]
    samples += [("lead_page", 0, 3.0, 9000, False), ("lead_page", 0, -5.0, 1, True)]

    rows = {row.kind: row for row in summarize(samples, seconds=10)}

    page = rows["lead_page"]
    # The failed request counts and is listed; the login-time request before the run does not.
    assert (page.count, page.errors, page.per_second) == (101, 1, pytest.approx(10.1))
    assert (page.p50, page.p95, page.p99) == (50, 95, 99)
    assert rows["healthz"].p50 == 4
    assert page.ratio == pytest.approx(12.5)
    assert (rows["total"].count, rows["total"].errors) == (105, 1)


def test_the_log_form_and_the_board_are_read_as_the_browser_reads_them():
    page = """<form id="other"><input name="q" value="x"></form>
    <form id="log-form" method="post">
      <input type="hidden" name="csrf_token" value="tok&amp;en">
      <select name="kind_id"><option value="1">Call</option>
        <option value="2" selected>Meeting</option></select>
      <select name="stage_id"><option value="5">New</option></select>
      <input type="checkbox" name="notify" value="1">
      <textarea name="body" id="log-body">
Said &lt;yes&gt;</textarea>
      <button type="submit" name="save">Log</button>
    </form>
    <section class="board-column" id="column-5" data-stage="5" data-signature="3:9"
             data-expanded="true"><li class="board-card stuck" id="card-17" data-lead="17"></li>
    </section><section class="board-column closed" id="column-8" data-stage="8"
             data-signature="0" data-expanded="false"></section>"""

    assert log_form_fields(page) == {
        "csrf_token": "tok&en",
        "kind_id": "2",
        "stage_id": "5",
        "body": "Said <yes>",
    }
    columns = read_columns(page)
    assert [(stage, c.signature, c.expanded, c.cards) for stage, c in columns.items()] == [
        (5, "3:9", True, [17]),
        (8, "0", False, []),
    ]
