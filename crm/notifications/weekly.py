"""The managers' weekly summary, on Monday at their digest hour: last week's step conversion
(the analytics' own count), and for each person their stuck leads now and the contacts they
missed last week (the missed contacts page's count). Kept modest: the numbers, with links to
the pages that show the rest."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import false, func, select, update

from crm import lists
from crm.agenda import queries as agenda
from crm.analytics import conversion
from crm.analytics.filters import ReportFilters
from crm.board.queries import stuck_condition
from crm.extensions import db
from crm.models import Lead, NotificationInbox, NotificationKind
from crm.notifications import inbox, planning


@dataclass(frozen=True)
class WeekFilters(ReportFilters):
    """The analytics' filters for a week of a manager's own days, its bounds given as stored
    moments (outside a request there is no viewer's zone to work them out in)."""

    start_at: datetime | None = None
    end_at: datetime | None = None

    @property
    def start(self):
        return self.start_at

    @property
    def end(self):
        return self.end_at


def due(person, now):
    """The Monday whose summary is due now for this manager, or None."""
    if not inbox.manages(person.user) or not person.prefs["weekly"]:
        return None
    here = planning.aware(now).astimezone(person.zone)
    if here.weekday() != 0:
        return None
    starts = datetime.combine(here.date(), inbox.digest_time(person.prefs), tzinfo=person.zone)
    if not starts <= here < starts + planning.DIGEST_CATCH_UP:
        return None
    if person.inbox is not None and person.inbox.last_weekly_on == here.date():
        return None
    return here.date()


def plan(now, people):
    made = 0
    for person in people.values():
        monday = due(person, now)
        if monday is None:
            continue
        inbox.ensure_inbox(person.user.id)
        db.session.execute(
            update(NotificationInbox)
            .where(NotificationInbox.user_id == person.user.id)
            .values(last_weekly_on=monday)
        )
        key = f"weekly:{person.user.id}:{monday}"
        params = summary(person, monday, now, people)
        made += bool(planning.send_to(person, NotificationKind.WEEKLY, key, params))
        db.session.commit()
    return made


def summary(person, monday, now, people):
    first = monday - timedelta(days=7)
    days = [first + timedelta(days=n) for n in range(7)]
    day_starts = [
        planning.stored(datetime.combine(day, time.min, tzinfo=person.zone)) for day in days
    ]
    week_ends = planning.stored(datetime.combine(monday, time.min, tzinfo=person.zone))
    missed = {}
    for (_index, owner_id), count in agenda.missed_counts(day_starts, week_ends).items():
        missed[owner_id] = missed.get(owner_id, 0) + count
    stages = lists.open_stages()
    stuck = (
        dict(
            db.session.execute(
                select(Lead.owner_id, func.count())
                .where(
                    Lead.archived == false(),
                    Lead.stage_id.in_([stage.id for stage in stages]),
                    stuck_condition(stages, now),
                )
                .group_by(Lead.owner_id)
            ).all()
        )
        if stages
        else {}
    )
    rows = []
    for owner_id in sorted(set(missed) | set(stuck), key=lambda i: (i is None, i or 0)):
        someone = people.get(owner_id)
        rows.append(
            {
                "name": someone.user.name if someone else None,
                "missed": missed.get(owner_id, 0),
                "stuck": stuck.get(owner_id, 0),
            }
        )
    return {
        "week_starts": first.isoformat(),
        "people": rows,
        "steps": step_conversion(first, monday - timedelta(days=1), day_starts[0], week_ends),
    }


def step_conversion(first, last, start, end):
    """Last week's step conversion of the first pipeline, as Analytics → Funnel counts it."""
    pipeline = lists.first_pipeline()
    if pipeline is None:
        return []
    filters = WeekFilters(
        period="custom",
        first_day=first,
        last_day=last,
        pipeline_id=pipeline.id,
        start_at=start,
        end_at=end,
    )
    stages = [stage for stage in lists.open_stages() if stage.pipeline_id == pipeline.id]
    names = {stage.id: stage.name for stage in stages}
    return [
        {"stage": names[step.stage_id], "entered": step.entered, "passed": step.passed}
        for step in conversion.step_counts(filters, stages)
        if step.entered
    ]
