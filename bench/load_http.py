"""A browser's part in the load test: one keep-alive connection, its cookies, and the pages'
forms and board columns read the way the page's own scripts read them."""

import html
import http.client
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from bench.run import csrf_token

# gunicorn closes a keep-alive connection idle for 2 seconds; a browser opens a new one then.
IDLE_REUSE_SECONDS = 1.5
TIMEOUT_SECONDS = 30
SNIPPET = 300

TAG = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'([\w:-]+)(?:\s*=\s*"([^"]*)")?')
OPTION = re.compile(r"<option\b([^>]*)>", re.IGNORECASE)


@dataclass
class Answer:
    status: int
    headers: dict
    body: str
    ms: float


@dataclass
class Failure:
    kind: str
    method: str
    path: str
    problem: str
    body: str = ""


@dataclass
class Recorder:
    """Every timed request of the run: kind, when it started, how long it took, and whether
    the server answered as the page expects."""

    started: float = field(default_factory=time.monotonic)
    samples: list = field(default_factory=list)  # (kind, server, seconds after start, ms, ok)
    failures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind, server, began, ms, failure=None):
        with self.lock:
            self.samples.append((kind, server, began - self.started, ms, failure is None))
            if failure:
                self.failures.append(failure)


class Browser:
    """One user's browser on one server: cookies, a keep-alive connection, the CSRF token."""

    def __init__(self, base, recorder, server=0):
        parts = urllib.parse.urlsplit(base)
        self.base, self.host, self.port = base, parts.hostname, parts.port
        self.recorder, self.server = recorder, server
        self.cookies = {}
        self.connection = None
        self.last_used = 0.0
        self.token = None

    def fetch(self, method, path, form=None, headers=None):
        """One request; the answer, or an OSError when the server never answered."""
        body = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        reused = self.connection is not None and time.monotonic() - self.last_used < (
            IDLE_REUSE_SECONDS
        )
        if not reused:
            self.close()
        try:
            response = self.send(method, path, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # The server closed the kept connection as we sent: a browser sends again.
            self.close()
            response = self.send(method, path, body, headers)
        content = response.read().decode("utf-8", errors="replace")
        ms = (time.perf_counter() - started) * 1000
        self.last_used = time.monotonic()
        self.keep_cookies(response.headers.get_all("Set-Cookie") or [])
        if response.will_close:
            self.close()
        return Answer(response.status, dict(response.headers.items()), content, ms)

    def send(self, method, path, body, headers):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                self.host, self.port, timeout=TIMEOUT_SECONDS
            )
        self.connection.request(method, path, body=body, headers=headers)
        return self.connection.getresponse()

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def keep_cookies(self, lines):
        for line in lines:
            name, _sep, value = line.split(";", 1)[0].partition("=")
            if value and "max-age=0" not in line.lower():
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)

    def timed(self, kind, method, path, expected, form=None, headers=None, by_status=False):
        """A request of the run, recorded (under `kind` and its status when `by_status`); None
        when it failed (recorded as a failure)."""
        began = time.monotonic()
        try:
            answer = self.fetch(method, path, form, headers)
        except (OSError, http.client.HTTPException) as error:
            ms = (time.monotonic() - began) * 1000
            failure = Failure(kind, method, path, f"{type(error).__name__}: {error}")
            self.recorder.note(kind, self.server, began, ms, failure)
            return None
        failure = None
        if answer.status not in expected:
            problem = f"status {answer.status}"
            failure = Failure(kind, method, path, problem, answer.body[:SNIPPET])
        elif by_status:
            kind = f"{kind} {answer.status}"
        self.recorder.note(kind, self.server, began, answer.ms, failure)
        return answer if failure is None else None

    def htmx_headers(self, source, target, page):
        """What htmx 4 sends, with the CSRF header app.js adds to every htmx request."""
        headers = {
            "HX-Request": "true",
            "HX-Request-Type": "partial",
            "HX-Source": source,
            "HX-Target": target,
            "HX-Current-URL": self.base + page,
            "Accept": "text/html",
        }
        if self.token:
            headers["X-CSRFToken"] = self.token
        return headers

    def login(self, email, password):
        """Log in with the form, as a person does; raises when refused."""
        page = self.fetch("GET", "/login")
        form = {"email": email, "password": password, "csrf_token": csrf_token(page.body)}
        answer = self.fetch("POST", "/login", form)
        if answer.status != 303:
            raise RuntimeError(f"Logging in as {email} failed with status {answer.status}.")

    def read_token(self, page):
        self.token = csrf_token(page)


def log_form_fields(page):
    """The log form's fields as the browser would submit them: {name: value}."""
    found = re.search(r'<form id="log-form".*?</form>', page, re.DOTALL)
    if not found:
        raise ValueError("No log form on the lead page.")
    form = found.group(0)
    fields = {}
    for match in TAG.finditer(form):
        tag, attrs = match.group(1).lower(), attributes(match.group(2))
        name = attrs.get("name")
        if not name or "disabled" in attrs:
            continue
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "button", "reset") or (
                kind in ("checkbox", "radio") and "checked" not in attrs
            ):
                continue
            fields[name] = attrs.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            fields[name] = chosen_option(form[match.end() : form.find("</select>", match.end())])
        else:
            end = form.find("</textarea>", match.end())
            fields[name] = html.unescape(form[match.end() : end]).removeprefix("\n")
    return fields


def attributes(text):
    return {
        name.lower(): html.unescape(value) if value is not None else ""
        for name, value in ATTRIBUTE.findall(text)
    }


def chosen_option(options):
    values = [attributes(attrs) for attrs in OPTION.findall(options)]
    chosen = next((attrs for attrs in values if "selected" in attrs), values[0] if values else {})
    return chosen.get("value", "")
