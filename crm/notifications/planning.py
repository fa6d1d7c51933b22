"""What is due to be told, found by each pass: reminders before timed next steps, each person's
morning digest at their hour, and the managers' weekly summary.

Everything is worked out in each person's own zone (zoneinfo, so summer time is right on the
day it changes): a digest goes at 08:30 in Moscow and at 08:30 in Vladivostok, hours apart. A
next step for a whole day (local midnight) gets no reminder: it is in that morning's digest.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import false, select, update

from crm import access, lists, timezones
from crm.agenda import queries as agenda
from crm.extensions import db
from crm.models import Lead, NotificationInbox, NotificationKind, Stage, StageKind, User
from crm.notifications import channels, inbox

# A reminder still goes when a pass comes this late (a restart, a busy server); later, it would
# only say what the person already missed.
REMINDER_LATE = timedelta(minutes=10)
# A digest still goes this long after its hour (the server was down at 08:30), not at noon.
DIGEST_CATCH_UP = timedelta(hours=3)
WORKING_DAYS = range(0, 5)
# How many leads each section of a digest lists (its count says how many there are).
DIGEST_ROWS = 10
TODAY_ROWS = 30
DIGEST_SECTIONS = ("overdue", "today", "unplanned", "quiet")


@dataclass
class Person:
    user: User
    zone: ZoneInfo
    prefs: dict
    inbox: object


def zone_named(name):
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def zone_of(user):
    """The zone a person's days are counted in (their own, else the team's)."""
    return zone_named(timezones.zone_name_of(user))


def everyone_active():
    """Every active person with their zone and choices: three reads, whatever the team."""
    team_zone = timezones.team_zone_name()
    inboxes = inbox.inboxes_by_user()
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    found = {}
    for user in people:
        zone = zone_named(timezones.known_zone(user.timezone) or team_zone)
        box = inboxes.get(user.id)
        found[user.id] = Person(user, zone, inbox.preferences(box), box)
    return found


def aware(moment):
    return moment.replace(tzinfo=UTC)


def stored(moment):
    """An aware moment as stored: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def local_midnight(moment, zone):
    found = aware(moment).astimezone(zone)
    return found.hour == found.minute == found.second == 0


# Reminders


def plan_reminders(now, people):
    """A reminder for each timed next step whose owner's "minutes before" has come."""
    longest = max(inbox.REMINDER_MINUTES)
    open_stages = select(Stage.id).where(Stage.kind == StageKind.OPEN)
    steps = db.session.execute(
        select(
            Lead.id,
            Lead.number,
            Lead.title,
            Lead.owner_id,
            Lead.next_step_at,
            Lead.next_step_note,
        ).where(
            Lead.next_step_at > now - REMINDER_LATE,
            Lead.next_step_at <= now + timedelta(minutes=longest),
            Lead.archived == false(),
            Lead.owner_id.is_not(None),
            Lead.stage_id.in_(open_stages),
        )
    ).all()
    made = 0
    for step in steps:
        person = people.get(step.owner_id)
        if person is None or not person.prefs["reminder"]:
            continue
        ahead = timedelta(minutes=int(person.prefs["reminder_minutes"]))
        if step.next_step_at - ahead > now or local_midnight(step.next_step_at, person.zone):
            continue
        key = f"reminder:{step.owner_id}:{step.id}:{step.next_step_at:%Y%m%dT%H%M}"
        params = {
            "number": step.number,
            "title": step.title,
            "due_at": step.next_step_at.isoformat(),
            "note": step.next_step_note or "",
        }
        made += bool(send_to(person, NotificationKind.REMINDER, key, params, lead_id=step.id))
    return made


def send_to(person, kind, key, params, lead_id=None):
    return inbox.record(
        person.user.id,
        kind,
        key,
        channels.wanted(kind, person.prefs, person.user.id),
        lead_id=lead_id,
        params=params,
    )


# The morning digest


def digest_due(person, now):
    """The local day whose digest is due now, or None: a working day, from the person's hour
    for a few hours, once a day."""
    if not person.prefs["digest"]:
        return None
    here = aware(now).astimezone(person.zone)
    if here.weekday() not in WORKING_DAYS:
        return None
    starts = datetime.combine(here.date(), inbox.digest_time(person.prefs), tzinfo=person.zone)
    if not starts <= here < starts + DIGEST_CATCH_UP:
        return None
    if person.inbox is not None and person.inbox.last_digest_on == here.date():
        return None
    return here.date()


def day_of(person, day, now):
    """The person's day as the agenda's queries take it (stored moments)."""

    def start(of_day):
        return stored(datetime.combine(of_day, time.min, tzinfo=person.zone))

    return agenda.Day(
        now=now,
        today_starts=start(day),
        today_ends=start(day + timedelta(days=1)),
        week_ends=start(day + timedelta(days=8)),
    )


def digest_params(person, day, now):
    """What the person's digest lists, as the agenda's sections have it: overdue, today's
    planned steps with their times, leads without a next step, gone quiet. None when all
    four are empty."""
    stages = lists.open_stages()
    if not stages:
        return None
    quiet_days = lists.quiet_after_days()
    where = access.scope_condition(access.Scope(pipeline_ids=access.pipelines_of(person.user)))
    agenda_day = day_of(person, day, now)
    counts = agenda.counts(person.user.id, agenda_day, stages, quiet_days, where)
    sections = {}
    for key in DIGEST_SECTIONS:
        _meeting, listed = counts.get(key, (0, 0))
        if not listed:
            continue
        limit = TODAY_ROWS if key == "today" else DIGEST_ROWS
        rows = agenda.section_rows(
            key, person.user.id, agenda_day, stages, quiet_days, limit=limit, where=where
        )
        sections[key] = {"count": listed, "leads": [digest_row(lead) for lead in rows]}
    if not sections:
        return None
    return {"day": day.isoformat(), "quiet_days": quiet_days, "sections": sections}


def digest_row(lead):
    return {
        "number": lead.number,
        "title": lead.title,
        "stage": lead.stage.name if lead.stage else "",
        "next_step_at": lead.next_step_at.isoformat() if lead.next_step_at else None,
        "note": lead.next_step_note or "",
        "last_contact_at": (lead.last_activity_at or lead.created_at).isoformat(),
    }


def make_digest(person, day, now, key):
    """Record the person's digest under `key`; None when it would be empty (nothing is sent)."""
    params = digest_params(person, day, now)
    if params is None:
        return None
    return send_to(person, NotificationKind.DIGEST, key, params)


def plan_digests(now, people, every=False):
    """Record the digests due now; with `every`, every person's now, whatever the hour or the
    day. A person's day is marked done even when their digest was empty, so it is worked out
    once a day."""
    made = 0
    for person in people.values():
        if every:
            if not person.prefs["digest"]:
                continue
            made += bool(digest_now(person, now))
        else:
            day = digest_due(person, now)
            if day is None:
                continue
            mark_digest_done(person.user.id, day)
            made += bool(make_digest(person, day, now, f"digest:{person.user.id}:{day}"))
        # One person at a time: a long pass never holds the database's write lock for long.
        db.session.commit()
    return made


def digest_now(person, now):
    """The person's digest of their today, made now (asked for: the button, the command);
    None when it would be empty."""
    day = aware(now).astimezone(person.zone).date()
    key = f"digest:{person.user.id}:{day}:asked:{now:%Y%m%dT%H%M%S%f}"
    return make_digest(person, day, now, key)


def mark_digest_done(user_id, day):
    inbox.ensure_inbox(user_id)
    db.session.execute(
        update(NotificationInbox)
        .where(NotificationInbox.user_id == user_id)
        .values(last_digest_on=day)
    )


def week_start(day):
    return day - timedelta(days=day.weekday())


def is_monday(day: date):
    return day.weekday() == 0


def plan_weekly(now, people):
    """The managers' weekly summary: on Monday, at their digest hour."""
    from crm.notifications import weekly  # it builds on this module

    return weekly.plan(now, people)
