"""The funnel service: the one place that creates leads, logs contacts and moves stages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import access, funnel
from crm.extensions import db
from crm.models import Activity, Lead, LostReason, PlannedStep, StageChange, utcnow
from crm.timezones import day_bounds, local_today
from tests import factories


def changes_of(lead):
    return db.session.execute(
        select(StageChange.from_stage_id, StageChange.to_stage_id)
        .where(StageChange.lead_id == lead.id)
        .order_by(StageChange.id)
    ).all()


def test_create_lead_records_its_entry_into_the_funnel(admin, stages):
    lead = funnel.create_lead(
        admin, title="  Acme  ", phone="+7 (999) 123-45-67", email="Sales@Acme.example"
    )
    db.session.commit()
    assert (lead.title, lead.phone_digits, lead.email) == (
        "Acme",
        "79991234567",
        "sales@acme.example",
    )
    assert lead.stage_id == stages[0].id and lead.owner_id == admin.id
    assert "acme" in lead.search_text and f"#{lead.number}" in lead.search_text
    assert changes_of(lead) == [(None, stages[0].id)]


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Ok", "value": Decimal("-1")}, "value"),
        ({"title": "Ok", "next_step_note": "n" * 501}, "next_step_note"),
    ],
)
def test_create_lead_refuses_bad_details(admin, stages, details, field):
    with pytest.raises(funnel.FunnelError) as refused:
        funnel.create_lead(admin, **details)
    assert refused.value.field == field


def test_move_lead_writes_one_change_and_skips_no_op(admin, stages):
    lead = factories.lead(owner=admin)
    assert funnel.move_lead(lead, stages[0], admin) is None
    change = funnel.move_lead(lead, stages[3], admin)
    db.session.commit()
    assert (change.from_stage_id, change.to_stage_id) == (stages[0].id, stages[3].id)
    assert lead.stage_changed_at == change.changed_at
    assert changes_of(lead) == [(None, stages[0].id), (stages[0].id, stages[3].id)]


def test_lost_needs_a_reason_and_ends_the_next_step(admin, stages):
    lead = factories.lead(owner=admin, next_step_at=utcnow(), next_step_note="Call")
    lost = stages[-1]
    with pytest.raises(funnel.FunnelError):
        funnel.move_lead(lead, lost, admin)
    reason = db.session.scalar(select(LostReason).limit(1))
    funnel.move_lead(lead, lost, admin, lost_reason=reason, lost_note="Too pricey")
    assert (lead.lost_reason_id, lead.lost_note, lead.next_step_at) == (
        reason.id,
        "Too pricey",
        None,
    )
    # Revived: the reason no longer applies.
    funnel.move_lead(lead, stages[1], admin)
    assert lead.lost_reason_id is None


def test_won_needs_a_value(admin, stages):
    lead = factories.lead(owner=admin, value=None)
    with pytest.raises(funnel.FunnelError) as refused:
        funnel.move_lead(lead, stages[-2], admin)
    assert refused.value.field == "value"
    funnel.move_lead(lead, stages[-2], admin, value=Decimal("1200"))
    assert lead.value == Decimal("1200.00")


def test_last_contact_is_the_newest_even_when_logged_out_of_order(admin, stages):
    lead = factories.lead(owner=admin)
    newer = factories.activity(lead, admin, occurred_at=utcnow() - timedelta(hours=1))
    factories.activity(lead, admin, occurred_at=utcnow() - timedelta(days=3))
    assert lead.last_activity_id == newer.id
    funnel.delete_activity(newer, admin)
    db.session.commit()
    assert lead.last_activity_id != newer.id and lead.last_activity_at < newer.occurred_at


def test_only_the_author_changes_an_activity_within_a_day(admin, stages):
    lead = factories.lead(owner=admin)
    activity = factories.activity(lead, admin)
    colleague = factories.user()
    assert access.can_change_activity(activity, admin)
    assert not access.can_change_activity(activity, colleague)
    assert not access.can_change_activity(activity, admin, now=utcnow() + timedelta(days=2))
    with pytest.raises(funnel.FunnelError):
        funnel.edit_activity(activity, colleague, activity.kind, "changed", activity.occurred_at)


def test_phone_tail_matches_across_formats():
    assert funnel.phone_tail("+7 (999) 123-45-67") == funnel.phone_tail("8 999 123 45 67")
    assert funnel.phone_tail("no digits") is None


def test_only_the_funnel_service_moves_leads():
    """Stage changes are written in one place (the demo generator bulk-loads history)."""
    import re
    from pathlib import Path

    writes = re.compile(r"(?<!class )StageChange\(|\.stage_id = ")
    allowed = {"funnel.py"}
    package = Path(funnel.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name not in allowed
        and "migrations" not in path.parts
        and writes.search(path.read_text())
    ]
    assert offenders == []


# The history of next steps


def steps_of(lead):
    """(due, note, ended, ended by, kept by, owner) of each step planned for `lead`."""
    db.session.flush()
    return db.session.execute(
        select(
            PlannedStep.due_at,
            PlannedStep.note,
            PlannedStep.ended_at.is_not(None),
            PlannedStep.ended_by_activity_id,
            PlannedStep.kept_by_activity_id,
            PlannedStep.owner_id,
        )
        .where(PlannedStep.lead_id == lead.id)
        .order_by(PlannedStep.id)
    ).all()


def hours_from_now(hours):
    return utcnow().replace(microsecond=0) + timedelta(hours=hours)


def test_a_new_lead_plans_its_first_step(admin, stages):
    due = hours_from_now(5)
    lead = funnel.create_lead(admin, title="Acme", next_step_at=due, next_step_note="Call")
    without = funnel.create_lead(admin, title="Quiet")
    step = db.session.scalar(select(PlannedStep).where(PlannedStep.lead_id == lead.id))
    assert (step.due_at, step.note, step.owner_id, step.planned_by_id) == (
        due,
        "Call",
        admin.id,
        admin.id,
    )
    assert step.ended_at is None and step.planned_at <= utcnow()
    assert steps_of(without) == []


def test_moving_a_step_keeps_the_one_before(admin, stages):
    first, second = hours_from_now(-3), hours_from_now(20)
    lead = factories.lead(owner=admin, next_step_at=first, next_step_note="Call")
    funnel.reschedule(lead, admin, second)
    assert steps_of(lead) == [
        (first, "Call", True, None, None, admin.id),
        (second, "Call", False, None, None, admin.id),
    ]
    # The same moment again changes nothing; a new note is the same step corrected.
    funnel.reschedule(lead, admin, second)
    funnel.update_lead(lead, admin, next_step_at=second, next_step_note="Call the boss")
    assert steps_of(lead)[1:] == [(second, "Call the boss", False, None, None, admin.id)]
    funnel.update_lead(lead, admin, next_step_at=None)
    assert [ended for _due, _note, ended, *_rest in steps_of(lead)] == [True, True]
    assert lead.next_step_at is None


def test_a_contact_answers_and_replaces_steps(admin, stages):
    due, after = hours_from_now(-5), hours_from_now(48)
    lead = factories.lead(owner=admin, next_step_at=due, next_step_note="Call")
    # Requests that came in by themselves: they leave the step as it stands, where a person
    # logging a contact would have to plan the next.
    early = factories.activity(lead, occurred_at=due - timedelta(hours=1))
    assert steps_of(lead) == [(due, "Call", False, None, None, admin.id)]
    late = factories.activity(lead, occurred_at=due + timedelta(hours=2))
    assert steps_of(lead) == [(due, "Call", False, None, late.id, admin.id)]
    replacing = factories.activity(
        lead, admin, occurred_at=hours_from_now(-1), next_step_at=after, next_step_note="Visit"
    )
    assert steps_of(lead) == [
        (due, "Call", True, replacing.id, late.id, admin.id),
        (after, "Visit", False, None, None, admin.id),
    ]
    assert early.id not in {row[4] for row in steps_of(lead)}


def test_deleting_or_moving_a_contact_finds_the_answer_again(admin, stages):
    due = hours_from_now(-5)
    lead = factories.lead(owner=admin, next_step_at=due)
    first = factories.activity(lead, admin, occurred_at=due + timedelta(hours=1))
    second = factories.activity(lead, admin, occurred_at=due + timedelta(hours=2))
    assert steps_of(lead)[0][4] == first.id
    funnel.delete_activity(first, admin)
    assert steps_of(lead)[0][4] == second.id
    funnel.edit_activity(second, admin, second.kind, second.body, due - timedelta(hours=1))
    assert steps_of(lead)[0][4] is None
    funnel.edit_activity(second, admin, second.kind, second.body, due)
    assert steps_of(lead)[0][4] == second.id


def test_closing_a_lead_ends_its_step(admin, stages):
    reason = db.session.scalar(select(LostReason).limit(1))
    on_board = factories.lead(owner=admin, next_step_at=hours_from_now(2))
    funnel.move_lead(on_board, stages[-1], admin, lost_reason=reason)
    by_contact = factories.lead(owner=admin, next_step_at=hours_from_now(2))
    won = factories.activity(by_contact, admin, stage=stages[-2])
    assert [row[2:5] for row in steps_of(on_board)] == [(True, None, None)]
    assert [row[2:5] for row in steps_of(by_contact)] == [(True, won.id, won.id)]
    # A closed lead plans no steps.
    funnel.update_lead(on_board, admin, next_step_at=hours_from_now(30))
    assert len(steps_of(on_board)) == 1


def test_a_step_changes_hands_until_it_is_due(admin, stages):
    colleague = factories.user()
    coming = factories.lead(owner=admin, next_step_at=hours_from_now(3))
    passed = factories.lead(owner=admin, next_step_at=hours_from_now(-3))
    for lead in (coming, passed):
        funnel.update_lead(lead, admin, owner_id=colleague.id)
    assert steps_of(coming)[0][5] == colleague.id
    assert steps_of(passed)[0][5] == admin.id
    funnel.reschedule(passed, admin, hours_from_now(5))
    assert steps_of(passed)[1][5] == colleague.id


# A contact answers the step that was due: a person's contact never leaves an open lead with
# a step already due, nor without one unless they said so.


def log(lead, actor, **choice):
    return funnel.log_activity(lead, actor, factories.kind(), "Talked.", **choice)


def contacts_of(lead):
    return db.session.scalars(select(Activity.id).where(Activity.lead_id == lead.id)).all()


@pytest.mark.parametrize(
    ("planned", "choice", "message"),
    [
        (-3, {}, "The planned next step is due"),
        (None, {}, "Plan the next step, or say there is none."),
        (-3, {"next_step_at": None}, "Plan the next step, or say there is none."),
        (5, {"next_step_at": None}, "Plan the next step, or say there is none."),
        (None, {"next_step_at": -1}, "The next step cannot be in the past."),
        (-3, {"next_step_at": -3}, "The next step cannot be in the past."),
    ],
)
def test_a_contact_that_leaves_no_step_ahead_is_refused(admin, stages, planned, choice, message):
    due = None if planned is None else hours_from_now(planned)
    lead = factories.lead(owner=admin, next_step_at=due)
    if choice.get("next_step_at") is not None:
        choice = {"next_step_at": hours_from_now(choice["next_step_at"])}
    with pytest.raises(funnel.FunnelError, match=message) as refused:
        log(lead, admin, **choice)
    assert refused.value.field == "next_step_at"
    db.session.rollback()
    assert contacts_of(lead) == []
    assert db.session.get(Lead, lead.id).next_step_at == due


def test_a_step_ahead_is_kept_or_replaced(admin, stages):
    ahead, later = hours_from_now(5), hours_from_now(48)
    lead = factories.lead(owner=admin, next_step_at=ahead, next_step_note="Call")
    log(lead, admin)
    assert (lead.next_step_at, lead.next_step_note) == (ahead, "Call")
    log(lead, admin, next_step_at=later, next_step_note="Visit")
    assert (lead.next_step_at, lead.next_step_note) == (later, "Visit")


def test_a_step_for_the_whole_of_today_counts_as_ahead(admin, stages):
    today = day_bounds(local_today())[0]
    lead = factories.lead(owner=admin, next_step_at=hours_from_now(-30))
    log(lead, admin, next_step_at=today, next_step_note="Call back this afternoon")
    assert lead.next_step_at == today
    # Kept as it is, though, the whole day's step is one this contact answers.
    with pytest.raises(funnel.FunnelError, match="The planned next step is due"):
        log(lead, admin)


def test_no_next_step_said_clears_the_step(admin, stages):
    lead = factories.lead(owner=admin, next_step_at=hours_from_now(-3), next_step_note="Call")
    said = log(lead, admin, no_next_step=True)
    assert (lead.next_step_at, lead.next_step_note) == (None, None)
    assert steps_of(lead)[0][2:4] == (True, said.id)
    log(lead, admin, no_next_step=True)
    assert len(contacts_of(lead)) == 2


def test_no_next_step_and_a_step_at_once_is_refused(admin, stages):
    lead = factories.lead(owner=admin)
    with pytest.raises(funnel.FunnelError) as refused:
        log(lead, admin, next_step_at=hours_from_now(5), no_next_step=True)
    assert refused.value.field == "no_next_step"


def test_a_won_or_lost_lead_needs_no_step(admin, stages):
    reason = db.session.scalar(select(LostReason).limit(1))
    won, lost = stages[-2], stages[-1]
    winning = factories.lead(owner=admin, next_step_at=hours_from_now(-3))
    log(winning, admin, stage=won)
    losing = factories.lead(owner=admin)
    log(losing, admin, stage=lost, lost_reason=reason)
    assert (winning.next_step_at, losing.next_step_at) == (None, None)
    # After the sale, a call on a won lead asks for nothing either.
    log(winning, admin)
    assert len(contacts_of(winning)) == 2


def test_a_request_that_came_in_by_itself_leaves_the_step_to_a_person(admin, stages):
    due = hours_from_now(-3)
    lead = factories.lead(owner=admin, next_step_at=due)
    log(lead, None)
    assert lead.next_step_at == due


def test_only_the_funnel_service_sets_next_steps():
    """The history of steps is written where the steps are (the demo bulk-loads both)."""
    import re
    from pathlib import Path

    writes = re.compile(r"\.next_step_(at|note) = |(?<!class )PlannedStep\(")
    package = Path(funnel.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name not in {"funnel.py", "models.py"}
        and "migrations" not in path.parts
        and writes.search(path.read_text())
    ]
    assert offenders == []
