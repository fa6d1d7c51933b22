"""The team's own lists: the funnel's stages, kinds of contact, lost reasons, the team itself,
and the settings beside them (currency, when a lead has gone quiet).

Pages read them as pick lists through `Choices`, once per request. The Settings pages change
them through the functions below, which, like the funnel service, take plain values, know
nothing of requests or forms, and raise SettingsError with a message fit for the user. Leads
leave a removed stage only through `crm.funnel.move_lead`, so each move is recorded.
"""

import re
from functools import cached_property

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import exists, func, or_, select, update

from crm import app_settings, funnel, kept_settings
from crm.args import id_arg
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityKind,
    IntakeForm,
    Lead,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
    User,
)
from crm.per_request import once_per_request

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}\Z")
CURRENCY_KEY = "currency"
CURRENCY_MAX = 8
STAGE_NAME_MAX = 80
KIND_NAME_MAX = 80
REASON_NAME_MAX = 120
STUCK_DAYS_MAX = 3650
# Leads are moved out of a removed stage this many at a time, so memory stays flat.
MOVE_BATCH = 500


class SettingsError(ValueError):
    """A change refused, with the reason for the user and the field it concerns."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


# Ordering: stages, activity kinds and lost reasons all have a `position`.


def in_order(model):
    return select(model).order_by(model.position, model.id)


# Pick lists


# Each read through what the worker keeps (crm.kept_settings): no query while the settings
# stay as they are.


def stages_in_order():
    return kept_settings.kept_objects(
        "stages", lambda: db.session.scalars(Stage.in_funnel_order()).all()
    )


def open_stages():
    return [stage for stage in stages_in_order() if stage.kind == StageKind.OPEN]


def activity_kinds():
    return kept_settings.kept_objects(
        "kinds", lambda: db.session.scalars(active_items(ActivityKind)).all()
    )


def lost_reasons():
    return kept_settings.kept_objects(
        "reasons", lambda: db.session.scalars(active_items(LostReason)).all()
    )


def team():
    """Everyone who can own a lead, by name."""
    return kept_settings.kept_objects(
        "team",
        lambda: db.session.scalars(
            select(User).where(User.active).order_by(User.name, User.id)
        ).all(),
    )


class Choices:
    """The pick lists of a page: the stages at once, so that a lead's own stage is found among
    them rather than read by itself; the others when the page first asks for them."""

    def __init__(self):
        self.stages = stages_in_order()

    @cached_property
    def kinds(self):
        return activity_kinds()

    @cached_property
    def reasons(self):
        return lost_reasons()

    @cached_property
    def team(self):
        return team()

    @cached_property
    def stage_by_id(self):
        return {stage.id: stage for stage in self.stages}

    def kind(self, kind_id):
        return next((kind for kind in self.kinds if kind.id == kind_id), None)

    def reason(self, reason_id):
        return next((reason for reason in self.reasons if reason.id == reason_id), None)


def renumber(items):
    """Give `items` the positions 0, 1, 2 ... in the order given."""
    for position, item in enumerate(items):
        if item.position != position:
            item.position = position


def move(model, item, direction):
    """Swap `item` with its neighbour above ("up") or below ("down"); False at either end."""
    if model is Stage:
        items = pipeline_stages(item.pipeline_id)
    else:
        items = list(db.session.scalars(in_order(model)))
    index = items.index(item)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return False
    items[index], items[other] = items[other], items[index]
    renumber(items)
    return True


def check_name_free(model, name, item=None):
    """Two entries of one list with the same name could not be told apart in a pick list."""
    taken = db.session.scalars(select(model.name).where(model.id != (item.id if item else -1)))
    if any(other.casefold() == name.casefold() for other in taken):
        raise SettingsError(_("This name is taken: choose another."), "name")


def clean_name(name, limit):
    name = (name or "").strip()
    if not name:
        raise SettingsError(_("This field is required."), "name")
    if len(name) > limit:
        raise SettingsError(_("Keep it under %(n)d characters.", n=limit), "name")
    return name


# Stages


def stages_with_lead_counts(pipeline_id):
    """A pipeline's stages in order with how many leads (archived too) are in each: two
    queries."""
    stages = pipeline_stages(pipeline_id)
    counts = dict(
        db.session.execute(
            select(Lead.stage_id, func.count())
            .where(Lead.stage_id.in_([stage.id for stage in stages]))
            .group_by(Lead.stage_id)
        ).all()
    )
    return [(stage, counts.get(stage.id, 0)) for stage in stages]


def lead_count(stage):
    return db.session.scalar(select(func.count()).where(Lead.stage_id == stage.id))


def is_last_open(stage):
    """Whether `stage` is the only open stage: new leads need an open stage to start in."""
    if stage.kind != StageKind.OPEN:
        return False
    others = select(Stage.id).where(
        Stage.pipeline_id == stage.pipeline_id, Stage.kind == StageKind.OPEN, Stage.id != stage.id
    )
    return not db.session.scalar(select(exists(others)))


def check_stage(name, colour, kind, stuck_after_days, pipeline_id, stage=None):
    name = clean_name(name, STAGE_NAME_MAX)
    check_stage_name_free(name, pipeline_id, stage)
    if not COLOUR.match(colour or ""):
        raise SettingsError(_("Choose a colour like #1d4ed8."), "colour")
    if kind not in set(StageKind):
        raise SettingsError(_("Choose open, won or lost."), "kind")
    if stuck_after_days is not None and not 1 <= stuck_after_days <= STUCK_DAYS_MAX:
        raise SettingsError(
            _("Enter a whole number of days from 1 to %(n)d, or leave it empty.", n=STUCK_DAYS_MAX),
            "stuck_after_days",
        )
    return name, colour.lower()


def check_stage_name_free(name, pipeline_id, stage=None):
    """Two stages of one pipeline with the same name could not be told apart on its board;
    each pipeline has its own Won and Lost."""
    taken = db.session.scalars(
        select(Stage.name).where(
            Stage.pipeline_id == pipeline_id, Stage.id != (stage.id if stage else -1)
        )
    )
    if any(other.casefold() == name.casefold() for other in taken):
        raise SettingsError(_("This name is taken: choose another."), "name")


def pipelines():
    """The pipelines still offered, in the team's order."""
    return kept_settings.kept_objects(
        "pipelines",
        lambda: db.session.scalars(Pipeline.in_order().where(Pipeline.archived_at.is_(None))).all(),
    )


def stage_rows():
    """(id, colour, name, pipeline name, pipeline id) of every stage, read once per request:
    the stage stylesheet's version, the badges' names and the reports' pipelines come from
    it."""
    return once_per_request("stage_rows", lambda: kept_settings.kept("stage_rows", read_stage_rows))


def read_stage_rows():
    return tuple(
        db.session.execute(
            select(Stage.id, Stage.colour, Stage.name, Pipeline.name, Pipeline.id)
            .join(Pipeline, Pipeline.id == Stage.pipeline_id)
            .order_by(Stage.id)
        )
    )


def stage_label(stage_id, name):
    """A stage's name as a badge shows it: with its pipeline's where another pipeline has a
    stage of that name ("Renewals: Won")."""
    labels = once_per_request(
        "stage_labels", lambda: kept_settings.kept("stage_labels", ambiguous_stage_labels)
    )
    return labels.get(stage_id, name)


def ambiguous_stage_labels():
    """{stage id: "Pipeline: Stage"} of the stages whose name another pipeline has too."""
    rows = stage_rows()
    pipelines_of = {}
    for _id, _colour, name, pipeline, _pipeline_id in rows:
        pipelines_of.setdefault(name.casefold(), set()).add(pipeline)
    return {
        stage_id: f"{pipeline}: {name}"
        for stage_id, _colour, name, pipeline, _pipeline_id in rows
        if len(pipelines_of[name.casefold()]) > 1
    }


def chosen_pipeline_id(args, offered):
    """The pipeline an address narrows to (`pipeline=<id>`) among `offered`; None for all."""
    wanted = id_arg(args.get("pipeline"))
    return wanted if wanted in {pipeline.id for pipeline in offered} else None


def in_pipeline(lead_id, pipeline_ids):
    """That the lead `lead_id` (a column) is in one of the pipelines now (an id, or ids)."""
    if isinstance(pipeline_ids, int):
        pipeline_ids = (pipeline_ids,)
    leads = select(Lead.id).join(Stage, Stage.id == Lead.stage_id)
    return lead_id.in_(leads.where(Stage.pipeline_id.in_(pipeline_ids)))


def first_pipeline():
    """The pipeline new leads and new stages go to unless told otherwise."""
    return db.session.scalar(Pipeline.in_order().where(Pipeline.archived_at.is_(None)).limit(1))


def pipeline_stages(pipeline_id):
    return list(db.session.scalars(Stage.in_funnel_order(pipeline_id)))


def add_stage(name, colour, kind=StageKind.OPEN, stuck_after_days=None, pipeline=None):
    """A new stage of `pipeline` (the first one's, unless said): an open one goes after the
    pipeline's last open stage, others at the end."""
    pipeline = pipeline or first_pipeline()
    name, colour = check_stage(name, colour, kind, stuck_after_days, pipeline.id)
    stage = Stage(
        name=name, colour=colour, kind=kind, stuck_after_days=stuck_after_days, pipeline=pipeline
    )
    stages = pipeline_stages(pipeline.id)
    place = len(stages)
    if kind == StageKind.OPEN:
        open_places = [i for i, s in enumerate(stages) if s.kind == StageKind.OPEN]
        place = open_places[-1] + 1 if open_places else 0
    stages.insert(place, stage)
    stage.position = place
    db.session.add(stage)
    renumber(stages)
    return stage


def update_stage(stage, name, colour, kind, stuck_after_days):
    """Rename, recolour, change the kind or the "stuck after" days of a stage."""
    name, colour = check_stage(name, colour, kind, stuck_after_days, stage.pipeline_id, stage)
    if kind != stage.kind:
        if is_last_open(stage):
            raise SettingsError(
                _("This is the only open stage: the funnel needs at least one."), "kind"
            )
        count = lead_count(stage)
        if count:
            # Leads changing kind without going through move_lead would be won without a
            # value or lost without a reason.
            raise SettingsError(
                ngettext(
                    "%(num)d lead is in this stage: move it to another stage before "
                    "changing the kind.",
                    "%(num)d leads are in this stage: move them to another stage before "
                    "changing the kind.",
                    count,
                ),
                "kind",
            )
    stage.name = name
    stage.colour = colour
    stage.kind = kind
    stage.stuck_after_days = stuck_after_days
    return stage


def stage_history_count(stage):
    """How many leads have this stage in their history (stage changes and activities)."""
    changed = select(StageChange.lead_id).where(
        or_(StageChange.to_stage_id == stage.id, StageChange.from_stage_id == stage.id)
    )
    logged = select(Activity.lead_id).where(Activity.stage_after_id == stage.id)
    return db.session.scalar(select(func.count()).select_from(changed.union(logged).subquery()))


def stage_in_use(stage):
    """Whether anything still points at the stage, so that deleting it would lose history."""
    return db.session.scalar(
        select(
            exists().where(Lead.stage_id == stage.id)
            | exists().where(StageChange.to_stage_id == stage.id)
            | exists().where(StageChange.from_stage_id == stage.id)
            | exists().where(Activity.stage_after_id == stage.id)
        )
    )


def move_leads_out(stage, target, actor, lost_reason=None, lost_note=None):
    """Move every lead of `stage` to `target` through the funnel service; returns how many.

    A lost target needs a reason. On any refusal the caller rolls back: no lead is half moved.
    """
    if target is None or target.id == stage.id:
        raise SettingsError(_("Choose another stage for its leads."), "target_stage_id")
    if target.kind == StageKind.LOST and lost_reason is None:
        raise SettingsError(_("Say why these leads were lost."), "lost_reason_id")
    if target.kind != StageKind.LOST:
        lost_reason = lost_note = None
    moved = 0
    while True:
        batch = db.session.scalars(
            select(Lead).where(Lead.stage_id == stage.id).order_by(Lead.id).limit(MOVE_BATCH)
        ).all()
        if not batch:
            return moved
        changes = []
        for lead in batch:
            try:
                changes.append(
                    funnel.move_lead(
                        lead, target, actor, lost_reason=lost_reason, lost_note=lost_note
                    )
                )
            except funnel.FunnelError as error:
                if error.field == "value":
                    raise SettingsError(
                        _(
                            "Lead #%(number)d has no value, which a won stage needs: choose "
                            "another stage or set its value first.",
                            number=lead.number,
                        ),
                        "target_stage_id",
                    ) from error
                raise SettingsError(error.message, "target_stage_id") from error
        db.session.flush()
        for record in [*batch, *changes]:
            db.session.expunge(record)
        moved += len(batch)


def remove_stage(stage):
    """Delete a stage nothing refers to; the last open stage always stays."""
    if is_last_open(stage):
        raise SettingsError(_("This is the only open stage: the funnel needs at least one."))
    if stage_in_use(stage):
        raise SettingsError(
            ngettext(
                "This stage is in the history of %(num)d lead; rename it instead.",
                "This stage is in the history of %(num)d leads; rename it instead.",
                stage_history_count(stage),
            )
        )
    # Intake forms that started their leads here start them in the first stage again.
    db.session.execute(
        update(IntakeForm).where(IntakeForm.start_stage_id == stage.id).values(start_stage_id=None)
    )
    db.session.delete(stage)
    db.session.flush()
    renumber(pipeline_stages(stage.pipeline_id))


# Activity kinds and lost reasons: never deleted, only switched off.


def add_item(model, name, limit):
    """A new entry at the end of an activity-kind or lost-reason list."""
    name = clean_name(name, limit)
    check_name_free(model, name)
    last = db.session.scalar(select(func.max(model.position)))
    item = model(name=name, position=(last + 1) if last is not None else 0, active=True)
    db.session.add(item)
    return item


def rename_item(model, item, name, limit):
    name = clean_name(name, limit)
    check_name_free(model, name, item)
    item.name = name
    return item


def set_active(model, item, active):
    """Switch an entry off (gone from pick lists, kept on old records) or on again."""
    if not active and item.active:
        others = select(model.id).where(model.active, model.id != item.id)
        if not db.session.scalar(select(exists(others))):
            raise SettingsError(_("Keep at least one active entry in this list."))
    item.active = active
    return item


def active_items(model):
    """What pick lists offer: the active entries in their order."""
    return in_order(model).where(model.active)


# Currency


def currency():
    """The app currency shown next to amounts, such as "₽" or "EUR"; "" for none."""
    return app_settings.value(CURRENCY_KEY, "")


def set_currency(text):
    text = (text or "").strip()
    if len(text) > CURRENCY_MAX:
        raise SettingsError(_("Keep it under %(n)d characters.", n=CURRENCY_MAX), "currency")
    app_settings.store(CURRENCY_KEY, text)
    return text


# Gone quiet

QUIET_SETTING = "quiet_after_days"
QUIET_DEFAULT = 14
QUIET_MAX = 365


def quiet_after_days():
    """After how many days without contact an open lead has gone quiet (Settings, General)."""
    try:
        days = int(app_settings.value(QUIET_SETTING, QUIET_DEFAULT))
    except ValueError:
        days = QUIET_DEFAULT
    return min(max(days, 1), QUIET_MAX)


def set_quiet_after_days(days):
    """After how many days without contact the agenda lists an open lead as gone quiet."""
    app_settings.store(QUIET_SETTING, str(days))
    return days
