"""Settings → Pipelines: an administrator adds, renames, reorders and archives pipelines, and
edits each one's stages; a refusal says why at the field and changes nothing."""

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Lead, Pipeline, Stage, StageChange, StageKind
from tests import factories


def pipeline_named(name):
    db.session.expire_all()
    return db.session.scalar(select(Pipeline).where(Pipeline.name == name))


def stage_names(pipeline):
    return [stage.name for stage in db.session.scalars(Stage.in_funnel_order(pipeline.id))]


def add(client, name):
    return client.post("/settings/pipelines", data={"name": name})


def test_a_new_pipeline_starts_with_a_stage_of_each_kind(logged_in):
    answer = add(logged_in, "Продления")
    renewals = pipeline_named("Продления")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/settings/stages?pipeline={renewals.id}")
    kinds = [stage.kind for stage in db.session.scalars(Stage.in_funnel_order(renewals.id))]
    assert kinds == [StageKind.OPEN, StageKind.WON, StageKind.LOST]
    page = logged_in.get(answer.headers["Location"]).text
    assert "Funnel stages: Продления" in page
    assert 'aria-current="page">Продления</a>' in page
    # It goes on the board's switch.
    assert 'aria-current="page">Sales</a>' in logged_in.get("/board/").text


def test_a_name_is_needed_and_taken_once(logged_in):
    assert add(logged_in, "").status_code == 422
    refused = add(logged_in, " sales ")
    assert refused.status_code == 422
    assert "This name is taken: choose another." in refused.text
    assert db.session.scalar(select(func.count()).select_from(Pipeline)) == 1


def test_stages_are_added_to_the_pipeline_shown(logged_in):
    add(logged_in, "Renewals")
    renewals = pipeline_named("Renewals")
    answer = logged_in.post(
        f"/settings/stages?pipeline={renewals.id}",
        data={"name": "Offer sent", "colour": "#0e7490", "kind": "open"},
    )
    assert answer.status_code == 303
    assert stage_names(renewals) == ["New", "Offer sent", "Won", "Lost"]
    # Another pipeline's stage of the same name is no clash; one of its own is.
    again = logged_in.post(
        f"/settings/stages?pipeline={renewals.id}",
        data={"name": "won", "colour": "#15803d", "kind": "won"},
    )
    assert again.status_code == 422


def test_rename_and_reorder(logged_in):
    add(logged_in, "Renewals")
    renewals = pipeline_named("Renewals")
    answer = logged_in.post(f"/settings/pipelines/{renewals.id}", data={"name": "Продления"})
    assert answer.status_code == 303
    assert pipeline_named("Продления") is not None
    logged_in.post(f"/settings/pipelines/{renewals.id}/move", data={"direction": "up"})
    order = [p.name for p in db.session.scalars(Pipeline.in_order())]
    assert order == ["Продления", "Sales"]


def test_archiving_asks_where_the_open_leads_go(logged_in, admin, stages):
    add(logged_in, "Renewals")
    renewals = pipeline_named("Renewals")
    due = db.session.scalars(Stage.in_funnel_order(renewals.id)).first()
    waiting = factories.lead("Waiting", owner=admin, stage=due)
    page = logged_in.get(f"/settings/pipelines/{renewals.id}/archive").text
    assert "1 open lead is in this pipeline. Choose where it goes." in page
    assert f'<option value="{stages[1].id}">Sales: {stages[1].name}</option>' in page

    refused = logged_in.post(f"/settings/pipelines/{renewals.id}/archive", data={})
    assert refused.status_code == 422
    assert "choose an open stage of another pipeline for it" in refused.text
    assert pipeline_named("Renewals").archived_at is None

    answer = logged_in.post(
        f"/settings/pipelines/{renewals.id}/archive", data={"target_stage_id": stages[1].id}
    )
    assert answer.status_code == 303
    assert pipeline_named("Renewals").archived_at is not None
    assert db.session.get(Lead, waiting.id).stage_id == stages[1].id
    moves = db.session.scalars(
        select(StageChange.to_stage_id)
        .where(StageChange.lead_id == waiting.id)
        .order_by(StageChange.id)
    ).all()
    assert moves[-1] == stages[1].id
    # No longer offered: the board has nothing to switch to.
    assert "pipeline-switch" not in logged_in.get("/board/").text

    logged_in.post(f"/settings/pipelines/{renewals.id}/restore")
    assert pipeline_named("Renewals").archived_at is None


def test_the_only_pipeline_is_never_archived(logged_in, stages):
    first = pipeline_named("Sales")
    page = logged_in.get(f"/settings/pipelines/{first.id}/archive").text
    assert "This is the only pipeline" in page
    refused = logged_in.post(f"/settings/pipelines/{first.id}/archive", data={})
    assert refused.status_code == 422
    assert pipeline_named("Sales").archived_at is None


def test_the_settings_page_lists_pipelines(logged_in):
    assert "/settings/pipelines" in logged_in.get("/settings/").text
    page = logged_in.get("/settings/pipelines").text
    assert "Sales" in page and "9 stages" in page
