"""The big demo dataset: `flask --app crm demo`, as the benchmarks and a try-out use it."""

import re
from collections import Counter as Tally
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from crm import access, custom_fields, demo, lists
from crm import funnel as funnel_service
from crm.analytics import conversion
from crm.analytics.filters import ReportFilters
from crm.extensions import db
from crm.leads.queries import search_condition
from crm.models import (
    Activity,
    ActivityRevision,
    ContactPoint,
    Counter,
    FieldType,
    Lead,
    LeadPerson,
    Pipeline,
    PlannedStep,
    Role,
    Stage,
    StageChange,
    StageKind,
    User,
    utcnow,
)
from tests import factories
from tests.analytics_pages import csv_rows

LEADS = 200
ACTIVITIES = 2000
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def generate(**options):
    options = {"leads": LEADS, "activities": ACTIVITIES, "users": 5, "seed": 7} | options
    summary = demo.generate(**options)
    db.session.commit()
    return summary


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def generated(app):
    return generate()


@pytest.fixture
def leads(generated):
    return db.session.scalars(select(Lead).order_by(Lead.number)).all()


def test_exactly_the_counts_asked_for(generated):
    assert (generated.leads, generated.activities) == (LEADS, ACTIVITIES)
    assert count(Lead) == LEADS
    assert count(Activity) == ACTIVITIES
    assert count(StageChange) == generated.stage_changes > LEADS
    assert count(ActivityRevision) == generated.revisions
    # The founding article's nine, and the renewals pipeline's four.
    assert count(Stage) == 9 + len(demo.RENEWAL_STAGES["en"])


def test_one_manager_and_salespeople_who_cannot_log_in(generated):
    users = db.session.scalars(select(User)).all()

    assert len(users) == 5
    assert Tally(user.role for user in users) == {Role.MANAGER: 1, Role.SALESPERSON: 4}
    assert len({user.email for user in users}) == 5
    assert not any(user.check_password("") or user.check_password("password") for user in users)


def test_numbers_run_from_one_in_order_of_arrival(leads):
    assert [lead.number for lead in leads] == list(range(1, LEADS + 1))
    arrivals = [lead.created_at for lead in leads]
    assert arrivals == sorted(arrivals)
    assert Counter.take("lead") == LEADS + 1


def test_two_years_of_leads_and_nothing_in_the_future(leads):
    now = utcnow()
    assert min(lead.created_at for lead in leads) < now - timedelta(days=400)
    assert max(lead.created_at for lead in leads) > now - timedelta(days=30)
    latest = db.session.scalar(select(func.max(Activity.occurred_at)))
    assert latest <= now
    assert all(lead.stage_changed_at <= now for lead in leads)


def test_each_leads_history_leads_to_its_stage(leads):
    changes = defaultdict(list)
    for change in db.session.scalars(
        select(StageChange).order_by(StageChange.changed_at, StageChange.id)
    ):
        changes[change.lead_id].append(change)
    activities = {a.id: a for a in db.session.scalars(select(Activity))}

    for lead in leads:
        history = changes[lead.id]
        assert history[0].from_stage_id is None
        assert history[0].changed_at == lead.created_at
        assert history[0].seconds_in_from_stage is None
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_stage_id == before.to_stage_id
            assert after.changed_at > before.changed_at
            stay = after.changed_at - before.changed_at
            assert after.seconds_in_from_stage == int(stay.total_seconds())
        assert history[-1].to_stage_id == lead.stage_id
        assert lead.stage_changed_at == history[-1].changed_at
        for change in history:
            if change.activity_id is not None:
                activity = activities[change.activity_id]
                assert activity.lead_id == lead.id
                assert activity.stage_after_id == change.to_stage_id
                assert activity.occurred_at == change.changed_at
    moving = [a for a in activities.values() if a.stage_after_id is not None]
    linked = sum(1 for history in changes.values() for c in history if c.activity_id)
    assert len(moving) == linked


def test_cached_columns_agree_with_the_activities(leads):
    newest = {}
    for activity in db.session.scalars(
        select(Activity)
        .where(Activity.deleted_at.is_(None))
        .order_by(Activity.occurred_at, Activity.id)
    ):
        newest[activity.lead_id] = activity

    for lead in leads:
        last = newest.get(lead.id)
        assert lead.last_activity_id == (last.id if last else None)
        assert lead.last_activity_at == (last.occurred_at if last else None)
        assert lead.search_text == funnel_service.search_text(
            lead.number, lead.title, lead.people, lead.fields
        )
        assert lead.phone_digits == funnel_service.phone_digits(lead.phone)
        assert lead.created_by_id is not None
        assert lead.updated_at >= lead.created_at


def test_activities_come_after_the_lead_and_are_written_by_the_team(leads):
    created = {lead.id: lead.created_at for lead in leads}
    team = set(db.session.scalars(select(User.id)))
    for activity in db.session.scalars(select(Activity)):
        assert activity.occurred_at > created[activity.lead_id]
        assert activity.author_id in team
        assert len(activity.body) > 30


def test_a_plausible_funnel(leads):
    stages = db.session.scalars(Stage.in_funnel_order()).all()
    open_ids = [stage.id for stage in stages if stage.kind == StageKind.OPEN]
    won = next(stage.id for stage in stages if stage.kind == StageKind.WON)
    lost = next(stage.id for stage in stages if stage.kind == StageKind.LOST)
    per_stage = Tally(lead.stage_id for lead in leads)

    assert per_stage[won] > 0 and per_stage[lost] > 0
    open_count = sum(per_stage[stage] for stage in open_ids)
    # Most leads stop early in the funnel.
    assert sum(per_stage[stage] for stage in open_ids[:3]) > open_count / 2
    assert per_stage[open_ids[0]] > per_stage[open_ids[-1]]
    for lead in leads:
        assert (lead.lost_reason_id is not None) == (lead.stage_id == lost)
        if lead.stage_id == won:
            assert lead.value is not None
        if lead.stage_id not in open_ids:
            assert lead.next_step_at is None


def test_next_steps_overdue_today_later_and_none(leads):
    now = utcnow()
    today = datetime.combine(now.date(), datetime.min.time())
    tomorrow = today + timedelta(days=1)
    due = [lead.next_step_at for lead in leads if lead.next_step_at]

    assert any(at < today for at in due)
    assert any(today <= at < tomorrow for at in due)
    assert any(at >= tomorrow for at in due)
    assert any(lead.next_step_at is None and lead.stage.is_open for lead in leads)
    assert all((lead.next_step_at is None) == (lead.next_step_note is None) for lead in leads)


def test_each_open_next_step_is_the_last_planned(leads):
    """The lead's next step is its one standing step in the history; closed leads have none."""
    standing = db.session.execute(
        select(PlannedStep.lead_id, PlannedStep.due_at, PlannedStep.note, PlannedStep.owner_id)
        .where(PlannedStep.ended_at.is_(None))
        .order_by(PlannedStep.lead_id)
    ).all()
    assert standing == [
        (lead.id, lead.next_step_at, lead.next_step_note, lead.owner_id)
        for lead in leads
        if lead.next_step_at is not None
    ]


def test_the_history_of_next_steps_follows_the_contacts(generated):
    created = dict(db.session.execute(select(Lead.id, Lead.created_at)).all())
    activities = {a.id: a for a in db.session.scalars(select(Activity))}
    steps = db.session.scalars(select(PlannedStep)).all()
    now = utcnow()

    assert generated.planned_steps == len(steps) > ACTIVITIES / 2
    for step in steps:
        assert created[step.lead_id] <= step.planned_at <= now
        assert step.due_at > step.planned_at
        assert step.ended_at is None or step.planned_at < step.ended_at <= now
        if step.ended_by_activity_id:
            replaced_by = activities[step.ended_by_activity_id]
            assert replaced_by.lead_id == step.lead_id
            assert replaced_by.occurred_at == step.ended_at
    # What answered each step is what the funnel service would find.
    answers = db.session.execute(
        select(PlannedStep.kept_by_activity_id, funnel_service.answering_contact())
    ).all()
    assert all(kept == found for kept, found in answers)
    # Most steps were answered; some were put off after their time, a few replaced early.
    fates = Tally(
        "answered"
        if step.kept_by_activity_id
        else "put off"
        if step.ended_at and step.ended_at > step.due_at
        else "waiting"
        if step.ended_at is None
        else "other"
        for step in steps
    )
    assert fates["answered"] > len(steps) / 2
    assert fates["put off"] > 0 and fates["waiting"] > 0


def test_contact_details_in_both_alphabets(leads):
    names = [lead.contact_name for lead in leads]
    assert any(CYRILLIC.search(name) for name in names)
    assert sum(1 for name in names if not CYRILLIC.search(name)) > LEADS / 2
    assert all(lead.phone or lead.email for lead in leads)
    assert all(
        re.fullmatch(r"[a-z0-9._-]+@[a-z0-9.-]+\.[a-z]{2,}", lead.email)
        for lead in leads
        if lead.email
    )
    assert len({lead.source for lead in leads}) >= 4


def test_no_two_leads_look_like_duplicates_while_the_word_lists_last(leads):
    """The duplicate check would flag a company, email or phone given twice."""
    titles = [lead.title for lead in leads]
    emails = [lead.email for lead in leads if lead.email]
    phones = [funnel_service.phone_tail(lead.phone) for lead in leads if lead.phone]

    assert len(set(titles)) == len(titles)
    assert len(set(emails)) == len(emails)
    assert len(set(phones)) == len(phones)


def test_the_search_finds_every_lead_by_its_title_and_phone(leads):
    """The search index is built once the leads are in: it holds every one of them."""

    def found(term):
        return db.session.scalars(select(Lead.id).where(search_condition(term))).all()

    for lead in leads:
        assert lead.id in found(lead.title)
        if lead.phone:
            assert lead.id in found(lead.phone)


def test_a_lead_with_a_long_history(generated):
    [number] = generated.big_leads
    lead_id = db.session.scalar(select(Lead.id).where(Lead.number == number))
    busiest = db.session.execute(
        select(Activity.lead_id, func.count())
        .group_by(Activity.lead_id)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    assert busiest == (lead_id, demo.BIG_LEAD_ACTIVITIES)


def test_a_backfilled_story_writes_what_the_funnel_service_would(app, stages, monkeypatch):
    """The demo's rows are made by the funnel's Backfill: told the same story, it writes what
    the service functions write one at a time, with the clock at each moment of the story."""
    boss = factories.user(role=Role.MANAGER)
    ann = factories.user()
    won = next(stage for stage in stages if stage.kind == StageKind.WON)
    call = factories.kind("call")
    details = {
        "title": "Acme",
        "contact_name": "Ann Smith",
        "phone": "+7 999 123-45-67",
        "email": "Ann@Acme.example",
        "source": "Website",
        "owner_id": ann.id,
        "next_step_at": datetime(2025, 3, 4, 10),
        "next_step_note": "Call",
    }
    # Called late, moved on the board, the next call put off; an offer sent early and corrected,
    # a message left and deleted, and the deal signed.
    came = datetime(2025, 3, 3, 9)
    called = datetime(2025, 3, 4, 10, 30)
    moved = datetime(2025, 3, 5, 12)
    put_off = datetime(2025, 3, 7, 9)
    offer_due = datetime(2025, 3, 10, 10)
    offered = datetime(2025, 3, 10, 9, 30)
    corrected = offered + timedelta(minutes=5)
    follow_up_due = datetime(2025, 3, 12, 15)
    messaged = datetime(2025, 3, 12, 16)
    deleted = messaged + timedelta(minutes=5)
    signed = datetime(2025, 3, 14, 11)

    clock = [came]
    monkeypatch.setattr(funnel_service, "utcnow", lambda: clock[0])
    # Whether an activity may still be corrected is the policy's question, asked of its clock.
    monkeypatch.setattr(access, "utcnow", lambda: clock[0])
    made = funnel_service.create_lead(boss, at=came, **details)
    clock[0] = called
    funnel_service.log_activity(
        made,
        ann,
        call,
        "Called, interested",
        occurred_at=called,
        stage=stages[1],
        next_step_at=datetime(2025, 3, 6, 11),
        next_step_note="Send the offer",
    )
    clock[0] = moved
    funnel_service.move_lead(made, stages[2], boss, at=moved)
    clock[0] = put_off
    funnel_service.reschedule(made, ann, offer_due)
    clock[0] = offered
    offer = funnel_service.log_activity(
        made,
        ann,
        call,
        "Sent the offer",
        occurred_at=offered,
        next_step_at=follow_up_due,
        next_step_note="Follow up",
    )
    clock[0] = corrected
    funnel_service.edit_activity(offer, ann, call, "Sent the offer and prices", offered)
    clock[0] = messaged
    message = funnel_service.log_activity(
        made, ann, call, "Left a message", occurred_at=messaged, no_next_step=True
    )
    clock[0] = deleted
    funnel_service.delete_activity(message, ann)
    clock[0] = signed
    funnel_service.log_activity(
        made, boss, call, "Signed", occurred_at=signed, stage=won, value=5000
    )
    db.session.flush()

    past = funnel_service.Backfill()
    told = past.create_lead(boss.id, came, stages[0].id, made.number + 1, **details)
    past.log_activity(
        told,
        ann.id,
        call.id,
        "Called, interested",
        called,
        stage_id=stages[1].id,
        next_step_at=datetime(2025, 3, 6, 11),
        next_step_note="Send the offer",
    )
    past.move_lead(told, stages[2].id, boss.id, moved)
    past.plan_next_step(told, ann.id, put_off, offer_due, "Send the offer")
    offer = past.log_activity(
        told,
        ann.id,
        call.id,
        "Sent the offer",
        offered,
        next_step_at=follow_up_due,
        next_step_note="Follow up",
    )
    past.edit_activity(offer, corrected, "Sent the offer and prices")
    message = past.log_activity(
        told, ann.id, call.id, "Left a message", messaged, next_step_at=None
    )
    past.delete_activity(message, deleted)
    past.log_activity(told, boss.id, call.id, "Signed", signed, stage_id=won.id, value=5000)
    stored = {}
    for model, rows in past.rows_told().items():
        demo.insert_rows(model.__table__, rows, stored)
    db.session.commit()

    lead = db.session.get(Lead, told.id)
    assert story_of(lead) == story_of(made)
    assert lead.updated_at == signed
    assert db.session.scalars(
        select(ActivityRevision.revised_at)
        .join(Activity, Activity.id == ActivityRevision.activity_id)
        .where(Activity.lead_id == lead.id)
        .order_by(ActivityRevision.revised_at)
    ).all() == [corrected, deleted]


CLOCK_DEFAULTS = ("updated_at", "revised_at")


def story_of(lead):
    """A lead's rows, as two tellings of one story must agree on them: without ids and numbers
    (activities are named by their place in the timeline), nor the moments the models' own
    defaults take from the clock (when the lead last changed, when a revision was kept)."""
    activities = db.session.scalars(
        select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.occurred_at)
    ).all()
    place = {activity.id: index for index, activity in enumerate(activities)} | {None: None}
    named = {"last_activity_id", "activity_id", "ended_by_activity_id", "kept_by_activity_id"}

    def columns(record):
        return {
            column.key: place[value] if column.key in named else value
            for column in record.__table__.columns
            if column.key not in ("id", "lead_id", "number", "search_text", *CLOCK_DEFAULTS)
            for value in [getattr(record, column.key)]
        }

    def rows(model, order):
        records = db.session.scalars(
            select(model).where(model.lead_id == lead.id).order_by(order, model.id)
        )
        return [columns(record) for record in records]

    revisions = db.session.scalars(
        select(ActivityRevision)
        .where(ActivityRevision.activity_id.in_(place))
        .order_by(ActivityRevision.revised_at)
    )
    return {
        "lead": columns(lead),
        "activities": [columns(activity) for activity in activities],
        "stage changes": rows(StageChange, StageChange.changed_at),
        "steps": rows(PlannedStep, PlannedStep.due_at),
        "revisions": [columns(revision) for revision in revisions],
    }


# A lead's people and their phones and emails, deleted before the leads.
PEOPLE = (ContactPoint, LeadPerson)


def test_the_same_seed_gives_the_same_data(app):
    def story():
        return db.session.execute(
            select(Lead.title, Lead.contact_name, Lead.stage_id, Lead.value).order_by(Lead.id)
        ).all()

    generate(seed=3)
    first = story()
    for model in (PlannedStep, ActivityRevision, StageChange, Activity, *PEOPLE, Lead):
        db.session.execute(delete(model))
    db.session.commit()
    generate(seed=3)
    assert story() == first
    for model in (PlannedStep, ActivityRevision, StageChange, Activity, *PEOPLE, Lead):
        db.session.execute(delete(model))
    db.session.commit()
    generate(seed=4)
    assert story() != first


def test_the_app_adds_rows_after_the_demo(app, generated):
    """Ids were given by the generator: the database's own must carry on after them."""
    lead = db.session.scalar(select(Lead).order_by(Lead.number.desc()).limit(1))
    # Its owner (a colleague may not log on it); any user for a lead of nobody's.
    actor = lead.owner or db.session.scalar(select(User).order_by(User.id).limit(1))
    stages = db.session.scalars(Stage.in_funnel_order()).all()
    new = funnel_service.create_lead(actor, title="After the demo")
    funnel_service.log_activity(lead, actor, factories.kind("call"), "Called.", stage=stages[1])
    db.session.commit()
    assert new.number == LEADS + 1


def test_refuses_a_database_with_leads(app, admin, stages):
    factories.lead(owner=admin)
    with pytest.raises(demo.DemoError, match="already has leads"):
        demo.generate(leads=10, activities=50)


def test_command(app, runner):
    result = runner.invoke(args=["demo", "--leads", "30", "--activities", "120", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "Added 10 users, 30 leads, 120 activities" in result.output
    assert (count(Lead), count(Activity)) == (30, 120)

    again = runner.invoke(args=["demo", "--leads", "30", "--activities", "120"])
    assert again.exit_code != 0
    assert "already has leads" in again.output
    assert count(Lead) == 30


def test_command_in_russian(app, runner):
    result = runner.invoke(
        args=["demo", "--leads", "20", "--activities", "100", "--language", "ru"]
    )
    assert result.exit_code == 0, result.output
    bodies = db.session.scalars(select(Activity.body)).all()
    assert all(CYRILLIC.search(body) for body in bodies)
    assert CYRILLIC.search(db.session.scalar(select(Stage.name).limit(1)))


def test_more_activities_than_moves_is_not_needed(app):
    generate(leads=50, activities=0)
    assert count(Activity) == 0
    assert all(lead.stage.is_open for lead in db.session.scalars(select(Lead)))


def test_a_believable_funnel_drops_off_and_loses_leads_at_every_step(generated):
    manager = factories.user(role=Role.MANAGER)
    # The whole history: a window of the last year would start at a different lead every day.
    today = date.today()
    whole = {"period": "custom", "from": str(today - timedelta(days=demo.HISTORY_DAYS + 1))}
    filters = ReportFilters.from_args(whole | {"to": str(today)}, manager)
    first_pipeline = [s for s in lists.open_stages() if s.pipeline_id == filters.pipeline_id]
    steps = conversion.step_counts(filters, first_pipeline)
    for step in steps:
        assert step.entered > step.passed > 0
        assert step.lost > 0
    assert steps[0].entered > steps[-1].entered


def test_about_a_tenth_of_the_leads_came_back_for_a_renewal(app, generated):
    """Won clients move on to the renewals pipeline months later; some get an offer and are
    renewed, a move in the history of each."""
    renewals = db.session.scalar(select(Pipeline).where(Pipeline.name == "Renewals"))
    due, offer, renewed, _lost = db.session.scalars(
        select(Stage.id).where(Stage.pipeline_id == renewals.id).order_by(Stage.position)
    ).all()
    there = db.session.scalar(select(func.count()).where(Lead.stage_id.in_([due, offer, renewed])))
    assert 0.05 < there / LEADS < 0.2
    moved_in = select(StageChange.lead_id).where(StageChange.to_stage_id == due)
    came_from = db.session.scalars(
        select(StageChange.from_stage_id).where(
            StageChange.to_stage_id == due, StageChange.lead_id.in_(moved_in)
        )
    ).all()
    won = db.session.scalars(select(Stage.id).where(Stage.kind == StageKind.WON)).all()
    assert came_from and set(came_from) <= set(won)
    assert db.session.scalar(select(func.count()).where(Lead.stage_id == renewed)) > 0


def test_each_demo_lead_has_its_contact_as_its_first_person(app, generated):
    """The demo writes leads' people as the funnel keeps them: the main contact first, and its
    phone and email where matching looks for them."""
    first_people = dict(
        db.session.execute(
            select(LeadPerson.lead_id, LeadPerson.name).where(LeadPerson.position == 0)
        ).all()
    )
    named = db.session.execute(
        select(Lead.id, Lead.contact_name).where(Lead.contact_name.is_not(None))
    ).all()
    assert named and all(first_people[lead_id] == name for lead_id, name in named)
    phones = db.session.scalar(
        select(func.count()).select_from(ContactPoint).where(ContactPoint.kind == "phone")
    )
    with_phone = db.session.scalar(
        select(func.count()).select_from(Lead).where(Lead.phone_digits.is_not(None))
    )
    # Each main contact's phone, and a colleague's here and there.
    assert with_phone <= phones < 1.5 * with_phone


# The team's own fields: ИНН (Tax ID), city, website, staff and industry, in the dataset's
# language, filled in as a team's sheet has them.

FIELD_KEYS = {
    "en": ["tax_id", "city", "website", "employees", "industry"],
    "ru": ["inn", "gorod", "sayt", "sotrudnikov", "otrasl"],
}
INN = re.compile(r"[0-9]{10}")


def fields_by_key():
    return {field.key: field for field in custom_fields.active_fields()}


def test_five_fields_of_the_team(generated):
    fields = fields_by_key()
    assert list(fields) == FIELD_KEYS["en"]
    tax_id, city, website, employees, industry = fields.values()
    assert [field.label for field in fields.values()] == [
        "Tax ID",
        "City",
        "Website",
        "Employees",
        "Industry",
    ]
    assert [field.type for field in fields.values()] == [
        FieldType.TEXT,
        FieldType.CHOICE,
        FieldType.LINK,
        FieldType.NUMBER,
        FieldType.CHOICE,
    ]
    assert tax_id.identifies_client
    assert city.filterable and city.in_list and city.on_card
    assert employees.filterable and industry.filterable
    assert len(city.options) == 10 and len(industry.options) == 8
    assert [option.key for option in city.options][:2] == ["london", "manchester"]


def test_every_value_is_one_its_field_accepts(leads):
    """What the demo stored reads back the same through the fields' own checks, as stored
    and as a person would type it."""
    fields = fields_by_key()
    for lead in leads:
        assert custom_fields.clean_values(lead.fields) == lead.fields
        typed = {
            key: custom_fields.as_text(fields[key], value) for key, value in lead.fields.items()
        }
        assert custom_fields.clean_values(typed) == lead.fields


def test_most_leads_have_most_values_and_none_has_them_all_for_sure(leads):
    shares = {
        key: sum(1 for lead in leads if key in lead.fields) / len(leads) for key in FIELD_KEYS["en"]
    }
    assert 0.6 < shares["tax_id"] < 0.95
    assert 0.7 < shares["city"] < 0.95
    assert 0.55 < shares["website"] < 0.9
    assert 0.35 < shares["employees"] < 0.75
    assert 0.8 < shares["industry"] < 0.98
    assert any(len(lead.fields) < 5 for lead in leads)
    assert len({lead.fields.get("city") for lead in leads}) >= 8
    staff = [lead.fields["employees"] for lead in leads if "employees" in lead.fields]
    assert min(staff) >= 3 and max(staff) <= 3000 and isinstance(staff[0], int)
    assert all(
        lead.fields["website"].startswith("https://") for lead in leads if "website" in lead.fields
    )


def test_british_vat_numbers_and_russian_inns(leads):
    for lead in leads:
        tax_id = lead.fields.get("tax_id")
        if tax_id is None:
            continue
        if CYRILLIC.search(lead.title):
            assert valid_inn(tax_id), (lead.title, tax_id)
        else:
            assert re.fullmatch(r"GB[0-9]{9}", tax_id), (lead.title, tax_id)


def valid_inn(number):
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    digits = [int(digit) for digit in number]
    return INN.fullmatch(number) and sum(map(int.__mul__, digits, weights)) % 11 % 10 == digits[9]


def test_a_russian_demo_has_inns_of_ten_digits_registered_in_the_city(app):
    generate(language="ru", foreign_share=0)
    fields = fields_by_key()
    assert list(fields) == FIELD_KEYS["ru"]
    assert [field.label for field in fields.values()] == [
        "ИНН",
        "Город",
        "Сайт",
        "Сотрудников",
        "Отрасль",
    ]
    assert fields["gorod"].options[0].label == "Москва"
    assert fields["otrasl"].options[0].label == "Торговля"
    regions = {"moskva": "77", "sankt_peterburg": "78", "kazan": "16", "vladivostok": "25"}
    leads = db.session.scalars(select(Lead)).all()
    inns = [lead.fields["inn"] for lead in leads if "inn" in lead.fields]
    assert len(inns) > len(leads) / 2
    assert all(isinstance(inn, str) and valid_inn(inn) for inn in inns)
    for lead in leads:
        city = lead.fields.get("gorod")
        if "inn" in lead.fields and city in regions:
            assert lead.fields["inn"][:2] == regions[city], lead.fields


def test_some_clients_come_back_with_a_second_or_third_lead(leads):
    """A client has one ИНН, whatever its leads; a few clients won come back for a renewal or
    a new project: two or three leads under one tax number, the first of them won before the
    others came in."""
    by_tax_id = defaultdict(list)
    for lead in leads:
        if "tax_id" in lead.fields:
            by_tax_id[lead.fields["tax_id"]].append(lead)
    returning = [client for client in by_tax_id.values() if len(client) > 1]
    assert returning
    assert all(len(client) <= 3 for client in returning)
    won = select(StageChange.lead_id, StageChange.changed_at).join(
        Stage, Stage.id == StageChange.to_stage_id
    )
    won_at = dict(db.session.execute(won.where(Stage.kind == StageKind.WON)).all())
    for first, *later in (sorted(client, key=lambda lead: lead.number) for client in returning):
        # Won, and perhaps moved on to the renewals pipeline since.
        assert first.id in won_at
        for lead in later:
            assert lead.title.startswith(f"{first.title} — ")
            assert lead.fields == first.fields
            assert lead.created_at > won_at[first.id]


def test_the_report_by_city_counts_the_demo(client, auth, generated):
    admin = factories.admin(email="ada@example.com")
    auth.login(admin.email)
    whole = f"period=custom&from={date.today() - timedelta(days=demo.HISTORY_DAYS + 1)}"
    url = f"/analytics/by-field/options.csv?{whole}&to={date.today()}&pipeline=all"
    rows = csv_rows(client, url)
    cities = {row[0]: int(row[1]) for row in rows[1:]}
    counted = db.session.scalar(select(func.count()).where(Lead.archived.is_(False)))
    assert cities["Total"] == counted
    assert cities["London"] == max(count for name, count in cities.items() if name != "Total")
    assert sum(cities.values()) == 2 * counted


def test_about_a_third_of_the_demo_leads_have_a_colleague_of_the_main_contact(app, generated):
    people = db.session.scalar(select(func.count()).select_from(LeadPerson))
    leads = db.session.scalar(select(func.count()).select_from(Lead))
    assert 1.15 < people / leads < 1.45
    titled = db.session.scalar(
        select(func.count()).select_from(LeadPerson).where(LeadPerson.job_title.is_not(None))
    )
    assert titled == 2 * (people - leads)
