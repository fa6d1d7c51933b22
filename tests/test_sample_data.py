"""The demo that setup can fill in: what someone trying the CRM sees on its first pages."""

import re
import time
from collections import defaultdict
from datetime import datetime, timedelta
from datetime import time as clock
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from crm import sample_data
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityKind,
    Counter,
    Lead,
    LostReason,
    StageChange,
    StageKind,
    utcnow,
)

CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
EMAIL = re.compile(r"^[a-z0-9._]+@[a-z0-9.-]+\.[a-z]{2,}$")


def fill_demo(owner, language="en"):
    """Fill the demo as setup does, commit, and return the leads in number order."""
    sample_data.fill(language, owner)
    db.session.commit()
    return db.session.scalars(select(Lead).order_by(Lead.number)).all()


def open_stage_ids(stages):
    return [stage.id for stage in stages if stage.kind == StageKind.OPEN]


def stage_id_of_kind(stages, kind):
    return next(stage.id for stage in stages if stage.kind == kind)


def test_about_sixty_leads_all_owned_by_the_admin(app, admin):
    leads = fill_demo(admin)

    assert 50 <= len(leads) <= 70
    assert {lead.owner_id for lead in leads} == {admin.id}
    assert all(lead.title and lead.contact_name for lead in leads)
    assert len({lead.title for lead in leads}) == len(leads)
    assert not any(lead.archived for lead in leads)


def test_contact_details_look_real_and_are_not_duplicates(app, admin):
    leads = fill_demo(admin)
    phones = [lead.phone for lead in leads if lead.phone]
    emails = [lead.email for lead in leads if lead.email]

    assert all(lead.phone or lead.email for lead in leads)
    assert all(EMAIL.match(email) for email in emails)
    for lead in leads:
        assert lead.phone_digits == (re.sub(r"\D", "", lead.phone) if lead.phone else None)
    # Written the ways people write them: several different shapes, not one pattern.
    assert len({re.sub(r"\d", "#", phone) for phone in phones}) >= 4
    # Nothing the duplicate check would flag.
    assert len(set(emails)) == len(emails)
    assert len({lead.phone_digits for lead in leads if lead.phone}) == len(phones)


def test_sources_and_values(app, stages, admin):
    leads = fill_demo(admin)
    won = stage_id_of_kind(stages, StageKind.WON)
    values = [lead.value for lead in leads if lead.value is not None]

    assert len({lead.source for lead in leads}) >= 4
    assert {"Website", "Referral", "Cold call", "Exhibition"} <= {lead.source for lead in leads}
    assert 0 < len(values) < len(leads)
    assert all(value > 0 for value in values)
    assert all(lead.value is not None for lead in leads if lead.stage_id == won)


def test_every_open_stage_has_leads_most_of_them_early(app, stages, admin):
    leads = fill_demo(admin)
    per_stage = defaultdict(int)
    for lead in leads:
        per_stage[lead.stage_id] += 1
    open_ids = open_stage_ids(stages)
    open_count = sum(per_stage[stage_id] for stage_id in open_ids)

    assert all(per_stage[stage_id] > 0 for stage_id in open_ids)
    assert per_stage[open_ids[0]] > per_stage[open_ids[-1]]
    assert sum(per_stage[stage_id] for stage_id in open_ids[:3]) > open_count / 2
    assert per_stage[stage_id_of_kind(stages, StageKind.WON)] > 0
    assert per_stage[stage_id_of_kind(stages, StageKind.LOST)] > 0


def test_lost_leads_and_only_they_have_a_lost_reason(app, stages, admin):
    leads = fill_demo(admin)
    lost = stage_id_of_kind(stages, StageKind.LOST)
    reasons = set(db.session.scalars(select(LostReason.id)))

    for lead in leads:
        if lead.stage_id == lost:
            assert lead.lost_reason_id in reasons
        else:
            assert lead.lost_reason_id is None
    # The analysis of refusals has more than one reason to show.
    assert len({lead.lost_reason_id for lead in leads if lead.stage_id == lost}) > 1


def test_contact_log_covers_the_last_90_days_and_nothing_in_the_future(app, admin):
    leads = fill_demo(admin)
    now = utcnow()
    activities = db.session.scalars(select(Activity)).all()
    created = {lead.id: lead.created_at for lead in leads}
    kinds = dict(db.session.execute(select(ActivityKind.id, ActivityKind.code)).all())

    assert len(activities) > 2 * len(leads)
    # A few new requests may still wait for their first call.
    assert len({activity.lead_id for activity in activities}) >= 0.8 * len(leads)
    assert min(activity.occurred_at for activity in activities) >= now - timedelta(days=90)
    assert max(activity.occurred_at for activity in activities) <= now
    assert all(activity.occurred_at > created[activity.lead_id] for activity in activities)
    assert min(created.values()) >= now - timedelta(days=90)
    assert {kinds[activity.kind_id] for activity in activities} >= {
        "call",
        "email",
        "meeting",
        "message",
    }
    assert all(activity.author_id == admin.id for activity in activities)
    assert all(len(activity.body) > 30 for activity in activities)
    assert len({activity.body for activity in activities}) >= 20


def test_stage_history_leads_to_each_leads_stage(app, admin):
    leads = fill_demo(admin)
    changes = defaultdict(list)
    for change in db.session.scalars(select(StageChange).order_by(StageChange.changed_at)):
        changes[change.lead_id].append(change)

    for lead in leads:
        history = changes[lead.id]
        assert history[0].from_stage_id is None
        assert history[0].changed_at == lead.created_at
        assert history[0].activity_id is None
        for before, after in pairwise(history):
            assert after.from_stage_id == before.to_stage_id
            assert after.changed_at > before.changed_at
            assert after.activity_id is not None
        assert history[-1].to_stage_id == lead.stage_id


def test_each_move_is_recorded_on_the_activity_that_made_it(app, admin):
    fill_demo(admin)
    activities = {activity.id: activity for activity in db.session.scalars(select(Activity))}
    moves = db.session.scalars(select(StageChange).where(StageChange.activity_id.isnot(None))).all()

    for change in moves:
        activity = activities[change.activity_id]
        assert activity.lead_id == change.lead_id
        assert activity.stage_after_id == change.to_stage_id
        assert activity.occurred_at == change.changed_at
    moving = [activity for activity in activities.values() if activity.stage_after_id]
    assert len(moving) == len(moves)


def test_numbers_run_from_one_without_gaps_in_order_of_arrival(app, admin):
    leads = fill_demo(admin)

    assert [lead.number for lead in leads] == list(range(1, len(leads) + 1))
    arrivals = [lead.created_at for lead in leads]
    assert arrivals == sorted(arrivals)
    assert Counter.take("lead") == len(leads) + 1


def test_a_second_fill_continues_the_numbers_and_tells_the_same_story(app, admin):
    first = [(lead.title, lead.contact_name, lead.stage_id) for lead in fill_demo(admin)]
    leads = fill_demo(admin)
    second = [(lead.title, lead.contact_name, lead.stage_id) for lead in leads[len(first) :]]

    assert [lead.number for lead in leads] == list(range(1, 2 * len(first) + 1))
    assert sorted(second) == sorted(first)


def test_next_steps_overdue_today_later_and_none(app, stages, admin):
    leads = fill_demo(admin)
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
    leads = fill_demo(admin)
    last_contact = dict(
        db.session.execute(
            select(Activity.lead_id, func.max(Activity.occurred_at)).group_by(Activity.lead_id)
        ).all()
    )

    for lead in leads:
        if lead.next_step_at:
            assert lead.next_step_at > last_contact.get(lead.id, lead.created_at)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_sample_is_in_the_chosen_language(app, admin, language):
    leads = fill_demo(admin, language)
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


def test_fill_leaves_the_commit_to_the_caller(app, admin):
    sample_data.fill("en", admin)
    db.session.rollback()

    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_fills_well_under_a_second(app, admin):
    started = time.perf_counter()
    sample_data.fill("en", admin)
    db.session.flush()

    assert time.perf_counter() - started < 1
