"""What `make load` prints: one table of the run, the checks, and whatever failed."""

import os
import re
from dataclasses import dataclass

from bench.load_drift import check_drift, drift
from bench.run import number, percentile, say

ORDER = (
    "healthz",
    "search",
    "lead_page",
    "log_activity",
    "board_poll 204",
    "board_poll 200",
    "board_poll",
    "board_move",
    "analytics",
)
# A move must show on every board within this long.
MOVE_SEEN_WITHIN = 5.0
SHOWN_FAILURES = 20
SHOWN_LOG_LINES = 30
# Lines of gunicorn's log that mean a request went wrong on the server.
SERVER_TROUBLE = re.compile(r"Traceback|ERROR|CRITICAL|database is locked|status=5\d\d")


@dataclass
class Row:
    kind: str
    count: int
    errors: int
    per_second: float
    p50: float | None
    p95: float | None
    p99: float | None
    ratio: float | None = None


def summarize(samples, seconds):
    """One row per request kind (and a total) from (kind, server, began, ms, ok) samples;
    only requests sent during the run count (not the logins and page loads before it)."""
    by_kind = {}
    for kind, _server, began, ms, ok in samples:
        if began >= 0:
            by_kind.setdefault(kind, []).append((ms, ok))
    kinds = [kind for kind in ORDER if kind in by_kind]
    kinds += sorted(kind for kind in by_kind if kind not in ORDER)
    rows = [row(kind, by_kind[kind], seconds) for kind in kinds]
    rows.append(row("total", [sample for kind in kinds for sample in by_kind[kind]], seconds))
    floor = next((r.p50 for r in rows if r.kind == "healthz"), None)
    for each in rows:
        if floor and each.p50 is not None and each.kind != "total":
            each.ratio = each.p50 / floor
    return rows


def row(kind, samples, seconds):
    answered = [ms for ms, ok in samples if ok]
    errors = sum(1 for _ms, ok in samples if not ok)

    def at(percent):
        return percentile(answered, percent) if answered else None

    return Row(kind, len(samples), errors, len(samples) / seconds, at(50), at(95), at(99))


def print_report(outcome, options):
    """Print the run's table and checks; the exit status: 0 when nothing failed."""
    recorder = outcome["recorder"]
    rows = summarize(recorder.samples, options.seconds)
    say("")
    say(
        f"{outcome['setup']}; {outcome['servers']} server(s) × gunicorn {options.workers} workers"
        f" × {options.threads} threads; {options.seconds:.0f} s"
    )
    say(
        f"{outcome['sellers']} salespeople (search, lead page, log a contact; pause "
        f"{options.think:g} s), {outcome['boards']} idle boards polling every 4 s, "
        f"{outcome['managers']} managers on the reports, a card moved every "
        f"{options.move_every:g} s, healthz 4/s per server"
    )
    print_table(rows)
    checks = [
        check_moves(outcome["moves"]),
        check_throttle(outcome["throttle"]),
        check_saved(outcome["activities_saved"], rows),
        check_drift(drift(outcome["memory"], recorder.samples, options.seconds)),
    ]
    print_machine(outcome, options)
    failures = recorder.failures
    if failures:
        print_failures(failures, outcome["server_logs"])
    ok = not failures and all(checks)
    say("Result: " + ("ok, no request failed." if ok else "FAILED."))
    return 0 if ok else 1


def results_of(outcome, options):
    """The run as bench/load-results.json keeps it: per request kind, the checks, the machine."""
    rows = summarize(outcome["recorder"].samples, options.seconds)
    delays = [seconds for boards in outcome["moves"] for _server, seconds in boards]
    shown = [seconds for seconds in delays if seconds is not None]
    logged = next((r.count - r.errors for r in rows if r.kind == "log_activity"), 0)
    throttled = all(status == expected for _a, _s, status, expected in outcome["throttle"])
    return {
        "setup": outcome["setup"],
        "team": {
            "servers": outcome["servers"],
            "workers": options.workers,
            "threads": options.threads,
            "seconds": options.seconds,
            "salespeople": outcome["sellers"],
            "think_s": options.think,
            "boards": outcome["boards"],
            "managers": outcome["managers"],
        },
        "requests": {
            each.kind: {
                "count": each.count,
                "errors": each.errors,
                "per_second": round(each.per_second, 1),
                "p50_ms": rounded(each.p50),
                "p95_ms": rounded(each.p95),
                "p99_ms": rounded(each.p99),
                "p50_over_healthz": rounded(each.ratio, 2),
            }
            for each in rows
        },
        "moves": {
            "made": len(outcome["moves"]),
            "shown": len(shown),
            "board_views": len(delays),
            "median_s": rounded(percentile(shown, 50) if shown else None, 2),
            "max_s": rounded(max(shown, default=None), 2),
            "within_s": MOVE_SEEN_WITHIN,
        },
        "contacts": {"answered_logged": logged, "stored": outcome["activities_saved"]},
        "throttle_shared": throttled,
        "long_day": drift(outcome["memory"], outcome["recorder"].samples, options.seconds),
        "failures": len(outcome["recorder"].failures),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": [round(value, 2) for value in os.getloadavg()],
            "load_generator_cpu_s": round(outcome["client_cpu"], 1),
        },
    }


def rounded(value, places=1):
    return None if value is None else round(value, places)


def print_table(rows):
    header = (
        f"{'request':<14} {'count':>7} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'p50/healthz':>12}"
    )
    say(header)
    say("-" * len(header))
    for each in rows:
        if each.kind == "total":
            say("-" * len(header))
        say(
            f"{each.kind:<14} {each.count:>7,} {each.errors:>6,} {each.per_second:>7.1f} "
            f"{number(each.p50):>8} {number(each.p95):>8} {number(each.p99):>8} "
            f"{number(each.ratio):>11}{'x' if each.ratio is not None else ' '}"
        )


def check_moves(moves):
    """Every board drew each moved card in its new column within 5 s."""
    if not moves or not moves[0]:
        say("Moves: none made, or no board to show them: FAILED")
        return False
    delays = [seconds for boards in moves for _server, seconds in boards]
    shown = [seconds for seconds in delays if seconds is not None]
    elsewhere = [
        seconds for boards in moves for server, seconds in boards if server and seconds is not None
    ]
    slowest = max(shown, default=0.0)
    ok = len(shown) == len(delays) and slowest <= MOVE_SEEN_WITHIN
    other = f"; on server 2's boards {max(elsewhere):.1f} s" if elsewhere else ""
    say(
        f"Moves: {len(moves)} cards moved on server 1; {len(shown)} of {len(delays)} times a "
        f"board drew the card in its new column, after {percentile(shown, 50) if shown else 0:.1f}"
        f" s at the median, {slowest:.1f} s at most{other} (must be ≤ {MOVE_SEEN_WITHIN:.0f} s): "
        f"{'ok' if ok else 'FAILED'}"
    )
    return ok


def check_throttle(results):
    """Failures alternately on the servers; the next try, at once, told to wait by each."""
    ok = all(status == expected for _attempt, _server, status, expected in results)
    tries = max(attempt for attempt, _server, _status, _ in results) - 1
    failed = [status for attempt, _server, status, _ in results if attempt <= tries]
    last = [(server, status) for attempt, server, status, _ in results if attempt > tries]
    servers = sorted({server + 1 for _attempt, server, _status, _ in results})
    say(
        f"Login throttling: {tries} wrong passwords alternately on server(s) "
        f"{', '.join(map(str, servers))} answered {', '.join(map(str, failed))}; the next try "
        f"(right password, at once) answered "
        f"{', '.join(f'{status} on server {server + 1}' for server, status in last)} "
        f"(must be 429, wait): {'ok' if ok else 'FAILED'}"
    )
    return ok


def check_saved(saved, rows):
    """Every contact answered as logged is in the database, none twice."""
    logged = next((r.count - r.errors for r in rows if r.kind == "log_activity"), 0)
    ok = saved == logged
    say(
        f"Contacts: {logged:,} answered as logged, {saved:,} added to the database: "
        f"{'ok' if ok else 'FAILED'}"
    )
    return ok


def print_machine(outcome, options):
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    say(
        f"Load generator CPU {outcome['client_cpu']:.0f} s in {options.seconds:.0f} s; "
        f"{os.cpu_count()} CPUs, load average now {load}"
    )


def print_failures(failures, logs):
    say(f"{len(failures)} request(s) failed; the first {min(len(failures), SHOWN_FAILURES)}:")
    for failure in failures[:SHOWN_FAILURES]:
        body = " ".join(failure.body.split())[:200]
        say(f"  {failure.kind} {failure.method} {failure.path[:120]}: {failure.problem} {body}")
    for path in logs:
        lines = [line for line in read_lines(path) if SERVER_TROUBLE.search(line)]
        if lines:
            say(f"{path.name}, {len(lines)} line(s) of trouble; the last {SHOWN_LOG_LINES}:")
            for line in lines[-SHOWN_LOG_LINES:]:
                say("  " + line[:300])


def read_lines(path):
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []
