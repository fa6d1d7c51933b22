"""Where a lead page's and a logged contact's milliseconds go, on a copy of the benchmark data.

    python -m bench.profile                    # SQLite, bench/data/big.sqlite3
    python -m bench.profile --postgres         # its PostgreSQL copy (make bench DB=postgres)

Each request is run many times in process, as `make bench` runs them, and its
time is told in parts, per request: in all (wall and CPU), in SQL statements (time in the
database driver, and how many) and in templates (Jinja rendering, from Flask's signals), all
measured without a profiler. Then, under cProfile, the share of the time spent in the templates,
the forms (WTForms building and checking), Babel (formatting dates and numbers, and
translating), the session and loading the user. Parts overlap where one runs inside another
(Babel's formatting happens inside the templates). The whole profile is written too
(`bench/profile-<op>.pstats`) for `python -m pstats` or snakeviz, and the figures to
`bench/profile.json`.
"""

import argparse
import cProfile
import gc
import json
import pstats
import secrets
import time
from pathlib import Path

from flask import before_render_template, template_rendered
from sqlalchemy import event

from bench import run
from crm.extensions import db

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# (part, where its functions live, the functions whose time, inclusive, is the part's)
PARTS = [
    ("templates", "flask/templating.py", {"_render"}),
    ("forms", "wtforms/form.py", {"__call__", "validate"}),
    (
        "babel",
        "flask_babel/__init__.py",
        {
            "format_datetime",
            "format_date",
            "format_time",
            "format_decimal",
            "format_currency",
            "format_timedelta",
            "gettext",
            "ngettext",
            "pgettext",
        },
    ),
    ("session", "flask/sessions.py", {"open_session", "save_session"}),
    ("user loading", "flask_login/utils.py", {"_get_user"}),
]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--repeat", type=int, default=200, help="requests profiled per op")
    parser.add_argument("--postgres", nargs="?", const=POSTGRES_SERVER, default=None)
    parser.add_argument("--output", type=Path, default=run.DATA_DIR.parent / "profile.json")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(argv)
    with run.isolated_environment() as scratch:
        data = run.dataset(
            "big",
            run.DEFAULT_LEADS,
            run.DEFAULT_ACTIVITIES,
            run.DATA_DIR,
            users=10,
            seed=1,
            language="en",
        )
        if options.postgres:
            from bench import load_data  # noqa: PLC0415

            data = load_data.postgres_from(data, options.postgres, "crm_bench_big", run.DATA_DIR)
        work = run.working_copy(data, scratch)
        try:
            results = profile_ops(work, data, options)
        finally:
            run.discard(work, data)
    results["database"] = "postgresql" if options.postgres else "sqlite"
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    for name, parts in results["ops"].items():
        show(name, parts)
    run.say(f"Wrote {options.output}.")
    return results


def profile_ops(work, data, options):
    app = run.make_app(work, WTF_CSRF_ENABLED=False)
    password = secrets.token_urlsafe(16)
    run.add_bench_user(app, password)
    client = app.test_client()
    client.post("/login", data={"email": run.BENCH_EMAIL, "password": password})
    number = data.meta.get("lead_page_number") or 1
    log_form = run.LogForm(app, number)
    with app.app_context():
        engine = db.engine
    gc.freeze()
    requests = {
        "lead_page": lambda: client.get(f"/leads/{number}"),
        "log_activity": lambda: client.post(
            f"/leads/{number}/log", data=log_form.data(), headers=run.HTMX
        ),
    }
    results = {"ops": {}, "repeat": options.repeat}
    for name, send in requests.items():
        for _ in range(5):
            send()
        results["ops"][name] = profile(name, send, engine, options.repeat)
    return results


def profile(name, send, engine, repeat):
    """Per request: the time in all, in SQL statements and in templates, measured without a
    profiler; then each part's share of the time under cProfile (which slows every Python call,
    so it tells proportions, not milliseconds)."""
    timed = measured(send, engine, repeat, name)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        send()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.dump_stats(run.DATA_DIR.parent / f"profile-{name}.pstats")
    profiled = stats.total_tt
    for part, where, functions in PARTS:
        timed[f"{part}_share"] = round(inclusive(stats, where, functions) / profiled, 3)
    return timed


def measured(send, engine, repeat, name):
    sql = {"count": 0, "seconds": 0.0}
    rendering = {"seconds": 0.0, "began": []}
    began = {}

    def before(_conn, cursor, *_args):
        began[id(cursor)] = time.perf_counter()

    def after(_conn, cursor, *_args):
        sql["count"] += 1
        sql["seconds"] += time.perf_counter() - began.pop(id(cursor), time.perf_counter())

    def render_starts(_app, **_extra):
        rendering["began"].append(time.perf_counter())

    def render_ends(_app, **_extra):
        rendering["seconds"] += time.perf_counter() - rendering["began"].pop()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    before_render_template.connect(render_starts)
    template_rendered.connect(render_ends)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        for _ in range(repeat):
            response = send()
            if response.status_code >= 400:
                raise RuntimeError(f"{name} answered {response.status_code}")
    finally:
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        before_render_template.disconnect(render_starts)
        template_rendered.disconnect(render_ends)
    per = 1000 / repeat
    return {
        "wall_ms": round(wall * per, 2),
        "cpu_ms": round(cpu * per, 2),
        "sql_statements": round(sql["count"] / repeat, 1),
        # Time inside execute(); rows fetched after it are not counted. Statements run while a
        # template renders (lazy loads) count here and in templates.
        "sql_ms": round(sql["seconds"] * per, 2),
        "templates_ms": round(rendering["seconds"] * per, 2),
    }


def inclusive(stats, where, functions):
    """The time spent in `functions` of the file ending in `where`, callees included, counted
    once where they call each other (a template rendering another)."""
    total = 0.0
    for (path, _line, function), (_cc, _nc, _tt, cumulative, callers) in stats.stats.items():
        if not path.endswith(where) or function not in functions:
            continue
        # Time reached from outside the part; calls from within it are in their callers' time.
        inside = {
            caller for caller in callers if caller[0].endswith(where) and caller[2] in functions
        }
        share = (
            sum(timing[3] for caller, timing in callers.items() if caller not in inside)
            if inside
            else cumulative
        )
        total += share
    return total


def show(name, parts):
    run.say(f"{name}: {parts['wall_ms']} ms a request ({parts['cpu_ms']} ms CPU)")
    run.say(f"  SQL: {parts['sql_statements']} statements, {parts['sql_ms']} ms")
    run.say(f"  templates: {parts['templates_ms']} ms")
    shares = ", ".join(f"{part} {parts[part + '_share']:.0%}" for part, _where, _functions in PARTS)
    run.say(f"  under cProfile, time spent in: {shares}")


if __name__ == "__main__":
    main()
