"""A real gunicorn to crash, and just enough of a browser to write through it.

The server runs in a process group of its own, so the whole of it (master and workers) can be
killed at one stroke, as a power cut or an OOM killer would, without touching anything else.
"""

import contextlib
import http.client
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
# As `make run` serves: two processes of four threads.
WORKERS, THREADS = 2, 4
START_TIMEOUT = 30
REQUEST_TIMEOUT = 15
# What a dying server can do to a request in flight: refuse, reset, or close without answering.
NO_ANSWER = (OSError, http.client.HTTPException)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`gunicorn --workers 2 --threads 4 wsgi:app` on a loopback port, configured by `env`."""

    def __init__(self, env, log_path):
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        command = [
            str(GUNICORN),
            *("--bind", f"127.0.0.1:{self.port}"),
            *("--workers", str(WORKERS), "--threads", str(THREADS)),
            "wsgi:app",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own program and arguments)
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for_workers(WORKERS)
        self.wait_until_up()

    def log_tail(self):
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_until_up(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log_tail())
            with contextlib.suppress(*NO_ANSWER):
                status, _body = Browser(self.base).get("/healthz")
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer in time:\n" + self.log_tail())

    def workers(self):
        """The worker processes the master has forked, alive or not yet reaped."""
        master = self.process.pid
        found = set()
        for children in Path(f"/proc/{master}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                found.update(int(pid) for pid in children.read_text().split())
        if found:
            return found
        # Kernels without the children file: find them by their parent.
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == master:
                    found.add(int(stat.parent.name))
        return found

    def wait_for_workers(self, count, besides=()):
        """Wait until `count` workers run, none of them in `besides` (the killed ones)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log_tail())
            alive = {pid for pid in self.workers() - set(besides) if is_running(pid)}
            if len(alive) >= count:
                return alive
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not fork {count} workers:\n" + self.log_tail())

    def kill_one_worker(self):
        """SIGKILL one worker, as the OOM killer would; the master forks another."""
        worker = min(self.workers())
        os.kill(worker, signal.SIGKILL)
        return worker

    def kill_everything(self):
        """SIGKILL the master and every worker at once: nothing gets to finish or clean up."""
        workers = self.workers()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=START_TIMEOUT)
        wait_gone(workers)

    def stop(self):
        """A polite shutdown (used once the test is over, or when it failed half way)."""
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.workers()
        self.process.terminate()
        try:
            self.process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        wait_gone(workers)


def is_running(pid):
    """Alive and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_gone(pids, timeout=START_TIMEOUT):
    # Orphaned workers are reaped by init: until then they may still hold database connections.
    deadline = time.monotonic() + timeout
    while any(is_running(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn workers {sorted(pids)} outlived the kill")
        time.sleep(0.02)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, the CSRF token, htmx's headers; no redirects followed. One per thread."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )
        self.token = None

    def open(self, path, data=None, headers=None):
        """(status, headers, body); raises one of NO_ANSWER when the server gave none."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        # Only ever http://127.0.0.1: the server the test started.
        request = urllib.request.Request(  # noqa: S310
            self.base + path, data=body, headers=headers or {}
        )
        try:
            response = self.opener.open(request, timeout=REQUEST_TIMEOUT)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            return response.status, response.headers, response.read().decode(errors="replace")

    def get(self, path):
        status, _headers, body = self.open(path)
        return status, body

    def login(self, email, password):
        _status, page = self.get("/login")
        data = {"email": email, "password": password, "csrf_token": csrf_token(page)}
        status, _headers, _body = self.open("/login", data)
        if status != 303:
            raise RuntimeError(f"login refused with status {status}")
        _status, page = self.get("/leads/")
        self.token = csrf_token(page)

    def htmx_post(self, path, data):
        """Post as htmx does from a page: the token in a header, a fragment expected back."""
        headers = {"HX-Request": "true", "HX-Request-Type": "partial", "X-CSRFToken": self.token}
        return self.open(path, data, headers)


def csrf_token(page):
    for tag in re.findall(r"<input[^>]*>|<meta[^>]*>", page):
        if 'name="csrf_token"' in tag or 'name="csrf-token"' in tag:
            value = re.search(r'(?:value|content)="([^"]+)"', tag)
            if value:
                return value.group(1)
    raise RuntimeError("No CSRF token on the page.")
