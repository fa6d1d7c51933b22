"""Settings: the funnel's stages, activity kinds, lost reasons and the currency (admin only)."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm import access, i18n, lists, timezones
from crm.extensions import db
from crm.models import (
    ActivityKind,
    AppSetting,
    LostReason,
    Stage,
    StageChange,
    StageKind,
)
from tests import factories
from tests.querycount import counting_queries

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="(/stages\.css\?v=[0-9a-f]+)">')


def stage_order():
    return [s.name for s in db.session.scalars(Stage.in_funnel_order())]


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def new_stage(**fields):
    return {"name": "Demo booked", "colour": "#a855f7", "kind": "open"} | fields


# Who may


def admin_routes(stage_id, kind_id, reason_id):
    return [
        ("get", "/settings/stages", None),
        ("post", "/settings/stages", new_stage()),
        ("get", f"/settings/stages/{stage_id}", None),
        ("post", f"/settings/stages/{stage_id}", new_stage(name="Renamed")),
        ("post", f"/settings/stages/{stage_id}/move", {"direction": "down"}),
        ("get", f"/settings/stages/{stage_id}/remove", None),
        ("post", f"/settings/stages/{stage_id}/remove", {}),
        ("get", "/settings/activity-kinds", None),
        ("post", "/settings/activity-kinds", {"name": "Visit"}),
        ("get", f"/settings/activity-kinds/{kind_id}", None),
        ("post", f"/settings/activity-kinds/{kind_id}", {"name": "Ring"}),
        ("post", f"/settings/activity-kinds/{kind_id}/move", {"direction": "down"}),
        ("post", f"/settings/activity-kinds/{kind_id}/active", {"active": "off"}),
        ("get", "/settings/lost-reasons", None),
        ("post", "/settings/lost-reasons", {"name": "Went quiet"}),
        ("get", f"/settings/lost-reasons/{reason_id}", None),
        ("post", f"/settings/lost-reasons/{reason_id}", {"name": "Too dear"}),
        ("post", f"/settings/lost-reasons/{reason_id}/move", {"direction": "down"}),
        ("post", f"/settings/lost-reasons/{reason_id}/active", {"active": "off"}),
        ("get", "/settings/general", None),
        ("post", "/settings/general", factories.general_settings(currency="$")),
    ]


def snapshot():
    """Everything the settings pages could change."""
    return (
        [
            (s.id, s.name, s.colour, s.kind, s.position, s.stuck_after_days)
            for s in db.session.scalars(Stage.in_funnel_order())
        ],
        [
            (k.id, k.name, k.position, k.active)
            for k in db.session.scalars(lists.in_order(ActivityKind))
        ],
        [
            (r.id, r.name, r.position, r.active)
            for r in db.session.scalars(lists.in_order(LostReason))
        ],
        db.session.scalars(select(AppSetting.value)).all(),
    )


@pytest.mark.parametrize("role", ["salesperson", "manager"])
def test_only_administrators_reach_the_settings_lists(app, stages, admin, role):
    member = factories.user(role=role)
    client = app.test_client()
    client.post("/login", data={"email": member.email, "password": factories.PASSWORD})
    kind = factories.kind("call")
    reason = db.session.scalars(lists.in_order(LostReason)).first()
    before = snapshot()
    for method, url, data in admin_routes(stages[0].id, kind.id, reason.id):
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 403, (method, url)
    db.session.expire_all()
    assert snapshot() == before
    # The settings page itself is for everyone, without the admin links.
    page = client.get("/settings/").text
    assert "/settings/stages" not in page


def test_anonymous_visitors_are_sent_to_log_in(client, stages, admin):
    response = client.get("/settings/stages")
    assert response.status_code == 303
    assert "/login" in response.location
    assert client.post("/settings/activity-kinds", data={"name": "x"}).status_code == 303


def test_settings_page_links_to_the_lists(logged_in):
    page = logged_in.get("/settings/").text
    for url in [
        "/settings/stages",
        "/settings/activity-kinds",
        "/settings/lost-reasons",
        "/settings/general",
    ]:
        assert f'href="{url}"' in page


# Stages: the list


def test_stages_page_shows_the_funnel_in_order(logged_in, stages):
    lead = factories.lead(stage=stages[1])
    factories.lead(stage=stages[1], owner=None)
    page = logged_in.get("/settings/stages")
    assert page.status_code == 200
    text = page.text
    names = re.findall(r'<span class="badge stage-\d+">([^<]+)</span>', text)
    assert names == [s.name for s in stages]
    assert "stuck after 30 days" in text
    assert "2 leads" in text
    assert f'id="stage-{lead.stage_id}"' in text
    # Every field of the add form has a visible label; colour is a colour picker.
    assert '<label for="colour">Colour</label>' in text
    assert 'type="color"' in text
    assert "style=" not in text


def test_stages_page_costs_the_same_queries_with_10_or_200_leads(logged_in, stages):
    def queries():
        with counting_queries() as statements:
            assert logged_in.get("/settings/stages").status_code == 200
        return len(statements)

    for n in range(10):
        factories.lead(stage=stages[n % 3])
    few = queries()
    for n in range(190):
        factories.lead(stage=stages[n % 5])
    assert queries() == few


# Stages: adding


def test_adding_an_open_stage_puts_it_after_the_last_open_one(logged_in, stages):
    response = logged_in.post("/settings/stages", data=new_stage(stuck_after_days="4"))
    assert response.status_code == 303
    order = stage_order()
    assert order[7] == "Demo booked"
    assert order[-2:] == ["Work!", "Lost"]
    stage = db.session.scalar(select(Stage).where(Stage.name == "Demo booked"))
    assert (stage.colour, stage.kind, stage.stuck_after_days) == ("#a855f7", "open", 4)
    positions = [s.position for s in db.session.scalars(Stage.in_funnel_order())]
    assert positions == list(range(len(stages) + 1))
    page = logged_in.get(response.location).text
    assert "Stage “Demo booked” added." in page


def test_adding_a_lost_stage_puts_it_at_the_end(logged_in, stages):
    logged_in.post("/settings/stages", data=new_stage(name="Spam", kind="lost", colour="#000000"))
    assert stage_order()[-1] == "Spam"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "   "}, "This field is required."),
        ({"name": "x" * 81}, "Field cannot be longer than 80 characters."),
        ({"name": "cold"}, "This name is taken: choose another."),
        ({"colour": "red"}, "Choose a colour like #1d4ed8."),
        ({"colour": "#12345"}, "Choose a colour like #1d4ed8."),
        ({"colour": "#gggggg"}, "Choose a colour like #1d4ed8."),
        ({"colour": "#1234567"}, "Choose a colour like #1d4ed8."),
        ({"colour": ""}, "This field is required."),
        ({"kind": "maybe"}, "Not a valid choice."),
        ({"stuck_after_days": "-3"}, "Enter a whole number of days from 1 to 3650"),
        ({"stuck_after_days": "0"}, "Enter a whole number of days from 1 to 3650"),
        ({"stuck_after_days": "99999"}, "Enter a whole number of days from 1 to 3650"),
        ({"stuck_after_days": "abc"}, "Not a valid integer value."),
        ({"stuck_after_days": "1.5"}, "Not a valid integer value."),
    ],
)
def test_adding_a_bad_stage_explains_and_saves_nothing(logged_in, stages, fields, message):
    before = snapshot()
    response = logged_in.post("/settings/stages", data=new_stage(**fields))
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    db.session.expire_all()
    assert snapshot() == before


# Stages: editing


def test_editing_a_stage_saves_every_field(logged_in, stages):
    stage = stages[2]
    page = logged_in.get(f"/settings/stages/{stage.id}")
    assert page.status_code == 200
    assert 'value="#6d28d9"' in page.text
    response = logged_in.post(
        f"/settings/stages/{stage.id}",
        data={"name": " Quote asked ", "colour": "#FDE047", "kind": "open", "stuck_after_days": ""},
    )
    assert response.status_code == 303
    db.session.refresh(stage)
    assert (stage.name, stage.colour, stage.stuck_after_days) == ("Quote asked", "#fde047", None)
    # A light background gets dark text, chosen automatically.
    assert stage.text_colour == "#111827"
    assert "Stage “Quote asked” saved." in logged_in.get(response.location).text


def test_recolouring_changes_the_stylesheet_and_its_link_everywhere(logged_in, stages):
    stage = stages[0]
    page_before = logged_in.get("/settings/stages").text
    link_before = STYLESHEET_LINK.search(page_before).group(1)
    css_before = logged_in.get(link_before).text
    assert f".stage-{stage.id} {{ --stage-bg: #64748b; --stage-fg: #ffffff; }}" in css_before

    logged_in.post(
        f"/settings/stages/{stage.id}",
        data={"name": stage.name, "colour": "#fef08a", "kind": "open", "stuck_after_days": "30"},
    )

    for url in ["/settings/stages", "/settings/", "/settings/activity-kinds"]:
        link = STYLESHEET_LINK.search(logged_in.get(url).text).group(1)
        assert link != link_before, url
    css = logged_in.get(link).text
    assert f".stage-{stage.id} {{ --stage-bg: #fef08a; --stage-fg: #111827; }}" in css


def test_renaming_keeps_the_stylesheet_link(logged_in, stages):
    # Only colours (and which stages exist) version the stylesheet: a rename needs no new one.
    before = STYLESHEET_LINK.search(logged_in.get("/settings/stages").text).group(1)
    stage = stages[1]
    logged_in.post(
        f"/settings/stages/{stage.id}",
        data={"name": "Curious", "colour": stage.colour, "kind": "open"},
    )
    page = logged_in.get("/settings/stages").text
    assert STYLESHEET_LINK.search(page).group(1) == before
    assert f'<span class="badge stage-{stage.id}">Curious</span>' in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "y" * 81}, "Field cannot be longer than 80 characters."),
        ({"name": "LOST"}, "This name is taken: choose another."),
        ({"colour": "blue"}, "Choose a colour like #1d4ed8."),
        ({"kind": "closed"}, "Not a valid choice."),
        ({"stuck_after_days": "-1"}, "Enter a whole number of days"),
        ({"stuck_after_days": "ten"}, "Not a valid integer value."),
    ],
)
def test_editing_a_stage_badly_explains_and_saves_nothing(logged_in, stages, fields, message):
    stage = stages[3]
    before = snapshot()
    data = {"name": stage.name, "colour": "#00ff00", "kind": "open", "stuck_after_days": "3"}
    response = logged_in.post(f"/settings/stages/{stage.id}", data=data | fields)
    assert response.status_code == 422
    assert message in response.text
    db.session.expire_all()
    assert snapshot() == before


def test_a_stage_with_leads_keeps_its_kind(logged_in, stages):
    stage = stages[4]
    factories.lead(stage=stage)
    response = logged_in.post(
        f"/settings/stages/{stage.id}",
        data={"name": stage.name, "colour": stage.colour, "kind": "won"},
    )
    assert response.status_code == 422
    assert (
        "1 lead is in this stage: move it to another stage before changing the kind."
        in response.text
    )
    db.session.refresh(stage)
    assert stage.kind == StageKind.OPEN


def test_an_empty_stage_can_change_kind(logged_in, stages):
    stage = stages[6]
    logged_in.post(
        f"/settings/stages/{stage.id}",
        data={"name": stage.name, "colour": stage.colour, "kind": "won"},
    )
    db.session.refresh(stage)
    assert stage.kind == StageKind.WON


def only_one_open_stage(stages):
    for stage in stages[1:]:
        if stage.kind == StageKind.OPEN:
            stage.kind = StageKind.WON
    db.session.commit()
    return stages[0]


def test_the_last_open_stage_stays_open(logged_in, stages):
    last = only_one_open_stage(stages)
    response = logged_in.post(
        f"/settings/stages/{last.id}",
        data={"name": last.name, "colour": last.colour, "kind": "lost"},
    )
    assert response.status_code == 422
    assert "This is the only open stage: the funnel needs at least one." in response.text
    db.session.refresh(last)
    assert last.kind == StageKind.OPEN


def test_unknown_stage_ids_are_404(logged_in, stages):
    assert logged_in.get("/settings/stages/9999").status_code == 404
    assert logged_in.post("/settings/stages/9999", data=new_stage()).status_code == 404
    assert logged_in.post("/settings/stages/9999/move", data={"direction": "up"}).status_code == 404
    assert logged_in.get("/settings/stages/9999/remove").status_code == 404
    assert logged_in.post("/settings/stages/9999/remove").status_code == 404
    assert logged_in.get("/settings/stages/abc").status_code == 404


# Stages: reordering


def test_moving_a_stage_up_and_down_changes_the_order(logged_in, stages):
    names = [s.name for s in stages]
    response = logged_in.post(f"/settings/stages/{stages[2].id}/move", data={"direction": "up"})
    assert response.status_code == 303
    assert f"focus=stage-{stages[2].id}-up" in response.location
    assert stage_order() == [names[0], names[2], names[1], *names[3:]]
    assert "autofocus" in logged_in.get(response.location).text

    logged_in.post(f"/settings/stages/{stages[0].id}/move", data={"direction": "down"})
    assert stage_order() == [names[2], names[0], names[1], *names[3:]]
    positions = [s.position for s in db.session.scalars(Stage.in_funnel_order())]
    assert positions == list(range(len(stages)))


def test_moving_past_either_end_changes_nothing(logged_in, stages):
    before = stage_order()
    first, last = stages[0], stages[-1]
    response = logged_in.post(f"/settings/stages/{first.id}/move", data={"direction": "up"})
    assert response.status_code == 303
    # The pressed button is gone at the top: focus goes to the other one.
    assert f"focus=stage-{first.id}-down" in response.location
    logged_in.post(f"/settings/stages/{last.id}/move", data={"direction": "down"})
    assert stage_order() == before


def test_moving_with_htmx_swaps_the_list_in_place(logged_in, stages):
    response = logged_in.post(
        f"/settings/stages/{stages[1].id}/move", data={"direction": "up"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    # The list's items, to go inside its lasting container on the page.
    assert 'id="stage-list"' not in response.text
    assert response.text.lstrip().startswith('<ol class="settings-list">')
    assert 'hx-sync="#stage-list:queue all"' in response.text
    assert "HX-Request" in response.headers.get("Vary", "")
    # The moved stage is now first, so its "Move up" is gone and "Move down" keeps the focus.
    assert f'id="stage-{stages[1].id}-down" autofocus' in response.text
    assert f'id="stage-{stages[1].id}-up"' not in response.text
    assert 'hx-swap-oob="innerHTML:#messages"' in response.text
    assert f"“{stages[1].name}” moved up." in response.text
    assert stage_order()[0] == stages[1].name


def test_a_tampered_direction_is_refused(logged_in, stages):
    before = stage_order()
    response = logged_in.post(f"/settings/stages/{stages[1].id}/move", data={"direction": "left"})
    assert response.status_code == 422
    assert "Choose up or down." in response.text
    htmx = logged_in.post(
        f"/settings/stages/{stages[1].id}/move", data={"direction": "top"}, headers=HTMX
    )
    assert htmx.status_code == 422
    assert "<html" not in htmx.text
    assert stage_order() == before


# Stages: removing


def test_removing_a_stage_never_used(logged_in, stages):
    logged_in.post("/settings/stages", data=new_stage(name="Trial"))
    trial_id = db.session.scalar(select(Stage.id).where(Stage.name == "Trial"))
    page = logged_in.get(f"/settings/stages/{trial_id}/remove")
    assert page.status_code == 200
    assert "No lead is in this stage or has ever been." in page.text

    response = logged_in.post(f"/settings/stages/{trial_id}/remove")
    assert response.status_code == 303
    assert db.session.get(Stage, trial_id) is None
    assert "Trial" not in stage_order()
    positions = [s.position for s in db.session.scalars(Stage.in_funnel_order())]
    assert positions == list(range(len(stages)))
    assert "Stage “Trial” removed." in logged_in.get(response.location).text


def test_removing_a_stage_with_leads_asks_where_to_move_them(logged_in, admin, stages):
    leaving, target = stages[3], stages[1]
    leads = [factories.lead(stage=leaving, owner=admin) for _ in range(3)]
    archived = factories.lead(stage=leaving)
    archived.archived = True
    elsewhere = factories.lead(stage=stages[0])
    db.session.commit()

    page = logged_in.get(f"/settings/stages/{leaving.id}/remove")
    assert page.status_code == 200
    assert "4 leads are in this stage. Choose where to move them." in page.text
    assert '<label for="target_stage_id">Move its leads to</label>' in page.text
    targets = re.search(r'<select[^>]*name="target_stage_id".*?</select>', page.text, re.S)
    assert f'<option value="{target.id}">' in targets.group(0)
    assert f'<option value="{leaving.id}"' not in targets.group(0)

    response = logged_in.post(
        f"/settings/stages/{leaving.id}/remove", data={"target_stage_id": str(target.id)}
    )
    assert response.status_code == 303
    db.session.expire_all()
    for lead in [*leads, archived]:
        assert lead.stage_id == target.id
        change = db.session.scalar(
            select(StageChange)
            .where(StageChange.lead_id == lead.id)
            .order_by(StageChange.id.desc())
            .limit(1)
        )
        assert (change.from_stage_id, change.to_stage_id, change.changed_by_id) == (
            leaving.id,
            target.id,
            admin.id,
        )
    assert elsewhere.stage_id == stages[0].id
    # Its history keeps the stage: it stays, empty, and the admin is told why.
    assert db.session.get(Stage, leaving.id) is not None
    text = logged_in.get(response.location).text
    assert f"Moved 4 leads to “{target.name}”." in text
    assert "stays in the funnel because leads have it in their history" in text


def test_moving_leads_to_a_lost_stage_needs_a_reason(logged_in, stages):
    leaving = stages[2]
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    lead = factories.lead(stage=leaving)
    changes = count(StageChange)

    response = logged_in.post(
        f"/settings/stages/{leaving.id}/remove", data={"target_stage_id": str(lost.id)}
    )
    assert response.status_code == 422
    assert "Say why these leads were lost." in response.text
    db.session.expire_all()
    assert lead.stage_id == leaving.id
    assert count(StageChange) == changes

    reason = db.session.scalars(lists.in_order(LostReason)).first()
    response = logged_in.post(
        f"/settings/stages/{leaving.id}/remove",
        data={
            "target_stage_id": str(lost.id),
            "lost_reason_id": str(reason.id),
            "lost_note": "Closed the office",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert (lead.stage_id, lead.lost_reason_id, lead.lost_note) == (
        lost.id,
        reason.id,
        "Closed the office",
    )


def test_a_reason_is_not_kept_when_the_target_is_not_lost(logged_in, stages):
    lead = factories.lead(stage=stages[2])
    reason = db.session.scalars(lists.in_order(LostReason)).first()
    logged_in.post(
        f"/settings/stages/{stages[2].id}/remove",
        data={"target_stage_id": str(stages[3].id), "lost_reason_id": str(reason.id)},
    )
    db.session.expire_all()
    assert (lead.stage_id, lead.lost_reason_id) == (stages[3].id, None)


def test_moving_to_a_won_stage_refuses_leads_without_value_and_moves_none(logged_in, stages):
    leaving = stages[5]
    won = next(s for s in stages if s.kind == StageKind.WON)
    valued = factories.lead(stage=leaving)
    unvalued = factories.lead(stage=leaving, value=None)
    changes = count(StageChange)
    response = logged_in.post(
        f"/settings/stages/{leaving.id}/remove", data={"target_stage_id": str(won.id)}
    )
    assert response.status_code == 422
    assert f"Lead #{unvalued.number} has no value, which a won stage needs" in response.text
    db.session.expire_all()
    assert valued.stage_id == unvalued.stage_id == leaving.id
    assert count(StageChange) == changes


@pytest.mark.parametrize("target", ["", "9999", "abc", "same"])
def test_a_missing_or_tampered_target_moves_nothing(logged_in, stages, target):
    leaving = stages[1]
    lead = factories.lead(stage=leaving)
    changes = count(StageChange)
    value = str(leaving.id) if target == "same" else target
    response = logged_in.post(
        f"/settings/stages/{leaving.id}/remove", data={"target_stage_id": value}
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert lead.stage_id == leaving.id
    assert count(StageChange) == changes


def test_a_tampered_lost_reason_is_refused(logged_in, stages):
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    lead = factories.lead(stage=stages[1])
    response = logged_in.post(
        f"/settings/stages/{stages[1].id}/remove",
        data={"target_stage_id": str(lost.id), "lost_reason_id": "9999"},
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert lead.stage_id == stages[1].id


def test_a_stage_in_the_history_is_kept_and_explained(logged_in, stages):
    lead = factories.lead(stage=stages[0])
    factories.activity(lead, stage=stages[1])
    factories.activity(lead, stage=stages[2])
    page = logged_in.get(f"/settings/stages/{stages[1].id}/remove")
    assert "This stage is in the history of 1 lead; rename it instead." in page.text
    assert "Remove stage</button>" not in page.text

    response = logged_in.post(f"/settings/stages/{stages[1].id}/remove")
    assert response.status_code == 409
    assert "This stage is in the history of 1 lead; rename it instead." in response.text
    assert db.session.get(Stage, stages[1].id) is not None


def test_the_last_open_stage_cannot_be_removed(logged_in, stages):
    last = only_one_open_stage(stages)
    page = logged_in.get(f"/settings/stages/{last.id}/remove")
    assert "This is the only open stage" in page.text
    response = logged_in.post(f"/settings/stages/{last.id}/remove")
    assert response.status_code == 409
    assert "This is the only open stage: the funnel needs at least one." in response.text
    assert db.session.get(Stage, last.id) is not None


def test_moving_many_leads_goes_in_batches(logged_in, stages, monkeypatch):
    monkeypatch.setattr(lists, "MOVE_BATCH", 2)
    leads = [factories.lead(stage=stages[4]) for _ in range(5)]
    response = logged_in.post(
        f"/settings/stages/{stages[4].id}/remove", data={"target_stage_id": str(stages[0].id)}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert {lead.stage_id for lead in leads} == {stages[0].id}
    moves = db.session.scalar(
        select(func.count()).where(
            StageChange.from_stage_id == stages[4].id, StageChange.to_stage_id == stages[0].id
        )
    )
    assert moves == 5


# Activity kinds and lost reasons


def list_names(model):
    return [item.name for item in db.session.scalars(lists.in_order(model))]


def test_activity_kinds_page_lists_them_in_order(logged_in):
    page = logged_in.get("/settings/activity-kinds")
    assert page.status_code == 200
    names = re.findall(r'<span class="settings-item-name">([^<]+)</span>', page.text)
    assert names == ["Call", "Email", "Meeting", "Message", "Note"]
    assert '<label for="name">Name</label>' in page.text


def test_adding_renaming_and_reordering_an_activity_kind(logged_in):
    response = logged_in.post("/settings/activity-kinds", data={"name": " Visit "})
    assert response.status_code == 303
    assert list_names(ActivityKind)[-1] == "Visit"
    visit = db.session.scalar(select(ActivityKind).where(ActivityKind.name == "Visit"))
    assert visit.active and visit.code is None

    assert logged_in.get(f"/settings/activity-kinds/{visit.id}").status_code == 200
    logged_in.post(f"/settings/activity-kinds/{visit.id}", data={"name": "Site visit"})
    logged_in.post(f"/settings/activity-kinds/{visit.id}/move", data={"direction": "up"})
    assert list_names(ActivityKind) == ["Call", "Email", "Meeting", "Message", "Site visit", "Note"]


def test_a_renamed_kind_shows_on_old_records(logged_in, admin, stages):
    activity = factories.activity(factories.lead(stage=stages[0]), author=admin)
    logged_in.post(f"/settings/activity-kinds/{activity.kind_id}", data={"name": "Phone call"})
    db.session.expire_all()
    assert activity.kind.name == "Phone call"


def test_switching_a_kind_off_hides_it_from_pick_lists_but_not_old_records(
    logged_in, admin, stages
):
    activity = factories.activity(
        factories.lead(stage=stages[0]), author=admin, kind_code="meeting"
    )
    meeting = activity.kind
    response = logged_in.post(
        f"/settings/activity-kinds/{meeting.id}/active", data={"active": "off"}
    )
    assert response.status_code == 303
    page = logged_in.get(response.location).text
    assert "“Meeting” is switched off" in page
    assert "Switch on<span" in page
    db.session.expire_all()
    assert meeting.active is False
    offered = [k.name for k in db.session.scalars(lists.active_items(ActivityKind))]
    assert "Meeting" not in offered
    assert offered == ["Call", "Email", "Message", "Note"]
    assert activity.kind.name == "Meeting"
    assert count(ActivityKind) == 5

    logged_in.post(f"/settings/activity-kinds/{meeting.id}/active", data={"active": "on"})
    db.session.expire_all()
    assert meeting.active is True


def test_the_last_active_entry_cannot_be_switched_off(logged_in):
    kinds = db.session.scalars(lists.in_order(ActivityKind)).all()
    for kind in kinds[1:]:
        kind.active = False
    db.session.commit()
    response = logged_in.post(
        f"/settings/activity-kinds/{kinds[0].id}/active", data={"active": "off"}
    )
    assert response.status_code == 409
    assert "Keep at least one active entry in this list." in response.text
    htmx = logged_in.post(
        f"/settings/activity-kinds/{kinds[0].id}/active", data={"active": "off"}, headers=HTMX
    )
    assert htmx.status_code == 409
    assert "<html" not in htmx.text
    assert "Keep at least one active entry in this list." in htmx.text
    db.session.expire_all()
    assert kinds[0].active is True


def test_switching_with_htmx_swaps_the_list_and_keeps_focus(logged_in):
    reason = db.session.scalars(lists.in_order(LostReason)).first()
    response = logged_in.post(
        f"/settings/lost-reasons/{reason.id}/active", data={"active": "off"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<ol class="settings-list">')
    assert f'id="item-{reason.id}-active" autofocus' in response.text
    assert "Switch on<span" in response.text


def test_reordering_a_list_with_htmx(logged_in):
    reasons = db.session.scalars(lists.in_order(LostReason)).all()
    response = logged_in.post(
        f"/settings/lost-reasons/{reasons[0].id}/move", data={"direction": "down"}, headers=HTMX
    )
    assert response.status_code == 200
    assert f'id="item-{reasons[0].id}-down" autofocus' in response.text
    assert list_names(LostReason)[:2] == [reasons[1].name, reasons[0].name]


@pytest.mark.parametrize(
    ("list_name", "name", "message"),
    [
        ("activity-kinds", "", "This field is required."),
        ("activity-kinds", "  ", "This field is required."),
        ("activity-kinds", "k" * 81, "Field cannot be longer than 80 characters."),
        ("activity-kinds", "CALL", "This name is taken: choose another."),
        ("lost-reasons", "", "This field is required."),
        ("lost-reasons", "r" * 121, "Field cannot be longer than 120 characters."),
        ("lost-reasons", "no budget", "This name is taken: choose another."),
    ],
)
def test_bad_names_are_explained_and_nothing_saved(logged_in, list_name, name, message):
    before = snapshot()
    response = logged_in.post(f"/settings/{list_name}", data={"name": name})
    assert response.status_code == 422
    assert message in response.text
    model = ActivityKind if list_name == "activity-kinds" else LostReason
    first = db.session.scalars(lists.in_order(model)).first()
    other = db.session.scalars(lists.in_order(model)).all()[1]
    rename = logged_in.post(
        f"/settings/{list_name}/{first.id}",
        data={"name": other.name if "taken" in message else name},
    )
    assert rename.status_code == 422
    db.session.expire_all()
    assert snapshot() == before


def test_a_long_lost_reason_fits_its_column(logged_in):
    logged_in.post("/settings/lost-reasons", data={"name": "r" * 120})
    assert list_names(LostReason)[-1] == "r" * 120


def test_unknown_list_entries_are_404(logged_in):
    assert logged_in.get("/settings/activity-kinds/9999").status_code == 404
    assert logged_in.post("/settings/lost-reasons/9999", data={"name": "x"}).status_code == 404
    assert (
        logged_in.post("/settings/activity-kinds/9999/move", data={"direction": "up"}).status_code
        == 404
    )
    assert (
        logged_in.post("/settings/lost-reasons/9999/active", data={"active": "off"}).status_code
        == 404
    )
    assert logged_in.get("/settings/colours").status_code == 404
    assert logged_in.post("/settings/sources", data={"name": "x"}).status_code == 404


def test_ids_belong_to_their_own_list(logged_in):
    # The newest kind's id is past the last lost reason: under lost reasons it finds nothing.
    logged_in.post("/settings/activity-kinds", data={"name": "Visit"})
    visit = db.session.scalar(select(ActivityKind).where(ActivityKind.name == "Visit"))
    assert db.session.get(LostReason, visit.id) is None
    assert logged_in.get(f"/settings/lost-reasons/{visit.id}").status_code == 404
    assert logged_in.get(f"/settings/activity-kinds/{visit.id}").status_code == 200


def test_a_tampered_switch_value_is_refused(logged_in):
    kind = factories.kind("email")
    response = logged_in.post(f"/settings/activity-kinds/{kind.id}/active", data={"active": "no"})
    assert response.status_code == 422
    db.session.expire_all()
    assert kind.active is True


def test_list_page_costs_the_same_queries_with_5_or_60_entries(logged_in):
    def queries():
        with counting_queries() as statements:
            assert logged_in.get("/settings/lost-reasons").status_code == 200
        return len(statements)

    few = queries()
    for n in range(55):
        db.session.add(LostReason(name=f"Reason {n}", position=10 + n, active=n % 2 == 0))
    db.session.commit()
    assert queries() == few


# Currency


def currency(text):
    return factories.general_settings(currency=text)


def test_setting_and_clearing_the_currency(logged_in):
    page = logged_in.get("/settings/general")
    assert page.status_code == 200
    assert '<label for="currency">Currency</label>' in page.text

    response = logged_in.post("/settings/general", data=currency(" ₽ "))
    assert response.status_code == 303
    assert lists.currency() == "₽"
    assert 'value="₽"' in logged_in.get("/settings/general").text

    logged_in.post("/settings/general", data=currency("RUB"))
    assert db.session.get(AppSetting, "currency").value == "RUB"

    logged_in.post("/settings/general", data=currency(""))
    assert lists.currency() == ""
    assert count(AppSetting) >= 1


def test_a_long_currency_is_refused(logged_in):
    logged_in.post("/settings/general", data=currency("€"))
    response = logged_in.post("/settings/general", data=currency("Euro zone"))
    assert response.status_code == 422
    assert "Field cannot be longer than 8 characters." in response.text
    assert lists.currency() == "€"


def test_currency_is_empty_until_set(app, stages):
    assert lists.currency() == ""
    with pytest.raises(lists.SettingsError):
        lists.set_currency("123456789")
    assert db.session.get(AppSetting, "currency") is None


# The general settings: one form, one save


def general_values():
    db.session.expire_all()
    return (
        lists.currency(),
        lists.quiet_after_days(),
        db.session.get(AppSetting, access.SETTING),
        i18n.team_language(),
        timezones.team_zone(),
    )


def test_the_general_settings_are_one_form_with_one_save(logged_in):
    page = logged_in.get("/settings/general").text
    main = page[page.index("<main") :]
    assert main.count("<form") == 1 and main.count('type="submit"') == 1
    for name in ("currency", "quiet_after_days", "colleagues_leads", "language", "timezone"):
        assert f'name="{name}"' in main
    assert '<option selected value="UTC">' in main


def test_one_save_changes_every_general_setting(logged_in):
    form = factories.general_settings(
        currency="₽",
        quiet_after_days="21",
        colleagues_leads="hidden",
        language="ru",
        timezone="Europe/Moscow",
    )
    response = logged_in.post("/settings/general", data=form, follow_redirects=True)
    for message in (
        "Amounts are now shown in “₽”.",
        "A lead now goes quiet after 21 days without contact.",
        "Salespeople now see only their own and unclaimed leads.",
        "New accounts now start in Русский.",
        "The team&#39;s time zone is now Moscow (UTC+3).",
    ):
        assert message in response.text
    currency, days, seeing, language, zone = general_values()
    assert (currency, days, seeing.value, language, zone) == (
        "₽",
        21,
        "hidden",
        "ru",
        "Europe/Moscow",
    )
    again = logged_in.post("/settings/general", data=form, follow_redirects=True)
    assert "Nothing to change: everything was already so." in again.text
    assert "Amounts are now shown" not in again.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"currency": "Euro zone"}, "Field cannot be longer than 8 characters."),
        ({"quiet_after_days": "0"}, "Number must be between 1 and 365."),
        ({"quiet_after_days": ""}, "This field is required."),
        ({"colleagues_leads": "everything"}, "Not a valid choice."),
        ({"language": "de"}, "Not a valid choice."),
        ({"timezone": "Moon/Tranquility"}, "There is no such time zone."),
        ({"timezone": ""}, "This field is required."),
    ],
)
def test_a_bad_general_setting_is_explained_and_nothing_saved(logged_in, fields, message):
    before = general_values()
    good = {"currency": "₽", "quiet_after_days": "30", "timezone": "Europe/Moscow"}
    response = logged_in.post("/settings/general", data=factories.general_settings(**good) | fields)
    assert response.status_code == 422
    assert message in response.text
    assert general_values() == before


# The service on its own


def test_move_leads_out_refuses_its_own_stage(app, admin, stages):
    factories.lead(stage=stages[1])
    with pytest.raises(lists.SettingsError):
        lists.move_leads_out(stages[1], stages[1], admin)
    with pytest.raises(lists.SettingsError):
        lists.move_leads_out(stages[1], None, admin)


def test_stage_history_counts_leads_once(app, admin, stages):
    lead = factories.lead(stage=stages[0], value=Decimal("5"))
    factories.activity(lead, stage=stages[1])
    factories.activity(lead, stage=stages[0])
    factories.activity(lead, stage=stages[1])
    factories.lead(stage=stages[1])
    assert lists.stage_history_count(stages[1]) == 2
    assert lists.stage_in_use(stages[1])
    assert lists.lead_count(stages[1]) == 2
    assert not lists.stage_in_use(stages[6])
    assert lists.stage_history_count(stages[6]) == 0
