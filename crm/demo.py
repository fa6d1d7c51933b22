"""A big, realistic made-up dataset: `flask --app crm demo --leads N --activities M`.

Two years of a sales team's work: leads that came in over that time, each with a contact log that
follows a plausible path through the funnel (most leads stop early, some are won, some lost with a
reason), the next steps planned along the way (most answered by the next contact, some called
late, some put off after they were due, a few never planned) and a few contacts corrected or
deleted by their authors. A few leads have 200 contacts, so the lead page can be measured on a
long timeline.

The generator only makes up the stories: each is told, event by event, to the funnel's Backfill
(crm.funnel), whose rules make the rows, as the funnel service would have made them (stage
changes, the history of next steps and what answered them, revisions, the lead's cached
columns). It is written for speed: the rows are inserted in bulk, a chunk of leads at a time,
with ids given up front (the database is empty); on SQLite the indexes are built once at the end
(see `sqlite_bulk_load`). 100,000 leads and 1,000,000 activities take about half a minute on
SQLite.

The same seed gives the same leads (names, companies, contact details); the dates follow the day
it runs, and the hour shifts some of the histories. The texts and word lists come from
crm.sample_data.

The team has five fields of its own (crm.custom_fields), named in the dataset's language: Tax
ID (ИНН), City, Website, Employees and Industry. Each lead's client gets values made up from its
company (its industry from its trade, its website from its domain), not all of them; a few
clients won come back with a renewal or a new project under the same ИНН (see Clients).

The demo's users get unusable passwords: they own and log the data, nobody logs in as them. Add
yourself with `flask --app crm create-user you@example.com --name "..." --admin`.

The setup page's "sample data" is this generator too, on a smaller scale (SAMPLE): the new
administrator's own leads over the last three months, with no made-up colleagues.
"""

import gc
import heapq
import random
import time
from bisect import bisect_left, bisect_right
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from operator import attrgetter, methodcaller, mul

from sqlalchemy import JSON, DateTime, exists, func, insert, select, text

from crm import custom_fields, data_version, funnel_defaults, pipelines, search_index
from crm.extensions import db
from crm.funnel import Backfill, phone_tail
from crm.models import (
    Activity,
    ActivityKind,
    ActivityRevision,
    AppSetting,
    Counter,
    FieldType,
    Lead,
    LostReason,
    Pipeline,
    PlannedStep,
    Role,
    Stage,
    StageChange,
    StageKind,
    User,
    utcnow,
)
from crm.sample_data import FIELDS, INN_REGIONS, TEXTS, TRADE_INDUSTRIES, WORDS

# Bump when the generated data changes, so `make bench` rebuilds its stored databases.
VERSION = 9

# The setup page's sample: 60 leads, all the new administrator's and all in the language chosen,
# over the last three months (89 days back from today, so nothing is older than 90 days whatever
# the hour): a board and an agenda taken in at a glance. The seed is one whose funnel has leads
# in every open stage and deals both won and lost; the tests check that it still has.
SAMPLE = {"leads": 60, "activities": 300, "history_days": 89, "foreign_share": 0, "seed": 13}

DEFAULT_SEED = 1
DEFAULT_USERS = 10
HISTORY_DAYS = 730

# Leads are made and inserted this many at a time (about ten times as many activities).
CHUNK_LEADS = 5000
# One lead in this many has a long history of BIG_LEAD_ACTIVITIES contacts ...
LEADS_PER_BIG_LEAD = 1000
BIG_LEAD_ACTIVITIES = 200
# ... when the activities asked for are at least this many times what those leads take.
BIG_LEADS_SHARE = 10

# Contacts happen in office hours, in UTC: a "work clock" counts only these minutes, so times
# drawn on it always fall in a working day.
WORK_START = 7 * 60
WORK_DAY = 10 * 60

# The leads of the other language (Russian names in an English dataset, and the other way round).
FOREIGN_SHARE = 0.2
# Until an estimate has been made (the fourth open stage) the value is usually unknown.
ESTIMATE_MADE = 3
UNKNOWN_VALUE_SHARE = 0.7
# Leads older than this are mostly decided one way or another; one in twenty stays open for
# good. Two years of 100,000 leads leave about 15,000 open, as in a real pipeline.
DECIDED_AFTER_DAYS = 150
DECIDED_AT_MOST = 0.95
WON_SHARE = 0.22
# When an open lead's next step is due, as cards in a deck (None: no next step planned): a lead
# contacted in the last RECENT_DAYS mostly has one, a quiet one mostly not.
RECENT_DAYS = 10
RECENT_NEXT_STEPS = {"today": 1, "overdue": 1, "later": 7, None: 1}
QUIET_NEXT_STEPS = {"overdue": 7, "today": 1, "later": 1, None: 11}
# What became of the next step planned at each contact, as weights: answered by the next
# contact about when it was due, answered before it was due, called late, put off to another day
# after it was due (missed) and then answered, or none planned.
STEP_FATES = {"on_time": 50, "early": 20, "late": 12, "put_off": 10, None: 8}
# How late "on time" may be, and how far ahead a call answered early was planned, in minutes on
# the work clock.
ON_TIME = 120
EARLY_AT_MOST = 3 * 10 * 60
# The share of the current next steps that were put off once, after their time, to where they
# are now.
PUT_OFF_SHARE = 0.15
# How many times a company, phone or email is made up again when it was given before.
FRESH_TRIES = 5
# Some moves are made on the board rather than by logging a contact.
BOARD_MOVE_SHARE = 0.05
# Authors correct or delete a few activities; the earlier wording is kept as a revision.
EDITED_SHARE = 0.005
DELETED_SHARE = 0.002
ARCHIVED_SHARE = 0.1
OWN_ACTIVITY_SHARE = 0.88
# Leads nobody has taken yet, and leads the manager keeps.
UNOWNED_SHARE = 0.01
MANAGER_SHARE = 0.03

# SQLite's page cache for the generator's own connection, in KiB (the default is 2 MiB): the
# indexes of a million activities are written in random order and must stay in memory.
SQLITE_CACHE_KIB = 256 * 1024

SOURCE_WEIGHTS = {
    "website": 30,
    "referral": 20,
    "cold_call": 20,
    "exhibition": 10,
    "newsletter": 10,
    "partner": 10,
}


class DemoError(Exception):
    """Why the demo cannot be generated into this database."""


@dataclass
class Summary:
    users: int = 0
    leads: int = 0
    activities: int = 0
    stage_changes: int = 0
    revisions: int = 0
    planned_steps: int = 0
    # Numbers of the leads with a long history, for the benchmarks.
    big_leads: list[int] = field(default_factory=list)
    seconds: float = 0.0


def generate(
    language="en",
    leads=1000,
    activities=10000,
    users=DEFAULT_USERS,
    seed=DEFAULT_SEED,
    progress=None,
    owner=None,
    history_days=HISTORY_DAYS,
    foreign_share=FOREIGN_SHARE,
):
    """Fill an empty database with `leads` leads and exactly `activities` activities.

    Installs the default funnel in `language` when there is none and adds `users` users (one
    manager, the rest salespeople) or, given an `owner`, makes that user the whole team: they
    own, enter and log every lead, as on the setup page's sample. The history goes back
    `history_days` days; `foreign_share` of the leads have names in the other language. Adds
    the demo's fields of the team's own unless the team has them. Flushes but never commits.
    Raises DemoError when the database already has leads.
    """
    started = time.perf_counter()
    if leads < 0 or activities < 0 or users < 1 or history_days < 1:
        raise DemoError("Ask for zero or more leads and activities, at least one user and one day.")
    if activities and not leads:
        raise DemoError("Activities need leads to belong to.")
    if db.session.scalar(select(exists().where(Lead.id.isnot(None)))):
        raise DemoError("The database already has leads: the demo only fills an empty one.")
    funnel_defaults.install(language)
    if not db.session.get(AppSetting, "installed_at"):
        db.session.add(AppSetting(key="installed_at", value=utcnow().isoformat()))
    db.session.flush()
    renewals = add_renewals(language)
    try:
        funnel = Funnel.load(renewals)
    except StopIteration:
        raise DemoError("The funnel needs a won and a lost stage.") from None
    if not funnel.open or not funnel.kinds:
        raise DemoError("The funnel needs an open stage and at least one activity kind.")

    now = utcnow().replace(second=0, microsecond=0)
    if owner is None:
        team = add_users(seed, language, users, now - timedelta(days=history_days + 1))
    else:
        team = team_of(owner)
    clock = Clock(now, history_days)
    fields = client_fields(language)
    generator = Generator(seed, language, funnel, team, clock, foreign_share, fields)
    plans = generator.plan(leads, activities)
    writer = Writer(generator, progress)
    with sqlite_bulk_load(), collector_paused():
        summary = writer.write(plans)
    # Bulk inserts pass the ORM by: open boards and kept reports must still see new data.
    data_version.bump(db.session)
    summary.users = len(team.ids) if owner is None else 0
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class Funnel:
    """The ids the demo refers to: open stages in funnel order, activity kinds, lost reasons."""

    open: list[int]
    won: int
    lost: int
    kinds: dict[str, int]
    reasons: list[int]
    # The renewals pipeline's stages, in order (none: no such pipeline).
    renewals: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, renewals=None):
        """Read the first pipeline's stages, the activity kinds by code, the active lost
        reasons in order, and the renewals pipeline's stages."""
        first = db.session.scalar(select(Pipeline.id).order_by(Pipeline.position, Pipeline.id))
        stages = db.session.scalars(Stage.in_funnel_order(first)).all()
        kinds = db.session.execute(select(ActivityKind.code, ActivityKind.id)).all()
        reasons = db.session.scalars(
            select(LostReason.id)
            .where(LostReason.active)
            .order_by(LostReason.position, LostReason.id)
        ).all()
        return cls(
            open=[stage.id for stage in stages if stage.kind == StageKind.OPEN],
            won=next(stage.id for stage in stages if stage.kind == StageKind.WON),
            lost=next(stage.id for stage in stages if stage.kind == StageKind.LOST),
            kinds=dict(kinds),
            reasons=list(reasons),
            renewals=[]
            if renewals is None
            else list(
                db.session.scalars(
                    select(Stage.id)
                    .where(Stage.pipeline_id == renewals.id)
                    .order_by(Stage.position)
                )
            ),
        )


# A second pipeline: won clients come back for a renewal, about a tenth of the leads.
RENEWAL_NAMES = {"ru": "Продления", "en": "Renewals"}
RENEWAL_STAGES = {
    "ru": ("Пора продлевать", "Предложение отправлено", "Продлили", "Не продлили"),
    "en": ("Renewal due", "Offer sent", "Renewed", "Not renewed"),
}
RENEWAL_KINDS = (StageKind.OPEN, StageKind.OPEN, StageKind.WON, StageKind.LOST)
RENEWAL_COLOURS = ("#0e7490", "#6d28d9", "#15803d", "#991b1b")
# Of the won leads, the share that came back for a renewal.
RENEWAL_SHARE = 0.5


def add_renewals(language):
    """The renewals pipeline: the one made before (the demo filled again), or a new one
    unless the team has a second pipeline of its own."""
    made = db.session.scalar(select(Pipeline).where(Pipeline.name == RENEWAL_NAMES[language]))
    if made is not None:
        # The demo's own, from an earlier fill; a team's pipeline of that name is left alone.
        stages = db.session.scalar(select(func.count()).where(Stage.pipeline_id == made.id))
        return made if stages == len(RENEWAL_KINDS) else None
    if db.session.scalar(select(func.count()).select_from(Pipeline)) > 1:
        return None
    stages = [
        (name, colour, kind, None)
        for name, colour, kind in zip(
            RENEWAL_STAGES[language], RENEWAL_COLOURS, RENEWAL_KINDS, strict=True
        )
    ]
    return pipelines.add_pipeline(RENEWAL_NAMES[language], stages)


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while the rows are made and written.

    A chunk's records (leads, contacts, steps and the rows made of them) stay alive until
    written, hundreds of thousands of them, and the collector would walk them all again and
    again for nothing: once written they refer to nothing that refers back, and go as soon as
    they are dropped.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


class sqlite_bulk_load:
    """On SQLite, load the tables without their secondary indexes, then index them once.

    Inserting a million rows into four indexes each, in random order, costs more than building
    the indexes afterwards from the finished table. The indexes of the tables the demo fills are
    dropped and created again from their own definitions (as stored in sqlite_master), in the
    same transaction: nobody sees the tables without them, and a rollback restores them. So are
    the triggers that keep the leads' search index, which is then rebuilt from the finished
    table in one pass: indexing each lead as it comes costs several times more. The session's
    connection also gets a bigger page cache, restored afterwards since it goes back to the
    pool. On an error the caller must roll back. Elsewhere this does nothing.
    """

    TABLES = ("leads", "activities", "stage_changes", "activity_revisions", "planned_steps")

    def __enter__(self):
        self.sqlite = db.session.get_bind().dialect.name == "sqlite"
        if not self.sqlite:
            return self
        self.cache_size = db.session.execute(text("PRAGMA cache_size")).scalar()
        db.session.execute(text(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"))
        names = ", ".join(f"'{table}'" for table in self.TABLES)
        self.indexes = db.session.execute(
            text(
                "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "  # noqa: S608
                f"AND sql IS NOT NULL AND tbl_name IN ({names}) ORDER BY type, name"
            )
        ).all()
        for kind, name, _sql in self.indexes:
            db.session.execute(text(f'DROP {kind.upper()} "{name}"'))
        return self

    def __exit__(self, exc_type, *exc):
        if not self.sqlite or exc_type is not None:
            return
        for _kind, _name, sql in self.indexes:
            db.session.execute(text(sql))
        search = search_index.SQLITE_TABLE
        db.session.execute(text(f"INSERT INTO {search}({search}) VALUES ('rebuild')"))  # noqa: S608
        db.session.execute(text(f"PRAGMA cache_size={int(self.cache_size)}"))


@dataclass
class Team:
    ids: list[int]
    manager: int
    salespeople: list[int]
    # A big team leaves a few leads for whoever takes them first.
    unowned_share: float = UNOWNED_SHARE


def team_of(owner):
    """The owner alone: every lead is theirs, so their board and agenda show it all."""
    db.session.flush()  # so that a freshly added owner has an id
    return Team(ids=[owner.id], manager=owner.id, salespeople=[owner.id], unowned_share=0)


def add_users(seed, language, count, joined_at):
    """One manager and `count - 1` salespeople, with names from the dataset's language."""
    # Not for security: the same seed gives the same users.
    rng = random.Random(f"{seed}:users")  # noqa: S311
    taken = set(db.session.scalars(select(User.email)))
    people = Names(rng, language)
    rows = []
    for index in range(count):
        first, last = people.pick(rng.random() < 0.5)
        email = f"{latin(first)}.{latin(last)}@example.com"
        suffix = 2
        while email in taken:
            email = f"{latin(first)}.{latin(last)}{suffix}@example.com"
            suffix += 1
        taken.add(email)
        rows.append(
            {
                "email": email,
                "name": f"{first} {last}",
                # Not a hash werkzeug can match: nobody logs in as a demo user.
                "password_hash": "!",
                "role": Role.MANAGER if index == 0 else Role.SALESPERSON,
                "active": True,
                "locale": language,
                "timezone": None,
                "session_version": 1,
                "created_at": joined_at,
            }
        )
    ids = db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True), rows
    ).all()
    return Team(ids=list(ids), manager=ids[0], salespeople=list(ids[1:]) or [ids[0]])


class Names:
    """First and last names of one language; Russian surnames agree with the first name."""

    def __init__(self, rng, language):
        self.rng = rng
        words = WORDS[language]
        self.male = words["male"].split()
        self.female = words["female"].split()
        self.surnames = words["surnames"].split()
        self.russian = language == "ru"

    def pick(self, female):
        first = self.rng.choice(self.female if female else self.male)
        last = self.rng.choice(self.surnames)
        if female and self.russian:
            last = feminine(last)
        return first, last


def latin(name):
    """A name as it is written in an email address: lower case, Cyrillic transliterated."""
    return name.lower().translate(TRANSLITERATION)


# Cyrillic letters as written in email addresses; the hard and soft signs are dropped.
CYRILLIC_IN_LATIN = (
    "а=a б=b в=v г=g д=d е=e ё=e ж=zh з=z и=i й=y к=k л=l м=m н=n о=o п=p р=r с=s т=t у=u "
    "ф=f х=kh ц=ts ч=ch ш=sh щ=shch ъ= ы=y ь= э=e ю=yu я=ya"
)
TRANSLITERATION = str.maketrans(dict(pair.split("=") for pair in CYRILLIC_IN_LATIN.split()))


def feminine(surname):
    for ending, replacement in (("ский", "ская"), ("цкий", "цкая"), ("ой", "ая")):
        if surname.endswith(ending):
            return surname[: -len(ending)] + replacement
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


@dataclass(slots=True)
class Plan:
    """One lead before its details are made up: when it came in, its path, its contact count."""

    created: int  # on the work clock
    path: list  # stage ids: where it came in, then each stage it moved to
    reason: int | None  # index of the lost reason
    count: int = 0  # activities
    big: bool = False


class Clock:
    """Minutes of office hours since the start of the history, and back to datetimes."""

    def __init__(self, now, history_days):
        self.origin = datetime.combine(
            now.date() - timedelta(days=history_days), datetime.min.time()
        )
        # Days up to a month ahead, for next steps.
        self.days = [
            self.origin + timedelta(days=day, minutes=WORK_START)
            for day in range(history_days + 40)
        ]
        self.minutes = [timedelta(minutes=minute) for minute in range(WORK_DAY)]
        today = history_days
        minute = now.hour * 60 + now.minute - WORK_START
        # Before office hours, "now" on the clock is the end of yesterday.
        self.now = (
            today * WORK_DAY + min(minute, WORK_DAY - 1) if minute >= 0 else today * WORK_DAY - 1
        )
        self.today = today * WORK_DAY
        self.time_now = now

    def at(self, minute):
        return self.days[minute // WORK_DAY] + self.minutes[minute % WORK_DAY]

    def after(self, minute, delta):
        """`delta` after the clock's `minute`, but no later than now: for a correction made to
        a contact just logged."""
        return min(self.at(minute) + delta, self.time_now)


# About 1.3 people a lead: a third of the leads have a colleague of the main contact too.
COLLEAGUE_SHARE = 0.3
JOB_TITLES = {
    "ru": [
        *("Директор", "Генеральный директор", "Главный бухгалтер", "Менеджер по закупкам"),
        *("Офис-менеджер", "Технический директор", "Юрист", "Руководитель отдела"),
    ],
    "en": [
        *("Director", "Managing director", "Chief accountant", "Purchasing manager"),
        *("Office manager", "Technical director", "Lawyer", "Head of department"),
    ],
}


class Generator:
    """Makes up leads and their histories from seeded random generators."""

    def __init__(self, seed, language, funnel, team, clock, foreign_share, fields=None):
        # Not for security: seeded generators give the same data for the same seed. `rng` makes
        # the histories, `who` the names and contact details.
        self.rng = random.Random(f"{seed}:history")  # noqa: S311
        self.who = random.Random(f"{seed}:who")  # noqa: S311
        self.language = language
        self.foreign_share = foreign_share
        self.funnel = funnel
        self.team = team
        self.clock = clock
        self.texts = TEXTS[language]
        self.main_locale = Locale(self.who, language)
        self.other_locale = Locale(self.who, "ru" if language == "en" else "en")
        self.companies, self.phones, self.emails = Fresh(), Fresh(), Fresh()
        # A colleague of the main contact on some leads: a stream of its own, so the rest of
        # the data is as without them.
        self.people_rng = random.Random(f"{seed}:people")  # noqa: S311
        # Renewals draw from a stream of their own, so the rest stays as without them.
        self.renewal_rng = random.Random(f"{seed}:renewals")  # noqa: S311
        self.colleagues = {
            code: Locale(self.people_rng, code)
            for code in (language, "ru" if language == "en" else "en")
        }
        # The team's own fields of each lead's client (none given: none filled in).
        self.clients = Clients(seed, language, fields, self.emails) if fields else None
        self.recent_steps = Deck(self.rng, RECENT_NEXT_STEPS)
        self.quiet_steps = Deck(self.rng, QUIET_NEXT_STEPS)
        # The planned steps' history has its own stream: the rest is as without it.
        self.step_rng = random.Random(f"{seed}:steps")  # noqa: S311
        self.step_fates = list(STEP_FATES)
        self.step_weights = list(accumulate(STEP_FATES.values()))
        kinds = funnel.kinds
        fallback = next(iter(kinds.values()))

        def texts(options):
            return [(kinds.get(code, fallback), body) for code, body in options]

        self.moved_to = [texts(options) for options in self.texts["moved_to"]]
        self.won_texts = texts(self.texts["won"])
        self.lost_texts = [texts(options) for options in self.texts["lost"]]
        self.lost_other = texts(self.texts["lost_other"])
        self.follow_ups = texts(self.texts["follow_ups"])
        self.next_steps = self.texts["next_steps"]
        sources = self.texts["sources"]
        self.sources = [sources[code] for code in SOURCE_WEIGHTS]
        self.source_weights = list(accumulate(SOURCE_WEIGHTS.values()))
        last = len(funnel.open)
        # Where an open lead stands: each stage holds fewer than the one before.
        self.open_weights = list(accumulate(0.6**index for index in range(last)))
        self.stage_index = {stage_id: index for index, stage_id in enumerate(funnel.open)}

    # Planning: when each lead came in, how far it got and how many contacts it had.

    def plan(self, lead_count, activity_count):
        rng = self.rng
        clock = self.clock
        created = sorted(int(clock.now * rng.random() ** 0.8) for _ in range(lead_count))
        plans = [self.plan_lead(minute) for minute in created]
        bigs = big_lead_count(lead_count, activity_count)
        # The long histories belong to leads from the first year, spread across it.
        for index in range(bigs):
            plan = plans[int((index + 0.5) * (lead_count / 2) / bigs)]
            plan.big = True
            last = len(self.funnel.open) - 1
            reached = rng.randint(min(2, last), last)
            plan.path = self.walk(min(plan.path[0], reached), reached)
            plan.reason = None
            plan.count = BIG_LEAD_ACTIVITIES
        self.share_out(plans, activity_count - bigs * BIG_LEAD_ACTIVITIES)
        return plans

    def plan_lead(self, created):
        rng = self.rng
        funnel = self.funnel
        age = self.clock.now - created
        last = len(funnel.open) - 1
        entry = min(last, rng.choice((0, 0, 0, 0, 0, 1, 1, 2)))
        if age < WORK_DAY:
            # A request from today: nobody has called yet.
            return Plan(created, [funnel.open[entry]], None)
        decided = min(DECIDED_AT_MOST, age / WORK_DAY / DECIDED_AFTER_DAYS)
        draw = rng.random()
        if draw < decided * WON_SHARE:
            return Plan(created, self.walk(entry, last) + [funnel.won], None)
        if draw < decided:
            reached = max(entry, min(rng.randint(0, last), rng.randint(0, last)))
            reason = rng.randrange(len(funnel.reasons)) if funnel.reasons else None
            return Plan(created, self.walk(entry, reached) + [funnel.lost], reason)
        chosen = bisect_left(self.open_weights, rng.random() * self.open_weights[-1])
        return Plan(created, self.walk(entry, max(entry, chosen)), None)

    def walk(self, entry, reached):
        """The open stages from `entry` to `reached`, now and then skipping one."""
        stages = self.funnel.open
        path = [stages[entry]]
        position = entry
        while position < reached:
            position = min(reached, position + self.rng.choice((1, 1, 1, 1, 2)))
            path.append(stages[position])
        return path

    def share_out(self, plans, remaining):
        """Give every lead at least one contact per move, and share out the rest by weight."""
        rng = self.rng
        small = [plan for plan in plans if not plan.big]
        remaining -= sum(len(plan.path) - 1 for plan in small)
        # Fewer activities than moves: the newest leads are left where they came in.
        for plan in reversed(small):
            if remaining >= 0:
                break
            remaining += len(plan.path) - 1
            plan.path = plan.path[:1]
            plan.reason = None
        weights = []
        for plan in small:
            age = self.clock.now - plan.created
            reached = self.stage_index.get(plan.path[-1], len(self.funnel.open))
            if len(plan.path) > 1 and plan.path[-1] in (self.funnel.won, self.funnel.lost):
                reached = self.stage_index[plan.path[-2]]
            weight = (1 + 0.5 * reached) * (0.15 + rng.random() ** 3 * 5)
            weights.append(weight * min(1.0, age / WORK_DAY / 45) if age >= WORK_DAY else 0.0)
        total = sum(weights)
        if total == 0 and remaining:
            weights = [1.0 if self.clock.now - plan.created > 1 else 0.0 for plan in small]
            total = sum(weights)
            if total == 0:
                raise DemoError("Too many activities for leads that came in just now.")
        given = 0
        for plan, weight in zip(small, weights, strict=True):
            extra = int(weight * remaining / total) if total else 0
            plan.count = len(plan.path) - 1 + extra
            given += extra
        if remaining > given:
            cumulative = list(accumulate(weights))
            for _ in range(remaining - given):
                index = bisect_left(cumulative, rng.random() * cumulative[-1])
                small[min(index, len(small) - 1)].count += 1
        # A lead cannot have more contacts than there were office minutes since it came in.
        overflow = 0
        for plan in small:
            room = self.clock.now - plan.created
            if plan.count > room:
                overflow += plan.count - room
                plan.count = room
        for plan in small:
            if not overflow:
                break
            room = self.clock.now - plan.created - plan.count
            extra = min(room, overflow)
            plan.count += extra
            overflow -= extra
        if overflow:
            raise DemoError("Too many activities for the time the leads have existed.")

    # Details: who the lead is, what was said and when.

    def lead(self, plan):
        """The lead's details, who entered it, and its contacts as (minute on the clock, stage
        moved to or None)."""
        rng = self.rng
        funnel = self.funnel
        # Who the lead is comes from a stream of its own, drawn alike for every lead, so the
        # names are the same for a seed whatever day it runs.
        who = self.who
        locale = self.other_locale if who.random() < self.foreign_share else self.main_locale
        name, trade = self.companies.take(locale.company_words)
        title, domain = locale.company(name, trade)
        first, last = locale.names.pick(who.random() < 0.5)
        phone = self.phones.take(locale.phone, key=phone_tail)
        email = self.emails.take(lambda: locale.email(first, last, domain))
        draw = who.random()
        if draw < 0.1:
            phone = None
        elif draw < 0.19:
            email = None
        owner = self.owner()
        source = self.sources[
            bisect_left(self.source_weights, who.random() * self.source_weights[-1])
        ]
        created_by = owner if who.random() < 0.8 and owner else self.team.manager
        contacts = self.contacts(plan)
        final = plan.path[-1]
        closed = final in (funnel.won, funnel.lost)
        reached = max(self.stage_index.get(stage, 0) for stage in plan.path)
        value = None
        if closed or reached >= ESTIMATE_MADE or rng.random() >= UNKNOWN_VALUE_SHARE:
            low, high, step = self.texts["value"]
            value = Decimal(rng.randrange(low, high, step))
        details = {
            "title": title,
            "contact_name": f"{first} {last}",
            "phone": phone,
            "email": email,
            "source": source,
            "value": value,
            "owner_id": owner,
        }
        if self.clients is not None:
            won_at = contacts[-1][0] if final == funnel.won and contacts else None
            company = Company(locale.language, trade, domain)
            self.clients.fill(details, plan.created, won_at, company)
        if self.people_rng.random() < COLLEAGUE_SHARE:
            self.add_colleague(details, locale, domain)
        return details, created_by, contacts

    def add_colleague(self, details, locale, domain):
        """The lead's people: its main contact with a job title, and a colleague of theirs."""
        rng, colleagues = self.people_rng, self.colleagues[locale.language]
        titles = JOB_TITLES[locale.language]
        first, last = colleagues.names.pick(rng.random() < 0.5)
        phone = self.phones.take(colleagues.phone, key=phone_tail) if rng.random() < 0.7 else None
        email = self.emails.take(lambda: colleagues.email(first, last, domain))
        main_phone, main_email = details.pop("phone"), details.pop("email")
        main = {
            "name": details.pop("contact_name"),
            "job_title": rng.choice(titles),
            "phones": [main_phone] if main_phone else [],
            "emails": [main_email] if main_email else [],
        }
        colleague = {
            "name": f"{first} {last}",
            "job_title": rng.choice(titles),
            "phones": [phone] if phone else [],
            "emails": [email],
        }
        details["people"] = [main, colleague]

    def owner(self):
        draw = self.who.random()
        salesperson = self.who.choice(self.team.salespeople)
        if draw < self.team.unowned_share:
            return None
        if draw < UNOWNED_SHARE + MANAGER_SHARE:
            return self.team.manager
        return salesperson

    def contacts(self, plan):
        """When each contact happened and which of them moved the lead, oldest first."""
        rng = self.rng
        clock = self.clock
        count = plan.count
        if not count:
            return []
        room = clock.now - plan.created
        closing = plan.path[-1] in (self.funnel.won, self.funnel.lost)
        # Some open leads are worked on until today; a deal is won or lost within its sales
        # cycle, so closings spread over the two years instead of piling up lately.
        if plan.big or (not closing and rng.random() < 0.3):
            span = room
        else:
            span = min(room, count * rng.randint(WORK_DAY // 2, 7 * WORK_DAY))
        span = max(span, count)
        minutes = sorted(rng.sample(range(plan.created + 1, plan.created + span + 1), count))
        moves = plan.path[1:]
        # A won or lost lead is closed by its last contact; the other moves fall anywhere.
        free = count - 1 if closing else count
        places = sorted(rng.sample(range(free), len(moves) - (1 if closing else 0)))
        if closing:
            places.append(count - 1)
        moved = [None] * count
        for place, stage in zip(places, moves, strict=True):
            moved[place] = stage
        return [(minute, stage) for minute, stage in zip(minutes, moved, strict=True)]

    def body(self, stage, reason):
        """A contact's kind and text: what moved the lead there, or a follow-up."""
        if stage is None:
            options = self.follow_ups
        elif stage == self.funnel.won:
            options = self.won_texts
        elif stage == self.funnel.lost:
            options = (
                self.lost_texts[reason]
                if reason is not None and reason < len(self.lost_texts)
                else self.lost_other
            )
        else:
            index = min(self.stage_index[stage], len(self.moved_to))
            options = self.moved_to[max(index, 1) - 1]
        return options[int(self.rng.random() * len(options))]

    def next_step(self, plan, last_minute):
        """When an open lead's next step is due (on the clock): overdue, today, later or None."""
        rng = self.rng
        clock = self.clock
        if plan.big:
            choice = "later"
        elif clock.now - last_minute < RECENT_DAYS * WORK_DAY:
            choice = self.recent_steps.deal()
        else:
            choice = self.quiet_steps.deal()
        if choice is None:
            return None
        if choice == "overdue" and last_minute + 1 < clock.today:
            return rng.randrange(last_minute + 1, clock.today)
        if choice in ("today", "overdue"):
            start = max(last_minute + 1, clock.today)
            end = clock.today + WORK_DAY
            if start < end:
                return rng.randrange(start, end)
        # Later: a working day in the next three weeks, at a round time.
        day = clock.today + rng.randint(1, 21) * WORK_DAY
        return day + rng.randrange(0, WORK_DAY, 30)

    def step_history(self, created, contacts, final):
        """The next steps planned over a lead's life, on the work clock.

        `contacts` are the minutes of its contacts, oldest first; `final` the minute its current
        next step is due (None: none). Each step is (due, planned, ended, by): planned at
        creation, at a contact or when an earlier step was put off; ended when the next contact
        was logged (`by` is that contact's index) or when it was put off (`by` None), or still
        standing (`ended` None). A contact closing the lead ends its step and plans none.
        """
        rng = self.step_rng
        steps = []
        begin = created
        for index, end in enumerate(contacts):
            fate = self.step_fates[
                bisect_left(self.step_weights, rng.random() * self.step_weights[-1])
            ]
            gap = end - begin
            if fate is None or gap < 1:
                begin = end
                continue
            if fate == "early":
                due = end + 1 + int(rng.random() * EARLY_AT_MOST)
            elif fate == "late" and gap > ON_TIME + 1:
                due = begin + 1 + int(rng.random() * (gap - ON_TIME - 1))
            elif fate == "put_off" and gap >= 3:
                missed = begin + 1 + int(rng.random() * (gap - 2))
                put_off = missed + 1 + int(rng.random() * (end - missed - 1))
                steps.append((missed, begin, put_off, None))
                begin = put_off
                due = put_off + 1 + int(rng.random() * (end - put_off))
            else:
                due = end - int(rng.random() * min(ON_TIME, gap - 1))
            steps.append((due, begin, end, index))
            begin = end
        if final is not None:
            room = min(final, self.clock.now) - begin
            if room >= 3 and rng.random() < PUT_OFF_SHARE:
                missed = begin + 1 + int(rng.random() * (room - 2))
                put_off = missed + 1 + int(rng.random() * (begin + room - missed - 1))
                steps.append((missed, begin, put_off, None))
                begin = put_off
            steps.append((final, begin, None, None))
        return steps


class Deck:
    """Cards dealt from a shuffled deck, shuffled again once all are dealt.

    Every card turns up once a round, where drawing each time afresh could miss a rare case in
    a small sample, such as a next step due today on the setup page's agenda.
    """

    def __init__(self, rng, counts):
        self.rng = rng
        self.cards = [card for card, count in counts.items() for _ in range(count)]
        self.left = []

    def deal(self):
        if not self.left:
            self.left = self.cards.copy()
            self.rng.shuffle(self.left)
        return self.left.pop()


class Fresh:
    """Made-up values, each tried again a few times if it was given before.

    The duplicate check would flag two leads with the same company, phone or email. A dataset
    bigger than the word lists runs out of new ones and repeats some, as real ones do.
    """

    def __init__(self):
        self.given = set()

    def take(self, make, key=None):
        for _ in range(FRESH_TRIES):
            value = make()
            seen = value if key is None else key(value)
            if seen not in self.given:
                break
        self.given.add(seen)
        return value


def big_lead_count(leads, activities):
    count = max(1, leads // LEADS_PER_BIG_LEAD) if leads else 0
    if count * BIG_LEAD_ACTIVITIES * BIG_LEADS_SHARE > activities:
        return 0
    return count


class Locale:
    """Companies, phones and emails of one language."""

    def __init__(self, rng, language):
        self.rng = rng
        self.language = language
        words = WORDS[language]
        self.names = Names(rng, language)
        self.company_names = words["companies"].split("|")
        self.trades = words["trades"].split("|")
        self.forms = words["forms"].split("|")
        self.domains = words["domains"].split()
        self.free_mail = words["free_mail"].split()
        # Each pattern as a format string and its number of digits.
        self.phones = [
            (pattern.replace("#", "{}"), pattern.count("#"))
            for pattern in words["phones"].split("|")
        ]

    def company_words(self):
        """The company's name and trade: what tells it from others."""
        return self.rng.choice(self.company_names), self.rng.choice(self.trades)

    def company(self, name, trade):
        """The company's title with a legal form, and its website's domain (None: no site)."""
        rng = self.rng
        form = rng.choice(self.forms)
        if self.language == "ru":
            title = f"{form} «{trade} {name}»" if form else f"{trade} «{name}»"
            slug = latin(name).replace(" ", "-")
        else:
            title = f"{name} {trade}{form}"
            slug = latin(name + trade).replace(" ", "").replace("&", "")
        no_site = rng.random() < 0.1
        domain = f"{slug}.{rng.choice(self.domains)}"
        return title, None if no_site else domain

    def phone(self):
        rng = self.rng
        pattern, digits = rng.choice(self.phones)
        return pattern.format(*str(rng.randrange(10**digits)).zfill(digits))

    def email(self, first, last, domain):
        rng = self.rng
        first, last = latin(first), latin(last)
        personal = rng.random() < 0.2
        mailbox = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(self.free_mail)}"
        name = rng.choice((f"{first}.{last}", f"{first[0]}.{last}", first, "info", "office"))
        return mailbox if domain is None or personal else f"{name}@{domain}"


# The team's own fields (crm.custom_fields) the demo adds, by what each is for: its type and
# where it shows. Labels and options come from crm.sample_data, in the dataset's language.
CLIENT_FIELDS = {
    "tax_id": (FieldType.TEXT, {"identifies_client": True}),
    "city": (FieldType.CHOICE, {"filterable": True, "in_list": True, "on_card": True}),
    "website": (FieldType.LINK, {}),
    "employees": (FieldType.NUMBER, {"filterable": True}),
    "industry": (FieldType.CHOICE, {"filterable": True}),
}
# The share of clients with each value filled in: nobody's sheet has them all.
FILLED = {"tax_id": 0.85, "city": 0.85, "website": 0.8, "employees": 0.55, "industry": 0.9}
# A lead in this many comes from a client won before, renewing or with a new project: at most
# RETURNS_AT_MOST times for a client, so a client has up to three leads.
RETURNING_SHARE = 0.06
RETURNS_AT_MOST = 2
# The weights of a Russian company's ИНН (its tenth digit checks the first nine).
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def client_fields(language):
    """The demo's fields in `language`, added through the service that adds a team's fields,
    or those the team already has with the same key, type and options: {purpose: Field}."""
    words = FIELDS[language]
    options = {"city": [*words["cities"], *words["abroad"]], "industry": words["industries"]}
    custom_fields.forget()  # read afresh: definitions kept from a transaction rolled back lie
    existing = custom_fields.by_key()
    found = {}
    for purpose, (type_, flags) in CLIENT_FIELDS.items():
        label = words["labels"][purpose]
        wanted = options.get(purpose, [])
        field = existing.get(custom_fields.slug(label))
        offered = {option.label for option in field.offered_options} if field else set()
        if field is None or field.removed or field.type != type_ or set(wanted) - offered:
            field = custom_fields.add_field(label, type_, wanted, **flags)
        found[purpose] = field
    return found


@dataclass(frozen=True, slots=True)
class Company:
    """What a new client's values are made up from: the language its name is in, its trade
    and its website's domain (None: it has no site)."""

    language: str
    trade: str
    domain: str | None


@dataclass(slots=True)
class Client:
    """A client won, who may come back: its title, domain and values, and how often it has."""

    title: str
    domain: str | None
    values: dict
    returns: int = 0


class Clients:
    """The team's own fields of each lead's client: ИНН (a UK VAT number for a British
    company), city, website, staff and industry, made up from the company and the same on every
    lead of a client. Not every client has every value, as in a real team's sheet.

    Some leads come from a client won before (a renewal, a new project): they carry its title
    with a word after it, its values (ИНН included, so the CRM lists them as the client's other
    leads) and an email at its domain. Drawn from a stream of its own: the leads, contacts and
    names are the ones the seed gives without fields.
    """

    def __init__(self, seed, language, fields, emails):
        # Not for security: seeded, the same values for the same seed.
        self.rng = random.Random(f"{seed}:fields")  # noqa: S311
        self.language = language
        self.keys = {purpose: field.key for purpose, field in fields.items()}
        words = FIELDS[language]
        city_keys = {option.label: option.key for option in fields["city"].options}
        self.cities = {home: Weighted(words["cities" if home else "abroad"]) for home in (1, 0)}
        self.city_keys = city_keys
        industry_keys = {option.label: option.key for option in fields["industry"].options}
        self.industries = [industry_keys[label] for label in words["industries"]]
        self.renewals = words["renewals"]
        self.regions = sorted(set(INN_REGIONS.values()))
        self.tax_ids = set()
        # Clients won, by when (a heap, in the order won), and those won by now who may come
        # back; the emails given, shared with the leads'.
        self.won = []
        self.wins = 0
        self.back = []
        self.emails = emails

    def fill(self, details, created, won_at, company):
        """Give a lead (`details`, as the funnel takes them) its client's values: a client
        won before `created` coming back, or a new client made up from `company`. A new client
        won at `won_at` (None: not won) may come back later."""
        rng = self.rng
        while self.won and self.won[0][0] < created:
            self.back.append(heapq.heappop(self.won)[2])
        if self.back and rng.random() < RETURNING_SHARE:
            details["fields"] = self.come_back(details, company.domain)
            return
        values = self.new_client(company)
        details["fields"] = values
        if won_at is not None and self.keys["tax_id"] in values:
            client = Client(details["title"], company.domain, values)
            self.wins += 1
            heapq.heappush(self.won, (won_at, self.wins, client))

    def come_back(self, details, domain):
        """A client won before, as the new lead names it: its values, a title of its own."""
        place = int(self.rng.random() * len(self.back))
        client = self.back[place]
        details["title"] = f"{client.title} — {self.renewals[client.returns]}"
        details["email"] = self.moved_email(details["email"], domain, client.domain)
        client.returns += 1
        if client.returns >= RETURNS_AT_MOST:
            self.back[place] = self.back[-1]
            self.back.pop()
        return dict(client.values)

    def moved_email(self, email, domain, client_domain):
        """The contact's email at the client's domain rather than the one made up with the
        lead, when it was at a company's domain and is nobody else's there."""
        if not (email and domain and client_domain) or not email.endswith("@" + domain):
            return email
        moved = email.removesuffix(domain) + client_domain
        if moved in self.emails.given:
            return email
        self.emails.given.add(moved)
        return moved

    def new_client(self, company):
        """A new client's values ({field key: stored value}), some left empty."""
        rng, keys = self.rng, self.keys
        values = {}
        city = None
        if rng.random() < FILLED["city"]:
            city = self.cities[company.language == self.language].pick(rng)
            values[keys["city"]] = self.city_keys[city]
        tax_id = self.tax_id(company.language, city) if rng.random() < FILLED["tax_id"] else None
        if tax_id is not None:
            values[keys["tax_id"]] = tax_id
        if company.domain and rng.random() < FILLED["website"]:
            values[keys["website"]] = f"https://{company.domain}"
        if rng.random() < FILLED["employees"]:
            values[keys["employees"]] = staff(rng)
        if rng.random() < FILLED["industry"]:
            values[keys["industry"]] = self.industries[TRADE_INDUSTRIES[company.trade]]
        return values

    def tax_id(self, language, city):
        """A tax number no other client has: a Russian company's ИНН, registered in its city's
        region; in the English dataset a British company's VAT number; otherwise none."""
        rng = self.rng
        if language != "ru" and self.language != "en":
            return None
        while True:
            # Drawn as fractions of a number: randrange takes several times as long.
            serial = int(rng.random() * 10**7)
            if language == "ru":
                region = (
                    INN_REGIONS.get(city) or self.regions[int(rng.random() * len(self.regions))]
                )
                number = inn(f"{region}{serial:07d}")
            else:
                number = f"GB{serial + int(rng.random() * 90 + 10) * 10**7}"
            if number not in self.tax_ids:
                self.tax_ids.add(number)
                return number


def inn(first_nine):
    """A company's ИНН: its first nine digits and the digit that checks them."""
    total = sum(map(mul, map(int, first_nine), INN_WEIGHTS))
    return first_nine + str(total % 11 % 10)


def staff(rng):
    """A headcount: most clients small, a few large, rounded as people round them."""
    count = int(3 * 1000 ** rng.random())
    for below, step in ((20, 1), (100, 5), (1000, 10)):
        if count < below:
            return round(count / step) * step
    return round(count / 50) * 50


class Weighted:
    """Choices drawn by weight: {choice: weight}."""

    def __init__(self, weights):
        self.choices = list(weights)
        self.cumulative = list(accumulate(weights.values()))

    def pick(self, rng):
        return self.choices[bisect_left(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass(slots=True)
class Told:
    """A contact as the story tells it, made up before it is told to the funnel."""

    minute: int
    author: int
    # The stage the lead was moved to on the board just before, and by the contact itself.
    moved_on_board: int | None
    moves_to: int | None
    kind_id: int
    body: str
    # What it said before its author corrected it, and when they did; or when they deleted it.
    said_first: str | None
    edited_at: datetime | None
    deleted_at: datetime | None
    # Where the lead stood after it.
    stage: int


class Writer:
    """Tells each lead's story to the funnel's Backfill, which writes it a chunk at a time.

    A story is made up first, drawing from the seeded generators in the same order as ever,
    then told event by event in the order it happened: the lead comes in, contacts are logged
    (some moving it on), next steps are planned and put off, a few contacts are corrected or
    deleted. The funnel's rules make the rows: stage changes, the history of next steps and
    what answered them, revisions, and the lead's cached columns.
    """

    def __init__(self, generator, progress):
        self.generator = generator
        self.progress = progress or (lambda message: None)

    def write(self, plans):
        lead_count = len(plans)
        activity_count = sum(plan.count for plan in plans)
        summary = Summary()
        if not plans:
            return summary
        first_number = Counter.take("lead", len(plans))
        past = Backfill()
        started = time.perf_counter()
        for start in range(0, len(plans), CHUNK_LEADS):
            chunk = plans[start : start + CHUNK_LEADS]
            for index, plan in enumerate(chunk):
                self.tell(past, plan, first_number + start + index)
            told = past.rows_told()
            stored = {}
            for model, rows in told.items():
                insert_rows(model.__table__, rows, stored)
            summary.leads += len(told[Lead])
            summary.activities += len(told[Activity])
            summary.stage_changes += len(told[StageChange])
            summary.revisions += len(told[ActivityRevision])
            summary.planned_steps += len(told[PlannedStep])
            summary.big_leads += [
                first_number + start + index for index, plan in enumerate(chunk) if plan.big
            ]
            self.progress(
                f"{summary.leads:,} of {lead_count:,} leads, "
                f"{summary.activities:,} of {activity_count:,} activities "
                f"({time.perf_counter() - started:.0f} s)"
            )
        advance_sequences()
        return summary

    def tell(self, past, plan, number):
        """Make up one lead's story and tell it to `past`, the Backfill."""
        generator = self.generator
        clock = generator.clock
        funnel = generator.funnel
        details, created_by, contacts = generator.lead(plan)
        owner = details["owner_id"]
        story = self.contacts(plan, owner, contacts)
        final, final_note = self.current_step(plan, contacts)
        steps = self.next_steps(plan, owner or created_by, story, final, final_note)
        archived = (
            plan.path[-1] == funnel.lost
            and clock.now - plan.created > 260 * WORK_DAY
            and generator.rng.random() < ARCHIVED_SHARE
        )
        reason = funnel.reasons[plan.reason] if plan.reason is not None else None

        lead = past.create_lead(created_by, clock.at(plan.created), plan.path[0], number, **details)
        contact_minutes = {told.minute for told in story}
        planned_alone = sorted(minute for minute in steps if minute not in contact_minutes)
        for told in story:
            while planned_alone and planned_alone[0] < told.minute:
                self.plan_step(past, lead, planned_alone.pop(0), steps)
            self.log(past, lead, told, steps.get(told.minute), reason)
        for minute in planned_alone:
            self.plan_step(past, lead, minute, steps)
        if plan.path[-1] == funnel.won and funnel.renewals:
            self.renew(past, lead, owner or created_by)
        if archived:
            past.archive_lead(lead, lead.stage_changed_at)

    def renew(self, past, lead, by):
        """Some won clients come back: the lead moves on to the renewals pipeline months
        after it was won, and some of those get an offer, and are renewed."""
        rng = self.generator.renewal_rng
        due, offer, renewed, _not_renewed = self.generator.funnel.renewals
        if rng.random() >= RENEWAL_SHARE:
            return
        now = self.generator.clock.time_now
        at = lead.stage_changed_at + timedelta(days=rng.randint(30, 330), hours=rng.randint(0, 8))
        for stage_id, chance in ((due, 1.0), (offer, 0.45), (renewed, 0.5)):
            if at >= now or rng.random() >= chance:
                return
            past.move_lead(lead, stage_id, by, at)
            at += timedelta(days=rng.randint(2, 40), hours=rng.randint(0, 8))

    def contacts(self, plan, owner, contacts):
        """Who made each contact, whether the lead was moved on the board just before, what
        was said, and whether it was corrected or deleted afterwards."""
        generator = self.generator
        rng = generator.rng
        clock = generator.clock
        team = generator.team
        open_stages = set(generator.funnel.open)
        stage = plan.path[0]
        story = []
        for minute, moves_to in contacts:
            if owner and rng.random() < OWN_ACTIVITY_SHARE:
                author = owner
            else:
                author = team.ids[int(rng.random() * len(team.ids))]
            moved_on_board = None
            if moves_to in open_stages and rng.random() < BOARD_MOVE_SHARE:
                moved_on_board, moves_to = moves_to, None
            kind_id, body = generator.body(moves_to, plan.reason)
            said_first = edited_at = deleted_at = None
            draw = rng.random()
            if draw < DELETED_SHARE + EDITED_SHARE:
                if draw < DELETED_SHARE and moves_to is None:
                    deleted_at = clock.after(minute, timedelta(minutes=10))
                else:
                    edited_at = clock.after(minute, timedelta(minutes=30))
                    said_first = generator.body(None, None)[1]
            stage = moves_to or moved_on_board or stage
            story.append(
                Told(
                    *(minute, author, moved_on_board, moves_to, kind_id, body),
                    *(said_first, edited_at, deleted_at, stage),
                )
            )
        return story

    def current_step(self, plan, contacts):
        """When an open lead's next step is due now (on the clock; None: none), and its note."""
        generator = self.generator
        final = plan.path[-1]
        if final not in generator.funnel.open:
            return None, None
        last_minute = contacts[-1][0] if contacts else plan.created
        due = generator.next_step(plan, last_minute)
        if due is None:
            return None, None
        return due, generator.rng.choice(self.step_notes(final))

    def next_steps(self, plan, planner, story, final, final_note):
        """The next steps planned over the lead's life, by the minute each was planned at:
        (minute due, note, who planned it). A step planned at a contact is its author's; the
        others (when the lead came in, or put off to another day) are `planner`'s."""
        generator = self.generator
        rng = generator.step_rng
        minutes = [told.minute for told in story]
        steps = {}
        for due, planned, ended, _by in generator.step_history(plan.created, minutes, final):
            # The stage the lead was in when the step was planned.
            stage = plan.path[0]
            planned_by = planner
            before = bisect_right(minutes, planned) - 1
            if before >= 0:
                stage = story[before].stage
                if minutes[before] == planned:
                    planned_by = story[before].author
            if ended is None and due == final:
                note = final_note
            else:
                note = self.choose(rng, self.step_notes(stage))
            steps[planned] = (due, note, planned_by)
        return steps

    def plan_step(self, past, lead, minute, steps):
        """A next step planned on its own: as the lead came in, or put off to another day."""
        clock = self.generator.clock
        due, note, planned_by = steps[minute]
        past.plan_next_step(lead, planned_by, clock.at(minute), clock.at(due), note)

    def log(self, past, lead, told, step, reason):
        """A contact logged, with the next step planned at it (None: none), and what its author
        did to it afterwards."""
        clock = self.generator.clock
        at = clock.at(told.minute)
        if told.moved_on_board is not None:
            past.move_lead(lead, told.moved_on_board, told.author, at - timedelta(seconds=30))
        due, note = (clock.at(step[0]), step[1]) if step is not None else (None, None)
        contact = past.log_activity(
            lead,
            told.author,
            told.kind_id,
            told.said_first or told.body,
            at,
            stage_id=told.moves_to,
            next_step_at=due,
            next_step_note=note,
            lost_reason_id=reason,
        )
        if told.edited_at is not None:
            past.edit_activity(contact, told.edited_at, told.body)
        if told.deleted_at is not None:
            past.delete_activity(contact, told.deleted_at)

    def step_notes(self, stage):
        """What is planned next in `stage`: the notes of the open stage reached."""
        generator = self.generator
        index = generator.stage_index.get(stage, len(generator.next_steps) - 1)
        return generator.next_steps[min(index, len(generator.next_steps) - 1)]

    @staticmethod
    def choose(rng, options):
        return options[int(rng.random() * len(options))]


def insert_rows(table, rows, stored):
    """Insert rows (records with the table's columns as attributes, or dicts) with their ids.

    On SQLite they go straight to the driver, converted a column at a time as SQLAlchemy would
    store them, each distinct value once (`stored` keeps, by type, how and what was converted,
    for the next table): converting a few million values one by one is most of the time
    otherwise. Elsewhere they go through an
    ordinary bulk insert.
    """
    if not rows:
        return
    columns = [column.name for column in table.columns]
    read = (lambda name: methodcaller("get", name)) if isinstance(rows[0], dict) else attrgetter
    by_column = [list(map(read(name), rows)) for name in columns]
    dialect = db.session.get_bind().dialect
    if dialect.name != "sqlite":
        db.session.execute(
            insert(table),
            [dict(zip(columns, row, strict=True)) for row in zip(*by_column, strict=True)],
        )
        return
    for index, column in enumerate(table.columns):
        kind = type(column.type)
        if kind not in stored:
            store = column.type.dialect_impl(dialect).bind_processor(dialect)
            if store is not None and kind is DateTime:
                store = faster_moments(store)
            stored[kind] = (store, {None: None})
        store, known = stored[kind]
        if store is not None and kind is JSON:
            # Dicts cannot be told apart by hashing: each is converted.
            by_column[index] = list(map(store, by_column[index]))
        elif store is not None:
            by_column[index] = as_stored(by_column[index], store, known)
    # Our own table and column names, no user input.
    statement = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    db.session.connection().exec_driver_sql(statement, list(zip(*by_column, strict=True)))


def as_stored(values, store, known):
    """`values` as `store` converts them, each distinct one once; `known` keeps them."""
    new = set(values).difference(known)
    known.update(zip(new, map(store, new), strict=True))
    return list(map(known.__getitem__, values))


def faster_moments(store):
    """SQLAlchemy stores a moment on SQLite as ISO text with microseconds: made here from the
    text of its day and of its time of day, each made once, it takes a third of the time. Used
    where a probe shows the two agree."""
    days, times = {}, {}

    def stored(moment):
        day, time_of_day = moment.date(), moment.time()
        if day not in days:
            days[day] = day.isoformat() + " "
        if time_of_day not in times:
            times[time_of_day] = time_of_day.isoformat("microseconds")
        return days[day] + times[time_of_day]

    probe = datetime(2001, 2, 3, 4, 5, 6, 7)
    return stored if stored(probe) == store(probe) else store


def advance_sequences():
    """On PostgreSQL, move the id sequences past the ids given here, for the app's own inserts."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in Backfill.MODELS:
        table = model.__table__.name
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        )
