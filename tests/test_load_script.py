"""`make load`'s arithmetic and its reading of the pages, without serving anything."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from bench import load
from bench.load_board import read_columns
from bench.load_drift import Memory, check_drift, drift
from bench.load_http import log_form_fields
from bench.load_report import results_of, summarize


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


def test_the_run_is_written_per_database_beside_the_others_run(tmp_path):
    samples = [("healthz", 0, 1.0, 2, True), ("log_activity", 0, 2.0, 30, True)]
    samples += [("log_activity", 0, 2.5, 900, False), ("analytics", 1, 3.0, 150, True)]
    outcome = {
        "recorder": SimpleNamespace(samples=samples, failures=["the failed log"]),
        "moves": [[(0, 1.2), (1, 3.4)], [(0, None)]],
        "memory": Memory(0.0),
        "throttle": [(1, 0, 422, 422), (2, 1, 429, 429)],
        "activities_saved": 1,
        "client_cpu": 4.25,
        "setup": "PostgreSQL, 100,000 leads / 1,000,000 activities",
        "servers": 2,
        "sellers": 20,
        "boards": 50,
        "managers": 3,
    }
    options = load.parse_args(["--postgres", "--output", str(tmp_path / "load.json")])
    (tmp_path / "load.json").write_text('{"sqlite": {"kept": true}}')
    load.write_results(options, results_of(outcome, options))

    written = json.loads((tmp_path / "load.json").read_text())
    assert written["sqlite"] == {"kept": True}
    run = written["postgresql"]
    assert run["team"] | {"seconds": 120, "servers": 2} == run["team"]
    assert (run["team"]["salespeople"], run["team"]["boards"], run["team"]["managers"]) == (
        20,
        50,
        3,
    )
    assert (
        run["requests"]["log_activity"] | {"count": 2, "errors": 1, "p50_ms": 30}
        == (run["requests"]["log_activity"])
    )
    assert run["requests"]["analytics"]["p50_over_healthz"] == 75
    assert run["moves"] | {"made": 2, "shown": 2, "board_views": 3, "max_s": 3.4} == run["moves"]
    assert run["contacts"] == {"answered_logged": 1, "stored": 1}
    assert run["throttle_shared"] is True and run["failures"] == 1
    # Two minutes is no long day.
    assert run["long_day"] is None


def test_a_long_day_compares_memory_from_minute_five_and_the_p95_of_its_first_and_last_minutes():
    memory = Memory(0.0)
    # Worker 1 grows 100 → 105 MB after minute 5 (its start-up growth before does not count);
    # worker 2 grows 100 → 115 MB.
    memory.samples = {
        1: [(10, 60.0), (300, 100.0), (1800, 105.0)],
        2: [(10, 60.0), (330, 100.0), (1800, 115.0)],
    }
    samples = [("lead_page", 0, 60.0, ms, True) for ms in range(1, 101)]
    samples += [("lead_page", 0, 1600.0, ms * 1.1, True) for ms in range(1, 101)]
    samples += [("lead_page", 0, 900.0, 5000, True), ("lead_page", 0, 1700.0, 9000, False)]

    figures = drift(memory, samples, seconds=1800)

    assert figures["workers"] == {
        1: {
            "at_window_mb": 100.0,
            "end_mb": 105.0,
            "every_window_mb": {0: 60.0, 5: 100.0, 30: 105.0},
        },
        2: {
            "at_window_mb": 100.0,
            "end_mb": 115.0,
            "every_window_mb": {0: 60.0, 5: 100.0, 30: 115.0},
        },
    }
    assert figures["max_growth"] == pytest.approx(0.15)
    # The middle of the day and the failed request are left out.
    assert (figures["p95_first_ms"], figures["p95_last_ms"]) == (95, 104.5)
    assert check_drift(figures) is False
    memory.samples.pop(2)
    assert check_drift(drift(memory, samples, seconds=1800)) is True
    assert drift(memory, samples, seconds=120) is None


def test_the_workers_memory_is_read_from_proc():
    """The test process is the master here: the worker is a child it started."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Sampled once it runs: a child still starting has no interpreter's memory yet.
        assert child.stdout.readline() == "up\n"
        memory = Memory(0.0)
        memory.sample({os.getpid()})
        assert child.pid in memory.samples
        (_at, resident), *_ = memory.samples[child.pid]
        assert 1 < resident < 500
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_the_team_by_default_is_twenty_salespeople_fifty_boards_three_managers_two_minutes():
    options = load.parse_args([])
    assert (options.salespeople, options.boards, options.managers) == (20, 50, 3)
    assert (options.seconds, options.servers, options.leads) == (120, 1, 100_000)
    on_postgres = load.parse_args(["--postgres", "--minutes", "30"])
    assert (on_postgres.servers, on_postgres.leads, on_postgres.seconds) == (2, 100_000, 1800)
