"""The database: migrations without drift, SQLite tuned for several writers, lead numbers."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from crm import audit, create_app, search_index
from crm.extensions import db
from crm.models import (
    Activity,
    Counter,
    LoginAttempt,
    PlannedStep,
    StageKind,
    User,
)
from tests import factories, old_schema
from tests.conftest import BACKENDS, own_database


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """The URL of a database with nothing in it."""
    with own_database(request.param, tmp_path, "migrations") as url:
        yield url


def test_migrations_build_exactly_the_models_schema(empty_database, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database})
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_name": search_index.include_name,
                    "include_object": search_index.include_object,
                },
            )
            drift = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert drift == []


def test_migrations_downgrade_to_nothing(empty_database, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database})
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert tables == set()


LEADS_AT_0005 = (
    *("id", "number", "title", "stage_id", "next_step_at", "next_step_note", "search_text"),
    *("archived", "stage_changed_at", "created_at", "updated_at"),
    *("last_activity_id", "last_activity_at"),
)


def test_upgrading_keeps_each_open_leads_next_step(empty_database, tmp_path, monkeypatch):
    """A database from before the history of next steps starts it with each open lead's
    current step, answered if the newest contact came at or after it."""
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database})
    with app.app_context(), audit.paused(db.session):
        flask_migrate.upgrade(revision="0005")
        stages = old_schema.install_funnel("en")
        won = next(stage for stage in stages if stage.kind == StageKind.WON)
        due, now = datetime(2026, 3, 2, 10), datetime(2026, 3, 1, 9)
        # Written as the leads table was then: the models know columns that came later.
        old_leads = sa.table("leads", *map(sa.column, LEADS_AT_0005))
        ids = {}
        for number, (name, stage, step) in enumerate(
            [
                ("waiting", stages[0], due),
                ("answered", stages[1], due),
                ("won", won, due),
                ("no step", stages[0], None),
            ],
            start=1,
        ):
            row = {"number": number, "title": name, "stage_id": stage.id, "next_step_at": step}
            row |= {"next_step_note": "Call" if name == "waiting" else None, "search_text": ""}
            row |= {"archived": False, "stage_changed_at": now, "created_at": now}
            row |= {"updated_at": now}
            ids[name] = db.session.execute(
                sa.insert(old_leads).values(row).returning(old_leads.c.id)
            ).scalar()
        for name, at in (("waiting", due - timedelta(hours=1)), ("answered", due)):
            contact = Activity(
                lead_id=ids[name], kind_id=factories.kind().id, occurred_at=at, created_at=now
            )
            db.session.add(contact)
            db.session.flush()
            db.session.execute(
                sa.update(old_leads)
                .where(old_leads.c.id == ids[name])
                .values(last_activity_id=contact.id, last_activity_at=at)
            )
            if name == "answered":
                answer = contact.id
        db.session.commit()
        db.session.remove()

        flask_migrate.upgrade()
        steps = db.session.execute(
            select(PlannedStep.lead_id, PlannedStep.due_at, PlannedStep.note)
            .where(PlannedStep.ended_at.is_(None))
            .order_by(PlannedStep.lead_id)
        ).all()
        answered = db.session.scalars(select(PlannedStep.kept_by_activity_id)).all()
        db.session.remove()
        db.engine.dispose()
    assert steps == [(ids["waiting"], due, "Call"), (ids["answered"], due, None)]
    assert sorted(answered, key=lambda found: found is None) == [answer, None]


def test_sqlite_connections_are_tuned(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x"})
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    with app.app_context():
        db.engine.dispose()


def test_concurrent_writers_are_not_refused(app, stages):
    """A handful of browsers saving at once all succeed: nobody sees "database is locked"."""
    # Not a test of throttling: every failure below is checked and counted.
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = app.config["LOGIN_SLOWDOWN_AFTER"] = 1000
    sellers = [factories.user() for _ in range(6)]

    def keep_switching_language(email):
        client, stranger = app.test_client(), app.test_client()
        client.post("/login", data={"email": email, "password": factories.PASSWORD})
        codes = []
        for n in range(15):
            response = client.post("/language", data={"language": ("ru", "en")[n % 2]})
            codes.append(response.status_code)
            # A failed login is a write too, and reads the count first.
            stranger.post("/login", data={"email": f"nobody{n}@example.com", "password": "x"})
        return codes

    with ThreadPoolExecutor(max_workers=len(sellers)) as pool:
        results = list(pool.map(keep_switching_language, [s.email for s in sellers]))
    db.session.commit()  # end the test's own read transaction to see what the threads wrote

    assert all(code == 303 for codes in results for code in codes)
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 6 * 15
    locales = db.session.scalars(select(User.locale).where(User.id.in_([s.id for s in sellers])))
    assert set(locales) == {"ru"}  # the last of 15 switches


def test_lead_numbers_are_unique_under_concurrency(app):
    def take_numbers(_):
        with app.app_context():
            numbers = []
            for _ in range(20):
                numbers.append(Counter.take("lead"))
                db.session.commit()
            return numbers

    with ThreadPoolExecutor(max_workers=5) as pool:
        taken = [n for numbers in pool.map(take_numbers, range(5)) for n in numbers]
    assert sorted(taken) == list(range(1, 101))


def test_lead_numbers_are_never_reused(app, stages):
    first = factories.lead()
    second = factories.lead()
    assert (first.number, second.number) == (1, 2)
    db.session.execute(text("DELETE FROM stage_changes"))
    db.session.delete(second)
    db.session.commit()
    assert factories.lead().number == 3
    assert Counter.take("lead", count=10) == 4
    assert factories.lead().number == 14
