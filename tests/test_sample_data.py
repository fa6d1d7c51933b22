"""The sample setup can fill in, made by the demo generator: what someone trying the CRM sees."""

import re
import time
from collections import defaultdict
from datetime import datetime, timedelta
from datetime import time as clock
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from crm import custom_fields, demo
from crm.extensions import db
from crm.funnel import phone_digits, phone_tail
from crm.models import (
    Activity,
    ActivityKind,
    ActivityRevision,
    Counter,
    Lead,
    LostReason,
    StageChange,
    StageKind,
    User,
    utcnow,
)

CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
EMAIL = re.compile(r"^[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]{2,}$")


def make_sample(owner, language="en"):
    """Make the sample as setup does, commit, and return the leads in number order."""
    demo.generate(language, owner=owner, **demo.SAMPLE)
    db.session.commit()
    return db.session.scalars(select(Lead).order_by(Lead.number)).all()


def open_stage_ids(stages):
    return [stage.id for stage in stages if stage.kind == StageKind.OPEN]


def stage_id_of_kind(stages, kind):
    return next(stage.id for stage in stages if stage.kind == kind)


def test_about_sixty_leads_all_the_admins_and_no_made_up_colleagues(app, admin):
    leads = make_sample(admin)

    assert 50 <= len(leads) <= 70
    assert {lead.owner_id for lead in leads} == {admin.id}
    assert {lead.created_by_id for lead in leads} == {admin.id}
    assert db.session.scalars(select(User)).all() == [admin]
    assert all(lead.title and lead.contact_name for lead in leads)
    assert len({lead.title for lead in leads}) == len(leads)
    assert not any(lead.archived for lead in leads)


def test_contact_details_look_real_and_are_not_duplicates(app, admin):
    leads = make_sample(admin)
    phones = [lead.phone for lead in leads if lead.phone]
    emails = [lead.email for lead in leads if lead.email]

    assert all(lead.phone or lead.email for lead in leads)
    assert all(EMAIL.match(email) for email in emails)
    for lead in leads:
        assert lead.phone_digits == phone_digits(lead.phone)
    # Written the ways people write them: several different shapes, not one pattern.
    assert len({re.sub(r"\d", "#", phone) for phone in phones}) >= 4
    # Nothing the duplicate check would flag.
    assert len(set(emails)) == len(emails)
    assert len({phone_tail(phone) for phone in phones}) == len(phones)


def test_sources_and_values(app, stages, admin):
    leads = make_sample(admin)
    won = stage_id_of_kind(stages, StageKind.WON)
    values = [lead.value for lead in leads if lead.value is not None]

    assert {"Website", "Referral", "Cold call", "Exhibition"} <= {lead.source for lead in leads}
    assert 0 < len(values) < len(leads)
    assert all(value > 0 for value in values)
    assert all(lead.value is not None for lead in leads if lead.stage_id == won)


def test_every_open_stage_has_leads_most_of_them_early(app, stages, admin):
    leads = make_sample(admin)
    per_stage = defaultdict(int)
    for lead in leads:
        per_stage[lead.stage_id] += 1
    open_ids = open_stage_ids(stages)
    open_count = sum(per_stage[stage_id] for stage_id in open_ids)

    assert all(per_stage[stage_id] > 0 for stage_id in open_ids)
    assert per_stage[open_ids[0]] > per_stage[open_ids[-1]]
    assert sum(per_stage[stage_id] for stage_id in open_ids[:3]) > open_count / 2
    assert per_stage[stage_id_of_kind(stages, StageKind.WON)] > 1
    assert per_stage[stage_id_of_kind(stages, StageKind.LOST)] > 1


def test_lost_leads_and_only_they_have_a_lost_reason(app, stages, admin):
    leads = make_sample(admin)
    lost = stage_id_of_kind(stages, StageKind.LOST)
    reasons = set(db.session.scalars(select(LostReason.id)))

    for lead in leads:
        if lead.stage_id == lost:
            assert lead.lost_reason_id in reasons
        else:
            assert lead.lost_reason_id is None
    # The analysis of refusals has more than one reason to show.
    assert len({lead.lost_reason_id for lead in leads if lead.stage_id == lost}) > 1


def test_history_covers_the_last_90_days_and_nothing_in_the_future(app, admin):
    leads = make_sample(admin)
    now = utcnow()
    activities = db.session.scalars(select(Activity)).all()
    created = {lead.id: lead.created_at for lead in leads}
    kinds = dict(db.session.execute(select(ActivityKind.id, ActivityKind.code)).all())
    revised = db.session.scalars(select(ActivityRevision.revised_at)).all()

    assert len(activities) == demo.SAMPLE["activities"] > 2 * len(leads)
    # A few new requests may still wait for their first call.
    assert len({activity.lead_id for activity in activities}) >= 0.8 * len(leads)
    assert min(created.values()) >= now - timedelta(days=90)
    assert all(activity.occurred_at > created[activity.lead_id] for activity in activities)
    assert max(activity.occurred_at for activity in activities) <= now
    assert all(at <= now for at in revised)
    assert all(lead.updated_at <= now and lead.stage_changed_at <= now for lead in leads)
    assert {kinds[activity.kind_id] for activity in activities} >= {
        "call",
        "email",
        "meeting",
        "message",
    }
    assert {activity.author_id for activity in activities} == {admin.id}
    assert all(len(activity.body) > 30 for activity in activities)
    assert len({activity.body for activity in activities}) >= 20


def test_stage_history_leads_to_each_leads_stage(app, admin):
    leads = make_sample(admin)
    changes = defaultdict(list)
    for change in db.session.scalars(
        select(StageChange).order_by(StageChange.changed_at, StageChange.id)
    ):
        changes[change.lead_id].append(change)

    for lead in leads:
        history = changes[lead.id]
        assert history[0].from_stage_id is None
        assert history[0].changed_at == lead.created_at
        assert history[0].activity_id is None
        for before, after in pairwise(history):
            assert after.from_stage_id == before.to_stage_id
            assert after.changed_at > before.changed_at
        assert history[-1].to_stage_id == lead.stage_id
        assert lead.stage_changed_at == history[-1].changed_at
    assert {change.changed_by_id for history in changes.values() for change in history} == {
        admin.id
    }


def test_each_move_is_recorded_on_the_activity_that_made_it(app, admin):
    make_sample(admin)
    activities = {activity.id: activity for activity in db.session.scalars(select(Activity))}
    moves = db.session.scalars(select(StageChange).where(StageChange.activity_id.isnot(None))).all()

    assert moves
    for change in moves:
        activity = activities[change.activity_id]
        assert activity.lead_id == change.lead_id
        assert activity.stage_after_id == change.to_stage_id
        assert activity.occurred_at == change.changed_at
    moving = [activity for activity in activities.values() if activity.stage_after_id]
    assert len(moving) == len(moves)


def test_numbers_run_from_one_without_gaps_in_order_of_arrival(app, admin):
    leads = make_sample(admin)

    assert [lead.number for lead in leads] == list(range(1, len(leads) + 1))
    arrivals = [lead.created_at for lead in leads]
    assert arrivals == sorted(arrivals)
    assert Counter.take("lead") == len(leads) + 1


def test_every_install_gets_the_same_leads(app, admin):
    def who():
        return db.session.execute(
            select(Lead.title, Lead.contact_name, Lead.email, Lead.stage_id).order_by(Lead.number)
        ).all()

    demo.generate("en", owner=admin, **demo.SAMPLE)
    first = who()
    db.session.rollback()
    demo.generate("en", owner=admin, **demo.SAMPLE)

    assert who() == first


def test_next_steps_overdue_today_later_and_none(app, stages, admin):
    leads = make_sample(admin)
    today = datetime.combine(utcnow().date(), clock())
    tomorrow = today + timedelta(days=1)
    open_ids = open_stage_ids(stages)
    open_leads = [lead for lead in leads if lead.stage_id in open_ids]
    closed_leads = [lead for lead in leads if lead.stage_id not in open_ids]
    due = [lead.next_step_at for lead in open_leads if lead.next_step_at]

    assert any(at < today for at in due)
    assert any(today <= at < tomorrow for at in due)
    assert any(at >= tomorrow for at in due)
    assert any(lead.next_step_at is None for lead in open_leads)
    assert all((lead.next_step_at is None) == (lead.next_step_note is None) for lead in leads)
    assert all(lead.next_step_at is None for lead in closed_leads)


def test_next_step_comes_after_the_last_contact(app, admin):
    leads = make_sample(admin)
    last_contact = dict(
        db.session.execute(
            select(Activity.lead_id, func.max(Activity.occurred_at)).group_by(Activity.lead_id)
        ).all()
    )

    for lead in leads:
        if lead.next_step_at:
            assert lead.next_step_at > last_contact.get(lead.id, lead.created_at)


@pytest.mark.parametrize("hour", ["05:00", "07:00", "12:00", "16:59", "23:30"])
def test_every_case_is_there_whatever_the_hour(app, stages, admin, monkeypatch, hour):
    """The hour of setup shifts the histories: the board and agenda still show every case."""
    now = datetime.combine(utcnow().date(), clock.fromisoformat(hour))
    monkeypatch.setattr(demo, "utcnow", lambda: now)
    leads = make_sample(admin)
    open_ids = open_stage_ids(stages)
    today = datetime.combine(now.date(), clock())
    due = [lead.next_step_at for lead in leads if lead.next_step_at]
    latest = db.session.scalar(select(func.max(Activity.occurred_at)))

    assert {lead.stage_id for lead in leads} == {stage.id for stage in stages}
    assert any(at < today for at in due)
    assert any(today <= at < today + timedelta(days=1) for at in due)
    assert any(at >= today + timedelta(days=1) for at in due)
    assert any(lead.next_step_at is None and lead.stage_id in open_ids for lead in leads)
    assert min(lead.created_at for lead in leads) >= now - timedelta(days=90)
    assert latest <= now


@pytest.mark.parametrize("language", ["en", "ru"])
def test_sample_is_in_the_chosen_language(app, admin, language):
    leads = make_sample(admin, language)
    bodies = db.session.scalars(select(Activity.body)).all()
    texts = (
        [lead.title for lead in leads]
        + [lead.contact_name for lead in leads]
        + [lead.source for lead in leads]
        + [lead.next_step_note for lead in leads if lead.next_step_note]
        + bodies
    )

    if language == "ru":
        assert all(CYRILLIC.search(text) for text in texts)
    else:
        assert not any(CYRILLIC.search(text) for text in texts)
    # Addresses are Latin in both languages.
    assert all(EMAIL.match(lead.email) for lead in leads if lead.email)


@pytest.mark.parametrize(("language", "city"), [("en", "City"), ("ru", "Город")])
def test_sample_has_the_teams_own_fields_in_the_chosen_language(app, admin, language, city):
    leads = make_sample(admin, language)
    fields = {field.label: field for field in custom_fields.active_fields()}
    assert city in fields
    held = {lead.fields.get(fields[city].key) for lead in leads} - {None}
    labels = {custom_fields.option_label(fields[city], key) for key in held}
    assert len(labels) >= 4
    assert all(bool(CYRILLIC.search(label)) == (language == "ru") for label in labels - {"Лондон"})
    assert all(custom_fields.clean_values(lead.fields) == lead.fields for lead in leads)


def test_sample_leaves_the_commit_to_the_caller(app, admin):
    demo.generate("en", owner=admin, **demo.SAMPLE)
    db.session.rollback()

    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_sample_is_made_well_under_a_second(app, admin):
    started = time.perf_counter()
    demo.generate("en", owner=admin, **demo.SAMPLE)
    db.session.flush()

    assert time.perf_counter() - started < 1
