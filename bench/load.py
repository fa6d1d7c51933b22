"""`make load`: a team at work on the benchmark database, served by gunicorn as in production.

Serves a copy of the benchmark database (100,000 leads, 1,000,000 activities; built once in
bench/data/ by the same code as `make bench`, and copied into PostgreSQL for `--postgres`) with
gunicorn and the recommended workers and threads, and from this process, over loopback, drives
for two minutes what a sales team does:

- 20 salespeople each in a loop search the lead list (as the search box does), open one of their
  leads and log a contact on it with the page's own form, 5 s between clicks: a contact every
  15 s or so, many times a real team's pace (`--think 0`: flat out, what the server can take);
- 50 idle boards ask every 4 seconds whether anything changed, exactly as board.js does, and
  draw the columns that did;
- 3 managers read the reports (a year of step conversion, time in stage, by source), 10 s apart
  on average, each starting at a report of its own;
- a manager drops one card on another column every 10 seconds; every board must show it within
  5 seconds;
- `/healthz` is asked four times a second per server, the floor every page is compared with.

Then it fails logins at one account alternately on the servers and checks that each server then
makes the right password wait (the count is shared), and that every contact answered as logged
is in the database. It prints per request kind the count, errors, throughput, p50/p95/p99 and
the ratio of each p50 to healthz's, lists what failed, writes it all to
bench/load-results.json (under `sqlite` or `postgresql`), and exits non-zero if anything failed.

    python -m bench.load                                   # SQLite, one server
    python -m bench.load --postgres --servers 2            # two servers, one PostgreSQL
    python -m bench.load --help
"""

import argparse
import json
import random
import secrets
import shutil
import threading
import time
import urllib.parse
from pathlib import Path

from bench import run
from bench.load_board import Board, Moves
from bench.load_data import activities_now, postgres_copy, postgres_source, prepare_team
from bench.load_data import drop as drop_database
from bench.load_drift import Memory, watch_memory
from bench.load_http import Browser, Failure, Recorder, log_form_fields
from bench.load_report import MOVE_SEEN_WITHIN, print_report, results_of

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The board polls this often (POLL_MS in crm/static/js/board.js).
POLL_SECONDS = 4.0
HEALTHZ_EVERY = 0.25
# Failures counted before the account's wait begins (LOGIN_SLOWDOWN_AFTER), and one after it.
LOGIN_TRIES = 4
# The reports a manager reads, in turn.
REPORTS = (
    run.YEAR_FUNNEL,
    "/analytics/time-in-stage?period=365",
    "/analytics/sources?period=365",
)
RESULTS = run.DATA_DIR.parent / "load-results.json"
OK = {200}
NOTES = (
    "Called: they liked the estimate, waiting for their director to sign off.",
    "Sent the revised offer with the discount we discussed; call back Thursday.",
    "No answer, left a voicemail.",
    "Talked to the buyer: budget is approved for next quarter, wants a demo first.",
    "Agreed on the delivery terms. Contract draft goes out tomorrow.",
)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=120, help="how long the team works")
    parser.add_argument(
        "--minutes", type=float, default=None, help="how long the team works, in minutes"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--servers", type=int, default=None, help="app servers (1, or 2 on PG)")
    parser.add_argument("--salespeople", type=int, default=20, help="browsers logging contacts")
    parser.add_argument("--boards", type=int, default=50, help="idle boards polling")
    parser.add_argument("--managers", type=int, default=3, help="managers reading reports")
    parser.add_argument(
        "--report-every", type=float, default=10, help="seconds between a manager's reports"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the results go")
    parser.add_argument(
        "--think",
        type=float,
        default=5,
        help="seconds between a salesperson's clicks (0: flat out, what the server can take)",
    )
    parser.add_argument("--move-every", type=float, default=10, help="seconds between moves")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=POSTGRES_SERVER,
        default=None,
        metavar="URL",
        help=f"serve PostgreSQL instead of SQLite (default server {POSTGRES_SERVER})",
    )
    parser.add_argument(
        "--database",
        default="crm_load",
        help="start of the PostgreSQL databases' names: <name>_<leads>_<activities> holds the "
        "benchmark data, <name>_run the run's copy",
    )
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    if options.minutes is not None:
        options.seconds = options.minutes * 60
    options.servers = options.servers or (1 if options.postgres is None else 2)
    return options


def main(argv=None):
    options = parse_args(argv)
    with run.isolated_environment() as scratch:
        url, described = served_copy(options, scratch)
        try:
            team = prepare_team(url, options.seed)
            outcome = serve_and_drive(url, team, options, scratch)
            outcome["activities_saved"] = activities_now(url) - team.activities
        finally:
            if options.postgres:
                drop_database(options.postgres, f"{options.database}_run")
    outcome["setup"] = described
    status = print_report(outcome, options)
    write_results(options, results_of(outcome, options))
    return status


def write_results(options, results):
    """The run's figures under its database's key; a run on the other database keeps its own."""
    key = "postgresql" if options.postgres else "sqlite"
    stored = json.loads(options.output.read_text()) if options.output.exists() else {}
    options.output.parent.mkdir(parents=True, exist_ok=True)
    written = stored | {key: results}
    options.output.write_text(json.dumps(written, indent=2, ensure_ascii=False) + "\n")
    run.say(f"Wrote {options.output} ({key}).")


def served_copy(options, scratch):
    """A fresh copy of the benchmark database for this run: its URL and a description."""
    common = {"users": 10, "seed": options.seed, "language": "en"}
    if options.postgres:
        # One database per size, so a run of another size leaves the bigger build in place.
        name = f"{options.database}_{options.leads}_{options.activities}"
        source = postgres_source(
            options.postgres, name, options.leads, options.activities, **common
        )
        run.say(f"Copying {name} to {options.database}_run ...")
        url = postgres_copy(options.postgres, name, f"{options.database}_run")
        kind = "PostgreSQL"
    else:
        # Another size gets its own file: `make bench`'s stays as it is.
        name = run.file_name(options.leads, options.activities)
        source = run.dataset(name, options.leads, options.activities, run.DATA_DIR, **common)
        run.say(f"Copying {source.path} ...")
        url = run.database_url(run.copy_database(source.path, scratch))
        kind = "SQLite"
    params = source.meta["params"]
    return url, f"{kind}, {params['leads']:,} leads / {params['activities']:,} activities"


def serve_and_drive(url, team, options, scratch):
    # One key for all servers, as behind a load balancer: a session works on either.
    env = {"CRM_SECRET_KEY": secrets.token_hex(32)}
    servers = []
    try:
        for index in range(options.servers):
            run.say(f"Starting gunicorn {index + 1} ...")
            servers.append(
                run.Gunicorn(
                    url,
                    scratch,
                    workers=options.workers,
                    threads=options.threads,
                    name=f"server-{index + 1}",
                    env=env,
                )
            )
        masters = {server.process.pid for server in servers}
        outcome = drive([server.base for server in servers], team, options, masters)
        outcome["throttle"] = check_throttle([server.base for server in servers], team)
    finally:
        for server in servers:
            server.stop()
            # Each request's line (time, path, user), to find what the slowest ones met.
            if server.log_path.exists():
                shutil.copy(server.log_path, run.DATA_DIR / f"load-{server.name}.log")
    outcome["server_logs"] = [str(run.DATA_DIR / f"load-{s.name}.log") for s in servers]
    return outcome


# The run


def drive(bases, team, options, masters=()):
    recorder = Recorder()
    rng = random.Random(options.seed)  # noqa: S311 - picks pages, not secrets
    run.say("Logging in the team and opening the boards ...")
    sellers = open_sellers(bases, team, options, recorder)
    boards = open_boards(bases, team, options, recorder)
    managers = open_managers(bases, team, options, recorder)
    warm_up(sellers, managers, team)
    mover = Board(Browser(bases[0], recorder, 0), index=-1)
    mover.browser.login(team.manager, team.password)
    mover.open()
    moves = Moves()
    cpu_started = time.process_time()
    recorder.started = time.monotonic()
    deadline = recorder.started + options.seconds
    memory = Memory(recorder.started)
    run.say(f"Driving the mix for {options.seconds:.0f} s ...")
    jobs = [
        *(
            (work_leads, (browser, numbers, team.searches, deadline, options.think, seeded(rng)))
            for browser, numbers in sellers
        ),
        *((watch_board, (board, deadline, moves, seeded(rng))) for board in boards),
        *(
            (read_reports, (browser, deadline, options.report_every, seeded(rng)))
            for browser in managers
        ),
        *(
            (sample_healthz, (Browser(base, recorder, index), deadline))
            for index, base in enumerate(bases)
        ),
        (move_card, (mover, team, deadline, moves, options.move_every)),
        (watch_memory, (memory, masters, deadline)),
    ]
    threads = [
        threading.Thread(target=guarded, args=(job, args, recorder), daemon=True)
        for job, args in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "recorder": recorder,
        "moves": moves.results(boards),
        "memory": memory,
        "client_cpu": time.process_time() - cpu_started,
        "sellers": len(sellers),
        "boards": len(boards),
        "managers": len(managers),
        "servers": len(bases),
    }


def guarded(job, args, recorder):
    """Run one browser's part; if the script itself breaks, that is a failure of the run too."""
    try:
        job(*args)
    except Exception as error:  # noqa: BLE001 - reported with the failed requests
        failure = Failure(job.__name__, "-", "-", f"{type(error).__name__}: {error}")
        recorder.note(job.__name__, 0, time.monotonic(), 0, failure)


def seeded(rng):
    return random.Random(rng.random())  # noqa: S311


def open_sellers(bases, team, options, recorder):
    count = options.salespeople or len(team.salespeople)
    sellers = []
    for index in range(count):
        email, numbers = team.salespeople[index % len(team.salespeople)]
        browser = Browser(bases[index % len(bases)], recorder, index % len(bases))
        browser.login(email, team.password)
        sellers.append((browser, numbers))
    return sellers


def open_managers(bases, team, options, recorder):
    managers = []
    for index in range(options.managers):
        server = index % len(bases)
        browser = Browser(bases[server], recorder, server)
        browser.login(team.manager, team.password)
        managers.append(browser)
    return managers


def read_reports(browser, deadline, every, rng):
    """A manager going through the reports, computed afresh when the data changed meanwhile.
    Managers do not read in step: each begins at a report of its own, and a pause is `every`
    on average, from half to one and a half of it."""
    time.sleep(rng.uniform(0, every))
    first = rng.randrange(len(REPORTS))
    while time.monotonic() < deadline:
        for path in REPORTS[first:] + REPORTS[:first]:
            if time.monotonic() >= deadline:
                return
            browser.timed("analytics", "GET", path, OK)
            pause(every * rng.uniform(0.5, 1.5), deadline)


def open_boards(bases, team, options, recorder):
    """The boards left open around the office, each in its own logged-in browser."""
    people = [email for email, _numbers in team.salespeople] + [team.manager]
    boards = []
    for index in range(options.boards):
        server = index % len(bases)
        browser = Browser(bases[server], recorder, server)
        browser.login(people[index % len(people)], team.password)
        board = Board(browser, index)
        board.open()
        boards.append(board)
    return boards


def warm_up(sellers, managers, team):
    """Each page a few times before the clock starts, untimed: a worker draws a page's
    templates the first time it serves it (a few hundred milliseconds), once a deployment."""
    for browser, numbers in sellers[:WARM_UP_ROUNDS]:
        query = urllib.parse.urlencode({"q": team.searches[0], "owner": ""})
        browser.fetch("GET", f"/leads/?{query}")
        browser.fetch("GET", f"/leads/{numbers[0]}")
    for browser in managers[:1]:
        for _round in range(WARM_UP_ROUNDS):
            for path in REPORTS:
                browser.fetch("GET", path)


def work_leads(browser, numbers, searches, deadline, think, rng):
    """A salesperson: find a lead, open it, log the contact just made; again. People do not
    click in step: each starts within the first pause, and a pause is `think` on average, from
    half to one and a half of it."""
    pause(rng.uniform(0, think), deadline)
    while time.monotonic() < deadline:
        query = urllib.parse.urlencode({"q": rng.choice(searches), "owner": ""})
        headers = browser.htmx_headers("input#lead-search", "div#lead-rows", "/leads/")
        browser.timed("search", "GET", f"/leads/?{query}", OK, headers=headers)
        if not pause(think * rng.uniform(0.5, 1.5), deadline):
            return
        number = rng.choice(numbers)
        page = browser.timed("lead_page", "GET", f"/leads/{number}", OK)
        if page is None:
            continue
        if not pause(think * rng.uniform(0.5, 1.5), deadline):
            return
        log_contact(browser, number, page.body, rng.choice(NOTES))
        pause(think * rng.uniform(0.5, 1.5), deadline)


def log_contact(browser, number, page, note):
    """Post the lead page's log form as htmx does, with what was said typed in."""
    path = f"/leads/{number}/log"
    try:
        fields = log_form_fields(page)
        browser.read_token(page)
    except (ValueError, RuntimeError) as error:
        failure = Failure("log_activity", "POST", path, f"the lead page: {error}")
        browser.recorder.note("log_activity", browser.server, time.monotonic(), 0, failure)
        return
    fields["body"] = note
    # A step still ahead is offered as it stands; otherwise the next call is in three days.
    fields["next_step_when"] = fields.get("next_step_when") or "+3"
    headers = browser.htmx_headers("form#log-form", "ol#timeline-items", f"/leads/{number}")
    browser.timed("log_activity", "POST", path, OK, form=fields, headers=headers)


# Enough requests of each kind that every worker of two servers has drawn each page.
WARM_UP_ROUNDS = 8


def pause(seconds, deadline):
    """Wait `seconds`, or until the deadline; whether there is time left. A pause cut short
    by the deadline ends the user's work: were everyone to take their next step then, the
    servers would meet the whole team at once, the moment the clock stops."""
    if seconds:
        time.sleep(max(0.0, min(seconds, deadline - time.monotonic())))
    return time.monotonic() < deadline


def sample_healthz(browser, deadline):
    """The floor: the same server, the same moment, a route that does nothing."""
    while time.monotonic() < deadline:
        browser.timed("healthz", "GET", "/healthz", OK)
        time.sleep(HEALTHZ_EVERY)


def watch_board(board, deadline, moves, rng):
    """An idle board: board.js's timer asks every 4 s, skipping a tick while a poll is out."""
    tick = time.monotonic() + rng.uniform(0, POLL_SECONDS)
    while tick < deadline:
        time.sleep(max(0.0, tick - time.monotonic()))
        board.poll(moves)
        now = time.monotonic()
        while tick <= now:
            tick += POLL_SECONDS


def move_card(board, team, deadline, moves, every):
    """A manager drags the first card of a column to the next one and back, now and then."""
    start = time.monotonic()
    moment = start + every / 2
    here, there = team.move_stages
    # The last move leaves the boards time to show it before the run ends.
    while moment < deadline - MOVE_SEEN_WITHIN - 1:
        time.sleep(max(0.0, moment - time.monotonic()))
        move = moves.add(team.moved_lead_id, there)
        answer = board.browser.timed(
            "board_move",
            "POST",
            f"/board/leads/{team.moved_lead_id}/move",
            OK,
            form={"stage_id": str(there), "from_stage_id": str(here)},
            headers=board.browser.htmx_headers(
                f"li#card-{team.moved_lead_id}", "div#messages", "/board/"
            ),
        )
        moves.done(move, answered=answer is not None)
        if answer is not None:
            here, there = there, here
        # The answer's "board-changed" makes this board poll at once.
        board.poll(moves)
        moment += every


def check_throttle(bases, team):
    """Wrong passwords at one account, alternately on each server, each once the account's
    wait (if any) is over; then the right password, at once, must be told to wait by every
    server: the count is shared. (Waiting it out, the password gets in: no lockout.)"""
    results = []
    for attempt in range(LOGIN_TRIES):
        server = attempt % len(bases)
        status = try_login(bases[server], team.manager, "wrong " + secrets.token_hex(4))
        results.append((attempt + 1, server, status, 422))
        # The first wait is a second: the next failure then counts, and the wait is two.
        time.sleep(1.1 if attempt + 2 == LOGIN_TRIES else 0)
    for server, base in enumerate(bases):
        results.append((LOGIN_TRIES + 1, server, try_login(base, team.manager, team.password), 429))
    return results


def try_login(base, email, password):
    browser = Browser(base, Recorder())
    page = browser.fetch("GET", "/login")
    form = {"email": email, "password": password, "csrf_token": run.csrf_token(page.body)}
    return browser.fetch("POST", "/login", form).status


if __name__ == "__main__":
    raise SystemExit(main())
