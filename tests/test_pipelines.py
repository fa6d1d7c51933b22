"""Pipelines: each way the team sells has its own stages; setup makes the founding article's
funnel the first pipeline, and a database from before pipelines moves its stages into it."""

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import select

from crm import create_app, funnel, lists
from crm.extensions import db
from crm.models import Pipeline, Stage, StageKind, utcnow
from tests import factories, old_schema
from tests.conftest import BACKENDS, own_database


def second_pipeline(name="Renewals", stages=(("Due", StageKind.OPEN), ("Renewed", "won"))):
    """A pipeline after the first, with stages of its own."""
    pipeline = Pipeline(name=name, position=1)
    db.session.add(pipeline)
    db.session.flush()
    for stage_name, kind in stages:
        lists.add_stage(stage_name, "#1d4ed8", kind, pipeline=pipeline)
    db.session.commit()
    return pipeline


def names(stages):
    return [stage.name for stage in stages]


def test_setup_makes_the_founding_funnel_the_first_pipeline(app):
    stages = factories.funnel("ru")
    pipelines = db.session.scalars(Pipeline.in_order()).all()
    assert [pipeline.name for pipeline in pipelines] == ["Продажи"]
    assert {stage.pipeline_id for stage in stages} == {pipelines[0].id}
    assert lists.first_pipeline() == pipelines[0]


def test_stages_come_pipeline_after_pipeline(app):
    first = factories.funnel()
    renewals = second_pipeline()
    everything = db.session.scalars(Stage.in_funnel_order()).all()
    assert names(everything) == [*names(first), "Due", "Renewed"]
    assert names(db.session.scalars(Stage.in_funnel_order(renewals.id))) == ["Due", "Renewed"]


def test_a_new_stage_joins_the_first_pipeline_unless_told(app):
    factories.funnel()
    renewals = second_pipeline()
    added = lists.add_stage("Qualified", "#0e7490")
    assert added.pipeline == lists.first_pipeline()
    # An open stage goes after the pipeline's last open one, before its closing stages.
    late = lists.add_stage("Call back", "#0e7490", pipeline=renewals)
    db.session.commit()
    assert names(db.session.scalars(Stage.in_funnel_order(renewals.id))) == [
        "Due",
        "Call back",
        "Renewed",
    ]
    assert late.position == 1


def test_each_pipeline_has_its_own_stage_names(app):
    factories.funnel()
    renewals = second_pipeline()
    # Its own "Lost": another pipeline's stage of that name is no clash.
    lists.add_stage("Lost", "#991b1b", StageKind.LOST, pipeline=renewals)
    with pytest.raises(lists.SettingsError) as taken:
        lists.add_stage("due", "#1d4ed8", pipeline=renewals)
    assert taken.value.field == "name"


def test_each_pipeline_keeps_an_open_stage(app):
    factories.funnel()
    renewals = second_pipeline()
    due = db.session.scalar(select(Stage).where(Stage.name == "Due"))
    assert lists.is_last_open(due)
    with pytest.raises(lists.SettingsError):
        lists.remove_stage(due)
    # The first pipeline's open stages do not count for it, nor do its for them.
    cold = factories.funnel()[0]
    assert not lists.is_last_open(cold)
    assert renewals.id != cold.pipeline_id


def test_moving_a_stage_stays_within_its_pipeline(app):
    first = factories.funnel()
    renewals = second_pipeline()
    due = db.session.scalar(select(Stage).where(Stage.name == "Due"))
    assert not lists.move(Stage, due, "up")
    assert lists.move(Stage, due, "down")
    db.session.commit()
    assert names(db.session.scalars(Stage.in_funnel_order(renewals.id))) == ["Renewed", "Due"]
    assert names(db.session.scalars(Stage.in_funnel_order(first[0].pipeline_id))) == names(first)


def test_new_leads_start_in_the_first_pipeline_still_offered(app):
    first = factories.funnel()
    renewals = second_pipeline()
    assert funnel.first_stage() == first[0]
    first_pipeline = db.session.get(Pipeline, first[0].pipeline_id)
    first_pipeline.archived_at = utcnow()
    first_pipeline.position = 0
    db.session.commit()
    assert funnel.first_stage().pipeline_id == renewals.id


# Upgrading a database from before pipelines


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    with own_database(request.param, tmp_path, "pipelines") as url:
        yield url


@pytest.mark.parametrize(("language", "named"), [("ru", "Продажи"), (None, "Sales")])
def test_upgrading_puts_every_stage_in_the_first_pipeline(
    empty_database, tmp_path, monkeypatch, language, named
):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database})
    with app.app_context():
        flask_migrate.upgrade(revision="0014")
        stages = old_schema.install_funnel(language or "en")
        if language:
            settings = sa.table("app_settings", sa.column("key"), sa.column("value"))
            db.session.execute(sa.insert(settings).values(key="language", value=language))
        db.session.commit()

        flask_migrate.upgrade()
        pipelines = db.session.execute(select(Pipeline.id, Pipeline.name)).all()
        kept = db.session.execute(
            select(Stage.id, Stage.kind, Stage.pipeline_id).order_by(Stage.position)
        ).all()
        # The next pipeline gets the next id on PostgreSQL too.
        db.session.add(Pipeline(name="Renewals", position=1))
        db.session.flush()
        added = db.session.scalar(select(Pipeline.id).where(Pipeline.name == "Renewals"))
        db.session.remove()
        db.engine.dispose()
    assert pipelines == [(1, named)]
    assert kept == [(stage.id, stage.kind, 1) for stage in stages]
    assert added == 2
