"""Managers hand leads over: one on its page, or every lead the list's filters match."""

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import AuditEntry, Lead, PlannedStep, Role, utcnow
from tests import factories
from tests.test_audit import log_in


@pytest.fixture
def team(app, stages):
    class Team:
        manager = factories.user(name="Max Manager", role=Role.MANAGER)
        sam = factories.user(name="Sam Seller")
        sue = factories.user(name="Sue Seller")

    return Team


def owners(numbers):
    rows = db.session.execute(select(Lead.number, Lead.owner_id).where(Lead.number.in_(numbers)))
    return dict(rows.all())


def test_a_manager_reassigns_every_lead_the_filter_matches(client, team):
    ours = [factories.lead(title=f"Acme branch {n}", owner=team.sam) for n in range(3)]
    other = factories.lead(title="Bolt Corp", owner=team.sam)
    log_in(client, team.manager)
    page = client.get("/leads/", query_string={"q": "Acme"}).text
    assert "Reassign these 3 leads" in page
    response = client.post(
        "/leads/reassign?q=Acme", data={"owner_id": team.sue.id, "expected": "3"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/leads/?q=Acme")
    assert "3 leads now belong to Sue Seller." in client.get(response.headers["Location"]).text
    numbers = [lead.number for lead in ours]
    assert set(owners(numbers).values()) == {team.sue.id}
    assert owners([other.number]) == {other.number: team.sam.id}
    recorded = db.session.scalars(
        select(AuditEntry).where(AuditEntry.field == "owner_id", AuditEntry.action == "changed")
    ).all()
    assert len(recorded) == 3
    assert {(e.old, e.new, e.actor_id) for e in recorded} == {
        (str(team.sam.id), str(team.sue.id), team.manager.id)
    }


def test_a_planned_step_goes_along_with_the_lead(client, team):
    from datetime import timedelta

    lead = factories.lead(title="Acme", owner=team.sam, next_step_at=utcnow() + timedelta(days=2))
    log_in(client, team.manager)
    client.post("/leads/reassign?q=Acme", data={"owner_id": team.sue.id, "expected": "1"})
    step = db.session.scalar(select(PlannedStep).where(PlannedStep.lead_id == lead.id))
    assert step.owner_id == team.sue.id


def test_leads_can_be_left_unclaimed(client, team):
    lead = factories.lead(title="Acme", owner=team.sam)
    log_in(client, team.manager)
    response = client.post("/leads/reassign?q=Acme", data={"owner_id": "", "expected": "1"})
    assert response.status_code == 303
    assert owners([lead.number]) == {lead.number: None}


def test_a_list_that_changed_meanwhile_changes_nothing(client, team):
    lead = factories.lead(title="Acme", owner=team.sam)
    log_in(client, team.manager)
    response = client.post(
        "/leads/reassign?q=Acme", data={"owner_id": team.sue.id, "expected": "2"}
    )
    assert response.status_code == 409
    assert "The list changed meanwhile" in response.text
    assert owners([lead.number]) == {lead.number: team.sam.id}


def test_an_unknown_owner_is_refused(client, team):
    lead = factories.lead(title="Acme", owner=team.sam)
    log_in(client, team.manager)
    response = client.post("/leads/reassign?q=Acme", data={"owner_id": "99999", "expected": "1"})
    assert response.status_code == 422
    assert "Choose someone from the list." in response.text
    assert owners([lead.number]) == {lead.number: team.sam.id}


def test_salespeople_are_not_offered_the_bulk_reassign(client, team):
    factories.lead(title="Acme", owner=team.sam)
    log_in(client, team.sam)
    assert "Reassign" not in client.get("/leads/").text
