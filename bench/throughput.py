"""Requests per second under wrk, each page beside `/healthz` in the same run.

Serves a copy of the benchmark database (bench/data/big.sqlite3, built by `make bench`) with
gunicorn as `make run` does (2 workers × 4 threads), logs in the benchmark's user and points
wrk at `/healthz`, a lead's page and the lead list in turn, with the session's cookie and a
connection per request (as behind nginx): once untimed, then for ROUNDS interleaved rounds.
Prints each page's requests per second and its share of healthz's.
Needs `wrk` (Debian's package); run by hand, on an otherwise idle machine:

    .venv/bin/python -m bench.throughput [--seconds 15] [--connections 8]
"""

import argparse
import http.cookiejar
import json
import re
import secrets
import shutil
import statistics
import subprocess
import urllib.request

from bench import run

ROUNDS = 2
WARM_UP_SECONDS = 15
PAGES = ("healthz", "lead_page", "leads_list")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.throughput")
    parser.add_argument("--seconds", type=int, default=15, help="per page and round")
    parser.add_argument("--connections", type=int, default=8)
    options = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    big = run.DATA_DIR / "big.sqlite3"
    if not big.exists():
        raise SystemExit("No benchmark database: run `make bench` first.")
    meta = json.loads((run.DATA_DIR / "big.json").read_text())
    with run.isolated_environment() as scratch:
        work = scratch / "throughput.sqlite3"
        shutil.copy(big, work)
        password = secrets.token_urlsafe(16)
        run.add_bench_user(run.make_app(work), password)
        server = run.Gunicorn(run.database_url(work), scratch, workers=2, threads=4)
        try:
            browser, jar = run.Browser(server.base), http.cookiejar.CookieJar()
            browser.opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(jar), run.NoRedirect()
            )
            browser.login(run.BENCH_EMAIL, password)
            cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
            number = meta.get("lead_page_number") or 1
            paths = {
                "healthz": "/healthz",
                "lead_page": f"/leads/{number}",
                "leads_list": "/leads/",
            }
            # Untimed first: the first seconds after start-up run at a third of the pace.
            for page in PAGES:
                wrk(server.base + paths[page], cookie, options, seconds=WARM_UP_SECONDS)
            rates = {page: [] for page in PAGES}
            for _round in range(ROUNDS):
                for page in PAGES:
                    rates[page].append(wrk(server.base + paths[page], cookie, options))
        finally:
            server.stop()
    floor = statistics.mean(rates["healthz"])
    for page in PAGES:
        each = " and ".join(f"{rate:,.0f}" for rate in rates[page])
        share = 100 * statistics.mean(rates[page]) / floor
        run.say(f"{page:<12} {each} req/s ({share:.1f} % of healthz)")


def wrk(url, cookie, options, seconds=None):
    """Requests per second wrk reached on `url`; a run with a non-2xx answer is refused."""
    command = [
        "wrk",
        *("-t", "2", "-c", str(options.connections), "-d", f"{seconds or options.seconds}s"),
        # A connection per request, as the README's nginx proxies each one. A connection kept
        # alive stays with the worker that accepted it: all of wrk's could land on one of the
        # two workers, and a round ran at half the pace with the other idle (the list at 83,
        # then 41 req/s).
        *("-H", "Connection: close"),
        *("-H", f"Cookie: {cookie}", url),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in output:
        raise SystemExit(f"{url} answered with errors under wrk:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


if __name__ == "__main__":
    main()
