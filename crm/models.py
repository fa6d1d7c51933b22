"""The domain: users, the funnel's stages, leads and their contact log."""

import enum
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, contains_eager, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from crm import colours, search_index
from crm.extensions import db


def utcnow():
    """Naive UTC now: timestamps are stored in UTC without a zone, alike on both databases."""
    return datetime.now(UTC).replace(tzinfo=None)


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALESPERSON = "salesperson"


class StageKind(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default=Role.SALESPERSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Bumped on logout, password change and deactivation: every session made before is void.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # The secret in the address of the user's calendar feed (.ics); None until asked for.
    calendar_token: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    # The pipeline the board last showed this person (None: the first).
    board_pipeline_id: Mapped[int | None] = mapped_column(ForeignKey("pipelines.id"))
    # The pipelines a salesperson works in, by id; None: every one (see crm.access).
    pipeline_ids: Mapped[list | None] = mapped_column(JSON)
    # Two-step sign-in (crm.two_factor): the authenticator app's secret, since when it is on
    # (None: off), the time step of the last code accepted (none of it or before is taken
    # again) and when the recovery codes were last made.
    two_factor_secret: Mapped[str | None] = mapped_column(String(32))
    two_factor_enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    two_factor_last_step: Mapped[int | None] = mapped_column(Integer)
    recovery_codes_made_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def set_password(self, password):
        method = current_app.config["PASSWORD_HASH_METHOD"]
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @property
    def two_factor_on(self):
        return self.two_factor_enabled_at is not None and self.two_factor_secret is not None

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def is_active(self):
        return self.active

    @property
    def initials(self):
        return "".join(part[0] for part in self.name.split()[:2]).upper()

    def get_id(self):
        # The version rides in the login session, so bumping it logs out every browser.
        return f"{self.id}:{self.session_version}"

    def end_sessions(self):
        """Invalidate every session of this user, in every browser."""
        self.session_version = User.session_version + 1

    @staticmethod
    def by_email(email):
        return select(User).where(User.email == email.strip().lower())


class Pipeline(db.Model):
    """One way the team sells (new sales, renewals, partners), with stages of its own."""

    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    # Archived: kept with its leads' history, no longer offered.
    archived_at: Mapped[datetime | None] = mapped_column(DateTime)

    @staticmethod
    def in_order():
        return select(Pipeline).order_by(Pipeline.position, Pipeline.id)


class Stage(db.Model):
    __tablename__ = "stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    colour: Mapped[str] = mapped_column(String(7))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default=StageKind.OPEN)
    stuck_after_days: Mapped[int | None] = mapped_column(Integer)

    pipeline: Mapped[Pipeline] = relationship()

    @staticmethod
    def in_funnel_order(pipeline_id=None):
        """The stages pipeline after pipeline (or of one), each pipeline's in its order."""
        found = (
            select(Stage)
            .join(Pipeline, Pipeline.id == Stage.pipeline_id)
            .options(contains_eager(Stage.pipeline))
        )
        if pipeline_id is not None:
            found = found.where(Stage.pipeline_id == pipeline_id)
        return found.order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)

    @property
    def badge_colour(self):
        """What the stage's name sits on: its colour, darkened where no text reads on it."""
        return colours.badge_colour(self.colour)

    @property
    def text_colour(self):
        return colours.text_colour(self.badge_colour)

    @property
    def is_open(self):
        return self.kind == StageKind.OPEN


class FieldType(enum.StrEnum):
    """What a field of the team's own holds, and so how it is typed, checked and shown."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    YES_NO = "yes_no"
    CHOICE = "choice"
    CHOICES = "choices"
    LINK = "link"
    PHONE = "phone"
    EMAIL = "email"


# JSONB on PostgreSQL: its operators test a list's members, and its values index.
FieldValues = JSON().with_variant(JSONB(), "postgresql")


class CustomField(db.Model):
    """A field the team added to its leads (ИНН, город, сайт ...); the values are in
    `Lead.fields` under its `key`, which never changes, so renaming keeps them."""

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(20), default=FieldType.TEXT)
    # For the choice types: [{"key", "label", "colour", "retired"}], in the order offered.
    options: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    help_text: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Where it shows: offered as a column of the list, on the board's cards, on the new lead form.
    in_list: Mapped[bool] = mapped_column(Boolean, default=False)
    on_card: Mapped[bool] = mapped_column(Boolean, default=False)
    on_new_form: Mapped[bool] = mapped_column(Boolean, default=True)
    # Offered as a filter and sort of the list; indexed.
    filterable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Its value names a client (ИНН): leads sharing it are the same client's. Indexed.
    identifies_client: Mapped[bool] = mapped_column(Boolean, default=False)
    # The pipelines whose leads have it, by id; None: every pipeline's.
    pipeline_ids: Mapped[list | None] = mapped_column(JSON)
    # A removed field is hidden, its values kept (in exports and the audit trail).
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ActivityKind(db.Model):
    __tablename__ = "activity_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    # `code` names the built-in kinds (call, email ...) whatever their display name.
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LostReason(db.Model):
    __tablename__ = "lost_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Counter(db.Model):
    """Named counters that only go up, such as the lead number."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)

    @staticmethod
    def take(name, count=1):
        """Reserve `count` numbers and return the first; concurrent writers never share one."""
        last = Counter._advance(name, count)
        if last is None:
            # First use: create the row; if a concurrent writer just did, use theirs.
            try:
                with db.session.begin_nested():
                    db.session.add(Counter(name=name, value=0))
            except IntegrityError:
                pass
            last = Counter._advance(name, count)
        return last - count + 1

    @staticmethod
    def _advance(name, count):
        return db.session.execute(
            update(Counter)
            .where(Counter.name == name)
            .values(value=Counter.value + count)
            .returning(Counter.value)
        ).scalar()


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_stage_next_step", "stage_id", "next_step_at"),
        Index("ix_leads_owner_next_step", "owner_id", "next_step_at"),
        Index("ix_leads_next_step_at", "next_step_at"),
        Index("ix_leads_phone_digits", "phone_digits"),
        Index("ix_leads_email", "email"),
        Index("ix_leads_last_activity_at", "last_activity_at"),
        Index("ix_leads_archived_number", "archived", "number"),
        # Cover the board's counts, totals and signatures: the open columns, and the won and
        # lost ones by when the leads closed.
        Index("ix_leads_board_columns", "stage_id", "archived", "value", "updated_at"),
        Index(
            "ix_leads_stage_changed",
            *("stage_id", "stage_changed_at", "archived", "value", "updated_at"),
            # The won and lost report reads whose, why and since when off the index too.
            *("owner_id", "lost_reason_id", "created_at", "source"),
        ),
        Index("ix_leads_source", "source"),
        # Covers the agenda: a person's open leads and everything its sections ask of them.
        Index(
            "ix_leads_agenda",
            *("owner_id", "archived", "stage_id", "next_step_at"),
            *("last_activity_at", "stage_changed_at", "created_at"),
        ),
        # A board column's cards in their order (what is due first, never planned last), so
        # its first 25 come straight off the index. An expression: migrations skip comparing it.
        Index(
            "ix_leads_board_cards",
            "stage_id",
            "archived",
            text("(next_step_at IS NULL)"),
            "next_step_at",
            "last_activity_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Shown as #123; taken from the "lead" counter so a number is never given twice.
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    # The phone's digits alone, so phones written differently can be matched.
    phone_digits: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    source: Mapped[str | None] = mapped_column(String(80))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    next_step_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_step_note: Mapped[str | None] = mapped_column(String(500))
    lost_reason_id: Mapped[int | None] = mapped_column(ForeignKey("lost_reasons.id"))
    lost_note: Mapped[str | None] = mapped_column(String(500))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lower-cased number, title, contact and email: one column to search, Cyrillic included,
    # alike on SQLite (whose lower() knows only ASCII) and PostgreSQL.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Kept by the funnel service so lists, cards and the agenda need no per-row lookups.
    stage_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A cache of the newest activity, not a foreign key: leads and activities would point at
    # each other.
    last_activity_id: Mapped[int | None] = mapped_column(Integer)
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # The team's own fields: {field key: value}, checked against `CustomField` by the funnel
    # service; an empty field has no key. Replaced whole on change, never mutated in place.
    fields: Mapped[dict] = mapped_column(FieldValues, default=dict, server_default="{}")

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    stage: Mapped[Stage] = relationship()
    lost_reason: Mapped[LostReason | None] = relationship()
    # The people at the client, the main contact first; `contact_name`, `phone` and `email`
    # above are the main contact's, kept by the funnel service for lists and cards.
    people: Mapped[list["LeadPerson"]] = relationship(
        order_by="LeadPerson.position", cascade="all, delete-orphan", back_populates="lead"
    )
    contact_points: Mapped[list["ContactPoint"]] = relationship(cascade="all, delete-orphan")


search_index.create_with(Lead.__table__)


class LeadPerson(db.Model):
    """Someone at the client the team speaks to about a lead; the first is the main contact."""

    __tablename__ = "lead_people"
    __table_args__ = (Index("ix_lead_people_lead", "lead_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(120))
    # Written as people write them; their digits and addresses are matched in `ContactPoint`.
    phones: Mapped[list] = mapped_column(JSON, default=list)
    emails: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(500))

    lead: Mapped[Lead] = relationship(back_populates="people")


class ContactPoint(db.Model):
    """A phone or an email of anyone on a lead, as matching compares them: a phone's last ten
    digits, an email in lower case. Kept by the funnel service from the lead's people, so a
    duplicate, a web request or a call is matched on every person's phones and emails."""

    __tablename__ = "contact_points"
    __table_args__ = (Index("ix_contact_points_kind_value", "kind", "value", "lead_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    # "phone" or "email".
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(254))


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_lead_occurred", "lead_id", "occurred_at"),
        Index("ix_activities_author_occurred", "author_id", "occurred_at"),
        Index("ix_activities_occurred_at", "occurred_at"),
        Index("ix_activities_stage_after_occurred", "stage_after_id", "occurred_at"),
        # The activity report: each person's contacts of a kind in a week, counted off the index.
        Index(
            "ix_activities_author_kind_occurred",
            *("author_id", "kind_id", "occurred_at", "deleted_at", "lead_id"),
        ),
        # Contacts per won lead: each lead's contacts by author, off the index.
        Index("ix_activities_lead_author", "lead_id", "author_id", "occurred_at", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind_id: Mapped[int] = mapped_column(ForeignKey("activity_kinds.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text, default="")
    stage_after_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Deleted activities stay in the database (and their revisions), hidden from the timeline.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    lead: Mapped[Lead] = relationship()
    author: Mapped[User | None] = relationship()
    kind: Mapped[ActivityKind] = relationship()
    stage_after: Mapped[Stage | None] = relationship()


class ActivityRevision(db.Model):
    """An activity as it was before an edit or deletion: nothing said is ever lost."""

    __tablename__ = "activity_revisions"
    __table_args__ = (Index("ix_activity_revisions_activity", "activity_id", "revised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    kind_id: Mapped[int] = mapped_column(ForeignKey("activity_kinds.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text, default="")
    revised_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class StageChange(db.Model):
    __tablename__ = "stage_changes"
    __table_args__ = (
        # Each lead's path in order, with the stages, so the funnel's conversion reads the
        # index alone.
        Index(
            "ix_stage_changes_lead_changed",
            *("lead_id", "changed_at", "from_stage_id", "to_stage_id"),
        ),
        Index("ix_stage_changes_to_stage_changed", "to_stage_id", "changed_at"),
        Index("ix_stage_changes_activity", "activity_id"),
        # Time in stage: the stays that ended in a period, read off the index alone.
        Index(
            "ix_stage_changes_stays",
            *("changed_at", "from_stage_id", "seconds_in_from_stage", "lead_id"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    # How long the lead had been in the stage it left, so time in stage is a sum, not a search
    # for each change's predecessor. None at creation.
    seconds_in_from_stage: Mapped[int | None] = mapped_column(Integer)


# The conditions of the partial indexes of planned steps, as the missed contacts page says them.
UNANSWERED = text("kept_by_activity_id IS NULL")
STANDING = text("ended_at IS NULL")


class PlannedStep(db.Model):
    """A next step as it was planned, kept after it is moved, replaced or cleared.

    A lead holds only its current next step; this history is what shows a call that was due
    and then quietly moved to another day. The funnel service writes it alongside the lead.
    """

    __tablename__ = "planned_steps"
    __table_args__ = (
        Index("ix_planned_steps_lead_due", "lead_id", "due_at"),
        # The missed contacts page reads only the steps no contact answered, a small share: by
        # when they were due, for everyone or one person, and those still standing. Each holds
        # every column the page asks about, even those its condition leaves always empty, so
        # SQLite reads the index alone; the standing one starts with the contact that answered
        # so that SQLite, which keeps no statistics here, prefers it for what still stands.
        Index(
            "ix_planned_steps_unanswered",
            *("due_at", "ended_at", "owner_id", "lead_id", "kept_by_activity_id"),
            sqlite_where=UNANSWERED,
            postgresql_where=UNANSWERED,
        ),
        Index(
            "ix_planned_steps_unanswered_owner",
            *("owner_id", "due_at", "ended_at", "lead_id", "kept_by_activity_id"),
            sqlite_where=UNANSWERED,
            postgresql_where=UNANSWERED,
        ),
        Index(
            "ix_planned_steps_standing",
            *("kept_by_activity_id", "owner_id", "due_at", "ended_at", "lead_id"),
            sqlite_where=STANDING,
            postgresql_where=STANDING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    # Whose call it was: the lead's owner when the step came due (or now, until it does).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(500))
    planned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When it stopped being the lead's next step (moved, replaced, cleared); None: it still is.
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The contact whose logging replaced it, if that is how it ended.
    ended_by_activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    # The contact that answered it: one made at or after the planned moment while the step
    # stood, or the one that replaced it. None while nothing did (a deleted contact does not).
    kept_by_activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))

    lead: Mapped[Lead] = relationship()


class LoginAttempt(db.Model):
    """Failed sign-ins (a password or a code), counted in the database so throttling holds across
    workers and servers (crm.auth.throttle)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "attempted_at"),
        Index("ix_login_attempts_address_at", "address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RecoveryCode(db.Model):
    """One of a person's single-use codes for two-step sign-in without their phone. Only its
    hash is kept, made as a password's is."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class AppSetting(db.Model):
    """Instance-wide settings as key and value, such as the currency or when setup ran."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ApiToken(db.Model):
    """A personal token for the JSON API. Only its hash is kept: the token itself is shown
    once, so a copy of the database opens nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # sha256 of the whole token, in hex: what a request's token is looked up by.
    token_hash: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    # The token's first characters, so its owner can tell which one a program uses.
    token_start: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Revoked tokens stay, so the list of what had access is never lost; they open nothing.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class IdempotentAnswer(db.Model):
    """The answer to a write sent with an idempotency key, stored with what the write saved:
    a retry with the same key gets it back and saves nothing more (crm/idempotency.py)."""

    __tablename__ = "idempotent_answers"
    __table_args__ = (UniqueConstraint("sender", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose key: "user:<id>" for a signed-in person or token, "public:<path>" for a visitor.
    sender: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(80))
    # sha256 of the method, address and body, so a key sent again with another request is told.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[list] = mapped_column(JSON)
    # Compressed with zlib.
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class IntakeReply(enum.StrEnum):
    """What a visitor gets back after sending an intake form."""

    PAGE = "page"
    REDIRECT = "redirect"
    JSON = "json"


class IntakeForm(db.Model):
    """A web form on another site whose requests come in as leads, at /intake/<token>."""

    __tablename__ = "intake_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # The secret in the form's public address; replacing it turns the old address off.
    token: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    # Set on the leads it creates, so the sources report tells the forms apart.
    source: Mapped[str | None] = mapped_column(String(80))
    # Who gets the new leads; None leaves them unclaimed for anyone to take.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The stage (and so the pipeline) its new leads start in; None: the first pipeline's first.
    start_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"))
    # Sites allowed to send it from a browser, one origin ("https://example.com") a line.
    allowed_origins: Mapped[str] = mapped_column(Text, default="")
    reply: Mapped[str] = mapped_column(String(10), default=IntakeReply.PAGE)
    redirect_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User | None] = relationship()
    start_stage: Mapped[Stage | None] = relationship()

    @property
    def origins(self):
        return [line.strip() for line in (self.allowed_origins or "").splitlines() if line.strip()]


class IntakeHit(db.Model):
    """A request an intake form accepted, counted per address (in the database, so the limit
    holds across workers and servers); rows older than the window are swept out."""

    __tablename__ = "intake_hits"
    __table_args__ = (
        Index("ix_intake_hits_form_address_received", "form_id", "address", "received_at"),
        Index("ix_intake_hits_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("intake_forms.id"))
    address: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(db.Model):
    """One change to a lead, an activity, a stage or a user: who, when, which field, old → new.

    Written by crm.audit for every flush, so no page or command can change these unrecorded.
    Values are kept as text: ids for what they name, ISO moments in UTC, "true"/"false".
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_lead", "lead_id", "id"),
        Index("ix_audit_entries_subject", "subject", "subject_id", "id"),
        Index("ix_audit_entries_actor", "actor_id", "id"),
        Index("ix_audit_entries_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # None when the system itself changed it: a command, the demo, a migration.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "lead", "activity", "stage" or "user", and that row's id.
    subject: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    # The lead the change belongs to (itself, or an activity's lead), for its page's history.
    lead_id: Mapped[int | None] = mapped_column(Integer)
    # "created", "changed", "archived", "restored", "deleted".
    action: Mapped[str] = mapped_column(String(20))
    field: Mapped[str | None] = mapped_column(String(40))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()


class PushSubscription(db.Model):
    """A browser on one of a person's devices that receives their notifications by Web Push:
    the push service's address for it and the keys its messages are encrypted to (crm.push)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The push service's address for this browser: it names the device, so it is unique.
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    # The browser's P-256 public key and auth secret, base64url as PushSubscription.toJSON().
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(50))
    # What the browser called itself when it subscribed, to tell one's devices apart.
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)

    @staticmethod
    def of_user(user_id):
        return (
            select(PushSubscription)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.created_at, PushSubscription.id)
        )


class PhoneProvider(enum.StrEnum):
    """Which phone system sends a connection its calls, and so how its requests read."""

    GENERIC = "generic"
    ZADARMA = "zadarma"
    MANGO = "mango"
    SIPUNI = "sipuni"


class PhoneConnection(db.Model):
    """A phone system whose calls come in at /hooks/calls/<token> (crm.telephony)."""

    __tablename__ = "phone_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    provider: Mapped[str] = mapped_column(String(20), default=PhoneProvider.GENERIC)
    # The secret in the hook's address; replacing it turns the old address off.
    token: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    # What requests are signed with (the provider's key or salt); None: the token alone admits.
    secret: Mapped[str | None] = mapped_column(String(200))
    # {extension or number, as the phone system names it: user id}.
    extensions: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CallStatus(enum.StrEnum):
    """Where a call stands: what the phone system says of it, and what a person still owes it."""

    # Started or answered, not ended yet.
    GOING = "going"
    # Answered and logged as a contact: what was said is still to be written.
    TO_WRITE_UP = "to_write_up"
    WRITTEN_UP = "written_up"
    # Missed incoming: a call back was planned.
    MISSED = "missed"
    # Outgoing, not answered: nothing to write.
    NOT_ANSWERED = "not_answered"
    # Outgoing to a number no lead has: a person attaches it to a lead or makes one.
    UNMATCHED = "unmatched"
    # Open leads of different people have the number: a person picks the lead.
    TO_PICK = "to_pick"


class Call(db.Model):
    """A call the phone system told of, and what it became."""

    __tablename__ = "calls"
    __table_args__ = (
        # A phone system sends a call's events again (retries, replays): one row a call.
        UniqueConstraint("connection_id", "external_id"),
        # The navigation's count and the agenda's queue: a person's calls still to write up.
        Index("ix_calls_user_status", "user_id", "status", "started_at"),
        Index("ix_calls_status_started", "status", "started_at"),
        Index("ix_calls_lead_started", "lead_id", "started_at"),
        Index("ix_calls_activity", "activity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("phone_connections.id"))
    # The phone system's own id of the call.
    external_id: Mapped[str] = mapped_column(String(200))
    # "in" or "out".
    direction: Mapped[str] = mapped_column(String(3))
    from_number: Mapped[str | None] = mapped_column(String(50))
    to_number: Mapped[str | None] = mapped_column(String(50))
    # The other party's number (the caller's, or the one called), as the phone system gave it.
    outside_number: Mapped[str | None] = mapped_column(String(50))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    # The person behind the extension that answered or made it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    # Shown as a link to whoever reads the contact; the server never fetches it.
    recording_url: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default=CallStatus.GOING)
    # The contact it became (kind Call), written up later by a person.
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    connection: Mapped[PhoneConnection] = relationship()
    lead: Mapped[Lead | None] = relationship()
    user: Mapped[User | None] = relationship()
    activity: Mapped[Activity | None] = relationship()


class PhoneHit(db.Model):
    """A request a connection accepted, counted so a flood from one phone system (or whoever
    learnt its address) is held back; rows older than the window are swept out."""

    __tablename__ = "phone_hits"
    __table_args__ = (Index("ix_phone_hits_connection_received", "connection_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("phone_connections.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NotificationKind(enum.StrEnum):
    """What a notification is about (crm.notifications)."""

    REMINDER = "reminder"
    DIGEST = "digest"
    GIVEN = "given"
    REQUEST = "request"
    WEEKLY = "weekly"
    MISSED_CALL = "missed_call"


class Notification(db.Model):
    """Something the app tells one person: shown in their list under the bell, and sent on the
    channels they chose (rows of Delivery). Its texts are made from `params` when shown or sent,
    so each reader gets them in their own language and zone."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Says what it is about and when, so that making it twice (two servers, a pass run again)
    # finds the first: "reminder:<owner>:<lead>:<moment>", "digest:<user>:<local date>" ...
    key: Mapped[str] = mapped_column(String(160), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class DeliveryState(enum.StrEnum):
    DUE = "due"
    # Claimed by a sender and committed before the message leaves: a crash from here on leaves
    # it so, never sent again (at most once; see crm.notifications.dispatch).
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Delivery(db.Model):
    """One notification on one channel (email, push): due, being sent, sent or failed."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        Index("ix_notification_deliveries_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.DUE)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The last failure, as the server or the library said it.
    error: Mapped[str | None] = mapped_column(Text)

    notification: Mapped[Notification] = relationship()


class NotificationInbox(db.Model):
    """A person's notifications in one small row: how many are unread and a version that moves
    with every change, which the bell's poll reads by primary key; what they want sent, and
    the day their last morning digest was made for."""

    __tablename__ = "notification_inboxes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    unread: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # {name: value} of the choices on My account → Notifications; missing ones take defaults.
    preferences: Mapped[dict] = mapped_column(JSON, default=dict)
    last_digest_on: Mapped[date | None] = mapped_column(Date)
    last_weekly_on: Mapped[date | None] = mapped_column(Date)


class Lease(db.Model):
    """A lock held in the database until it expires, so one worker of one server does a job
    at a time (the notifications' sending); works alike on SQLite and PostgreSQL."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # When the holder last finished a pass: Settings → Notifications shows it.
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class KeptReport(db.Model):
    """A report's result as last counted, shared by every worker and server: a year's funnel is
    counted once for the team, not once in each worker (crm.analytics.cache)."""

    __tablename__ = "kept_reports"

    # A digest of the report, its filters and the code that counted it.
    slot: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The data version it was counted at (crm.data_version).
    version: Mapped[int] = mapped_column(Integer)
    # When it was counted, in seconds since the epoch: workers on several servers compare it.
    made_at: Mapped[float] = mapped_column(Float)
    # The pickled result: plain values the app itself made, never anything a user sent.
    result: Mapped[bytes] = mapped_column(LargeBinary)
