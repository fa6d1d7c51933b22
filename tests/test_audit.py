"""The audit trail: every change recorded with who, when, field, old → new; shown on the lead's
history and in the administrators' log; deletions undone by an administrator."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm import funnel
from crm.extensions import db
from crm.models import Activity, AuditEntry, Lead, Role, utcnow
from tests import factories
from tests.querycount import count_queries


def log_in(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    return client


def entries(**where):
    return db.session.scalars(select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)).all()


def entry_count():
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.fixture
def sam(app, stages):
    return factories.user(name="Sam Seller")


@pytest.fixture
def sams_lead(sam):
    return factories.lead(title="Acme Tools", owner=sam, phone="+7 999 000-11-22")


def test_editing_a_lead_records_each_field_with_who_and_old_and_new(client, sam, sams_lead):
    log_in(client, sam)
    response = client.post(
        f"/leads/{sams_lead.number}/details",
        data={"title": "Acme Tools Ltd", "phone": "+7 999 000-11-22", "value": "2500"},
    )
    assert response.status_code == 303
    changed = {e.field: (e.old, e.new, e.actor_id) for e in entries(action="changed")}
    assert changed["title"] == ("Acme Tools", "Acme Tools Ltd", sam.id)
    assert changed["value"] == ("1000.00", "2500.00", sam.id)
    # Leaving the owner empty unclaims the lead: recorded too.
    assert changed["owner_id"] == (str(sam.id), None, sam.id)
    assert "phone" not in changed


def test_the_lead_page_shows_its_history_on_demand(client, admin, sam, sams_lead):
    log_in(client, sam)
    client.post(
        f"/leads/{sams_lead.number}/details",
        data={"title": "Acme Tools Ltd", "owner_id": str(sam.id)},
    )
    # Giving the lead to someone else is a manager's (here the administrator's) to do.
    funnel.update_lead(db.session.get(Lead, sams_lead.id), admin, owner_id=admin.id)
    db.session.commit()
    page = client.get(f"/leads/{sams_lead.number}").text
    assert "History of changes" in page
    history = client.get(f"/leads/{sams_lead.number}/history", headers={"HX-Request": "true"}).text
    assert "<html" not in history
    assert "Sam Seller" in history
    assert 'Acme Tools</span> → <span class="history-new">Acme Tools Ltd' in history
    # Ids become names.
    assert 'Sam Seller</span> → <span class="history-new">Ada Admin' in history
    assert "Lead created" in history


def test_moves_archive_and_restore_are_recorded(logged_in, admin, sams_lead, stages):
    logged_in.post(f"/board/leads/{sams_lead.id}/move", data={"stage_id": stages[1].id})
    logged_in.post(f"/leads/{sams_lead.number}/archive")
    logged_in.post(f"/leads/{sams_lead.number}/archive", data={"restore": "1"})
    lead_entries = entries(subject="lead", subject_id=sams_lead.id)
    moves = [e for e in lead_entries if e.field == "stage_id"]
    assert [(m.old, m.new) for m in moves] == [(str(stages[0].id), str(stages[1].id))]
    assert [e.action for e in lead_entries if e.field is None][-2:] == ["archived", "restored"]
    assert all(e.actor_id == admin.id for e in lead_entries[1:])


def test_an_activity_edit_and_deletion_are_recorded_and_an_admin_restores_it(
    client, admin, sam, sams_lead
):
    activity = factories.activity(sams_lead, sam, body="First wording")
    log_in(client, sam)
    client.post(
        f"/leads/{sams_lead.number}/activities/{activity.id}",
        data={"kind_id": str(activity.kind_id), "occurred_at": "2026-11-26T09:00", "body": "Fixed"},
    )
    client.post(f"/leads/{sams_lead.number}/activities/{activity.id}/delete")
    about = entries(subject="activity", subject_id=activity.id)
    assert ("changed", "body", "First wording", "Fixed") in [
        (e.action, e.field, e.old, e.new) for e in about
    ]
    assert about[-1].action == "deleted" and about[-1].lead_id == sams_lead.id

    # A salesperson cannot bring it back; the history offers an administrator the button.
    restore = f"/leads/{sams_lead.number}/activities/{activity.id}/restore"
    assert client.post(restore).status_code == 403
    client.post("/logout")
    log_in(client, admin)
    history = client.get(f"/leads/{sams_lead.number}/history").text
    assert "Restore this activity" in history
    assert client.post(restore).status_code == 303
    db.session.refresh(activity)
    assert activity.deleted_at is None
    assert "Fixed" in client.get(f"/leads/{sams_lead.number}").text
    assert entries(subject="activity", subject_id=activity.id)[-1].action == "restored"
    db.session.refresh(sams_lead)
    assert sams_lead.last_activity_id == activity.id
    # Restoring twice finds nothing to restore.
    assert client.post(restore).status_code == 404


def test_stage_and_user_changes_are_recorded_but_never_a_password(logged_in, admin, sam):
    stage = factories.funnel()[0]
    old_name = stage.name
    logged_in.post(
        f"/settings/stages/{stage.id}",
        data={"name": "First talk", "colour": stage.colour, "stuck_after_days": ""},
    )
    logged_in.post(
        f"/settings/users/{sam.id}/password",
        data={"password": "another long password", "password_again": "another long password"},
    )
    logged_in.post(f"/settings/users/{sam.id}/active", data={"active": "0"})
    renamed = entries(subject="stage", subject_id=stage.id, field="name")
    assert [(e.old, e.new) for e in renamed] == [(old_name, "First talk")]
    about_sam = {e.field: e for e in entries(subject="user", subject_id=sam.id)}
    assert about_sam["password_hash"].old is None and about_sam["password_hash"].new is None
    assert (about_sam["active"].old, about_sam["active"].new) == ("true", "false")
    page = logged_in.get("/settings/audit").text
    assert "Password" in page and "pbkdf2" not in page and "scrypt" not in page


def test_a_refused_change_records_nothing(client, sam, sams_lead):
    log_in(client, sam)
    before = entry_count()
    response = client.post(f"/leads/{sams_lead.number}/details", data={"title": ""})
    assert response.status_code == 422
    colleague = factories.user(name="Sue Seller")
    theirs = factories.lead(title="Sue's", owner=colleague)
    before = entry_count()
    assert client.post(f"/leads/{theirs.number}/archive").status_code == 403
    assert entry_count() == before


def test_the_log_filters_by_what_who_when_and_lead(logged_in, admin, sam, sams_lead, stages):
    other = factories.lead(title="Bolt Corp", owner=sam)
    logged_in.post(f"/leads/{sams_lead.number}/archive")
    logged_in.post(f"/leads/{other.number}/archive")
    old = entries(subject="lead", subject_id=other.id)[0]
    old.at = utcnow() - timedelta(days=40)
    db.session.commit()

    everything = logged_in.get("/settings/audit").text
    assert "Acme Tools" in everything and "Bolt Corp" in everything
    by_lead = logged_in.get("/settings/audit", query_string={"lead": sams_lead.number}).text
    assert "Acme Tools" in by_lead and "Bolt Corp" not in by_lead
    users_only = logged_in.get("/settings/audit", query_string={"subject": "user"}).text
    assert "Acme Tools" not in users_only and "Sam Seller" in users_only
    by_admin = logged_in.get("/settings/audit", query_string={"actor": admin.id}).text
    assert "archived" in by_admin and "Lead created" not in by_admin
    since = (utcnow() - timedelta(days=10)).date().isoformat()
    recent = logged_in.get("/settings/audit", query_string={"from": since, "subject": "lead"})
    # Bolt Corp was created 40 days ago (its archiving is recent); Acme Tools today.
    assert recent.text.count("Lead created") == 1
    bad = logged_in.get("/settings/audit", query_string={"from": "yesterday", "lead": "x"})
    assert bad.status_code == 422
    assert "Enter a date as year-month-day" in bad.text


def test_the_log_pages_and_its_queries_do_not_grow(logged_in, admin, stages):
    lead = factories.lead(title="Paged", owner=admin)
    small = count_queries(logged_in, "/settings/audit")
    for n in range(60):
        lead.title = f"Paged {n}"
        db.session.commit()
    page = logged_in.get("/settings/audit").text
    assert "Older changes" in page
    assert count_queries(logged_in, "/settings/audit") == small
    assert count_queries(logged_in, f"/leads/{lead.number}/history") <= small + 2


def test_deleted_activities_stay_in_the_database(client, sam, sams_lead):
    activity = factories.activity(sams_lead, sam)
    log_in(client, sam)
    client.post(f"/leads/{sams_lead.number}/activities/{activity.id}/delete")
    assert db.session.get(Activity, activity.id) is not None


def test_a_manager_cannot_read_the_log(client, stages):
    manager = factories.user(role=Role.MANAGER)
    log_in(client, manager)
    assert client.get("/settings/audit").status_code == 403


def test_a_change_through_the_api_is_recorded_under_the_tokens_owner(client, sam, sams_lead):
    from tests.test_api import token_for

    headers = {"Authorization": f"Bearer {token_for(sam)}"}
    response = client.patch(
        f"/api/v1/leads/{sams_lead.number}", headers=headers, json={"title": "Acme via API"}
    )
    assert response.status_code == 200
    (change,) = entries(field="title")
    assert (change.old, change.new, change.actor_id) == ("Acme Tools", "Acme via API", sam.id)


def test_a_colleagues_language_and_zone_changes_read_well_in_the_log(logged_in, admin, sam):
    response = logged_in.post(
        f"/settings/users/{sam.id}",
        data={"name": "Sam Seller", "language": "ru", "timezone": "Asia/Vladivostok"},
    )
    assert response.status_code == 303
    log = logged_in.get("/settings/audit", query_string={"subject": "user"}).text
    # Whose account it was, and the language by its name.
    assert "User changed</strong> · Sam Seller: Language" in log
    assert (
        '<span class="history-old">English</span> → <span class="history-new">Русский</span>' in log
    )
    assert "User changed</strong> · Sam Seller: Time zone" in log
    assert (
        '<span class="history-old">—</span> → <span class="history-new">Asia/Vladivostok</span>'
        in log
    )
    assert "· Ada Admin" in log
