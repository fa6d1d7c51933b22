"""Writes that are safe to retry: a form or an API call sent again with the same idempotency key
answers as the first time and saves nothing more."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crm import idempotency
from crm.extensions import db
from crm.models import Activity, IdempotentAnswer, Lead, utcnow
from tests import factories
from tests.test_api import Api, token_for
from tests.test_import import job_of, upload
from tests.test_intake import REQUEST, intake_form, url  # noqa: F401 (a fixture)
from tests.test_lead_page import log_data


def count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def form_key(page):
    """The key a drawn form carries."""
    return re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def lead(admin, stages):
    return factories.lead("ООО Ромашка", owner=admin, stage=stages[0])


def test_a_contact_sent_twice_is_logged_once(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    key = form_key(hx.get(f"/leads/{lead.number}").text)
    data = log_data(stages, body="Договорились о встрече", idempotency_key=key)
    first = hx.post(f"/leads/{lead.number}/log", data=data)
    # The answer was lost on the way (a tunnel, a dropped connection): the phone sends again.
    again = hx.post(f"/leads/{lead.number}/log", data=data)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.text == first.text
    assert count(Activity) == 1
    # The form drawn after the save has a key of its own: the next contact is a new one.
    fresh = form_key(first.text)
    assert fresh != key
    hx.post(f"/leads/{lead.number}/log", data=data | {"idempotency_key": fresh})
    assert count(Activity) == 2


def test_a_refused_form_corrected_and_sent_with_its_key_is_saved(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    data = log_data(stages, idempotency_key="retry-me", occurred_at="")
    refused = hx.post(f"/leads/{lead.number}/log", data=data)
    assert refused.status_code == 422
    assert form_key(refused.text) == "retry-me"
    saved = hx.post(f"/leads/{lead.number}/log", data=data | {"occurred_at": "2026-11-27T10:30"})
    assert saved.status_code == 200 and "Idempotent-Replayed" not in saved.headers
    assert count(Activity) == 1


def test_the_agenda_row_logs_once(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    key = form_key(hx.get(f"/agenda/leads/{lead.id}/log").text)
    data = log_data(stages, idempotency_key=key)
    for _attempt in range(3):
        assert hx.post(f"/agenda/leads/{lead.id}/log", data=data).status_code == 200
    assert count(Activity) == 1


def test_a_new_lead_sent_twice_is_entered_once(hx, admin, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    key = form_key(hx.get("/leads/new").text)
    data = {"title": "ООО Лютик", "stage_id": str(stages[0].id), "idempotency_key": key}
    first = hx.post("/leads/new", data=data)
    again = hx.post("/leads/new", data=data)
    assert first.headers["HX-Redirect"] == again.headers["HX-Redirect"]
    assert count(Lead) == 1


def test_a_key_sent_with_another_request_is_refused(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    data = log_data(stages, idempotency_key="one-key")
    hx.post(f"/leads/{lead.number}/log", data=data)
    other = hx.post(f"/leads/{lead.number}/log", data=data | {"body": "Something else"})
    assert other.status_code == 422
    assert "sent before with a different request" in other.text
    assert count(Activity) == 1


def test_keys_are_each_persons_own(client, auth, admin, lead, stages):
    colleague = factories.user(name="Sam", email="sam@example.com")
    factories.lead("ООО Василёк", owner=colleague, stage=stages[0])
    data = log_data(stages, idempotency_key="same-key")
    auth.login(admin.email)
    client.post(f"/leads/{lead.number}/log", data=data)
    client.post("/logout")
    auth.login(colleague.email)
    theirs = db.session.scalar(select(Lead).where(Lead.owner_id == colleague.id))
    client.post(f"/leads/{theirs.number}/log", data=data)
    assert count(Activity) == 2


def test_an_answer_is_kept_for_a_day(hx, admin, lead, stages):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    data = log_data(stages, idempotency_key="yesterday")
    hx.post(f"/leads/{lead.number}/log", data=data)
    db.session.execute(
        update(IdempotentAnswer).values(created_at=utcnow() - timedelta(hours=24, minutes=1))
    )
    db.session.commit()
    hx.post(f"/leads/{lead.number}/log", data=data)
    assert count(Activity) == 2
    # The old answer made way for the new one.
    assert count(IdempotentAnswer) == 1


def test_the_api_honours_the_idempotency_key(client, admin, stages):
    api = Api(client, token_for(admin))
    headers = {"Idempotency-Key": "0b7e8c1e-6f4d-4a53-9d52-6a3c1f0e2b11"}
    body = {"title": "ООО Ромашка", "phone": "+7 999 123-45-67"}
    first = api.post("/leads", json=body, headers=headers)
    again = api.post("/leads", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(Lead) == 1

    number = first.get_json()["number"]
    contact = {"kind": "call", "body": "Договорились", "no_next_step": True}
    for _attempt in range(2):
        answer = api.post(
            f"/leads/{number}/activities", json=contact, headers={"Idempotency-Key": "c-1"}
        )
        assert answer.status_code == 201, answer.get_json()
    assert count(Activity) == 1


def test_the_api_refuses_a_key_reused_or_malformed(client, admin, stages):
    api = Api(client, token_for(admin))
    api.post("/leads", json={"title": "Alpha"}, headers={"Idempotency-Key": "k"})
    reused = api.post("/leads", json={"title": "Beta"}, headers={"Idempotency-Key": "k"})
    assert reused.status_code == 422
    assert reused.get_json()["error"]["field"] == "Idempotency-Key"
    malformed = client.post(
        "/api/v1/leads",
        json={"title": "Gamma"},
        headers={"Authorization": f"Bearer {token_for(admin)}", "Idempotency-Key": "x" * 81},
    )
    assert malformed.status_code == 400
    assert malformed.get_json()["error"]["field"] == "Idempotency-Key"
    assert count(Lead) == 1


def test_an_api_refusal_is_not_kept(client, admin, stages):
    api = Api(client, token_for(admin))
    headers = {"Idempotency-Key": "fix-and-retry"}
    assert api.post("/leads", json={"title": ""}, headers=headers).status_code == 422
    assert api.post("/leads", json={"title": "Alpha"}, headers=headers).status_code == 201
    assert count(Lead) == 1


def test_the_document_describes_the_header(client, admin):
    document = Api(client, token_for(admin)).get("/openapi.json").get_json()
    create = document["paths"]["/leads"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])


def test_an_intake_request_sent_twice_is_taken_once(client, intake_form):  # noqa: F811
    data = REQUEST | {"idempotency_key": "4b0a51f4-0e55-4a51-8f79-3b1c2b1d3e7a"}
    first = client.post(url(intake_form), data=data)
    again = client.post(url(intake_form), data=data)
    assert first.status_code == again.status_code == 200
    assert count(Lead) == 1
    # The key is no field of the request: nothing of it lands in what the visitor wrote.
    assert "idempotency_key" not in db.session.scalar(select(Activity.body))


def test_the_site_snippet_makes_a_key_as_the_page_opens(logged_in, intake_form):  # noqa: F811
    page = logged_in.get("/settings/intake-forms").text
    assert "idempotency_key" in page and "crypto.randomUUID()" in page


def test_an_import_sent_twice_runs_once(logged_in, admin, stages):
    # The job is the import's key: started again (a resend, a second click), it imports nothing.
    response = upload(logged_in, b"Title,Phone\nAcme,+7 999 123-45-67\nGlobex,\n")
    columns_url = response.headers["Location"]
    job_id = job_of(response)
    logged_in.post(columns_url, data={"column_0": "title", "column_1": "phone"})
    for _attempt in range(2):
        assert logged_in.post(f"/settings/import/{job_id}/import", data={}).status_code == 303
    assert count(Lead) == 2


def test_answers_older_than_a_day_are_let_go_once_a_minute(hx, admin, lead, stages, app):
    """Not a statement with every write: a worker lets old answers go at most once a minute."""
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    for key in ("first", "second"):
        hx.post(f"/leads/{lead.number}/log", data=log_data(stages, idempotency_key=key))
    a_day_ago = utcnow() - timedelta(hours=24, minutes=1)
    db.session.execute(update(IdempotentAnswer).values(created_at=a_day_ago))
    db.session.commit()
    hx.post(f"/leads/{lead.number}/log", data=log_data(stages, idempotency_key="third"))
    # Let go a moment ago, by the first write: kept until the next minute.
    assert count(IdempotentAnswer) == 3
    app.extensions[idempotency.PRUNED] -= idempotency.PRUNE_EVERY
    hx.post(f"/leads/{lead.number}/log", data=log_data(stages, idempotency_key="fourth"))
    assert count(IdempotentAnswer) == 2
