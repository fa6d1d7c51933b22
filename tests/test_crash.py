"""A crash loses nothing that was confirmed and leaves nothing half-written.

A real gunicorn (two workers of four threads, as `make run` serves) takes a stream of logged
contacts and new leads from several browsers. Mid-stream one worker is SIGKILLed, as the OOM
killer would; the master forks another and the stream goes on; then the whole server is
SIGKILLed. After a restart on the same database, every contact whose save was answered "logged"
is there exactly once, every lead answered "created" exists, the database is sound and every
record agrees with the ones it depends on. Each form carries its idempotency key, as the pages
draw it: the requests the crash left unanswered are sent again after the restart, and each is
then saved exactly once, whether the first try had saved it or not.
"""

import itertools
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from crm.models import StageKind
from tests import factories
from tests.conftest import BACKENDS, own_database
from tests.crash_server import GUNICORN, NO_ANSWER, Browser, Gunicorn

pytestmark = pytest.mark.crash

SECRET_KEY = "crash test secret key"
ADMIN_EMAIL = "ada@example.com"
LEADS = 3
CONTACT_WRITERS = 4
# Confirmed saves to wait for in each stretch of the stream: enough that a kill lands among
# requests in flight, few enough to keep the test within seconds.
SAVES_PER_STRETCH = 20
STRETCH_TIMEOUT = 20
# Browsers sending one request with one key at the same moment.
SAME_TIME_SENDERS = 8


@pytest.fixture(params=BACKENDS)
def crash_database(request, tmp_path):
    """An empty database of its own: on PostgreSQL a sibling of the test database, which
    the other tests keep using."""
    with own_database(request.param, tmp_path, "crash") as url:
        yield url


@dataclass
class Install:
    """What the server is started on, and the ids the browsers post."""

    env: dict
    admin_id: int
    lead_numbers: list
    open_stage_ids: list
    call_kind_id: int


@pytest.fixture
def install(crash_database, tmp_path, monkeypatch):
    """Migrated as `make migrate` does, with the default funnel, an administrator and leads."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(instance))
    app = create_app(
        {
            "DATABASE_URL": crash_database,
            "SECRET_KEY": SECRET_KEY,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        stages = factories.funnel()
        admin = factories.admin(name="Ada Admin", email=ADMIN_EMAIL, timezone="UTC")
        leads = [factories.lead(owner=admin, stage=stages[0]) for _ in range(LEADS)]
        setup = Install(
            env={
                "CRM_INSTANCE_PATH": str(instance),
                "CRM_DATABASE_URL": crash_database,
                "CRM_SECRET_KEY": SECRET_KEY,
                # The reminders' loop writes on its own (tests/test_notifications.py has it):
                # here only the requests the test makes write.
                "CRM_NOTIFY_IN_APP": "0",
            },
            admin_id=admin.id,
            lead_numbers=[lead.number for lead in leads],
            open_stage_ids=[stage.id for stage in stages if stage.kind == StageKind.OPEN],
            call_kind_id=factories.kind("call").id,
        )
        db.session.remove()
        db.engine.dispose()
    return setup


# The stream of writes


@dataclass
class Ledger:
    """What each browser was told: saved, refused, or nothing at all (the server died)."""

    contacts: dict = field(default_factory=dict)  # confirmed body -> lead number
    leads: set = field(default_factory=set)  # confirmed titles
    unanswered: list = field(default_factory=list)
    # (path, form, succeeded, key, number) of each request left unanswered, to send again.
    to_retry: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    cut_by_worker_kill: int = 0
    confirmed_before_crash: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def confirmed(self):
        with self.lock:
            return len(self.contacts) + len(self.leads)

    def wait_for(self, count, server):
        deadline = time.monotonic() + STRETCH_TIMEOUT
        while self.confirmed() < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {self.confirmed()} of {count} saves confirmed; refused: "
                    f"{self.refused[:3]}\n{server.log_tail()}"
                )
            time.sleep(0.02)


def utc_minute():
    return datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)


def contact_form(setup, body, chance):
    """The lead page's log form as a user fills it: now or backdated, sometimes moving the
    lead on, sometimes planning (or clearing) the next step."""
    offered = utc_minute()
    when = offered
    if chance.random() < 0.3:
        # Typed by hand, hours earlier, to the second: the newest contact is not the last saved.
        when = offered - timedelta(minutes=chance.randint(1, 600), seconds=chance.randint(1, 59))
    tomorrow = (offered + timedelta(days=1)).date().isoformat()
    next_step = chance.choice([tomorrow, f"{tomorrow} 10:30", "+1", ""])
    return {
        "kind_id": setup.call_kind_id,
        "occurred_at": when.isoformat(),
        "offered_time": offered.isoformat(),
        "body": body,
        "stage_id": chance.choice(setup.open_stage_ids[:3]),
        "lost_reason_id": "",
        "lost_note": "",
        "value": "",
        "next_step_when": next_step,
        "next_step_note": chance.choice(["", "Call back"]),
        # Without a day, the person says there is no next step, as the form asks.
        "no_next_step": "" if next_step else "y",
        "idempotency_key": str(uuid.uuid4()),
    }


def new_lead_form(setup, title):
    return {
        "title": title,
        "contact_name": "",
        "phone": "",
        "email": "",
        "source": "",
        "value": "",
        "owner_id": setup.admin_id,
        "stage_id": setup.open_stage_ids[0],
        "next_step_when": "",
        "next_step_note": "",
        # Skip the "is this one of these?" question: the titles are new.
        "confirmed": "1",
        "idempotency_key": str(uuid.uuid4()),
    }


def logged(status, _headers):
    """The lead page's answer to a saved contact: the timeline afresh."""
    return status == 200


def created(status, headers):
    """The answer to a saved lead: go to its page."""
    return status == 204 and headers.get("HX-Redirect", "").startswith("/leads/")


def log_contacts(name, browser, setup, ledger, stop):
    chance = random.Random(name)
    for n in itertools.count():
        if stop.is_set():
            return
        number = chance.choice(setup.lead_numbers)
        body = f"{name} contact {n}"
        form = contact_form(setup, body, chance)
        post(browser, f"/leads/{number}/log", form, ledger, logged, body, number)


def create_leads(name, browser, setup, ledger, stop):
    for n in itertools.count():
        if stop.is_set():
            return
        title = f"{name} lead {n}"
        post(browser, "/leads/new", new_lead_form(setup, title), ledger, created, title, None)


def post(browser, path, form, ledger, succeeded, key, number):
    try:
        status, headers, _body = browser.htmx_post(path, form)
    except NO_ANSWER as error:
        with ledger.lock:
            ledger.unanswered.append((key, repr(error)))
            ledger.to_retry.append((path, form, succeeded, key, number))
        # The server is down or restarting: do not spin on a refused port.
        time.sleep(0.01)
        return
    with ledger.lock:
        if not succeeded(status, headers):
            ledger.refused.append((key, status))
        elif number is None:
            ledger.leads.add(key)
        else:
            ledger.contacts[key] = number


class Stream:
    """Browsers writing at once, each in its own thread with its own login."""

    def __init__(self, server, setup):
        self.ledger = Ledger()
        self.stop = threading.Event()
        jobs = [(f"w{n}", log_contacts) for n in range(CONTACT_WRITERS)]
        jobs.append(("c0", create_leads))
        self.threads = []
        for name, job in jobs:
            browser = Browser(server.base)
            browser.login(ADMIN_EMAIL, factories.PASSWORD)
            args = (name, browser, setup, self.ledger, self.stop)
            self.threads.append(threading.Thread(target=job, args=args, name=name, daemon=True))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self.ledger

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


# What must hold in the database afterwards


def database_problems(conn):
    """Each check is a query for the rows that break it: all must come back empty."""
    checks = {
        "contacts without their lead": """
            SELECT a.id FROM activities a LEFT JOIN leads l ON l.id = a.lead_id
            WHERE l.id IS NULL""",
        "stage changes without their lead": """
            SELECT s.id FROM stage_changes s LEFT JOIN leads l ON l.id = s.lead_id
            WHERE l.id IS NULL""",
        "stage changes naming a missing contact": """
            SELECT s.id FROM stage_changes s LEFT JOIN activities a ON a.id = s.activity_id
            WHERE s.activity_id IS NOT NULL AND a.id IS NULL""",
        "next steps without their lead": """
            SELECT p.id FROM planned_steps p LEFT JOIN leads l ON l.id = p.lead_id
            WHERE l.id IS NULL""",
        "leads without exactly one first stage change": """
            SELECT l.id FROM leads l WHERE (SELECT count(*) FROM stage_changes s
                WHERE s.lead_id = l.id AND s.from_stage_id IS NULL) <> 1""",
        "leads whose stage is not where their last move took them": """
            SELECT l.id FROM leads l WHERE l.stage_id <> (SELECT s.to_stage_id
                FROM stage_changes s WHERE s.lead_id = l.id ORDER BY s.id DESC LIMIT 1)""",
        "moves whose stage does not follow the previous move": """
            SELECT s.id FROM stage_changes s WHERE s.from_stage_id IS NOT NULL
            AND s.from_stage_id <> (SELECT p.to_stage_id FROM stage_changes p
                WHERE p.lead_id = s.lead_id AND p.id < s.id ORDER BY p.id DESC LIMIT 1)""",
        "contacts that moved the lead with no stage change": """
            SELECT a.id FROM activities a WHERE a.stage_after_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM stage_changes s
                WHERE s.activity_id = a.id AND s.to_stage_id = a.stage_after_id)""",
        "leads whose newest contact is not the one they show": """
            SELECT l.id FROM leads l
            LEFT JOIN activities shown ON shown.id = l.last_activity_id
            WHERE EXISTS (SELECT 1 FROM activities a WHERE a.lead_id = l.id)
            AND (shown.id IS NULL OR shown.lead_id <> l.id
                OR shown.occurred_at <> l.last_activity_at
                OR l.last_activity_at <> (SELECT max(a.occurred_at) FROM activities a
                    WHERE a.lead_id = l.id AND a.deleted_at IS NULL))""",
        "leads showing a contact they do not have": """
            SELECT l.id FROM leads l WHERE l.last_activity_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.lead_id = l.id)""",
        "leads with more than one next step standing": """
            SELECT lead_id FROM planned_steps WHERE ended_at IS NULL
            GROUP BY lead_id HAVING count(*) > 1""",
        "leads whose next step is not the one standing in the history": """
            SELECT l.id FROM leads l
            LEFT JOIN planned_steps p ON p.lead_id = l.id AND p.ended_at IS NULL
            WHERE (l.next_step_at IS NULL) <> (p.id IS NULL) OR p.due_at <> l.next_step_at""",
        "lead numbers the counter has not given out": """
            SELECT c.value FROM counters c WHERE c.name = 'lead'
            AND c.value <> (SELECT max(number) FROM leads)""",
        "lead numbers given twice or skipped": """
            SELECT count(*) FROM leads HAVING count(DISTINCT number) <> count(*)
                OR max(number) <> count(*)""",
    }
    problems = {}
    for name, query in checks.items():
        rows = conn.execute(text(query)).all()
        if rows:
            problems[name] = [row[0] for row in rows[:10]]
    return problems


def sqlite_problems(conn):
    """SQLite's own checks: the file, the foreign keys and the search index."""
    problems = {}
    integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if integrity != ["ok"]:
        problems["integrity_check"] = integrity[:10]
    foreign = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if foreign:
        problems["foreign_key_check"] = foreign[:10]
    try:
        conn.exec_driver_sql(
            "INSERT INTO lead_search(lead_search, rank) VALUES ('integrity-check', 1)"
        )
    except Exception as error:  # noqa: BLE001 (the message is the finding)
        problems["search index"] = str(error)
    return problems


def stored_writes(conn):
    contacts = conn.execute(
        text("SELECT a.body, l.number FROM activities a JOIN leads l ON l.id = a.lead_id")
    ).all()
    titles = conn.execute(text("SELECT title FROM leads")).scalars().all()
    return contacts, titles


def check_database(url, ledger):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            problems = database_problems(conn)
            if engine.dialect.name == "sqlite":
                problems |= sqlite_problems(conn)
            contacts, titles = stored_writes(conn)
    finally:
        engine.dispose()
    assert problems == {}

    bodies = [body for body, _number in contacts]
    assert [body for body in set(bodies) if bodies.count(body) > 1] == []
    lost = {body for body in ledger.contacts if body not in bodies}
    assert lost == set(), f"{len(lost)} confirmed contacts lost"
    moved = {body for body, number in contacts if ledger.contacts.get(body, number) != number}
    assert moved == set()
    assert [title for title in set(titles) if titles.count(title) > 1] == []
    assert ledger.leads - set(titles) == set(), "confirmed leads lost"


# The crash


def write_through_crashes(server, setup):
    """Stream writes, SIGKILL a worker mid-stream, go on, then SIGKILL the whole server."""
    with Stream(server, setup) as ledger:
        ledger.wait_for(SAVES_PER_STRETCH, server)
        cut_before = len(ledger.unanswered)
        killed = server.kill_one_worker()
        # Keep writing through the survivor while the master forks a replacement, then
        # through both.
        server.wait_for_workers(2, besides={killed})
        ledger.wait_for(ledger.confirmed() + SAVES_PER_STRETCH, server)
        ledger.cut_by_worker_kill = len(ledger.unanswered) - cut_before
        ledger.confirmed_before_crash = ledger.confirmed()
        server.kill_everything()
        # Let the browsers meet the dead server before they stop.
        time.sleep(0.1)
    return ledger


def log_after_restart(browser, setup, ledger):
    """The restarted server takes a contact and shows it on the lead page."""
    number = setup.lead_numbers[0]
    body = "Called after the restart"
    form = contact_form(setup, body, random.Random(0))
    status, _headers, _fragment = browser.htmx_post(f"/leads/{number}/log", form)
    assert status == 200
    ledger.contacts[body] = number
    status, page = browser.get(f"/leads/{number}")
    assert status == 200
    assert body in page


def retry_unanswered(browser, ledger):
    """Send again, with the same key, each request the crash left without an answer; returns
    how many answers were the first one replayed (it had been saved before the crash)."""
    replayed = 0
    for path, form, succeeded, key, number in ledger.to_retry:
        status, headers, _body = browser.htmx_post(path, form)
        assert succeeded(status, headers), (key, status)
        replayed += headers.get("Idempotent-Replayed") == "true"
        if number is None:
            ledger.leads.add(key)
        else:
            ledger.contacts[key] = number
    return replayed


def test_confirmed_saves_survive_killed_workers_and_a_killed_server(install, tmp_path):
    if not GUNICORN.exists():
        pytest.skip(f"gunicorn is not installed at {GUNICORN}")
    env = os.environ | install.env
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    restarted = Gunicorn(env, tmp_path / "gunicorn.log")
    try:
        server.start()
        # Logged in before the crash: the same session goes on working after it.
        browser = Browser(server.base)
        browser.login(ADMIN_EMAIL, factories.PASSWORD)
        ledger = write_through_crashes(server, install)
        assert ledger.refused == []
        restarted.start()
        browser.base = restarted.base
        log_after_restart(browser, install, ledger)
        replayed = retry_unanswered(browser, ledger)
    finally:
        restarted.stop()
        server.stop()

    # Shown when the test fails (or with -s): how hard the crash hit.
    url = install.env["CRM_DATABASE_URL"]
    print(
        f"{make_url(url).get_backend_name()}: {len(ledger.contacts)} contacts and "
        f"{len(ledger.leads)} leads confirmed, {ledger.confirmed_before_crash} before the "
        f"server was killed; {ledger.cut_by_worker_kill} requests cut off by the worker kill, "
        f"{len(ledger.unanswered)} unanswered in all, sent again: {replayed} of them had been "
        "saved and answered as the first time"
    )
    check_database(url, ledger)


def test_one_key_sent_to_both_workers_at_once_saves_once(install, tmp_path):
    """A double tap, or a phone's queue and its person both sending: the same request with the
    same key reaches both workers at the same moment, and one lead is entered."""
    if not GUNICORN.exists():
        pytest.skip(f"gunicorn is not installed at {GUNICORN}")
    server = Gunicorn(os.environ | install.env, tmp_path / "gunicorn.log")
    browsers = []
    answers = []
    try:
        server.start()
        for _ in range(SAME_TIME_SENDERS):
            browser = Browser(server.base)
            browser.login(ADMIN_EMAIL, factories.PASSWORD)
            browsers.append(browser)
        form = new_lead_form(install, "Sent at once")
        start = threading.Barrier(len(browsers))

        def send(browser):
            start.wait()
            status, headers, _body = browser.htmx_post("/leads/new", form)
            answers.append((status, headers.get("HX-Redirect")))

        threads = [threading.Thread(target=send, args=(b,)) for b in browsers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        server.stop()
    assert len(answers) == SAME_TIME_SENDERS
    assert {status for status, _where in answers} == {204}
    assert len({where for _status, where in answers}) == 1
    engine = create_engine(install.env["CRM_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            titles = conn.execute(text("SELECT title FROM leads")).scalars().all()
    finally:
        engine.dispose()
    assert titles.count("Sent at once") == 1
