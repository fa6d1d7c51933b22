"""Pipelines: the ways a team sells (new sales, renewals, partners), each with its own stages.

A lead is in one pipeline, the one its stage belongs to; it moves to another through
`funnel.move_lead`, like any change of stage. A pipeline is never deleted: archived, it is no
longer offered, and its leads' history stays readable.
"""

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from crm import funnel, lists
from crm.extensions import db
from crm.lists import SettingsError, clean_name
from crm.models import Lead, Pipeline, Stage, StageKind, utcnow

NAME_MAX = 80
MOVE_BATCH = 500


def starter_stages():
    """What a new pipeline starts with, for the team to rename and add to: (name, colour,
    kind), a stage of each kind."""
    return [
        (_("New"), "#64748b", StageKind.OPEN),
        (_("Won"), "#15803d", StageKind.WON),
        (_("Lost"), "#991b1b", StageKind.LOST),
    ]


def check_name(name, pipeline=None):
    name = clean_name(name, NAME_MAX)
    taken = db.session.scalars(
        select(Pipeline.name).where(Pipeline.id != (pipeline.id if pipeline else -1))
    )
    if any(other.casefold() == name.casefold() for other in taken):
        raise SettingsError(_("This name is taken: choose another."), "name")
    return name


def add_pipeline(name, stages=None):
    """A new pipeline after the others, with `stages` ((name, colour, kind, stuck after days),
    in order), else a stage of each kind to start from. A refusal names the stage's field as
    "stages.<index>.<field>"."""
    name = check_name(name)
    last = db.session.scalar(select(func.max(Pipeline.position)))
    pipeline = Pipeline(name=name, position=(last + 1) if last is not None else 0)
    db.session.add(pipeline)
    db.session.flush()
    if stages is None:
        stages = [(stage_name, colour, kind, None) for stage_name, colour, kind in starter_stages()]
    if not any(kind == StageKind.OPEN for _name, _colour, kind, _stuck in stages):
        raise SettingsError(_("A pipeline needs an open stage for its new leads."), "stages")
    for position, (stage_name, colour, kind, stuck) in enumerate(stages):
        try:
            stage_name, colour = lists.check_stage(stage_name, colour, kind, stuck, pipeline.id)
        except SettingsError as error:
            raise SettingsError(error.message, f"stages.{position}.{error.field}") from None
        db.session.add(
            Stage(
                pipeline=pipeline,
                name=stage_name,
                colour=colour,
                kind=kind,
                stuck_after_days=stuck,
                position=position,
            )
        )
        db.session.flush()
    return pipeline


def rename_pipeline(pipeline, name):
    pipeline.name = check_name(name, pipeline)
    return pipeline


def open_leads(pipeline):
    """How many leads are in the pipeline's open stages (archived leads too: they come back)."""
    return db.session.scalar(
        select(func.count()).where(
            Lead.stage_id.in_(
                select(Stage.id).where(
                    Stage.pipeline_id == pipeline.id, Stage.kind == StageKind.OPEN
                )
            )
        )
    )


def archive_pipeline(pipeline, target, actor):
    """Stop offering `pipeline`. Its open leads move to `target` (an open stage of another
    pipeline still offered) through the funnel, each move in its history; returns how many
    moved. Its won and lost leads stay where they are, counted in its reports."""
    if pipeline.archived_at is not None:
        return 0
    offered = [other for other in lists.pipelines() if other.id != pipeline.id]
    if not offered:
        raise SettingsError(_("This is the only pipeline: the team needs at least one."))
    count = open_leads(pipeline)
    if count and (
        target is None
        or target.kind != StageKind.OPEN
        or target.pipeline_id not in {other.id for other in offered}
    ):
        raise SettingsError(
            ngettext(
                "%(num)d open lead is in this pipeline: choose an open stage of another "
                "pipeline for it.",
                "%(num)d open leads are in this pipeline: choose an open stage of another "
                "pipeline for them.",
                count,
            ),
            "target_stage_id",
        )
    moved = move_open_leads(pipeline, target, actor) if count else 0
    pipeline.archived_at = utcnow()
    return moved


def move_open_leads(pipeline, target, actor):
    open_stages = select(Stage.id).where(
        Stage.pipeline_id == pipeline.id, Stage.kind == StageKind.OPEN
    )
    moved = 0
    while True:
        batch = db.session.scalars(
            select(Lead).where(Lead.stage_id.in_(open_stages)).order_by(Lead.id).limit(MOVE_BATCH)
        ).all()
        if not batch:
            return moved
        changes = [funnel.move_lead(lead, target, actor) for lead in batch]
        changes = [change for change in changes if change is not None]
        # Flushed and let go a batch at a time, so a big pipeline does not pile up in memory.
        db.session.flush()
        for record in [*batch, *changes]:
            db.session.expunge(record)
        moved += len(batch)


def restore_pipeline(pipeline):
    pipeline.archived_at = None
    return pipeline
