"""Pipelines: each way the team sells has its own stages; setup makes the founding article's
funnel the first pipeline, and a database from before pipelines moves its stages into it."""

import re
from datetime import timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm import create_app, custom_fields, data_version, funnel, funnel_defaults, lists
from crm.extensions import db
from crm.models import (
    IntakeForm,
    Lead,
    LostReason,
    Pipeline,
    Role,
    Stage,
    StageChange,
    StageKind,
    User,
    utcnow,
)
from crm.timezones import to_local
from tests import factories, old_schema
from tests.analytics_pages import csv_rows
from tests.conftest import BACKENDS, fewer_on_postgresql, own_database
from tests.querycount import count_queries
from tests.test_api import json_values, token_for
from tests.test_api_fields import Api
from tests.test_board import HTMX, board, cards, move, poll_url, reload
from tests.test_import import check as import_check
from tests.test_import import load as import_load
from tests.test_import import sheet as import_sheet


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


# The board: one pipeline at a time


@pytest.fixture
def renewals(stages):
    return second_pipeline()


def stage_named(name):
    return db.session.scalar(select(Stage).where(Stage.name == name))


def column_ids(html):
    return [int(n) for n in re.findall(r'<section class="board-column[^>]*id="column-(\d+)"', html)]


def test_with_one_pipeline_the_board_offers_no_switch(logged_in, stages):
    html = board(logged_in)
    assert "pipeline-switch" not in html
    assert "pipeline=" not in html
    assert column_ids(html) == [stage.id for stage in stages]


def test_the_board_shows_one_pipeline_and_remembers_the_one_chosen(
    logged_in, admin, stages, renewals
):
    due, renewed = stage_named("Due"), stage_named("Renewed")
    sales_lead = factories.lead("Acme", owner=admin, stage=stages[0])
    renewal = factories.lead("Acme renewal", owner=admin, stage=due)
    html = board(logged_in)
    assert column_ids(html) == [stage.id for stage in stages]
    assert f'id="card-{renewal.id}"' not in html
    switch = re.search(r'<nav class="pipeline-switch".*?</nav>', html, re.S).group(0)
    assert re.findall(r">([^<>]+)</a>", switch) == ["Sales", "Renewals"]
    assert 'aria-current="page">Sales<' in switch

    html = board(logged_in, f"/board/?pipeline={renewals.id}")
    assert column_ids(html) == [due.id, renewed.id]
    assert cards(html, due) == [renewal.id]
    assert f'id="card-{sales_lead.id}"' not in html
    # The filters, the poll and the columns ask for this pipeline's columns.
    assert f'name="pipeline" value="{renewals.id}"' in html
    assert f"pipeline={renewals.id}" in re.search(r'data-changes-url="([^"]*)"', html).group(1)
    # Next time, the board opens where this person left it.
    assert column_ids(board(logged_in)) == [due.id, renewed.id]
    assert db.session.get(User, admin.id).board_pipeline_id == renewals.id


@pytest.mark.parametrize("asked", ["abc", "99999", "-1", "1e3", ""])
def test_a_pipeline_that_is_not_offered_shows_the_first(logged_in, stages, renewals, asked):
    assert column_ids(board(logged_in, f"/board/?pipeline={asked}"))[0] == stages[0].id


def test_an_archived_pipeline_is_not_offered(logged_in, stages, renewals):
    renewals.archived_at = utcnow()
    db.session.commit()
    html = board(logged_in, f"/board/?pipeline={renewals.id}")
    assert "pipeline-switch" not in html
    assert column_ids(html) == [stage.id for stage in stages]


def test_a_lead_moves_to_another_pipeline_from_the_board(logged_in, admin, stages, renewals):
    due = stage_named("Due")
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    sales_board = board(logged_in)
    renewals_board = board(logged_in, f"/board/?pipeline={renewals.id}")
    dialog = logged_in.get(f"/board/leads/{lead.id}/move", headers=HTMX).text
    assert '<optgroup label="Sales">' in dialog and '<optgroup label="Renewals">' in dialog

    answer = move(logged_in, lead, due)
    assert answer.status_code == 200
    assert reload(lead).stage_id == due.id
    history = db.session.execute(
        select(StageChange.from_stage_id, StageChange.to_stage_id)
        .where(StageChange.lead_id == lead.id)
        .order_by(StageChange.id)
    ).all()
    assert history[-1] == (stages[0].id, due.id)
    # Each board's poll redraws its own column the lead left or joined.
    left = logged_in.get(poll_url(sales_board, pipeline=stages[0].pipeline_id), headers=HTMX)
    assert re.findall(r'<hx-partial hx-target="#column-(\d+)"', left.text) == [str(stages[0].id)]
    joined = logged_in.get(poll_url(renewals_board, pipeline=renewals.id), headers=HTMX)
    assert re.findall(r'<hx-partial hx-target="#column-(\d+)"', joined.text) == [str(due.id)]
    assert f'id="card-{lead.id}"' in joined.text


def test_a_move_in_another_pipeline_does_not_redraw_this_one(logged_in, admin, stages, renewals):
    renewal = factories.lead("Acme renewal", owner=admin, stage=stage_named("Due"))
    html = board(logged_in, f"/board/?pipeline={lists.first_pipeline().id}")
    funnel.move_lead(renewal, stage_named("Renewed"), admin)
    db.session.commit()
    answer = logged_in.get(poll_url(html, pipeline=stages[0].pipeline_id), headers=HTMX)
    assert answer.status_code == 200
    assert '<hx-partial hx-target="#column-' not in answer.text
    assert f'data-version="{data_version.current(db.session)}"' in answer.text


def test_the_board_costs_the_same_queries_however_many_pipelines(logged_in, admin, stages):
    factories.lead("Acme", owner=admin, stage=stages[0])
    one = count_queries(logged_in, "/board/")
    for n in range(3):
        second_pipeline(f"Pipeline {n}", stages=((f"Open {n}", StageKind.OPEN),))
    assert count_queries(logged_in, "/board/") == one


# Analytics: each pipeline's steps apart


@pytest.fixture
def moved_around(admin, stages, renewals):
    """In Sales: Acme moves on a step; Globex starts there and moves to Renewals. In Renewals:
    Initech is renewed."""
    due, renewed = stage_named("Due"), stage_named("Renewed")
    acme = factories.lead("Acme", owner=admin, stage=stages[0])
    funnel.move_lead(acme, stages[1], admin)
    globex = factories.lead("Globex", owner=admin, stage=stages[0])
    funnel.move_lead(globex, due, admin)
    initech = factories.lead("Initech", owner=admin, stage=due)
    funnel.move_lead(initech, renewed, admin)
    db.session.commit()
    return {"acme": acme, "globex": globex, "initech": initech}


def step_rows(client, pipeline=None):
    """{step: [entered, passed, lost, still there]} of the funnel report's steps."""
    url = "/analytics/funnel/steps.csv?period=30" + (f"&pipeline={pipeline}" if pipeline else "")
    rows = csv_rows(client, url)[1:]
    return {row[0]: [int(n) for n in row[1:5]] for row in rows if int(row[1])}


def test_each_pipelines_funnel_counts_only_its_own_steps(logged_in, stages, renewals, moved_around):
    sales = step_rows(logged_in)
    # Globex left Sales for Renewals: not lost here, and not passed on either.
    assert sales == {stages[0].name: [2, 1, 0, 1], stages[1].name: [1, 0, 0, 1]}
    # In Renewals Globex arrived afresh, as a new lead would; Initech was renewed.
    assert step_rows(logged_in, renewals.id) == {"Due": [2, 1, 0, 1]}


def test_time_in_stage_never_mixes_pipelines(logged_in, stages, renewals, moved_around):
    def stages_listed(pipeline=None):
        url = "/analytics/time-in-stage/stages.csv?period=30"
        url += f"&pipeline={pipeline}" if pipeline else ""
        return [row[0] for row in csv_rows(logged_in, url)[1:]]

    assert "Due" not in stages_listed()
    assert stages_listed(renewals.id) == ["Due"]
    # Steps are never added up across pipelines: "all" reads as the first.
    assert stages_listed("all") == stages_listed()


def test_outcomes_can_be_one_pipelines_or_every_ones(logged_in, stages, renewals, moved_around):
    def sources_total(pipeline):
        rows = csv_rows(logged_in, f"/analytics/sources/sources.csv?period=30&pipeline={pipeline}")
        return [int(n) for n in rows[-1][1:4]]

    first = lists.first_pipeline().id
    # Leads, won, lost: Acme stays in Sales; Globex and Initech are in Renewals now.
    assert sources_total(first) == [1, 0, 0]
    assert sources_total(renewals.id) == [2, 1, 0]
    assert sources_total("all") == [3, 1, 0]


def test_the_report_filters_offer_the_pipelines(logged_in, stages, renewals):
    funnel_page = logged_in.get(f"/analytics/funnel?pipeline={renewals.id}").text
    assert '<label for="report-pipeline">Pipeline</label>' in funnel_page
    assert f'<option value="{renewals.id}" selected>Renewals</option>' in funnel_page
    assert 'value="all"' not in funnel_page
    sources_page = logged_in.get("/analytics/sources?pipeline=all").text
    assert '<option value="all" selected>All pipelines</option>' in sources_page
    # The tabs keep the pipeline chosen.
    assert f"/analytics/sources?pipeline={renewals.id}" in funnel_page


def test_with_one_pipeline_the_reports_offer_no_choice(logged_in, stages):
    assert "report-pipeline" not in logged_in.get("/analytics/funnel").text


# Lists and forms


def test_a_new_lead_is_entered_in_any_pipeline(logged_in, admin, stages, renewals):
    form = logged_in.get("/leads/new").text
    assert '<optgroup label="Sales">' in form and '<optgroup label="Renewals">' in form
    # Won and lost stages are not where a lead starts.
    assert f'value="{stage_named("Renewed").id}"' not in form
    due = stage_named("Due")
    answer = logged_in.post(
        "/leads/new", data={"title": "Acme renewal", "stage_id": due.id, "owner_id": admin.id}
    )
    assert answer.status_code == 303
    assert db.session.scalar(select(Lead.stage_id).where(Lead.title == "Acme renewal")) == due.id


def test_an_archived_pipeline_takes_no_new_leads(logged_in, admin, stages, renewals):
    renewals.archived_at = utcnow()
    db.session.commit()
    assert "Renewals" not in logged_in.get("/leads/new").text
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    dialog = logged_in.get(f"/board/leads/{lead.id}/move", headers=HTMX).text
    assert "optgroup" not in dialog and "Due" not in dialog


def test_the_list_filters_by_pipeline(logged_in, admin, stages, renewals):
    sales = factories.lead("Acme", owner=admin, stage=stages[0])
    renewal = factories.lead("Acme renewal", owner=admin, stage=stage_named("Due"))
    page = logged_in.get("/leads/").text
    assert '<label for="lead-pipeline">Pipeline</label>' in page
    assert "<legend>Renewals</legend>" in page
    listed = logged_in.get(f"/leads/?pipeline={renewals.id}").text
    assert f"/leads/{renewal.number}" in listed and f'/leads/{sales.number}"' not in listed
    exported = csv_rows(logged_in, f"/export/leads.csv?pipeline={renewals.id}")
    header, *rows = exported
    assert [row[1] for row in rows] == ["Acme renewal"]
    # With several pipelines, each lead's is a column, as the import reads it back.
    assert rows[0][header.index("Pipeline")] == "Renewals"
    assert rows[0][header.index("Stage")] == "Due"


def test_a_lead_moves_to_another_pipeline_from_its_page(logged_in, admin, stages, renewals):
    lead = factories.lead("Acme", owner=admin, stage=stages[2])
    page = logged_in.get(f"/leads/{lead.number}").text
    assert '<label for="lead-pipeline-stage">Move to another pipeline</label>' in page
    assert '<optgroup label="Renewals">' in page and "Renewed" not in page.split("lead-pipeline")[1]
    due = stage_named("Due")
    # Only an open stage of another pipeline: not its own, not a closing one.
    for refused in (stages[3].id, stage_named("Renewed").id, "x"):
        answer = logged_in.post(f"/leads/{lead.number}/pipeline", data={"stage_id": refused})
        assert answer.status_code == 422
    assert reload(lead).stage_id == stages[2].id
    answer = logged_in.post(f"/leads/{lead.number}/pipeline", data={"stage_id": due.id})
    assert answer.status_code == 303
    assert reload(lead).stage_id == due.id
    page = logged_in.get(f"/leads/{lead.number}").text
    assert "Lead #1 moved to Renewals: Due." in page
    # Its statuses are now the new pipeline's.
    assert 'class="badge stage-' + str(stage_named("Renewed").id) in page
    assert '<optgroup label="Sales">' in page


def test_with_one_pipeline_the_lead_page_offers_no_move(logged_in, admin, stages):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    assert "lead-pipeline-stage" not in logged_in.get(f"/leads/{lead.number}").text


# The API


@pytest.fixture
def api(client, admin, stages):
    return Api(client, token_for(admin))


def test_the_api_lists_the_pipelines_with_their_stages(api, stages, renewals):
    shown = api.get("/pipelines").get_json()["pipelines"]
    assert [(p["name"], p["archived"]) for p in shown] == [("Sales", False), ("Renewals", False)]
    assert [stage["name"] for stage in shown[1]["stages"]] == ["Due", "Renewed"]
    assert {stage["pipeline_id"] for stage in shown[1]["stages"]} == {renewals.id}


def test_the_api_adds_a_pipeline_with_its_stages_in_one_call(api):
    sent = {
        "name": "Продления",
        "stages": [
            {"name": "Напомнить", "colour": "#0e7490"},
            {"name": "Продлили", "kind": "won", "colour": "#15803d"},
            {"name": "Не продлили", "kind": "lost"},
        ],
    }
    answer = api.post("/pipelines", json=sent)
    assert answer.status_code == 201, answer.get_json()
    made = answer.get_json()
    assert [(s["name"], s["kind"]) for s in made["stages"]] == [
        ("Напомнить", "open"),
        ("Продлили", "won"),
        ("Не продлили", "lost"),
    ]
    assert pipeline_named_now("Продления") is not None


def pipeline_named_now(name):
    db.session.expire_all()
    return db.session.scalar(select(Pipeline).where(Pipeline.name == name))


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Sales"}, "name"),
        ({"name": "X", "stages": [{"name": "Won", "kind": "won"}]}, "stages"),
        ({"name": "X", "stages": [{"name": "A"}, {"name": "B", "kind": "maybe"}]}, "stages.1.kind"),
        ({"name": "X", "stages": [{"name": "A"}, {"name": "a"}]}, "stages.1.name"),
        ({"name": "X", "stages": [{"name": "A", "colour": "red"}]}, "stages.0.colour"),
        ({"name": "X", "stages": [{"name": "A", "size": 1}]}, "stages.0.size"),
        ({"name": "X", "stages": "A, B"}, "stages"),
        ({"name": "X", "owner": 1}, "owner"),
    ],
)
def test_a_pipeline_that_cannot_be_added_is_a_422_naming_the_field(api, sent, field):
    answer = api.post("/pipelines", json=sent)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == field
    assert pipeline_named_now("X") is None


def test_only_an_administrator_adds_a_pipeline(client, stages):
    seller = factories.user(name="Sam", email="sam@example.com")
    answer = Api(client, token_for(seller)).post("/pipelines", json={"name": "Mine"})
    assert answer.status_code == 403
    assert pipeline_named_now("Mine") is None


def test_the_api_moves_leads_across_pipelines_and_filters_by_pipeline(api, admin, stages, renewals):
    lead = factories.lead("Acme", owner=admin, stage=stages[0])
    other = factories.lead("Globex", owner=admin, stage=stages[0])
    due = stage_named("Due")
    moved = api.patch(f"/leads/{lead.number}", json={"stage_id": due.id})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["pipeline"] == {"id": renewals.id, "name": "Renewals"}
    listed = api.get(f"/leads?pipeline={renewals.id}").get_json()["leads"]
    assert [each["number"] for each in listed] == [lead.number]
    assert other.number in [each["number"] for each in api.get("/leads").get_json()["leads"]]
    # A pipeline archived takes no more leads.
    renewals.archived_at = utcnow()
    db.session.commit()
    refused = api.patch(f"/leads/{other.number}", json={"stage_id": due.id})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "stage_id"
    assert api.post("/leads", json={"title": "New", "stage_id": due.id}).status_code == 422


def test_a_new_database_gets_one_pipeline_at_setup(empty_database, tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database})
    with app.app_context():
        flask_migrate.upgrade()
        assert db.session.scalar(select(func.count()).select_from(Pipeline)) == 0
        funnel_defaults.install("ru")
        db.session.commit()
        pipelines = db.session.execute(select(Pipeline.id, Pipeline.name)).all()
        stage_pipelines = set(db.session.scalars(select(Stage.pipeline_id)))
        first = lists.first_pipeline().id
        db.session.remove()
        db.engine.dispose()
    assert [name for _id, name in pipelines] == ["Продажи"]
    assert stage_pipelines == {first}


def test_the_agenda_and_missed_contacts_cover_every_pipeline_or_one(
    logged_in, admin, stages, renewals
):
    overdue = utcnow() - timedelta(days=2)
    sales = factories.lead("Acme", owner=admin, stage=stages[0], next_step_at=overdue)
    renewal = factories.lead("Acme renewal", owner=admin, stage=stage_named("Due"))
    funnel.update_lead(renewal, admin, next_step_at=overdue)
    db.session.commit()
    everything = logged_in.get("/agenda/").text
    assert f"/leads/{sales.number}" in everything and f"/leads/{renewal.number}" in everything
    assert '<label for="agenda-pipeline">Pipeline</label>' in everything
    one = logged_in.get(f"/agenda/?pipeline={renewals.id}").text
    assert f'/leads/{renewal.number}"' in one and f'/leads/{sales.number}"' not in one
    # The rows' own links keep the pipeline, so a redraw shows the same leads.
    assert f"pipeline={renewals.id}" in one

    missed = logged_in.get(f"/agenda/missed?pipeline={renewals.id}").text
    assert "Acme renewal" in missed and ">Acme<" not in missed
    assert "Acme renewal" in logged_in.get("/agenda/missed").text


# Intake forms


def test_an_intake_form_starts_its_leads_in_the_pipeline_chosen(
    logged_in, client, stages, renewals
):
    due = stage_named("Due")
    page = logged_in.get("/settings/intake-forms/new").text
    assert f'<option value="{due.id}">Renewals: Due</option>' in page
    answer = logged_in.post(
        "/settings/intake-forms/new",
        data={"name": "Renewal requests", "reply": "page", "active": "y", "start_stage_id": due.id},
    )
    assert answer.status_code == 303
    form = db.session.scalar(select(IntakeForm).where(IntakeForm.name == "Renewal requests"))
    assert form.start_stage_id == due.id
    logged_in.post("/logout")
    client.post(f"/intake/{form.token}", data={"name": "Ivan", "phone": "+7 999 123-45-67"})
    assert db.session.scalar(select(Lead.stage_id).where(Lead.title == "Ivan")) == due.id
    # Archived meanwhile: requests start in the first pipeline again, never lost.
    renewals.archived_at = utcnow()
    db.session.commit()
    client.post(f"/intake/{form.token}", data={"name": "Olga", "phone": "+7 999 765-43-21"})
    assert db.session.scalar(select(Lead.stage_id).where(Lead.title == "Olga")) == stages[0].id


def test_removing_a_stage_an_intake_form_starts_in(logged_in, stages, renewals):
    due = stage_named("Due")
    lists.add_stage("Second", "#0e7490", pipeline=renewals)
    form = IntakeForm(name="Web", token="t" * 32, start_stage_id=due.id)
    db.session.add(form)
    db.session.commit()
    lists.remove_stage(due)
    db.session.commit()
    assert db.session.get(IntakeForm, form.id).start_stage_id is None


# The import


def test_an_imported_row_names_its_pipeline_and_its_status_within_it(
    app, admin, stages, renewals, tmp_path
):
    lists.add_stage("Won", "#15803d", StageKind.WON, pipeline=renewals)
    # A name both pipelines have: without a pipeline named, the first one's.
    lists.add_stage("Interested", "#0e7490", pipeline=renewals)
    db.session.commit()
    path = import_sheet(
        tmp_path,
        [
            ["Название", "Воронка", "Статус", "Сумма"],
            ["Acme", "", "Interested", "100"],
            ["Acme renewal", "renewals", "", "100"],
            ["Globex renewal", "Renewals", "won", "100"],
            ["Umbrella", "Partners", "", "100"],
            ["Soylent renewal", "Renewals", "Waiting", "100"],
        ],
    )
    report = import_check("leads", path, tmp_path)
    # A status the row's pipeline does not have is asked about; a new stage goes there.
    assert report.unknown_statuses == {"waiting": ["Waiting", 1]}
    assert [error for error in report.errors] and "No pipeline is called “Partners”" in str(
        report.errors
    )
    import_load("leads", path, tmp_path, skip_errors=True, statuses={"waiting": "new:open"})
    stage_of = dict(db.session.execute(select(Lead.title, Lead.stage_id)).all())
    waiting = stage_named("Waiting")
    assert waiting.pipeline_id == renewals.id and stage_of["Soylent renewal"] == waiting.id
    assert stage_of["Acme"] == stages[1].id
    assert stage_of["Acme renewal"] == stage_named("Due").id
    renewed_won = db.session.scalar(
        select(Stage.id).where(Stage.pipeline_id == renewals.id, Stage.name == "Won")
    )
    assert stage_of["Globex renewal"] == renewed_won
    assert "Umbrella" not in stage_of


stage_values = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=90), json_values),
        "colour": st.one_of(st.sampled_from(["#0e7490", "red", ""]), json_values),
        "kind": st.one_of(st.sampled_from(["open", "won", "lost", "maybe"]), json_values),
        "stuck_after_days": st.one_of(st.integers(-5, 400), json_values),
    },
)


@fewer_on_postgresql(
    settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(
        body=st.fixed_dictionaries(
            {},
            optional={
                "name": st.one_of(st.text(max_size=90), json_values),
                "stages": st.one_of(st.lists(stage_values, max_size=5), json_values),
            },
        )
    ),
)
def test_any_pipeline_sent_is_added_whole_or_refused_cleanly(api, body):
    before = db.session.scalar(select(func.count()).select_from(Stage))
    answer = api.post("/pipelines", json=body)
    assert answer.status_code in (201, 422), answer.get_json()
    db.session.expire_all()
    after = db.session.scalar(select(func.count()).select_from(Stage))
    if answer.status_code == 422:
        assert after == before
    else:
        assert after == before + len(answer.get_json()["stages"])


# A new lead for the same client


def test_a_new_lead_for_this_client_copies_its_fields_and_people(
    logged_in, admin, stages, renewals
):
    factories.field("ИНН", "text", identifies_client=True, on_new_form=True)
    factories.field("Город", "choice", ["Москва", "Казань"])
    won = next(stage for stage in stages if stage.kind == StageKind.WON)
    client = factories.lead(
        "Acme",
        owner=admin,
        stage=won,
        fields={"inn": "7701234567", "gorod": "Казань"},
        people=[
            {"name": "Ирина", "phones": ["+7 999 123-45-67"], "emails": ["ira@acme.ru"]},
            {"name": "Пётр", "job_title": "Юрист"},
        ],
    )
    page = logged_in.get(f"/leads/{client.number}").text
    assert f'href="/leads/new?client={client.number}">New lead for this client</a>' in page

    form = logged_in.get(f"/leads/new?client={client.number}").text
    assert 'value="Acme"' in form and 'value="ira@acme.ru"' in form
    assert 'value="7701234567"' in form
    # The next pipeline's first stage: a renewal of a won deal.
    assert f'<option selected value="{stage_named("Due").id}">' in form

    answer = logged_in.post(
        "/leads/new",
        data={
            "client": client.number,
            "title": "Acme — renewal",
            "contact_name": "Ирина",
            "phone": "+7 999 123-45-67",
            "email": "ira@acme.ru",
            "stage_id": stage_named("Due").id,
            "owner_id": admin.id,
            "f.inn": "7701234567",
        },
    )
    # The client's own lead is no surprise: no duplicate warning, saved at once.
    assert answer.status_code == 303
    db.session.expire_all()
    renewal = db.session.scalar(select(Lead).where(Lead.title == "Acme — renewal"))
    assert renewal.stage_id == stage_named("Due").id
    assert renewal.fields == {"inn": "7701234567", "gorod": "kazan"}
    assert [(p.name, p.job_title) for p in renewal.people] == [("Ирина", None), ("Пётр", "Юрист")]
    # The two list each other as leads of one client.
    assert f"/leads/{client.number}" in logged_in.get(f"/leads/{renewal.number}").text


def test_a_badge_names_the_pipeline_where_the_stage_name_alone_is_ambiguous(
    logged_in, admin, stages, renewals
):
    lost = lists.add_stage("Lost", "#991b1b", StageKind.LOST, pipeline=renewals)
    db.session.commit()
    reason = db.session.scalar(select(LostReason.id))
    sales_lead = factories.lead("Acme", owner=admin, stage=stages[0])
    renewal = factories.lead("Acme renewal", owner=admin, stage=stage_named("Due"))
    funnel.move_lead(sales_lead, stages[-1], admin, lost_reason=db.session.get(LostReason, reason))
    funnel.move_lead(renewal, lost, admin, lost_reason=db.session.get(LostReason, reason))
    db.session.commit()
    listed = logged_in.get("/leads/?archived=1").text
    assert f'<span class="badge stage-{lost.id}">Renewals: Lost</span>' in listed
    assert f'<span class="badge stage-{stages[-1].id}">Sales: Lost</span>' in listed
    # A name only one pipeline has needs no more.
    assert f'<span class="badge stage-{stage_named("Due").id}">Due</span>' in listed


# A salesperson kept to some pipelines


@pytest.fixture
def renewals_seller(stages, renewals):
    """A salesperson who works in Renewals only, with a lead of their own in each pipeline."""
    seller = factories.user(name="Sam", email="sam@example.com")
    seller.pipeline_ids = [renewals.id]
    db.session.commit()
    return seller


def test_an_administrator_keeps_a_salesperson_to_some_pipelines(logged_in, stages, renewals):
    seller = factories.user(name="Sam", email="sam@example.com")
    page = logged_in.get(f"/settings/users/{seller.id}").text
    assert "Pipelines they work in" in page
    logged_in.post(f"/settings/users/{seller.id}/pipelines", data={"pipeline": [renewals.id, "x"]})
    assert db.session.get(User, seller.id).pipeline_ids == [renewals.id]
    logged_in.post(f"/settings/users/{seller.id}/pipelines", data={})
    db.session.expire_all()
    assert db.session.get(User, seller.id).pipeline_ids is None


def test_a_salesperson_sees_only_the_pipelines_they_work_in(
    client, auth, admin, stages, renewals, renewals_seller
):
    sales = factories.lead("Acme", owner=renewals_seller, stage=stages[0])
    renewal = factories.lead("Acme renewal", owner=renewals_seller, stage=stage_named("Due"))
    auth.login(renewals_seller.email)
    listed = client.get("/leads/").text
    assert f'/leads/{renewal.number}"' in listed and f'/leads/{sales.number}"' not in listed
    assert client.get(f"/leads/{sales.number}").status_code == 404
    assert client.get(f"/leads/{renewal.number}").status_code == 200
    board_page = client.get("/board/").text
    assert "pipeline-switch" not in board_page
    assert column_ids(board_page) == [stage_named("Due").id, stage_named("Renewed").id]
    agenda = client.get("/agenda/").text
    assert "Acme renewal" in agenda and ">Acme<" not in agenda
    # A new lead goes only where they work.
    form = client.get("/leads/new").text
    assert ">Due</option>" in form and f">{stages[0].name}</option>" not in form
    refused = client.post("/leads/new", data={"title": "Sneaky", "stage_id": stages[0].id})
    assert refused.status_code == 422
    reports = client.get("/analytics/sources").text
    assert "report-pipeline" not in reports


def test_the_api_keeps_a_salesperson_to_their_pipelines(
    client, admin, stages, renewals, renewals_seller
):
    api = Api(client, token_for(renewals_seller))
    sales = factories.lead("Acme", owner=renewals_seller, stage=stages[0])
    assert api.get(f"/leads/{sales.number}").status_code == 404
    assert [lead["title"] for lead in api.get("/leads").get_json()["leads"]] == []
    refused = api.post("/leads", json={"title": "Sneaky", "stage_id": stages[0].id})
    assert refused.status_code == 422
    made = api.post("/leads", json={"title": "Fine", "stage_id": stage_named("Due").id})
    assert made.status_code == 201


def test_a_manager_sees_every_pipeline_whatever_is_set(client, auth, stages, renewals):
    manager = factories.user(name="Mona", email="mona@example.com", role=Role.MANAGER)
    manager.pipeline_ids = [renewals.id]
    db.session.commit()
    lead = factories.lead("Acme", stage=stages[0])
    auth.login(manager.email)
    assert client.get(f"/leads/{lead.number}").status_code == 200


def test_the_calendar_covers_every_pipeline_or_one(logged_in, admin, stages, renewals):
    tomorrow = utcnow() + timedelta(days=1)
    sales = factories.lead("Acme", owner=admin, stage=stages[0], next_step_at=tomorrow)
    renewal = factories.lead("Acme renewal", owner=admin, stage=stage_named("Due"))
    funnel.update_lead(renewal, admin, next_step_at=tomorrow)
    db.session.commit()
    # The day in the zone the calendar counts days in (the team's: UTC here).
    day = to_local(tomorrow).date().isoformat()
    every = logged_in.get("/agenda/calendar").text
    assert "Acme renewal" in every and f'id="cal-lead-{sales.id}"' in every
    assert '<label for="calendar-pipeline">Pipeline</label>' in every
    one = logged_in.get(f"/agenda/calendar?pipeline={renewals.id}").text
    assert f'id="cal-lead-{renewal.id}"' in one and f'id="cal-lead-{sales.id}"' not in one
    assert f'data-pipeline="{renewals.id}"' in one
    listed = logged_in.get(f"/agenda/calendar/day?date={day}&pipeline={renewals.id}").text
    assert "Acme renewal" in listed and ">#1 Acme<" not in listed


# The team's fields, limited to some pipelines


def test_a_field_of_one_pipeline_shows_and_is_required_only_there(
    logged_in, admin, stages, renewals
):
    factories.field("Дата продления", "date", required=True, on_card=True)
    page = logged_in.get("/settings/fields/1").text
    assert "Pipelines whose leads have it" in page
    answer = logged_in.post(
        "/settings/fields/1",
        data={
            "label": "Дата продления",
            "required": "y",
            "on_card": "y",
            "on_new_form": "y",
            "pipeline": [renewals.id],
        },
    )
    assert answer.status_code == 303
    custom_fields.forget()
    assert custom_fields.by_key()["data_prodleniya"].pipeline_ids == (renewals.id,)

    # A new sales lead does not ask for it; a new renewal does.
    empty = {"f.data_prodleniya": "", "owner_id": admin.id}
    sales = logged_in.post("/leads/new", data={"title": "Acme", "stage_id": stages[0].id} | empty)
    assert sales.status_code == 303
    due = stage_named("Due")
    refused = logged_in.post("/leads/new", data={"title": "Initech", "stage_id": due.id} | empty)
    assert refused.status_code == 422 and "this field is required" in refused.text
    renewal = factories.lead(
        "Globex renewal", owner=admin, stage=due, fields={"data_prodleniya": "2027-01-15"}
    )
    sales_lead = db.session.scalar(select(Lead).where(Lead.title == "Acme"))
    assert "Дата продления" not in logged_in.get(f"/leads/{sales_lead.number}").text
    assert "Дата продления" in logged_in.get(f"/leads/{renewal.number}").text
    # On the cards of its pipeline's board only.
    assert "Дата продления" in board(logged_in, f"/board/?pipeline={renewals.id}")
    assert "Дата продления" not in board(logged_in, f"/board/?pipeline={stages[0].pipeline_id}")


def test_an_import_puts_rows_naming_no_pipeline_in_the_one_chosen(
    app, admin, stages, renewals, tmp_path
):
    path = import_sheet(
        tmp_path,
        [
            ["Название", "Воронка", "Статус", "Сумма"],
            ["Acme renewal", "", "", ""],
            ["Globex renewal", "", "Renewed", "1000"],
            ["Initech", "Sales", "", ""],
        ],
    )
    import_load("leads", path, tmp_path, pipeline_id=renewals.id)
    stage_of = dict(db.session.execute(select(Lead.title, Lead.stage_id)).all())
    assert stage_of["Acme renewal"] == stage_named("Due").id
    assert stage_of["Globex renewal"] == stage_named("Renewed").id
    assert stage_of["Initech"] == stages[0].id


def test_the_command_line_import_takes_a_pipeline(runner, admin, stages, renewals, tmp_path):
    path = import_sheet(tmp_path, [["Название"], ["Acme renewal"]])
    result = runner.invoke(args=["import", "leads", str(path), "--pipeline", "renewals"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Lead.stage_id)) == stage_named("Due").id


def test_the_activity_log_filters_by_pipeline(logged_in, admin, stages, renewals):
    sales = factories.lead("Acme", owner=admin, stage=stages[0])
    renewal = factories.lead("Acme renewal", owner=admin, stage=stage_named("Due"))
    factories.activity(sales, author=admin, body="Called about the order")
    factories.activity(renewal, author=admin, body="Called about the renewal")
    feed = logged_in.get("/activities/").text
    assert "Called about the order" in feed and "Called about the renewal" in feed
    assert '<label for="pipeline">Pipeline</label>' in feed
    one = logged_in.get(f"/activities/?pipeline={renewals.id}").text
    assert "Called about the renewal" in one and "Called about the order" not in one
    exported = logged_in.get(f"/export/activities.csv?pipeline={renewals.id}").text
    assert "Called about the renewal" in exported and "Called about the order" not in exported
