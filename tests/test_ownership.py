"""One ownership rule on every path: a salesperson's leads are their own or nobody's; only
managers and administrators give a lead to someone else."""

import pytest
from sqlalchemy import func, select

from crm import funnel
from crm.extensions import db
from crm.models import Lead, Role
from tests import factories
from tests.test_api import token_for


@pytest.fixture
def sam(app, stages):
    return factories.user(name="Sam", email="sam@example.com")


@pytest.fixture
def sue(app, stages):
    return factories.user(name="Sue", email="sue@example.com")


def leads():
    return db.session.scalar(select(func.count()).select_from(Lead))


def owner_of(lead):
    db.session.expire_all()
    return db.session.get(Lead, lead.id).owner_id


def test_a_salesperson_cannot_enter_a_lead_for_a_colleague(client, auth, sam, sue, stages):
    auth.login(sam.email)
    form = client.get("/leads/new").text
    assert ">Sue</option>" not in form and ">Sam</option>" in form
    before = leads()
    answer = client.post(
        "/leads/new", data={"title": "Acme", "owner_id": sue.id, "stage_id": stages[0].id}
    )
    assert answer.status_code == 422
    assert leads() == before
    mine = client.post(
        "/leads/new", data={"title": "Acme", "owner_id": sam.id, "stage_id": stages[0].id}
    )
    assert mine.status_code == 303


def test_a_salesperson_cannot_hand_their_lead_to_a_colleague(client, auth, sam, sue, stages):
    lead = factories.lead("Acme", owner=sam, stage=stages[0])
    auth.login(sam.email)
    answer = client.post(
        f"/leads/{lead.number}/details", data={"title": "Acme", "owner_id": sue.id}
    )
    assert answer.status_code == 422
    assert owner_of(lead) == sam.id
    # Leaving it to nobody is theirs to do.
    client.post(f"/leads/{lead.number}/details", data={"title": "Acme", "owner_id": ""})
    assert owner_of(lead) is None


def test_the_api_holds_the_same_rule(client, sam, sue, stages):
    lead = factories.lead("Acme", owner=sam, stage=stages[0])
    headers = {"Authorization": f"Bearer {token_for(sam)}"}
    answer = client.patch(
        f"/api/v1/leads/{lead.number}", json={"owner_id": sue.id}, headers=headers
    )
    assert answer.status_code == 403
    assert owner_of(lead) == sam.id


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_give_leads_to_anyone(client, auth, sam, sue, stages, role):
    boss = factories.user(name="Boss", email="boss@example.com", role=role)
    lead = factories.lead("Acme", owner=sam, stage=stages[0])
    auth.login(boss.email)
    client.post(f"/leads/{lead.number}/details", data={"title": "Acme", "owner_id": sue.id})
    assert owner_of(lead) == sue.id


def test_the_service_itself_refuses(sam, sue, stages):
    lead = factories.lead("Acme", owner=sam, stage=stages[0])
    with pytest.raises(funnel.NotAllowed):
        funnel.update_lead(lead, sam, owner_id=sue.id)
    db.session.rollback()
    # Taking an unclaimed lead is every salesperson's to do.
    free = factories.lead("Globex", stage=stages[0])
    free.owner_id = None
    db.session.commit()
    funnel.update_lead(free, sam, owner_id=sam.id)
    assert free.owner_id == sam.id


def test_a_salesperson_enters_an_unassigned_lead_through_the_api(client, sam, sue, stages):
    headers = {"Authorization": f"Bearer {token_for(sam)}"}
    answer = client.post("/api/v1/leads", json={"title": "Acme", "owner_id": None}, headers=headers)
    assert answer.status_code == 201 and answer.json["owner"] is None
    refused = client.post(
        "/api/v1/leads", json={"title": "Acme", "owner_id": sue.id}, headers=headers
    )
    assert refused.status_code == 403
    assert "manager gives a lead to someone else" in refused.json["error"]["message"]


@pytest.fixture
def passing_on(app, client):
    """The team lets salespeople pass leads on, set as an administrator sets it."""
    admin = factories.user(name="Ada", email="ada@example.com", role=Role.ADMIN)
    client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    saved = client.post("/settings/general", data=factories.general_settings(pass_leads_on="y"))
    assert saved.status_code == 303
    assert (
        "Salespeople may now give their leads to a colleague."
        in client.get("/settings/general").text
    )
    client.post("/logout")


def test_a_team_setting_lets_salespeople_pass_leads_on(client, auth, passing_on, sam, sue, stages):
    lead = factories.lead("Acme", owner=sam, stage=stages[0])
    auth.login(sam.email)
    assert ">Sue</option>" in client.get("/leads/new").text
    client.post(f"/leads/{lead.number}/details", data={"title": "Acme", "owner_id": sue.id})
    assert owner_of(lead) == sue.id
    made = client.post(
        "/leads/new", data={"title": "Globex", "owner_id": sue.id, "stage_id": stages[0].id}
    )
    assert made.status_code == 303
    mine = factories.lead("Initech", owner=sam, stage=stages[0])
    headers = {"Authorization": f"Bearer {token_for(sam)}"}
    client.patch(f"/api/v1/leads/{mine.number}", json={"owner_id": sue.id}, headers=headers)
    assert owner_of(mine) == sue.id
    # Passing on is for the leads they work: a colleague's stays the colleague's to give.
    theirs = factories.lead("Hooli", owner=sue, stage=stages[0])
    answer = client.patch(
        f"/api/v1/leads/{theirs.number}", json={"owner_id": sam.id}, headers=headers
    )
    assert answer.status_code == 403 and owner_of(theirs) == sue.id
    # Reassigning the whole list stays a manager's.
    assert client.post("/leads/reassign", data={"owner_id": str(sam.id)}).status_code == 403
