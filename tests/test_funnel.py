"""The funnel service: the one place that creates leads, logs contacts and moves stages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import funnel
from crm.extensions import db
from crm.models import LostReason, StageChange, utcnow
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
    assert funnel.can_change_activity(activity, admin)
    assert not funnel.can_change_activity(activity, colleague)
    assert not funnel.can_change_activity(activity, admin, now=utcnow() + timedelta(days=2))
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
