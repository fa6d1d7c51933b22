"""A long day without drift: on a run of LONG_DAY or more, each gunicorn worker's memory and the
p95 of all requests, early in the run and at its end.

Memory is read from /proc every SAMPLE_EVERY seconds for each worker of each server. A worker
may grow by at most MAX_GROWTH between minute WINDOW and the end; the p95 of all requests in the
last WINDOW may be at most MAX_SLOWER above that of the first.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.run import percentile, say

LONG_DAY = 10 * 60
WINDOW = 5 * 60
SAMPLE_EVERY = 30
MAX_GROWTH = 0.10
MAX_SLOWER = 0.20


@dataclass
class Memory:
    """{worker pid: [(seconds after start, resident MB)]}."""

    started: float
    samples: dict = field(default_factory=dict)

    def sample(self, masters):
        seconds = time.monotonic() - self.started
        for pid in workers_of(masters):
            resident = resident_mb(pid)
            if resident is not None:
                self.samples.setdefault(pid, []).append((seconds, resident))


def watch_memory(memory, masters, deadline):
    """Sample the workers' memory until the deadline (a job of the run)."""
    while time.monotonic() < deadline:
        memory.sample(masters)
        time.sleep(max(0.0, min(SAMPLE_EVERY, deadline - time.monotonic())))
    memory.sample(masters)


def workers_of(masters):
    """The pids of the gunicorn workers: the children of the master processes."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command may hold spaces and brackets: the fields after it are fixed.
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent in masters:
            found.append(int(stat.parent.name))
    return found


def resident_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def drift(memory, samples, seconds):
    """The long day's figures, or None for a shorter run."""
    if seconds < LONG_DAY:
        return None
    workers = {}
    for pid, readings in memory.samples.items():
        early = [mb for at, mb in readings if at >= WINDOW]
        if early:
            workers[pid] = {
                "at_window_mb": round(early[0], 1),
                "end_mb": round(early[-1], 1),
                # Every WINDOW: whether it levels off or keeps growing.
                "every_window_mb": every_window(readings),
            }
    answered = [(began, ms) for _kind, _server, began, ms, ok in samples if ok and began >= 0]
    first = [ms for began, ms in answered if began < WINDOW]
    last = [ms for began, ms in answered if began >= seconds - WINDOW]
    return {
        "window_s": WINDOW,
        "workers": workers,
        "max_growth": max(
            (w["end_mb"] / w["at_window_mb"] - 1 for w in workers.values()), default=None
        ),
        "p95_first_ms": round(percentile(first, 95), 1) if first else None,
        "p95_last_ms": round(percentile(last, 95), 1) if last else None,
    }


def every_window(readings):
    """{minute: MB}: the first reading at or after each WINDOW's start."""
    found = {}
    for at, mb in readings:
        minute = int(at // WINDOW) * WINDOW // 60
        found.setdefault(minute, round(mb, 1))
    return found


def check_drift(figures):
    """Print the long day's figures; whether they are within bounds (True for a short run)."""
    if figures is None:
        return True
    minutes = figures["window_s"] // 60
    growth = figures["max_growth"]
    grew = ", ".join(
        f"{w['at_window_mb']:.1f} → {w['end_mb']:.1f} MB" for w in figures["workers"].values()
    )
    memory_ok = growth is not None and growth <= MAX_GROWTH
    for pid, worker in figures["workers"].items():
        steps = ", ".join(f"{mb:.1f}" for mb in worker["every_window_mb"].values())
        say(f"Worker {pid}, MB every {minutes} minutes: {steps}")
    say(
        f"Worker memory from minute {minutes} to the end: {grew} (at most "
        f"{100 * (growth or 0):+.1f} %, must be ≤ {100 * MAX_GROWTH:.0f} %): "
        + ("ok" if memory_ok else "FAILED")
    )
    first, last = figures["p95_first_ms"], figures["p95_last_ms"]
    slower = last / first - 1 if first and last else None
    speed_ok = slower is not None and slower <= MAX_SLOWER
    say(
        f"p95 of all requests: {first} ms in the first {minutes} minutes, {last} ms in the last "
        f"({100 * (slower or 0):+.1f} %, must be ≤ {100 * MAX_SLOWER:+.0f} %): "
        + ("ok" if speed_ok else "FAILED")
    )
    return memory_ok and speed_ok
