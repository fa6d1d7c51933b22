"""The lead page: header, in-place editing, the log form and the timeline."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Activity, ActivityRevision, Lead, LostReason, Role, StageChange, utcnow
from tests import factories
from tests.querycount import count_queries


@pytest.fixture
def lead(admin, stages):
    return factories.lead(
        title="ООО Ромашка",
        owner=admin,
        contact_name="Ольга Орлова",
        phone="+7 (999) 123-45-67",
        email="olga@romashka.example",
    )


def log_data(stages, **overrides):
    """The log form as a person sends it: without a day for the next step, "No next step"."""
    data = {
        "kind_id": str(factories.kind("call").id),
        "occurred_at": "2026-11-27T10:30",
        "body": "Talked about the estimate.\nCall back on Monday.",
        "stage_id": str(stages[0].id),
        "lost_reason_id": "",
    }
    if "next_step_when" not in overrides:
        data["no_next_step"] = "y"
    return data | overrides


def typed_day(page):
    """What the log form's next step field shows."""
    tag = re.search(r'<input[^>]*name="next_step_when"[^>]*>', page).group()
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def test_lead_page_shows_the_header_and_contact_links(logged_in, lead):
    page = logged_in.get(f"/leads/{lead.number}")
    assert page.status_code == 200
    assert f"#{lead.number}" in page.text
    assert "ООО Ромашка" in page.text
    assert f'id="lead-{lead.id}-stage"' in page.text
    assert 'href="tel:+79991234567"' in page.text
    assert 'href="mailto:olga@romashka.example"' in page.text
    assert '<label for="log-body">What was said</label>' in page.text


def test_unknown_lead_is_404(logged_in):
    assert logged_in.get("/leads/999").status_code == 404


def test_logging_a_call_with_htmx_appends_and_updates_in_place(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    data = log_data(
        stages,
        stage_id=str(stages[1].id),
        next_step_when="2030-12-01",
        next_step_note="Send the estimate",
    )
    response = hx.post(f"/leads/{lead.number}/log", data=data)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Talked about the estimate." in response.text
    assert (
        f'<span class="badge stage-{stages[1].id}" id="lead-{lead.id}-stage" hx-swap-oob="true">'
        in response.text
    )
    assert f'id="lead-{lead.id}-next-step" hx-swap-oob="true"' in response.text
    assert 'id="log-form"' in response.text and "data-autofocus" in response.text
    assert "Contact logged." in response.text

    db.session.refresh(lead)
    assert lead.stage_id == stages[1].id
    assert lead.next_step_note == "Send the estimate"
    activity = db.session.scalar(select(Activity).where(Activity.lead_id == lead.id))
    assert activity.stage_after_id == stages[1].id
    assert lead.last_activity_id == activity.id
    change = db.session.scalar(select(StageChange).where(StageChange.activity_id == activity.id))
    assert (change.from_stage_id, change.to_stage_id) == (stages[0].id, stages[1].id)


def test_logging_without_javascript_redirects_back(logged_in, lead, stages):
    response = logged_in.post(f"/leads/{lead.number}/log", data=log_data(stages))
    assert response.status_code == 303
    assert response.location == f"/leads/{lead.number}"
    page = logged_in.get(response.location).text
    assert "Contact logged." in page
    assert "Talked about the estimate." in page


def test_a_contact_on_an_overdue_lead_asks_for_the_next_step(logged_in, admin, stages):
    due = utcnow().replace(second=0, microsecond=0) - timedelta(days=5)
    lead = factories.lead(owner=admin, next_step_at=due, next_step_note="Call about the estimate")
    page = logged_in.get(f"/leads/{lead.number}").text
    assert "this contact answers it. Plan the next one, or tick “No next step”." in page
    assert typed_day(page) == ""
    assert ">Keep <" not in page and "Call about the estimate" not in page.split("log-form")[1]

    # Logging the call and moving the lead on, with nothing said about what comes next.
    data = log_data(stages, stage_id=str(stages[1].id), no_next_step="", body="Asked for a quote")
    refused = logged_in.post(f"/leads/{lead.number}/log", data=data)
    assert refused.status_code == 422
    assert (
        '<p class="error" id="log-next-step-when-error">'
        "Plan the next step, or say there is none.</p>" in refused.text
    )
    assert "Asked for a quote" in refused.text
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    db.session.refresh(lead)
    assert (lead.stage_id, lead.next_step_at) == (stages[0].id, due)

    saved = logged_in.post(f"/leads/{lead.number}/log", data=data | {"no_next_step": "y"})
    assert saved.status_code == 303
    db.session.refresh(lead)
    assert (lead.stage_id, lead.next_step_at, lead.next_step_note) == (stages[1].id, None, None)


def test_a_refused_next_step_comes_back_with_htmx_in_the_form(hx, admin, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    lead = factories.lead(owner=admin, next_step_at=utcnow() - timedelta(days=1))
    data = log_data(stages, no_next_step="")
    response = hx.post(f"/leads/{lead.number}/log", data=data)
    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form")
    field = re.search(r'<input[^>]*name="next_step_when"[^>]*>', response.text).group()
    assert 'aria-invalid="true"' in field
    assert "log-next-step-when-error" in field
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0

    response = hx.post(f"/leads/{lead.number}/log", data=data | {"next_step_when": "+1 10:00"})
    assert response.status_code == 200
    db.session.refresh(lead)
    assert lead.next_step_at > utcnow()


def test_a_contact_that_wins_the_lead_needs_no_next_step(logged_in, admin, stages):
    lead = factories.lead(owner=admin, next_step_at=utcnow() - timedelta(days=1))
    won = stages[-2]
    # What was left in the next step's fields (hidden for a won lead) is not held against it.
    data = log_data(stages, stage_id=str(won.id), no_next_step="", next_step_when="someday")
    assert logged_in.post(f"/leads/{lead.number}/log", data=data).status_code == 303
    db.session.refresh(lead)
    assert (lead.stage_id, lead.next_step_at) == (won.id, None)


def test_moving_to_lost_needs_a_reason(logged_in, lead, stages):
    lost = stages[-1]
    response = logged_in.post(
        f"/leads/{lead.number}/log", data=log_data(stages, stage_id=str(lost.id))
    )
    assert response.status_code == 422
    assert "Say why the lead was lost." in response.text
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
    db.session.refresh(lead)
    assert lead.stage_id == stages[0].id

    reason = db.session.scalar(select(LostReason).limit(1))
    response = logged_in.post(
        f"/leads/{lead.number}/log",
        data=log_data(
            stages,
            stage_id=str(lost.id),
            lost_reason_id=str(reason.id),
            lost_note="Went with a cheaper studio",
        ),
    )
    assert response.status_code == 303
    db.session.refresh(lead)
    assert (lead.stage_id, lead.lost_reason_id) == (lost.id, reason.id)
    assert lead.next_step_at is None


def test_moving_to_won_asks_for_the_value_when_empty(logged_in, admin, stages):
    lead = factories.lead(owner=admin, value=None)
    won = stages[-2]
    response = logged_in.post(
        f"/leads/{lead.number}/log", data=log_data(stages, stage_id=str(won.id))
    )
    assert response.status_code == 422
    assert "Enter the final value of the deal." in response.text
    response = logged_in.post(
        f"/leads/{lead.number}/log", data=log_data(stages, stage_id=str(won.id), value="150000.50")
    )
    assert response.status_code == 303
    db.session.refresh(lead)
    assert str(lead.value) == "150000.50"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body", "x" * 10_000, "Field cannot be longer than 8000 characters."),
        ("occurred_at", "yesterday-ish", "Not a valid datetime value."),
        ("stage_id", "99999", "Not a valid choice."),
        ("stage_id", "nonsense", "Not a valid choice."),
        ("kind_id", "99999", "Not a valid choice."),
        ("next_step_when", "31.02.2030", "Not understood."),
        ("next_step_when", "tomorrow at teatime", "Not understood."),
        ("next_step_when", "01.01.2020", "That moment has passed"),
        ("value", "-5", "Number must be between 0 and"),
        ("value", "sNaN", "Enter an amount of zero or more."),
        ("value", "Infinity", "Enter an amount of zero or more."),
    ],
)
def test_bad_log_input_is_refused_and_nothing_saved(logged_in, lead, stages, field, value, message):
    response = logged_in.post(f"/leads/{lead.number}/log", data=log_data(stages, **{field: value}))
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0


def test_bad_log_input_with_htmx_returns_the_form(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    response = hx.post(f"/leads/{lead.number}/log", data=log_data(stages, body="x" * 9000))
    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form")
    assert 'aria-invalid="true"' in response.text


def test_future_contact_is_refused(logged_in, lead, stages):
    later = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = logged_in.post(f"/leads/{lead.number}/log", data=log_data(stages, occurred_at=later))
    assert response.status_code == 422
    assert "A contact cannot be in the future." in response.text


def test_timeline_is_newest_first_and_pages(logged_in, admin, lead):
    start = utcnow() - timedelta(days=60)
    for n in range(45):
        factories.activity(
            lead, admin, body=f"Call number {n}", occurred_at=start + timedelta(days=n)
        )
    page = logged_in.get(f"/leads/{lead.number}").text
    assert page.index("Call number 44") < page.index("Call number 43")
    assert "Call number 24" not in page
    assert "Load older" in page

    seen = []
    url = f"/leads/{lead.number}"
    while True:
        text = logged_in.get(url, headers={"HX-Request": "true"} if seen else {}).text
        seen += [n for n in range(45) if f"Call number {n}<" in text]
        if "Load older" not in text:
            break
        start_at = text.index("/timeline?before=")
        url = f"/leads/{lead.number}" + text[start_at : text.index('"', start_at)].replace(
            "&amp;", "&"
        )
    assert sorted(seen) == list(range(45))
    assert len(seen) == len(set(seen))


def test_lead_page_queries_do_not_grow_with_history(logged_in, admin, stages):
    small, big = factories.lead(owner=admin), factories.lead(owner=admin)
    start = utcnow() - timedelta(days=30)
    for n in range(10):
        factories.activity(
            small, admin, occurred_at=start + timedelta(hours=n), stage=stages[n % 3]
        )
    for n in range(300):
        factories.activity(
            big, admin, occurred_at=start + timedelta(minutes=n), stage=stages[n % 3]
        )
    assert count_queries(logged_in, f"/leads/{small.number}") == count_queries(
        logged_in, f"/leads/{big.number}"
    )


def test_edit_details_in_place(hx, admin, lead):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    form = hx.get(f"/leads/{lead.number}/details")
    assert form.status_code == 200 and "<html" not in form.text
    assert 'value="ООО Ромашка"' in form.text
    response = hx.post(
        f"/leads/{lead.number}/details",
        data={
            "title": "ООО Ромашка-2",
            "phone": "8 999 000-00-00",
            "email": "new@example.com",
            "value": "5000",
            "owner_id": str(admin.id),
        },
    )
    assert response.status_code == 200
    assert 'id="lead-summary"' in response.text and "ООО Ромашка-2" in response.text
    db.session.refresh(lead)
    assert (lead.phone, lead.phone_digits, lead.email) == (
        "8 999 000-00-00",
        "89990000000",
        "new@example.com",
    )
    assert "ромашка-2" in lead.search_text


def test_edit_details_refuses_bad_input(logged_in, lead):
    response = logged_in.post(f"/leads/{lead.number}/details", data={"title": "", "email": "nope"})
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert "Invalid email address." in response.text
    response = logged_in.post(
        f"/leads/{lead.number}/details", data={"title": "X", "owner_id": "999"}
    )
    assert response.status_code == 422
    db.session.refresh(lead)
    assert lead.title == "ООО Ромашка"


def test_archive_and_restore_keep_history(logged_in, admin, lead):
    factories.activity(lead, admin)
    logged_in.post(f"/leads/{lead.number}/archive")
    db.session.refresh(lead)
    assert lead.archived
    page = logged_in.get(f"/leads/{lead.number}").text
    assert "Archived" in page and "Talked." in page
    logged_in.post(f"/leads/{lead.number}/archive", data={"restore": "1"})
    db.session.refresh(lead)
    assert not lead.archived


def test_author_edits_and_deletes_own_activity_keeping_history(logged_in, admin, lead):
    activity = factories.activity(lead, admin, body="First wording")
    response = logged_in.post(
        f"/leads/{lead.number}/activities/{activity.id}",
        data={
            "kind_id": str(activity.kind_id),
            "occurred_at": "2026-11-26T09:00",
            "body": "Better wording",
        },
    )
    assert response.status_code == 303
    db.session.refresh(activity)
    assert activity.body == "Better wording" and activity.edited_at is not None
    logged_in.post(f"/leads/{lead.number}/activities/{activity.id}/delete")
    db.session.refresh(activity)
    assert activity.deleted_at is not None
    bodies = db.session.scalars(select(ActivityRevision.body).order_by(ActivityRevision.id)).all()
    assert bodies == ["First wording", "Better wording"]
    assert "Better wording" not in logged_in.get(f"/leads/{lead.number}").text


def test_another_users_activity_cannot_be_changed(logged_in, lead):
    colleague = factories.user(role=Role.MANAGER)
    theirs = factories.activity(lead, colleague, body="Their note")
    assert logged_in.get(f"/leads/{lead.number}/activities/{theirs.id}").status_code == 403
    assert logged_in.post(f"/leads/{lead.number}/activities/{theirs.id}/delete").status_code == 403
    db.session.refresh(theirs)
    assert theirs.deleted_at is None


def test_activity_of_another_lead_is_404(logged_in, admin, lead):
    other = factories.lead(owner=admin)
    activity = factories.activity(other, admin)
    assert logged_in.get(f"/leads/{lead.number}/activities/{activity.id}").status_code == 404


def test_old_activity_can_no_longer_be_edited(logged_in, admin, lead):
    activity = factories.activity(lead, admin)
    activity.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    assert logged_in.get(f"/leads/{lead.number}/activities/{activity.id}").status_code == 403


def test_lead_numbers_show_as_a_sequence(app, admin, stages):
    numbers = [factories.lead(owner=admin).number for _ in range(3)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 3


def test_logging_keeps_the_planned_next_step_unless_changed(logged_in, admin, stages):
    planned = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    lead = factories.lead(owner=admin, next_step_at=planned, next_step_note="Send offer")
    page = logged_in.get(f"/leads/{lead.number}").text
    shown = typed_day(page)
    assert shown == f"{planned.day} {planned:%b %Y}"
    assert f'data-typed="{shown}" aria-pressed="true">Keep' in page
    data = log_data(stages, next_step_when=shown, next_step_note="Send offer")
    assert logged_in.post(f"/leads/{lead.number}/log", data=data).status_code == 303
    db.session.refresh(lead)
    assert (lead.next_step_at, lead.next_step_note) == (planned, "Send offer")


def test_deleted_activity_leaves_its_stage_change_in_the_timeline(logged_in, admin, lead, stages):
    moved = factories.activity(lead, admin, body="Moved it", stage=stages[2])
    logged_in.post(f"/leads/{lead.number}/activities/{moved.id}/delete")
    page = logged_in.get(f"/leads/{lead.number}").text
    assert "Moved it" not in page
    assert f'<span class="badge stage-{stages[2].id}">' in page


def test_backdated_contact_takes_its_place_in_the_timeline(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    factories.activity(
        lead, admin, body="Call of yesterday", occurred_at=utcnow() - timedelta(days=1)
    )
    response = hx.post(
        f"/leads/{lead.number}/log",
        data=log_data(stages, occurred_at="2020-01-02T10:00", body="An old meeting"),
    )
    assert response.text.index("Call of yesterday") < response.text.index("An old meeting")
    # Drawn afresh in place, not put on top.
    assert "HX-Reswap" not in response.headers


def test_a_contact_logged_now_is_put_on_top_alone(hx, admin, lead, stages):
    """The usual case costs one timeline entry, not the page: it goes on top as it is."""
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    factories.activity(
        lead, admin, body="Call of yesterday", occurred_at=utcnow() - timedelta(days=2)
    )
    # The time the form offered, left as it was: the contact takes this very moment.
    offered = utcnow().strftime("%Y-%m-%dT%H:%M")
    data = log_data(stages, body="Just now", occurred_at=offered, offered_time=offered)
    response = hx.post(f"/leads/{lead.number}/log", data=data)
    assert response.headers["HX-Retarget"] == "#timeline-items"
    assert response.headers["HX-Reswap"] == "afterbegin"
    assert "Just now" in response.text
    assert "Call of yesterday" not in response.text
    assert response.text.count('<li class="item') == 1


@pytest.mark.parametrize(
    "path",
    [
        "/leads/99999999999999999999",
        "/leads/1/activities/99999999999999999999",
    ],
)
def test_huge_ids_are_404(logged_in, lead, path):
    assert logged_in.get(path).status_code == 404


def test_broken_timeline_cursor_is_400(logged_in, lead):
    url = f"/leads/{lead.number}/timeline?before=2024-01-01T00:00:00~1~99999999999999999999"
    assert logged_in.get(url).status_code == 400


def test_dates_out_of_range_are_refused(logged_in, admin, lead, stages):
    admin.timezone = "Asia/Tokyo"
    db.session.commit()
    response = logged_in.post(
        f"/leads/{lead.number}/log", data=log_data(stages, occurred_at="0001-01-01T00:00")
    )
    assert response.status_code == 422
    assert "Enter a date between 1900 and 2999." in response.text
    response = logged_in.post(
        f"/leads/{lead.number}/log", data=log_data(stages, next_step_when="31.12.9999")
    )
    assert response.status_code == 422
    assert "Not understood." in response.text


def test_the_offered_time_left_unchanged_means_now(logged_in, lead, stages):
    page = logged_in.get(f"/leads/{lead.number}").text
    marker = 'name="offered_time" type="hidden" value="'
    offered = page[page.index(marker) + len(marker) :].split('"')[0]
    before = utcnow()
    data = log_data(stages, occurred_at=offered[:16], offered_time=offered)
    logged_in.post(f"/leads/{lead.number}/log", data=data)
    activity = db.session.scalar(select(Activity).where(Activity.lead_id == lead.id))
    assert activity.occurred_at >= before
