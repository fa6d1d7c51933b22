"""Each worker keeps the team's pick lists and settings between requests, and shows a change to
them on the very next request, whichever worker or server made it."""

import threading

import pytest
from sqlalchemy import inspect, select, update

from crm import create_app, kept_settings
from crm.extensions import db
from crm.models import Counter, Stage, User
from tests import factories
from tests.querycount import counting_queries

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


@pytest.fixture
def lead(app, admin, stages):
    return factories.lead(title="Boiler for the school", owner=admin, stage=stages[0])


def statements(client, url):
    """The statements a GET of `url` runs, with what the worker keeps left as it is."""
    with counting_queries(forget_kept=False) as seen:
        response = client.get(url)
    assert response.status_code == 200
    return seen, response.text


@pytest.fixture
def other_worker(app):
    """A second app on the same database: another worker, or another server."""
    other = create_app(
        {"TESTING": True, "SECRET_KEY": "other", "DATABASE_URL": app.config["DATABASE_URL"]}
    )
    yield other
    with other.app_context():
        db.engine.dispose()


def settings_version():
    name = kept_settings.VERSION.name
    return db.session.scalar(select(Counter.value).where(Counter.name == name)) or 0


def test_a_page_reads_the_pick_lists_once_per_worker(logged_in, lead):
    url = f"/leads/{lead.number}"
    first, first_page = statements(logged_in, url)
    again, page = statements(logged_in, url)
    # Stages, kinds of contact, lost reasons, the team, the team's fields and settings.
    assert len(first) - len(again) >= 5
    assert not any("FROM activity_kinds" in sql or "FROM lost_reasons" in sql for sql in again)
    for shown in ("Boiler for the school", "Ada Admin", "Estimate requested", "Lost"):
        assert shown in page
    assert page.count('type="radio" name="stage_id"') == first_page.count(
        'type="radio" name="stage_id"'
    )


def test_a_stage_renamed_on_its_page_shows_at_once(logged_in, lead, stages):
    logged_in.get(f"/leads/{lead.number}")
    saved = logged_in.post(
        f"/settings/stages/{stages[1].id}",
        data={"name": "Called back", "colour": "#0ea5e9", "kind": "open", "stuck_after_days": ""},
    )
    assert saved.status_code == 303
    page = logged_in.get(f"/leads/{lead.number}").text
    # The log form's status choice, not the flashed "saved" message.
    assert f'<span class="badge stage-{stages[1].id}">Called back</span>' in page
    assert f".stage-{stages[1].id} {{ --stage-bg: #0ea5e9;" in logged_in.get("/stages.css").text


def test_a_change_made_by_another_worker_shows_on_the_next_request(
    logged_in, lead, stages, other_worker
):
    logged_in.get(f"/leads/{lead.number}")
    stage_id = stages[1].id
    with other_worker.app_context():
        db.session.get(Stage, stage_id).name = "Spoke to the buyer"
        factories.user(name="Vera Newcomer")
        db.session.commit()
        db.session.remove()
    page = logged_in.get(f"/leads/{lead.number}").text
    assert f'<span class="badge stage-{stage_id}">Spoke to the buyer</span>' in page
    assert "Vera Newcomer" in logged_in.get(f"/leads/{lead.number}/details").text


def test_a_colleague_let_go_leaves_the_owner_choices(logged_in, lead, app):
    colleague = factories.user(name="Boris Leaving")
    assert "Boris Leaving" in logged_in.get(f"/leads/{lead.number}/details").text
    colleague.active = False
    db.session.commit()
    assert "Boris Leaving" not in logged_in.get(f"/leads/{lead.number}/details").text


def test_a_change_by_statement_moves_the_version_on(app, admin):
    before = settings_version()
    db.session.execute(update(User).where(User.id == admin.id).values(name="Ada Lovelace"))
    db.session.commit()
    assert settings_version() == before + 1


def test_the_version_moves_once_for_a_transaction_however_many_changes(app, stages):
    before = settings_version()
    stages[0].name = "First call"
    stages[1].colour = "#123456"
    db.session.flush()
    stages[2].name = "Third"
    db.session.commit()
    assert settings_version() == before + 1


def test_a_contact_logged_with_kept_lists_leaves_the_kept_copies_alone(logged_in, lead, stages):
    logged_in.get(f"/leads/{lead.number}")
    form = {
        "kind_id": str(factories.kind().id),
        "occurred_at": "2026-12-07T10:00",
        "body": "Asked for the price list.",
        "stage_id": str(stages[1].id),
        "next_step_when": "+1",
        "next_step_note": "Send the price list",
    }
    response = logged_in.post(f"/leads/{lead.number}/log", data=form, headers=HTMX)
    assert response.status_code == 200
    assert "Asked for the price list." in response.text
    db.session.refresh(lead)
    assert lead.stage_id == stages[1].id
    kept = logged_in.application.extensions[kept_settings.EXTENSION]
    copies = [copy for name in ("stages", "kinds", "reasons") for copy in kept.values[name]]
    assert len(copies) > 10
    assert all(inspect(copy).detached for copy in copies)
    page = logged_in.get(f"/leads/{lead.number}").text
    assert "Asked for the price list." in page


def test_threads_of_one_worker_share_the_copies_safely(app, logged_in, lead, admin):
    """Four threads, as gunicorn runs them, each with its own session, all reading from what
    the worker keeps."""
    logged_in.get(f"/leads/{lead.number}")
    url = f"/leads/{lead.number}"
    cookie = logged_in.get_cookie("session")
    failures = []

    def read_pages():
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        for _ in range(10):
            response = client.get(url)
            if response.status_code != 200 or "Ada Admin" not in response.text:
                failures.append(response.status_code)

    db.session.commit()
    threads = [threading.Thread(target=read_pages) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
