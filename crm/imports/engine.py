"""The import: a dry run that says what would happen to each row, and the import that does it,
all of it in one transaction or nothing.

Both read the file row by row, a chunk at a time, and never hold it whole: a dry run keeps
counts, the first errors and the first leads it would change (all of them go to a file, see
`crm.imports.changes`); the activities, which must be applied oldest first for each lead
whatever order the file has them in, are sorted in a scratch SQLite file beside the upload.

Every row of the funnel is written by `crm.funnel`, under its rules, as `create_lead` and
`log_activity` write them one at a time (the tests compare the two): a new lead's details are
checked by `set_details` (on a plain `PastLead`, not one of the ORM's), the lead made new by
`enter_lead` and saved with its first stage change and step by `save_new_leads`, a chunk at a
time; details change through `update_lead`; contacts are written by `write_contacts`, a batch
at a time, and `apply_contact` does what each does to its lead (answering steps, moving it as
`move_lead` does, its stage changes written together by `write_stage_changes`).
"""

import json
import re
import sqlite3
import time
from collections import namedtuple
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from crm import custom_fields, data_version, funnel, lists, parsing
from crm.extensions import db
from crm.imports import fields, team_fields
from crm.imports import people as sheet_people
from crm.imports.changes import ChangeList, LeadChange, shortened, stage_of
from crm.imports.matching import AMBIGUOUS, LeadFinder, casefolded, tail_of
from crm.imports.reading import FileProblem, Table
from crm.models import (
    Activity,
    ActivityKind,
    Counter,
    FieldType,
    Lead,
    LostReason,
    PlannedStep,
    Stage,
    StageChange,
    StageKind,
    User,
    utcnow,
)

# Rows read, checked and written together: one set of lookups and one flush per chunk.
CHUNK = 500
# Leads whose contacts are applied together in the second pass over the activities.
LEADS_PER_BATCH = 500
ERRORS_KEPT = 100
QUESTIONS_KEPT = 50
# How often the progress is told, at most.
PROGRESS_SECONDS = 0.5
# Colours given to stages the import creates, in turn.
NEW_STAGE_COLOURS = ("#0369a1", "#7c3aed", "#b45309", "#0f766e", "#be185d", "#4d7c0f")
NEW_STAGE = "new:"
EXISTING_STAGE = "stage:"
# Where a dry run writes what it would do to each lead, unless told where.
CHANGES_FILE = "changes.sqlite3"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")


class ImportFailed(Exception):
    """The import stopped on a row (or the file) and nothing was saved."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.message = message
        self.report = report


class RowProblem(ValueError):
    """A row that cannot be imported as it is; the message says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class Settings:
    """What the user decided on the mapping page (or on the command line)."""

    kind: str
    # Field key → column index.
    mapping: dict
    date_order: str | None = None
    # Casefolded status → "stage:<id>" or "new:open" / "new:won" / "new:lost".
    statuses: dict = field(default_factory=dict)
    owner_id: int | None = None
    # The pipeline of rows that name none (None: the first pipeline).
    pipeline_id: int | None = None
    kind_id: int | None = None
    lost_reason_id: int | None = None
    won_value: str | None = None
    zone: str = "UTC"
    actor_id: int | None = None
    skip_errors: bool = False
    # Columns made new fields of the team's: [{"column", "label", "type"}]. The team's fields
    # already there are in `mapping`, as "fields.<key>".
    new_fields: list = field(default_factory=list)

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        known["mapping"] = {key: int(index) for key, index in known.get("mapping", {}).items()}
        return cls(**known)


@dataclass
class Report:
    """What a dry run found, or what an import did: counts, and the first errors by line."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    stage_changes: int = 0
    # [line, message], the first ERRORS_KEPT of them.
    errors: list = field(default_factory=list)
    # Casefolded status → [as written, rows]: statuses no stage is called, to be answered.
    unknown_statuses: dict = field(default_factory=dict)
    # Kinds of contact no kind is called: recorded as the default kind, named here.
    unknown_kinds: dict = field(default_factory=dict)
    default_kind: str | None = None
    date_order_needed: bool = False
    new_stages: list = field(default_factory=list)
    # The fields of the team's the import creates (or created), as `team_fields.summary`.
    new_fields: list = field(default_factory=list)
    # A dry run's first changes to leads (LeadChange as dicts), and how many leads change.
    lead_changes: list = field(default_factory=list)
    leads_changed: int = 0
    seconds: float = 0.0

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})

    @property
    def has_questions(self):
        return bool(self.unknown_statuses) or self.date_order_needed

    def fail(self, line, message):
        self.failed += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append([line, message])

    def note(self, seen, key, shown):
        if key in seen:
            seen[key][1] += 1
        elif len(seen) < QUESTIONS_KEPT:
            seen[key] = [shown, 1]


class Progress:
    """Tells `callback(phase, share, rows)` how far the run is, at most every half second."""

    def __init__(self, callback=None):
        self.callback = callback
        self.told = 0.0

    def __call__(self, phase, share, rows, force=False):
        if self.callback is None:
            return
        now = time.monotonic()
        if force or now - self.told >= PROGRESS_SECONDS:
            self.told = now
            self.callback(phase, share, rows)


def run(path, layout, settings, apply=False, scratch=None, progress=None, changes=None):
    """Dry-run (`apply` False) or import the file; returns the Report.

    A dry run writes what it would do to each lead to the file `changes` (by default in
    `scratch`). The import raises ImportFailed on the first row it cannot take (unless rows
    with errors are to be skipped) after rolling back: nothing is saved. The caller commits a
    successful one.
    """
    started = time.monotonic()
    progress = Progress(progress)
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    if apply and (settings.kind == fields.LEADS or db.session.get_bind().dialect.name == "sqlite"):
        # Hold the lead numbers until the import commits, so that no lead made meanwhile takes
        # one it gives. On SQLite this writes first, too: the transaction then holds the write
        # lock from its start, and no writer in between can make it fail halfway.
        Counter.take("lead", 0)
    context = Context(
        settings, apply, None if apply else ChangeList(changes or scratch / CHANGES_FILE)
    )
    runner = (LeadImport if settings.kind == fields.LEADS else ActivityImport)(
        context, Table(path, layout), scratch, progress
    )
    try:
        try:
            runner.run()
        finally:
            runner.close()
    except FileProblem as problem:
        context.stopped()
        raise ImportFailed(problem.message, context.report) from problem
    except BaseException:
        context.stopped()
        raise
    context.finished()
    report = context.report
    if apply and (report.created or report.updated or report.stage_changes):
        # Rows written in bulk pass the ORM by: open boards and kept reports must see them.
        data_version.bump(db.session)
    context.report.errors.sort()
    context.report.seconds = round(time.monotonic() - started, 2)
    return context.report


class Context:
    """What every row is read against: the funnel's stages, kinds, reasons and people; and,
    for a dry run, the list of what it would do to each lead."""

    def __init__(self, settings, apply, changes=None):
        self.settings = settings
        self.apply = apply
        self.report = Report()
        self.changes = changes
        self.actor = db.session.get(User, settings.actor_id) if settings.actor_id else None
        try:
            self.zone = ZoneInfo(settings.zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")
        self.stages = list(db.session.scalars(Stage.in_funnel_order()))
        # A status names the first pipeline's stage of that name, unless the row names its
        # pipeline: then that pipeline's.
        self.stage_by_name = {}
        self.stage_in_pipeline = {}
        for each in self.stages:
            self.stage_by_name.setdefault(casefolded(each.name), each)
            self.stage_in_pipeline[each.pipeline_id, casefolded(each.name)] = each
        offered = lists.pipelines()
        self.pipeline_by_name = {casefolded(p.name): p for p in offered}
        self.default_pipeline = next((p for p in offered if p.id == settings.pipeline_id), None)
        self.stage_by_id = {s.id: s for s in self.stages}
        self.first_stage = funnel.first_stage()
        kinds = list(db.session.scalars(lists.in_order(ActivityKind)))
        self.kind_by_name = {}
        for kind in kinds:
            self.kind_by_name.setdefault(casefolded(kind.name), kind)
            if kind.code:
                self.kind_by_name.setdefault(kind.code.casefold(), kind)
        self.default_kind = next((k for k in kinds if k.id == settings.kind_id), None) or next(
            (k for k in kinds if k.active), kinds[0] if kinds else None
        )
        self.report.default_kind = self.default_kind.name if self.default_kind else None
        reasons = list(db.session.scalars(lists.in_order(LostReason)))
        self.reason_by_name = {casefolded(r.name): r for r in reasons}
        self.reason_by_id = {r.id: r for r in reasons}
        self.default_reason = next((r for r in reasons if r.id == settings.lost_reason_id), None)
        self.users = {}
        self.user_names = {}
        for user in db.session.scalars(select(User).order_by(User.active.desc(), User.id)):
            self.users.setdefault(user.email.casefold(), user.id)
            self.users.setdefault(casefolded(user.name), user.id)
            self.user_names[user.id] = user.name
        self.won_value = None
        if settings.won_value not in (None, ""):
            self.won_value = funnel.check_value(Decimal(settings.won_value))
        self.new_stages = {}
        self.mapping = dict(settings.mapping)
        self.columns = list(self.mapping.items())

    def add_columns(self, columns):
        """Columns read into fields the import creates: {"fields.<key>": column index}."""
        self.mapping |= columns
        self.columns = list(self.mapping.items())

    def column_of(self, key):
        return self.mapping.get(key)

    # What the dry run would do to each lead

    @property
    def telling(self):
        return self.changes is not None

    def tell(self, change):
        if self.changes is not None:
            self.changes.add(change)

    def finished(self):
        if self.changes is not None:
            self.changes.finish()
            self.report.lead_changes = self.changes.first
            self.report.leads_changed = self.changes.total

    def stopped(self):
        if self.changes is not None:
            self.changes.discard()
        if self.apply:
            db.session.rollback()

    def stage_now(self, lead):
        return stage_of(self.stage_by_id.get(lead.stage_id) or lead.stage)

    def shown_value(self, key, value):
        """A lead's detail as the list of changes keeps it: text, or the person's name."""
        if value is None:
            return None
        if key == "owner_id":
            return self.user_names.get(value)
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    # Reading cells

    def values(self, cells):
        """A row's cells by field: text stripped, the numbers and dates of an XLSX sheet as they
        are; empty cells and columns not imported are left out."""
        values = {}
        width = len(cells)
        for key, index in self.columns:
            if index >= width or cells[index] is None:
                continue
            value = cells[index]
            if isinstance(value, str):
                value = parsing.text(value)
                if value is None:
                    continue
            values[key] = value
        return values

    @staticmethod
    def text(values, key):
        value = values.get(key)
        return value if value is None or isinstance(value, str) else parsing.text(value)

    def moment(self, values, key):
        """A date cell as stored: naive UTC, read in the importer's zone."""
        value = values.get(key)
        if value is None:
            return None
        try:
            moment = parsing.parse_date(value, self.settings.date_order)
        except parsing.AmbiguousDate:
            self.report.date_order_needed = True
            raise
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC).replace(tzinfo=None)

    def field_cell(self, field, value):
        """A cell as the team's field takes it: a date read in the order the file writes its
        dates, a number or a yes/no as the sheet holds it, anything else as text."""
        if field.type == FieldType.DATE:
            try:
                return parsing.parse_date(value, self.settings.date_order).date()
            except parsing.AmbiguousDate:
                self.report.date_order_needed = True
                raise
        if field.type in (*custom_fields.NUMERIC_TYPES, FieldType.YES_NO):
            return value
        text = value if isinstance(value, str) else parsing.text(value)
        if field.type == FieldType.CHOICES:
            return "; ".join(map(spaced, custom_fields.CHOICE_SEPARATORS.split(text)))
        if field.type == FieldType.CHOICE:
            return spaced(text)
        return text

    @staticmethod
    def amount(values, key):
        value = values.get(key)
        if value is None:
            return None
        try:
            return funnel.check_value(parsing.parse_number(value))
        except funnel.FunnelError as error:
            raise RowProblem(error.message) from None

    def email(self, values, key):
        email = self.text(values, key)
        if email is None:
            return None
        if not EMAIL.match(email):
            raise RowProblem(_("“%(value)s” is not an email address.", value=parsing.shown(email)))
        return email.lower()

    def person(self, values, key):
        name = self.text(values, key)
        if name is None:
            return None
        user_id = self.users.get(name.casefold()) or self.users.get(casefolded(name))
        if user_id is None:
            raise RowProblem(
                _(
                    "Nobody called “%(name)s” has an account: add them under Settings → Users, "
                    "or leave the cell empty.",
                    name=parsing.shown(name),
                )
            )
        return user_id

    def reason(self, values, key):
        """Why a lead was lost, should the row lose it: the reason the row names, else the one
        chosen for rows that do not say; a reason not in the list is kept as the note."""
        written = self.text(values, key)
        if written is None:
            return self.default_reason, None
        reason = self.reason_by_name.get(casefolded(written))
        if reason is not None:
            return reason, None
        return self.default_reason, written[: funnel.NOTE_MAX]

    def closing_value(self, row_value, lead_value):
        """The value to close a won deal with: the row's, else the lead's own (None here lets
        `move_lead` keep it), else the one chosen for deals with none."""
        if row_value is not None:
            return row_value
        return None if lead_value is not None else self.won_value

    def pipeline(self, values):
        """The pipeline the row names (None: none named); RowProblem for one there is not."""
        written = self.text(values, "pipeline")
        if written is None:
            return None
        pipeline = self.pipeline_by_name.get(casefolded(written))
        if pipeline is None:
            raise RowProblem(_("No pipeline is called “%(name)s”.", name=parsing.shown(written)))
        return pipeline

    def stage(self, values, key="status"):
        """The stage a status names: by name, whatever the case (in the pipeline the row
        names, or the one chosen for rows naming none), or as the user answered for a status
        no stage is called (a new stage goes to that pipeline). A row of a pipeline with no
        status starts in that pipeline's first open stage. None: no status, or (in a dry run)
        one still to be answered, which the report then asks about."""
        written = self.text(values, key)
        pipeline = (self.pipeline(values) or self.default_pipeline) if key == "status" else None
        if written is None:
            return self.first_open_stage(pipeline) if pipeline else None
        name = casefolded(written)
        if pipeline is not None:
            stage = self.stage_in_pipeline.get((pipeline.id, name))
        else:
            stage = self.stage_by_name.get(name)
        stage = stage or self.new_stages.get((pipeline.id if pipeline else None, name))
        if stage is not None:
            return stage
        answer = self.settings.statuses.get(name, "")
        if answer.startswith(EXISTING_STAGE):
            stage = self.stage_by_id.get(int(answer.removeprefix(EXISTING_STAGE) or 0))
            if stage is not None:
                return stage
        if answer.startswith(NEW_STAGE):
            return self.create_stage(name, written, answer.removeprefix(NEW_STAGE), pipeline)
        if self.apply:
            raise RowProblem(_("No stage is called “%(name)s”.", name=parsing.shown(written)))
        self.report.note(self.report.unknown_statuses, name, written)
        return None

    def first_open_stage(self, pipeline):
        return next(
            each for each in self.stages if each.pipeline_id == pipeline.id and each.is_open
        )

    def create_stage(self, name, written, kind, pipeline=None):
        """A stage the user chose to make of an unknown status, in the row's pipeline (the
        first, when the row has none)."""
        if kind not in set(StageKind):
            kind = StageKind.OPEN
        colour = NEW_STAGE_COLOURS[len(self.new_stages) % len(NEW_STAGE_COLOURS)]
        try:
            if self.apply:
                stage = lists.add_stage(written, colour, kind, pipeline=pipeline)
                db.session.flush()
            else:
                home = pipeline or lists.first_pipeline()
                lists.check_stage(written, colour, kind, None, home.id)
                stage = PlannedStage(f"{NEW_STAGE}{name}", written, kind)
        except lists.SettingsError as error:
            raise RowProblem(error.message) from None
        self.new_stages[pipeline.id if pipeline else None, name] = stage
        self.stage_by_id[stage.id] = stage
        self.report.new_stages.append(written)
        return stage

    def kind(self, values):
        written = self.text(values, "kind")
        if written is None:
            return self.default_kind
        kind = self.kind_by_name.get(casefolded(written))
        if kind is None:
            self.report.note(self.report.unknown_kinds, casefolded(written), written)
            return self.default_kind
        return kind

    @staticmethod
    def closing_problem(stage, reason, value, lead_value):
        """Why `funnel.move_lead` would refuse a move to `stage`; None when it would not."""
        try:
            funnel.check_closing(stage.kind, reason, value, lead_value)
        except funnel.FunnelError as error:
            return error.message
        return None


@dataclass(frozen=True)
class PlannedStage:
    """A stage the dry run would create: it has no id yet."""

    id: str
    name: str
    kind: str


class Runner:
    """What reading either sheet takes: the rows a chunk at a time, the scratch file, the
    lookups of leads, and what to do with a row that cannot be imported."""

    def __init__(self, context, table, scratch, progress):
        self.context = context
        self.report = context.report
        self.settings = context.settings
        self.apply = context.apply
        self.table = table
        self.progress = progress
        self.staging_path = scratch / "staging.sqlite3"
        self.staging_path.unlink(missing_ok=True)
        self.staging = sqlite3.connect(self.staging_path)
        self.finder = LeadFinder()
        self.last_number = (
            db.session.scalar(select(Counter.value).where(Counter.name == "lead")) or 0
        )

    def close(self):
        self.staging.close()
        self.staging_path.unlink(missing_ok=True)

    def chunks(self):
        chunk = []
        for line, cells in self.table.rows():
            self.report.rows += 1
            chunk.append((line, cells))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def read_rows(self, chunk):
        """The chunk's rows as `read` makes them; blank rows are skipped, bad ones reported."""
        width = len(self.table.layout.columns)
        rows = []
        for line, cells in chunk:
            values = self.context.values(cells)
            if not values and blank(cells):
                self.report.skipped += 1
                continue
            if filled_beyond(cells, width):
                self.row_failed(line, too_many_cells())
                continue
            try:
                rows.append(self.read(line, values))
            except (parsing.ValueProblem, RowProblem, funnel.FunnelError) as problem:
                self.row_failed(line, problem.message)
        return rows

    def row_failed(self, line, message):
        """A row that cannot be imported: a dry run notes it; an import stops, unless such rows
        are to be skipped."""
        if self.apply and not self.settings.skip_errors:
            raise ImportFailed(
                _(
                    "Line %(line)d: %(message)s Nothing was imported.",
                    line=line,
                    message=message,
                ),
                self.report,
            )
        self.report.fail(line, message)

    def column_problem(self, key, message):
        """A message about a cell, naming its column as the file's header does (the name of a
        field of the team's, which the funnel's message starts with, then goes)."""
        index = self.context.column_of(key)
        headers = self.table.layout.headers
        if index is None or index >= len(headers):
            return message
        if team_fields.is_field(key):
            field = custom_fields.by_key().get(team_fields.key_of(key))
            if field is not None:
                message = message.removeprefix(f"{field.label}: ")
        return f"“{headers[index]}”: {message}"

    def done_reading(self):
        self.progress("reading", 1.0, self.report.rows, force=True)

    def forget_chunk(self):
        """Written rows leave the session, so a long file does not fill memory (the stages,
        kinds and people read at the start stay)."""
        for record in list(db.session):
            if isinstance(record, Lead | StageChange | PlannedStep | Activity):
                db.session.expunge(record)


# The types of the team's fields whose value can name a client.
IDENTIFYING_TYPES = (
    *(FieldType.TEXT, FieldType.NUMBER, FieldType.CHOICE, FieldType.LINK),
    *(FieldType.PHONE, FieldType.EMAIL),
)


def spaced(text):
    """Words one space apart, as the options an import makes are: "Нижний  Новгород" is the
    option "Нижний Новгород"."""
    return " ".join(text.split())


def changed_fields(stored, row_values):
    """The row's values of the team's fields that differ from those the lead holds."""
    stored = stored or {}
    return {key: value for key, value in (row_values or {}).items() if stored.get(key) != value}


def identity(value):
    """A stored value of an identifying field as text, as both databases read it back."""
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def blank(cells):
    return all(parsing.text(cell) is None for cell in cells)


def filled_beyond(cells, width):
    return any(parsing.text(cell) is not None for cell in cells[width:])


@dataclass
class LeadRow:
    line: int
    number: int | None = None
    details: dict = field(default_factory=dict)
    # The details as the funnel stores them, on a lead of their own: saved if the row makes one.
    lead: Lead | None = None
    stage: object = None
    created_at: datetime | None = None
    lost_reason: object = None
    lost_note: str | None = None
    # The row's values of the team's fields that name a client (ИНН): [("fields.<key>", text)].
    identities: list = field(default_factory=list)
    # What the row's cells say of each person: {place (0: the main contact): {attribute: value}}.
    people: dict = field(default_factory=dict)

    @property
    def email(self):
        return self.details.get("email")

    @cached_property
    def tail(self):
        # Asked for each match and each lead remembered: the phone is read once.
        return tail_of(self.details.get("phone"))

    @cached_property
    def reach(self):
        """The phones (their tails) and emails of the row's people after the main contact's
        own: a row matches a lead by anyone's."""
        main = {("email", self.email), ("phone", self.tail)}
        found = []
        for kind, value in funnel.reachable_at(self.lead.people if self.people else ()):
            key = (kind, tail_of(value) if kind == "phone" else value)
            if key[1] is not None and key not in main and key not in found:
                found.append(key)
        return found


class LeadImport(Runner):
    """The leads sheet: each row creates a lead, or updates the one it matches."""

    def __init__(self, *args):
        super().__init__(*args)
        self.staging.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, lead_id INTEGER)")
        # Leads this import made: a row repeating one of them updates it.
        self.made = set()
        self.pending = {}
        self.after_flush = []
        self.fields = {}
        # The team's fields that name a client (ИНН) and that the file has a column for.
        self.identifying = []

    def run(self):
        with self.own_fields():
            for chunk in self.chunks():
                rows = self.read_rows(chunk)
                self.finder.prepare(
                    numbers=[r.number for r in rows],
                    emails=[r.email for r in rows]
                    + [value for r in rows for kind, value in r.reach if kind == "email"],
                    phones=[r.details.get("phone") for r in rows]
                    + [value for r in rows for kind, value in r.reach if kind == "phone"],
                    identities=self.identities_of(rows),
                )
                leads = self.load_matched(rows)
                for row in rows:
                    self.take(row, leads)
                self.end_chunk()
                self.progress("reading", self.table.share_read, self.report.rows)
        if self.apply:
            self.save_counter()
        self.done_reading()

    # The team's fields

    @contextmanager
    def own_fields(self):
        """The fields the import creates, made before any row is written; a dry run plans them
        and checks the rows against them as if they were there, writing nothing."""
        new_fields = team_fields.new_fields_of(self.settings, self.table.layout.headers)
        with closing(self.table.rows()) as rows:
            team_fields.read_columns(rows, new_fields)
        for new in new_fields:
            if problem := new.problem():
                raise ImportFailed(problem, self.report)
        # A column empty from top to bottom makes no field.
        kept = [new for new in new_fields if new.filled]
        existing = custom_fields.all_fields()
        if kept and len(existing) + len(kept) > custom_fields.FIELDS_MAX:
            raise ImportFailed(
                _("A team can have at most %(n)d fields.", n=custom_fields.FIELDS_MAX),
                self.report,
            )
        if self.apply:
            made = [self.create_field(new) for new in kept]
        else:
            made = team_fields.planned(kept, existing)
        by_column = {new.column: field_ for new, field_ in zip(kept, made, strict=True)}
        self.report.new_fields = [
            team_fields.summary(new, by_column.get(new.column)) for new in new_fields
        ]
        self.context.add_columns(
            {team_fields.field_value(f.key): column for column, f in by_column.items()}
        )
        with custom_fields.planned(made if not self.apply else ()):
            self.fields = custom_fields.by_key()
            self.check_mapped_fields()
            self.identifying = [
                f.key
                for f in custom_fields.identifying_fields()
                if f.type in IDENTIFYING_TYPES
                and self.context.column_of(team_fields.field_value(f.key)) is not None
            ]
            yield

    def check_mapped_fields(self):
        """The team's fields the columns were mapped to are still there (a field removed since
        the mapping takes no values)."""
        for name, index in self.context.mapping.items():
            if not team_fields.is_field(name):
                continue
            own = self.fields.get(team_fields.key_of(name))
            if own is None or own.removed:
                header = self.table.layout.headers[index]
                raise ImportFailed(
                    _(
                        "Column “%(header)s” is mapped to a field that is no longer there: "
                        "choose the columns again.",
                        header=header,
                    ),
                    self.report,
                )

    def create_field(self, new):
        try:
            return custom_fields.add_field(new.label, new.type, new.option_labels())
        except custom_fields.FieldValueError as error:
            raise ImportFailed(f"“{new.label}”: {error.message}", self.report) from None

    def field_values(self, values):
        """The row's cells read into the team's fields, as the funnel takes them."""
        found = {}
        for name, value in values.items():
            if team_fields.is_field(name):
                field_ = self.fields[team_fields.key_of(name)]
                found[field_.key] = self.checked(name, self.context.field_cell, field_, value)
        return found

    def identities_of(self, rows):
        """Field key → {the value as text: as stored} of the chunk's identifying values."""
        found = {key: {} for key in self.identifying}
        for row in rows:
            stored = row.lead.fields or {}
            for key in self.identifying:
                if key in stored:
                    found[key][identity(stored[key])] = stored[key]
        return found

    def read(self, line, values):
        context = self.context
        row = LeadRow(line)
        number = values.get("number")
        if number is not None:
            row.number = self.checked("number", parsing.parse_lead_number, number)
        details = row.details
        for key in ("title", "contact_name", "phone", "source", "next_step_note"):
            value = context.text(values, key)
            if value is not None:
                details[key] = value
        for key, read in (
            ("email", context.email),
            ("value", context.amount),
            ("owner_id", lambda c, _k: context.person(c, "owner")),
            ("next_step_at", context.moment),
        ):
            value = self.checked(key, read, values, key)
            if value is not None:
                details[key] = value
        row.created_at = self.checked("created_at", context.moment, values, "created_at")
        if row.created_at is not None and row.created_at > utcnow():
            raise RowProblem(self.column_problem("created_at", _("The date is in the future.")))
        own = self.field_values(values)
        if own:
            details["fields"] = own
        row.stage = context.stage(values)
        row.lost_reason, row.lost_note = context.reason(values, "lost_reason")
        # Checked and cleaned as the funnel does it, on a lead not saved (unless the row makes
        # a new one): a plain one, which the funnel writes in bulk. On one of the ORM's, half of
        # the time reading a row went to the ORM's bookkeeping.
        row.lead = funnel.PastLead()
        self.set_details(row.lead, details)
        row.people = sheet_people.given(values)
        if row.people:
            self.set_people(row)
        stored = row.lead.fields or {}
        row.identities = [
            (team_fields.field_value(key), identity(stored[key]))
            for key in self.identifying
            if key in stored
        ]
        return row

    def set_people(self, row):
        """The row's people after its main contact, and the main contact's job title, on the
        row's own lead: checked as the funnel checks them, a refusal naming the column."""
        try:
            sheet_people.check(row.people)
        except funnel.FunnelError as error:
            raise RowProblem(self.column_problem(error.field, error.message)) from None
        given = sheet_people.merged(sheet_people.stored(row.lead), row.people)
        self.set_details(row.lead, {"people": given})

    def set_details(self, lead, details):
        try:
            funnel.set_details(lead, details)
        except funnel.FunnelError as error:
            raise RowProblem(self.column_problem(error.field, error.message)) from None

    def checked(self, key, read, *args):
        try:
            return read(*args)
        except (parsing.ValueProblem, RowProblem) as problem:
            raise RowProblem(self.column_problem(key, problem.message)) from None

    # Matching

    def load_matched(self, rows):
        ids = set()
        for row in rows:
            for kind, key in self.keys(row):
                lead_id = self.finder.get(kind, key)
                if lead_id:
                    ids.add(lead_id)
        if not ids:
            return {}
        statement = select(Lead).where(Lead.id.in_(ids))
        if any(row.people for row in rows):
            # Compared with the rows' people: read for the whole chunk in one more query.
            statement = statement.options(selectinload(Lead.people))
        return {lead.id: lead for lead in db.session.scalars(statement)}

    @staticmethod
    def keys(row, number=None):
        return [
            ("number", row.number if number is None else number),
            *row.identities,
            ("email", row.email),
            ("phone", row.tail),
            *row.reach,
        ]

    def match(self, row):
        """The lead the row means, by number, else a field of the team's that names the
        client (its open lead, else its newest), else email, else phone: one made earlier in
        this file (a Lead, a PendingLead, or SEEN when a dry run's earlier chunk made it) or an
        id in the database."""
        for kind, key in self.keys(row):
            if key is None:
                continue
            if (kind, key) in self.pending:
                return self.pending[kind, key], kind
            lead_id = self.finder.get(kind, key)
            if lead_id:
                return lead_id, kind
            if not self.apply:
                seen = self.staging.execute(
                    "SELECT lead_id FROM seen WHERE key = ?", (f"{kind}:{key}",)
                ).fetchone()
                if seen:
                    return seen[0], kind
        return None, None

    def take(self, row, leads):
        target, matched_by = self.match(row)
        try:
            if target is None:
                self.create(row)
            elif isinstance(target, funnel.PastLead):
                # Made a few rows before: a row repeating a lead updates it.
                self.report.updated += 1
                if self.apply:
                    self.change(row, target)
            elif isinstance(target, PendingLead) or target == SEEN:
                self.report.updated += 1
            else:
                self.update(row, leads[target], matched_by)
        except RowProblem as problem:
            self.row_failed(row.line, problem.message)
        except funnel.FunnelError as error:
            # Checked beforehand, so only a change made meanwhile gets here: stop, or the
            # lead could be saved half changed.
            raise ImportFailed(
                _(
                    "Line %(line)d: %(message)s Nothing was imported.",
                    line=row.line,
                    message=error.message,
                ),
                self.report,
            ) from error

    def remember(self, row, number, lead):
        for kind, key in self.keys(row, number):
            if key is not None:
                self.pending.setdefault((kind, key), lead)

    # Creating

    def create(self, row):
        context = self.context
        lead, details = row.lead, row.details
        missing = {}
        if "title" not in details:
            missing["title"] = next(
                (details[k] for k in ("contact_name", "email", "phone") if details.get(k)), None
            )
            if missing["title"] is None:
                raise RowProblem(
                    _("A new lead needs a title, a contact, an email or a phone: the row has none.")
                )
        if "owner_id" not in details:
            missing["owner_id"] = self.settings.owner_id
        self.set_details(lead, missing)
        stage = row.stage
        closes = stage is not None and stage.kind != StageKind.OPEN
        if closes:
            value = context.closing_value(details.get("value"), None)
            problem = context.closing_problem(stage, row.lost_reason, value, None)
            if problem:
                raise RowProblem(problem)
        number = row.number if row.number is not None else self.last_number + 1
        self.last_number = max(self.last_number, number)
        self.report.created += 1
        if not self.apply:
            self.remember(row, number, PendingLead(number))
            entering = stage or context.first_stage
            context.tell(
                LeadChange(
                    number,
                    lead.title,
                    new=True,
                    fields=self.told_fields({}, lead.fields or {})
                    + sheet_people.told([], sheet_people.stored(lead)),
                    stages=[stage_of(entering)] if entering else [],
                )
            )
            return
        # A lead enters the funnel at an open stage, as on the new lead page; a won or lost one
        # is moved there once it is saved, so the funnel's rules for closing hold.
        funnel.enter_lead(
            lead,
            context.actor,
            context.first_stage if (stage is None or closes) else stage,
            at=row.created_at or utcnow(),
            number=number,
        )
        self.remember(row, number, lead)
        self.after_flush.append((lead, row, stage if closes else None))

    # Updating

    def update(self, row, lead, matched_by):
        if lead.id in self.made:
            # As a dry run counts it, not knowing what the earlier row made.
            self.report.updated += 1
            if self.apply:
                self.change(row, lead)
            return
        if matched_by == "number" and self.conflicts(row, lead):
            raise RowProblem(
                _(
                    "Lead #%(number)d is “%(title)s”, not “%(other)s”. If the numbers in the "
                    "file are not the CRM's, do not import the number column.",
                    number=lead.number,
                    title=parsing.shown(lead.title),
                    other=parsing.shown(row.details.get("title")),
                )
            )
        changed = self.changes(row, lead)
        moving = self.moving_to(row, lead)
        if not changed and moving is None:
            self.report.skipped += 1
            return
        if moving is not None:
            value = self.context.closing_value(row.details.get("value"), lead.value)
            problem = self.context.closing_problem(moving, row.lost_reason, value, lead.value)
            if problem:
                raise RowProblem(problem)
        self.report.updated += 1
        if self.apply:
            self.change(row, lead)
        else:
            self.tell_update(row, lead, changed, moving)

    def tell_update(self, row, lead, changed, moving):
        context = self.context
        told = [
            [
                "owner" if key == "owner_id" else key,
                context.shown_value(key, getattr(lead, key)),
                context.shown_value(key, getattr(row.lead, key)),
            ]
            for key in changed
            if key not in ("fields", "people")
        ]
        if "people" in changed:
            told += sheet_people.told(sheet_people.stored(lead), changed["people"])
        context.tell(
            LeadChange(
                lead.number,
                lead.title,
                fields=told + self.told_fields(lead.fields, changed.get("fields", {})),
                stages=[context.stage_now(lead), stage_of(moving)] if moving else [],
            )
        )

    def told_fields(self, before, after):
        """The team's fields a row changes, as the list of changes words them: their values
        as a person types them."""
        before = before or {}
        told = []
        for key, value in after.items():
            field_ = self.fields[key]
            old = before.get(key)
            told.append(
                [
                    team_fields.field_value(key),
                    None if old is None else custom_fields.as_text(field_, old),
                    custom_fields.as_text(field_, value),
                ]
            )
        return told

    def conflicts(self, row, lead):
        """A number that names another lead than the row's title, email and phone do."""
        title = row.details.get("title")
        if not title or casefolded(title) == casefolded(lead.title):
            return False
        same_email = row.email is not None and row.email == lead.email
        same_phone = row.tail is not None and row.tail == tail_of(lead.phone_digits)
        return not (same_email or same_phone)

    @staticmethod
    def changes(row, lead):
        """The row's details that differ from the lead's, as the funnel stores them; of the
        team's fields, those whose value the row changes."""
        changed = {
            key: value
            for key, value in row.details.items()
            if key != "fields" and getattr(row.lead, key) != getattr(lead, key)
        }
        own = changed_fields(lead.fields, row.lead.fields)
        if own:
            changed["fields"] = own
        if row.people:
            people = sheet_people.wanted(lead, row.people)
            if people is not None:
                changed["people"] = people
        return changed

    @staticmethod
    def moving_to(row, lead):
        if row.stage is None or row.stage.id == lead.stage_id:
            return None
        return row.stage

    def change(self, row, lead):
        actor = self.context.actor
        changed = self.changes(row, lead)
        if changed:
            funnel.update_lead(lead, actor, **changed)
        moving = self.moving_to(row, lead)
        if moving is not None and lead.id is not None:
            funnel.move_lead(
                lead,
                moving,
                actor,
                lost_reason=row.lost_reason,
                lost_note=row.lost_note,
                value=self.context.closing_value(row.details.get("value"), lead.value),
            )

    def end_chunk(self):
        if not self.apply:
            self.staging.executemany(
                "INSERT OR IGNORE INTO seen (key, lead_id) VALUES (?, ?)",
                [(f"{kind}:{key}", SEEN) for kind, key in self.pending],
            )
            self.pending = {}
            self.forget_chunk()
            return
        actor = self.context.actor
        new_leads = [lead for lead, _row, _closed in self.after_flush]
        # The import holds the write lock: the leads can be given their ids up front.
        funnel.assign_ids(new_leads, Lead)
        # The next steps in the file are planned as of the import, whenever the leads came in.
        funnel.save_new_leads(new_leads, actor, planned_at=utcnow())
        self.made.update(lead.id for lead in new_leads)
        closing = [
            (lead.id, row, closed) for lead, row, closed in self.after_flush if closed is not None
        ]
        if closing:
            # Written in bulk, the leads to close are read back to move as any lead moves.
            saved = {
                lead.id: lead
                for lead in db.session.scalars(
                    select(Lead).where(Lead.id.in_([lead_id for lead_id, _r, _c in closing]))
                )
            }
            for lead_id, row, closed in closing:
                lead = saved[lead_id]
                funnel.move_lead(
                    lead,
                    closed,
                    actor,
                    at=lead.created_at,
                    lost_reason=row.lost_reason,
                    lost_note=row.lost_note,
                    value=self.context.closing_value(row.details.get("value"), None),
                )
        db.session.flush()
        self.after_flush = []
        self.pending = {}
        self.forget_chunk()

    def save_counter(self):
        """Numbers kept from the file and numbers given are never given again."""
        db.session.execute(
            update(Counter)
            .where(Counter.name == "lead", Counter.value < self.last_number)
            .values(value=self.last_number)
        )


@dataclass(frozen=True)
class PendingLead:
    """A lead the dry run would make."""

    number: int


# A lead a dry run would have made in an earlier chunk of the file.
SEEN = -1


def too_many_cells():
    return _("The row has more cells than the header: is a delimiter or a quote mark out of place?")


class ActivityImport(Runner):
    """The activities sheet: each row is a contact with a lead, logged in date order per lead
    so the stage history comes out as it happened."""

    def __init__(self, *args):
        super().__init__(*args)
        self.staging.execute(
            "CREATE TABLE contacts (lead_id INTEGER, occurred_at TEXT, line INTEGER, "
            "kind_id INTEGER, stage TEXT, body TEXT, author_id INTEGER, value TEXT, "
            "reason_id INTEGER, note TEXT)"
        )
        self.now = utcnow()
        self.finder = LeadFinder(remember=True)

    def run(self):
        for chunk in self.chunks():
            rows = self.read_rows(chunk)
            self.finder.prepare(
                numbers=[r["lead_number"] for r in rows],
                emails=[r["lead_email"] for r in rows],
                phones=[r["lead_phone"] for r in rows],
                titles=[r["lead_title"] for r in rows],
            )
            staged = []
            for row in rows:
                try:
                    lead_id = self.lead_of(row)
                except RowProblem as problem:
                    self.row_failed(row["line"], problem.message)
                    continue
                staged.append(self.staged(lead_id, row))
            self.staging.executemany(
                "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", staged
            )
            self.progress("reading", self.table.share_read / 2, self.report.rows)
        self.write()
        self.progress("writing", 1.0, self.report.rows, force=True)

    def read(self, line, values):
        context = self.context
        row = {"line": line}
        number = values.get("lead_number")
        row["lead_number"] = (
            self.checked("lead_number", parsing.parse_lead_number, number)
            if number is not None
            else None
        )
        row["lead_email"] = self.checked("lead_email", context.email, values, "lead_email")
        row["lead_phone"] = context.text(values, "lead_phone")
        row["lead_title"] = context.text(values, "lead_title")
        if not any(row[k] for k in ("lead_number", "lead_email", "lead_phone", "lead_title")):
            raise RowProblem(_("The row does not say which lead the contact was with."))
        occurred_at = self.checked("occurred_at", context.moment, values, "occurred_at")
        if occurred_at is None:
            raise RowProblem(
                self.column_problem("occurred_at", _("The date of the contact is missing."))
            )
        try:
            funnel.check_not_future(occurred_at)
        except funnel.FunnelError as error:
            raise RowProblem(self.column_problem("occurred_at", error.message)) from None
        row["occurred_at"] = occurred_at
        try:
            row["body"] = funnel.clean(context.text(values, "body"), funnel.BODY_MAX, "body") or ""
        except funnel.FunnelError as error:
            raise RowProblem(self.column_problem("body", error.message)) from None
        row["kind"] = context.kind(values)
        if row["kind"] is None:
            raise RowProblem(_("Choose a kind of contact."))
        row["stage"] = context.stage(values)
        row["author_id"] = self.checked("author", context.person, values, "author")
        row["value"] = self.checked("value", context.amount, values, "value")
        row["reason"], row["note"] = context.reason(values, "lost_reason")
        return row

    def checked(self, key, read, *args):
        try:
            return read(*args)
        except (parsing.ValueProblem, RowProblem) as problem:
            raise RowProblem(self.column_problem(key, problem.message)) from None

    def lead_of(self, row):
        finder = self.finder
        for kind, key in (
            ("number", row["lead_number"]),
            ("email", row["lead_email"]),
            ("phone", tail_of(row["lead_phone"])),
            ("title", row["lead_title"]),
        ):
            lead_id = finder.get(kind, key)
            if lead_id == AMBIGUOUS:
                raise RowProblem(
                    _(
                        "Several leads are called “%(title)s”: name the lead by its number, "
                        "email or phone instead.",
                        title=parsing.shown(key),
                    )
                )
            if lead_id:
                return lead_id
        named = next(
            str(row[k])
            for k in ("lead_number", "lead_title", "lead_email", "lead_phone")
            if row[k] is not None
        )
        raise RowProblem(
            _(
                "No lead matches “%(lead)s”: import the leads sheet first, or check the name.",
                lead=parsing.shown(named),
            )
        )

    @staticmethod
    def staged(lead_id, row):
        stage = row["stage"]
        return (
            lead_id,
            row["occurred_at"].isoformat(sep=" "),
            row["line"],
            row["kind"].id,
            None if stage is None else str(stage.id),
            row["body"],
            row["author_id"],
            None if row["value"] is None else str(row["value"]),
            row["reason"].id if row["reason"] is not None else None,
            row["note"],
        )

    # The second pass: each lead's contacts, oldest first

    def batches(self):
        """The staged contacts grouped by lead, LEADS_PER_BATCH leads at a time."""
        with closing(
            self.staging.execute("SELECT * FROM contacts ORDER BY lead_id, occurred_at, line")
        ) as cursor:
            batch, current = {}, None
            for record in cursor:
                contact = StagedContact(*record)
                if contact.lead_id != current:
                    if len(batch) == LEADS_PER_BATCH:
                        yield batch
                        batch = {}
                    current = contact.lead_id
                    batch[current] = []
                batch[current].append(contact)
            if batch:
                yield batch

    def write(self):
        total = max(1, self.staging.execute("SELECT count(*) FROM contacts").fetchone()[0])
        done = 0
        for batch in self.batches():
            self.write_batch(batch)
            done += sum(len(contacts) for contacts in batch.values())
            self.progress("writing", 0.5 + done / total / 2, self.report.rows)

    def write_batch(self, batch):
        ids = list(batch)
        leads = {lead.id: lead for lead in db.session.scalars(select(Lead).where(Lead.id.in_(ids)))}
        logged = set()
        for lead_id, occurred_at, body in db.session.execute(
            select(Activity.lead_id, Activity.occurred_at, Activity.body).where(
                Activity.lead_id.in_(ids), Activity.deleted_at.is_(None)
            )
        ):
            logged.add((lead_id, occurred_at, body))
        steps_waiting = funnel.leads_with_steps_to_answer(ids)
        plans = [
            (leads[lead_id], self.plan(leads[lead_id], contacts, logged))
            for lead_id, contacts in batch.items()
        ]
        if self.apply:
            self.log(plans, steps_waiting)
        self.forget_chunk()

    def plan(self, lead, contacts, logged):
        """Which of a lead's contacts are new, and the stage each moves it to: the funnel's
        rules checked as `log_activity` and `move_lead` will apply them, on the lead as each
        contact before it leaves it."""
        context = self.context
        stage_id, value = lead.stage_id, lead.value
        planned = []
        stages = [context.stage_now(lead)] if context.telling else []
        for contact in contacts:
            occurred_at = datetime.fromisoformat(contact.occurred_at)
            key = (lead.id, occurred_at, contact.body)
            if key in logged:
                self.report.skipped += 1
                continue
            stage = self.stage_of(contact)
            moving = stage if stage is not None and stage.id != stage_id else None
            reason = context.reason_by_id.get(contact.reason_id)
            amount = Decimal(contact.value) if contact.value is not None else None
            closing_value = context.closing_value(amount, value)
            if moving is not None:
                problem = context.closing_problem(moving, reason, closing_value, value)
                if problem:
                    self.row_failed(contact.line, problem)
                    continue
                stage_id = moving.id
                if moving.kind == StageKind.WON and closing_value is not None:
                    value = closing_value
            logged.add(key)
            self.report.created += 1
            if moving is not None:
                self.report.stage_changes += 1
                if context.telling:
                    stages.append(stage_of(moving))
            planned.append(Planned(contact, occurred_at, moving, reason, closing_value))
        if planned and context.telling:
            context.tell(
                LeadChange(
                    lead.number,
                    lead.title,
                    contacts=len(planned),
                    stages=shortened(stages) if len(stages) > 1 else [],
                )
            )
        return planned

    def stage_of(self, contact):
        if contact.stage is None:
            return None
        if contact.stage.startswith(NEW_STAGE):
            # An activities sheet names no pipeline: its new stages are the first one's.
            return self.context.new_stages[None, contact.stage.removeprefix(NEW_STAGE)]
        return self.context.stage_by_id[int(contact.stage)]

    def log(self, plans, steps_waiting):
        """Write the planned contacts of a batch of leads with one statement, then, for each
        lead and oldest first, what each does to it."""
        funnel.backdate_arrivals(
            [(lead, planned[0].occurred_at) for lead, planned in plans if planned]
        )
        rows = [
            funnel.contact_values(
                lead,
                self.author_of(item, lead),
                item.contact.kind_id,
                item.contact.body,
                item.occurred_at,
                item.moving.id if item.moving is not None else None,
                logged_at=self.now,
            )
            for lead, planned in plans
            for item in planned
        ]
        if not rows:
            return
        contacts = iter(funnel.write_contacts(rows))
        changes = []
        for lead, planned in plans:
            for item in planned:
                change = self.apply_to_lead(lead, item, next(contacts), lead.id in steps_waiting)
                if change is not None:
                    changes.append(change)
        # The stage changes the contacts made go in with one statement, the leads with a flush.
        funnel.write_stage_changes(changes)
        db.session.flush()

    def author_of(self, item, lead):
        """Without an author column, the contacts are the owner's."""
        actor = self.context.actor
        return item.contact.author_id or lead.owner_id or (actor.id if actor else None)

    def apply_to_lead(self, lead, item, contact, steps_waiting):
        """What the contact does to its lead; returns the stage change it made, if any."""
        try:
            return funnel.apply_contact(
                lead,
                self.context.actor,
                contact,
                item.moving,
                lost_reason=item.reason,
                lost_note=item.contact.note,
                value=item.value,
                steps_waiting=steps_waiting,
                in_bulk=True,
            )
        except funnel.FunnelError as error:
            raise ImportFailed(
                _(
                    "Line %(line)d: %(message)s Nothing was imported.",
                    line=item.contact.line,
                    message=error.message,
                ),
                self.report,
            ) from error


StagedContact = namedtuple(
    "StagedContact",
    "lead_id occurred_at line kind_id stage body author_id value reason_id note",
)
Planned = namedtuple("Planned", "contact occurred_at moving reason value")
