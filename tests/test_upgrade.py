"""Upgrading: a database made by the first version, with a team's data in it, goes through every
migration and comes out whole, with the columns added since filled in from its history."""

from datetime import datetime, timedelta
from decimal import Decimal

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, select, text
from werkzeug.security import generate_password_hash

from crm import MIGRATIONS, create_app
from crm.extensions import db
from tests import factories
from tests.conftest import BACKENDS, own_database

DAY = timedelta(days=1)
START = datetime(2025, 3, 3, 9, 0)


@pytest.fixture(params=BACKENDS)
def upgrade_database(request, tmp_path):
    """An empty database of its own: never the shared test database the other tests use."""
    with own_database(request.param, tmp_path, "upgrade") as url:
        yield url


@pytest.fixture
def upgrade_app(upgrade_database, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": upgrade_database,
            "WTF_CSRF_ENABLED": False,
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class FirstVersion:
    """Rows written as the first version's schema (migration 0001) had them, in plain SQL."""

    def __init__(self, conn):
        self.conn = conn
        self.rows = {}  # table -> the rows inserted, for comparing after the upgrade

    def insert(self, table, **row):
        columns = ", ".join(row)
        values = ", ".join(f":{column}" for column in row)
        returning = " RETURNING id" if table not in ("counters", "app_settings") else ""
        # Bound with the types of the values, so dates and money reach each database as its own.
        insert = f"INSERT INTO {table} ({columns}) VALUES ({values}){returning}"  # noqa: S608
        statement = text(insert)
        result = self.conn.execute(statement.bindparams(*(bindparam(k, v) for k, v in row.items())))
        if returning:
            row = {"id": result.scalar_one()} | row
        self.rows.setdefault(table, []).append(row)
        return row.get("id")

    def user(self, email, name, role):
        password = generate_password_hash(factories.PASSWORD, "pbkdf2:sha256:1000")
        return self.insert(
            "users",
            email=email,
            name=name,
            password_hash=password,
            role=role,
            active=True,
            locale="en",
            timezone="Europe/Moscow",
            session_version=1,
            created_at=START - 30 * DAY,
        )

    def lead(self, number, title, stage, owner, **fields):
        details = {
            "contact_name": None,
            "phone": None,
            "phone_digits": None,
            "email": None,
            "source": None,
            "value": None,
            "next_step_at": None,
            "next_step_note": None,
            "lost_reason_id": None,
            "archived": False,
            "created_at": START,
            "updated_at": START,
        }
        return self.insert(
            "leads",
            number=number,
            title=title,
            stage_id=stage,
            owner_id=owner,
            **(details | fields),
        )

    def contact(self, lead, author, kind, at, body, stage_after=None, moved_from=None):
        """A logged contact; with `stage_after`, the stage change it made."""
        activity = self.insert(
            "activities",
            lead_id=lead,
            author_id=author,
            kind_id=kind,
            occurred_at=at,
            body=body,
            stage_after_id=stage_after,
            created_at=at,
        )
        if stage_after:
            self.move(lead, moved_from, stage_after, at, author, activity)
        return activity

    def move(self, lead, from_stage, to_stage, at, by, activity=None):
        return self.insert(
            "stage_changes",
            lead_id=lead,
            from_stage_id=from_stage,
            to_stage_id=to_stage,
            changed_at=at,
            changed_by_id=by,
            activity_id=activity,
        )


def fill_first_version(conn):
    """A small team's CRM: two sellers, a funnel, four leads with their history."""
    data = FirstVersion(conn)
    ann = data.user("ann@example.com", "Ann Admin", "admin")
    bob = data.user("bob@example.com", "Bob Seller", "salesperson")
    cold, interested, estimate, won, lost = (
        data.insert(
            "stages", name=name, colour=colour, position=n, kind=kind, stuck_after_days=stuck
        )
        for n, (name, colour, kind, stuck) in enumerate(
            [
                ("Cold", "#9e9e9e", "open", None),
                ("Interested", "#2196f3", "open", 7),
                ("Estimate made", "#ff9800", "open", 5),
                ("Work!", "#4caf50", "won", None),
                ("Lost", "#f44336", "lost", None),
            ]
        )
    )
    call, meeting = (
        data.insert("activity_kinds", code=code, name=name, position=n, active=True)
        for n, (code, name) in enumerate([("call", "Call"), ("meeting", "Meeting")])
    )
    too_expensive = data.insert("lost_reasons", name="Too expensive", position=0, active=True)
    data.insert("counters", name="lead", value=4)
    data.insert("app_settings", key="currency", value="RUB")
    data.insert(
        "login_attempts", email="bob@example.com", address="203.0.113.9", attempted_at=START
    )

    romashka = data.lead(
        1,
        "ООО Ромашка",
        estimate,
        bob,
        contact_name="Ольга Петрова",
        phone="+7 (916) 123-45-67",
        phone_digits="79161234567",
        email="Olga@Romashka.example",
        source="Website",
        value=Decimal("150000.50"),
        next_step_at=START + 5 * DAY,
        next_step_note="Send the contract",
        updated_at=START + 5 * DAY + timedelta(hours=2),
    )
    data.contact(romashka, bob, call, START, "First call", cold)
    data.contact(romashka, bob, meeting, START + 2 * DAY, "Met in the office", interested, cold)
    # Logged two hours after the step was due: it kept the step.
    kept_at = START + 5 * DAY + timedelta(hours=2)
    answer = data.contact(romashka, ann, call, kept_at, "Estimate sent", estimate, interested)

    acme = data.lead(
        2,
        "Acme Ltd",
        won,
        ann,
        value=Decimal("99000.00"),
        next_step_at=START + 10 * DAY,
        created_at=START + DAY,
    )
    data.move(acme, None, cold, START + DAY, ann)
    data.contact(acme, ann, call, START + 4 * DAY, "Signed", won, cold)

    gone = data.lead(
        3, "Lost Corp", lost, ann, lost_reason_id=too_expensive, archived=True, created_at=START
    )
    data.move(gone, None, cold, START, ann)
    data.move(gone, cold, lost, START + 3 * DAY + timedelta(seconds=7), ann)  # on the board

    quiet = data.lead(4, "Quiet lead", cold, None, next_step_at=START + DAY)
    ids = {
        "leads": (romashka, acme, gone, quiet),
        "answer": answer,
        "stages": (cold, interested, estimate, won, lost),
        "call": call,
    }
    return data.rows, ids


def read_back(table, rows):
    """The rows of `table` with the columns that were inserted, typed as the app reads them."""
    columns = db.metadata.tables[table].c
    names = list(rows[0])
    key = columns["id"] if "id" in columns else columns[names[0]]
    found = db.session.execute(
        select(*(columns[name] for name in names))
        .where(key.in_([row[key.name] for row in rows]))
        .order_by(key)
    )
    return [dict(row._mapping) for row in found]


def test_a_first_version_database_upgrades_with_its_data(upgrade_app):
    """Leads with contacts pointing at them: rebuilding `leads` on SQLite (0002) must not trip
    over those references."""
    with upgrade_app.app_context():
        flask_migrate.upgrade(revision="0001")
        with db.engine.begin() as conn:
            rows, ids = fill_first_version(conn)

        flask_migrate.upgrade()

        with db.engine.connect() as conn:
            version = conn.scalar(text("SELECT version_num FROM alembic_version"))
        assert version == ScriptDirectory(MIGRATIONS).get_current_head()
        for table, inserted in rows.items():
            assert read_back(table, inserted) == inserted, table
        backfilled = backfilled_values(ids)
        db.session.remove()

    romashka, acme, gone, quiet = ids["leads"]
    cold, interested, *_ = ids["stages"]
    assert backfilled["leads"] == [
        (romashka, "#1 ооо ромашка ольга петрова olga@romashka.example 79161234567",
         START + 5 * DAY + timedelta(hours=2), ids["answer"],
         START + 5 * DAY + timedelta(hours=2), None),
        (acme, "#2 acme ltd  ", START + 4 * DAY, acme_signing(rows), START + 4 * DAY, None),
        (gone, "#3 lost corp  ", START + 3 * DAY + timedelta(seconds=7), None, None, None),
        (quiet, "#4 quiet lead  ", START, None, None, None),
    ]  # fmt: skip
    # How long each lead stayed in the stage it left, for the time-in-stage report.
    assert backfilled["stays"] == [
        (romashka, None, None),
        (romashka, cold, 2 * 86400),
        (romashka, interested, 3 * 86400 + 2 * 3600),
        (acme, None, None),
        (acme, cold, 3 * 86400),
        (gone, None, None),
        (gone, cold, 3 * 86400 + 7),
    ]
    # The open leads' next steps start the history of planned steps; the won lead's does not.
    assert backfilled["steps"] == [
        (romashka, START + 5 * DAY, "Send the contract", ids["answer"]),
        (quiet, START + DAY, None, None),
    ]
    assert backfilled["counters"] == {"lead": 4, "data": 0, "settings": 0}
    assert backfilled["activities_edited"] == backfilled["calendar_tokens"] == set()
    check_the_old_account_works(upgrade_app, ids)


def acme_signing(rows):
    return next(row["id"] for row in rows["activities"] if row["body"] == "Signed")


def backfilled_values(ids):
    """What the migrations after the first filled in, read with plain SQL."""

    def rows(sql):
        return [tuple(row) for row in db.session.execute(text(sql))]

    leads = rows(
        "SELECT id, search_text, stage_changed_at, last_activity_id, last_activity_at, "
        "created_by_id FROM leads ORDER BY id"
    )
    return {
        # SQLite hands back plain SQL's dates as text: read them through the models' types.
        "leads": [
            (lead_id, search, as_datetime(changed), last_id, as_datetime(last_at), by)
            for lead_id, search, changed, last_id, last_at, by in leads
        ],
        "stays": rows(
            "SELECT lead_id, from_stage_id, seconds_in_from_stage FROM stage_changes "
            "ORDER BY lead_id, changed_at, id"
        ),
        "steps": [
            (lead_id, as_datetime(due), note, kept)
            for lead_id, due, note, kept in rows(
                "SELECT lead_id, due_at, note, kept_by_activity_id FROM planned_steps "
                "WHERE ended_at IS NULL ORDER BY lead_id"
            )
        ],
        "counters": dict(rows("SELECT name, value FROM counters")),
        "activities_edited": set(
            rows("SELECT id FROM activities WHERE edited_at IS NOT NULL OR deleted_at IS NOT NULL")
        ),
        "calendar_tokens": set(rows("SELECT id FROM users WHERE calendar_token IS NOT NULL")),
    }


def as_datetime(value):
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def check_the_old_account_works(app, ids):
    """The first version's account logs in, finds its leads and logs a call on one."""
    client = app.test_client()
    login = client.post("/login", data={"email": "ann@example.com", "password": factories.PASSWORD})
    assert login.status_code == 303
    by_name = client.get("/leads/?q=ромаш")
    by_phone = client.get("/leads/?q=916123")
    for found in (by_name, by_phone):
        assert "ООО Ромашка" in found.text and "Acme Ltd" not in found.text

    assert "Met in the office" in client.get("/leads/1").text
    logged = client.post(
        "/leads/1/log",
        data={
            "kind_id": str(ids["call"]),
            "occurred_at": "2025-03-10T10:00",
            "body": "Contract signed",
            "stage_id": str(ids["stages"][3]),
            "lost_reason_id": "",
        },
    )
    assert logged.status_code in (200, 303)
    assert "Contract signed" in client.get("/leads/1").text
