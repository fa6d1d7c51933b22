"""`make bench`'s machinery, on a tiny dataset: it runs, reuses its data and writes its results."""

import json
import sqlite3

import pytest
from sqlalchemy.engine import make_url

from bench import load_data, run
from tests.conftest import POSTGRES_URL

TINY = [
    *("--leads", "60", "--activities", "400"),
    *("--small-leads", "20", "--small-activities", "100"),
    *("--users", "3", "--warmup", "1", "--repeat", "2", "--import-leads", "40"),
]
OPS = [
    "healthz",
    "leads_list",
    "leads_list_fields",
    "leads_search",
    "leads_search_text",
    "leads_search_phone",
    "lead_page",
    "log_activity",
    "activities_feed",
    "board",
    "board_poll_unchanged",
    "notifications_poll_unchanged",
    "board_move",
    "agenda",
    "calendar_month",
    "analytics_funnel",
    "analytics_funnel_unchanged",
    "analytics_time_in_stage",
    "analytics_by_field",
    "api_leads_list",
    "call_event",
]


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def bench(tmp_path, data_dir, *extra):
    output = tmp_path / "results.json"
    results = run.main([*TINY, "--data-dir", str(data_dir), "--output", str(output), *extra])
    return results, json.loads(output.read_text())


def test_a_tiny_bench_writes_the_results(tmp_path, data_dir, capsys):
    results, written = bench(tmp_path, data_dir)

    assert written == results
    assert written["dataset"]["leads"] == 60
    assert written["dataset"]["activities"] == 400
    assert written["dataset"]["small"]["leads"] == 20
    assert {"cpus", "python", "sqlite"} <= set(written["machine"])
    assert list(written["ops"]) == OPS
    for name, entry in written["ops"].items():
        assert {"p50_ms", "p95_ms", "queries", "p50_ms_small", "scale_ratio"} <= set(entry)
        # The lead page and the log exist; the list and the feed may not yet.
        if name in ("healthz", "lead_page", "log_activity"):
            assert entry["status"] == "ok", name
        if entry["status"] == "ok":
            assert 0 < entry["p50_ms"] <= entry["p95_ms"]
            assert entry["scale_ratio"] == pytest.approx(
                entry["p50_ms"] / entry["p50_ms_small"], abs=0.01
            )
            assert entry["queries"] >= (0 if name == "healthz" else 1)
        else:
            assert entry["status"] == "missing"
    assert written["ops"]["lead_page"]["budget"] == {"p50_ms": 15, "scale_ratio": 1.5}
    # The list with the team's fields: made on the run's copy, since the dataset has none.
    assert written["ops"]["leads_list_fields"]["status"] == "ok"
    assert written["ops"]["leads_list_fields"]["budget"] == {"p50_ms": 30, "scale_ratio": 2}
    assert "ok" in written["ops"]["lead_page"]
    assert "budget" not in written["ops"]["healthz"]

    imported = written["import_10k"]
    assert imported["status"] == "ok"
    assert (imported["leads"], imported["activities"]) == (40, 120)
    # The leads sheet's five columns of its own became fields.
    assert imported["fields_created"] == 5
    assert imported["stage_changes"] > 0
    assert imported["budget_s"] == 15

    rss = written["worker_rss"]
    assert 20 < rss["worker_rss_mb"] < 1000
    assert rss["budget_mb"] == 120
    assert all(isinstance(value, float) for value in rss["after_each_page_mb"].values()), rss[
        "after_each_page_mb"
    ]

    table = capsys.readouterr().out
    assert "lead_page" in table and "worker RSS" in table

    # Runs work on a copy: the stored database has neither the bench user nor the logged calls.
    with sqlite3.connect(data_dir / "big.sqlite3") as stored:
        assert stored.execute("SELECT count(*) FROM activities").fetchone() == (400,)
        assert stored.execute("SELECT count(*) FROM users").fetchone() == (3,)
    stored.close()


def test_datasets_are_reused_while_their_parameters_match(data_dir):
    def build(seed):
        return run.dataset("big", 30, 150, data_dir, users=2, seed=seed, language="en")

    with run.isolated_environment():
        first = build(1)
        stamp = first.path.stat().st_mtime_ns
        assert first.meta["params"]["leads"] == 30
        assert first.meta["lead_page_activities"] > 0
        assert first.meta["search_text"] and first.meta["search_phone"]

        assert build(1).path.stat().st_mtime_ns == stamp
        assert json.loads((data_dir / "big.json").read_text()) == first.meta

        assert build(2).path.stat().st_mtime_ns != stamp
        assert json.loads((data_dir / "big.json").read_text())["params"]["seed"] == 2


def test_a_missing_page_is_reported_not_a_crash(data_dir, monkeypatch):
    monkeypatch.setattr(
        run,
        "operations",
        lambda meta, log_form, app, api_token: [
            run.Op("healthz", "GET", "/healthz"),
            run.Op("leads_list", "GET", "/no-such-page/"),
        ],
    )
    options = run.parse_args(["--warmup", "1", "--repeat", "2"])
    with run.isolated_environment() as scratch:
        data = run.dataset("small", 10, 40, data_dir, users=2, seed=1, language="en")
        ops = run.measure(data, options, scratch)

    assert ops["healthz"]["status"] == "ok"
    assert ops["leads_list"] == {"status": "missing"}
    results = run.report(data, data, ops, dict(ops), None, 1.0)
    assert results["ops"]["leads_list"]["status"] == "missing"
    assert results["ops"]["leads_list"]["ok"] is False
    assert results["ops"]["lead_page"]["status"] == "missing"
    assert results["worker_rss"] is None


@pytest.mark.skipif(
    POSTGRES_URL is None, reason="PostgreSQL runs when CRM_TEST_DATABASE_URL is set"
)
def test_the_same_bench_runs_on_postgresql_beside_sqlites_results(tmp_path, data_dir):
    # Databases of this test's own, never the ones `make bench DB=postgres` keeps.
    name = make_url(POSTGRES_URL).database + "_bench"
    sqlite_results, _written = bench(tmp_path, data_dir, "--no-rss", "--import-leads", "0")
    on_postgres = ["--postgres", POSTGRES_URL, "--postgres-name", name]
    try:
        results, written = bench(tmp_path, data_dir, *on_postgres)
        # Reused, not copied again, on the next run.
        again, _written = bench(tmp_path, data_dir, "--no-rss", *on_postgres)
    finally:
        for size in ("big", "small"):
            load_data.drop(POSTGRES_URL, f"{name}_{size}")
    # SQLite's results stay at the top, PostgreSQL's go under their key.
    assert written["ops"] == sqlite_results["ops"]
    assert written["postgres"] == results
    assert again["dataset"]["big"]["build_seconds"] == results["dataset"]["big"]["build_seconds"]
    assert results["dataset"]["big"]["path"].startswith("postgresql")
    assert results["dataset"]["big"]["build_seconds"] is not None
    assert list(results["ops"]) == OPS
    for op in ("lead_page", "log_activity", "board", "agenda"):
        assert results["ops"][op]["status"] == "ok", op
    # The same rows as the SQLite file, and its id sequences moved past them.
    assert results["ops"]["lead_page"]["queries"] == sqlite_results["ops"]["lead_page"]["queries"]
    assert results["worker_rss"]["worker_rss_mb"] > 20
    assert results["import_10k"] is None
