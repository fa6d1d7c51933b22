"""The databases `make load` serves: a copy of the benchmark SQLite file, or of the benchmark
data loaded once into PostgreSQL, with the team's passwords set so the load test can log in."""

import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from bench import copy_to_postgres, run
from crm.extensions import db
from crm.models import Activity, Lead, Pipeline, Role, Stage, StageKind, User

# Lead pages each salesperson keeps coming back to during the run.
LEADS_PER_SALESPERSON = 200
# Search terms: three letters of a contact's surname, or five digits of a phone number.
SEARCH_TERMS = 200


@dataclass
class Team:
    """Who works during the run, with what, on the served copy."""

    password: str
    salespeople: list  # [(email, [lead numbers they own])]
    manager: str
    searches: list
    # A lead that is first in any open column it is in, moved to and fro between two of them.
    moved_lead_id: int
    move_stages: tuple
    activities: int


def postgres_source(server_url, name, leads, activities, users, seed, language):
    """The benchmark data in the PostgreSQL database `name`: the SQLite file of the same
    parameters (built first if missing) copied across."""
    sqlite = run.dataset(
        run.file_name(leads, activities),
        leads,
        activities,
        run.DATA_DIR,
        users=users,
        seed=seed,
        language=language,
    )
    return postgres_from(sqlite, server_url, name, run.DATA_DIR)


def postgres_from(sqlite, server_url, name, data_dir):
    """The SQLite dataset `sqlite` as the PostgreSQL database `name`, copied with COPY once and
    again when the file's parameters change."""
    url = make_url(server_url).set(database=name)
    meta_path = data_dir / f"{name}.postgresql.json"
    params = sqlite.meta["params"]
    if meta_path.exists() and exists(server_url, name):
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == params and meta.get("copy") == copy_to_postgres.VERSION:
            run.say(f"Reusing PostgreSQL database {name} ({params['leads']:,} leads).")
            return run.Dataset(name, url, meta, server_url=server_url)
    run.say(f"Copying {sqlite.path} into PostgreSQL database {name} ...")
    meta_path.unlink(missing_ok=True)
    recreate(server_url, name)
    started = time.perf_counter()
    copy_to_postgres.load(sqlite.path, url.render_as_string(hide_password=False))
    meta = {key: value for key, value in sqlite.meta.items() if key != "bytes"}
    meta["copy"] = copy_to_postgres.VERSION
    meta["build_seconds"] = round(time.perf_counter() - started, 1)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written last: a copy cut short leaves no parameters, so the next run copies again.
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    run.say(f"Copied into {name} in {meta['build_seconds']:.0f} s.")
    return run.Dataset(name, url, meta, server_url=server_url)


def postgres_copy(server_url, source, name):
    """A fresh copy of the database `source` named `name`, made by PostgreSQL itself."""
    recreate(server_url, name, template=source)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def server_engine(server_url):
    return create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )


def exists(server_url, name):
    engine = server_engine(server_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            return found.first() is not None
    finally:
        engine.dispose()


def recreate(server_url, name, template=None):
    engine = server_engine(server_url)
    quoted = engine.dialect.identifier_preparer.quote
    try:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)"))
            copy = f" TEMPLATE {quoted(template)}" if template else ""
            connection.execute(text(f"CREATE DATABASE {quoted(name)}{copy}"))
    finally:
        engine.dispose()


def drop(server_url, name):
    engine = server_engine(server_url)
    quoted = engine.dialect.identifier_preparer.quote
    try:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted(name)} WITH (FORCE)"))
    finally:
        engine.dispose()


def prepare_team(url, seed=1):
    """Give every active user of the copy one password, and pick what each will work on."""
    password = secrets.token_urlsafe(16)
    # A fast hash: logging in is not what is measured, and the run logs in over a hundred times.
    hashed = generate_password_hash(password, method="pbkdf2:sha256:1000")
    app = run.make_app(url)
    with app.app_context():
        try:
            users = db.session.scalars(select(User).where(User.active).order_by(User.id)).all()
            for user in users:
                user.password_hash = hashed
            db.session.commit()
            team = pick_work(users, password, seed)
        finally:
            db.session.remove()
            db.engine.dispose()
    return team


def pick_work(users, password, seed):
    manager = next(u for u in users if u.role in (Role.ADMIN, Role.MANAGER))
    # The boards show the first pipeline: the moved card goes between two of its stages.
    pipeline_id = db.session.scalar(
        Pipeline.in_order().where(Pipeline.archived_at.is_(None)).with_only_columns(Pipeline.id)
    )
    open_stages = db.session.scalars(
        select(Stage.id)
        .where(Stage.kind == StageKind.OPEN, Stage.pipeline_id == pipeline_id)
        .order_by(Stage.position)
    ).all()
    # The open lead whose next step is the most overdue: the board shows it first.
    moved_id, moved, stage = db.session.execute(
        select(Lead.id, Lead.number, Lead.stage_id)
        .where(Lead.stage_id.in_(open_stages), Lead.archived.is_(False))
        .order_by(Lead.next_step_at.is_(None), Lead.next_step_at, Lead.last_activity_at, Lead.id)
        .limit(1)
    ).one()
    other = next(stage_id for stage_id in open_stages if stage_id != stage)
    salespeople = []
    for user in users:
        if user.role != Role.SALESPERSON:
            continue
        numbers = db.session.scalars(
            select(Lead.number)
            .where(Lead.owner_id == user.id, Lead.archived.is_(False), Lead.number != moved)
            .order_by(func.random())
            .limit(LEADS_PER_SALESPERSON)
        ).all()
        if numbers:
            salespeople.append((user.email, numbers))
    return Team(
        password=password,
        salespeople=salespeople,
        manager=manager.email,
        searches=search_terms(),
        moved_lead_id=moved_id,
        move_stages=(stage, other),
        activities=count_activities(),
    )


def search_terms():
    """What salespeople type in the search box: the start of a surname, or a phone fragment."""
    names = db.session.scalars(
        select(Lead.contact_name)
        .where(Lead.contact_name.isnot(None))
        .order_by(func.random())
        .limit(SEARCH_TERMS // 2)
    ).all()
    phones = db.session.scalars(
        select(Lead.phone_digits)
        .where(func.length(Lead.phone_digits) >= 8)
        .order_by(func.random())
        .limit(SEARCH_TERMS // 2)
    ).all()
    terms = [name.split()[-1][:3] for name in names if name.split()]
    terms += [phone[-7:-2] for phone in phones]
    return terms or ["smi"]


def count_activities():
    return db.session.scalar(select(func.count()).select_from(Activity))


def activities_now(url):
    app = run.make_app(url)
    with app.app_context():
        try:
            return count_activities()
        finally:
            db.session.remove()
            db.engine.dispose()
