"""What a call's events do: the call is kept once per (connection, call id), matched to a lead
on the other party's number, and when it ends it becomes what the team needs of it.

- answered: a contact of kind Call on the lead, to be written up by the person who took it;
- incoming from a number no lead has: a new lead, "Incoming call", owned by whoever answered;
- missed incoming: a call back planned for now, for the lead's owner;
- outgoing to a number no lead has, or a number open leads of different people share: it
  waits for a person to attach it to a lead (or make one) or to pick the lead.

While an incoming call from a lead's number rings or goes on, whoever it is meant for sees the
lead's card in any page they have open: each event of such a call moves their bell's version on,
so the bell's poll, which reads nothing else while nothing changed, draws the card (or takes it
away) on its next round.

Like the funnel service this knows nothing of HTTP: the hook (crm.telephony.hooks) reads the
request into CallEvents and hands them here.
"""

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from crm import access, clients, funnel
from crm.args import id_arg
from crm.extensions import db
from crm.i18n import team_language
from crm.models import (
    ActivityKind,
    Call,
    CallStatus,
    Lead,
    Stage,
    StageKind,
    User,
    utcnow,
)

# A number matches a lead's only with this many digits at least: fewer name no one.
MATCH_DIGITS = 7
# A number more leads than this share is a switchboard's, not a client's: the newest are read.
CANDIDATES_MAX = 50
AMBIGUOUS = object()
# The calls a person owes a write-up or a choice, which the agenda lists.
OWED = (CallStatus.TO_WRITE_UP,)
TO_SORT = (CallStatus.UNMATCHED, CallStatus.TO_PICK)
# A call shows its lead's card this long after it started at most: one whose end the phone
# system never told of does not stay on the screen.
CARD_FOR = timedelta(minutes=10)


def receive(connection, event):
    """Record `event` (a CallEvent) of a call through `connection`; returns the Call. An event
    of a call already ended changes nothing, so a replayed or repeated one is harmless."""
    call = find(connection, event.call_id)
    if call is None and event.direction is None:
        # An event that does not say which way the call goes only updates a known call.
        return None
    if call is not None and call.ended_at is not None:
        if call.recording_url is None and event.recording_url:
            # Some phone systems tell of the recording after the call ended.
            call.recording_url = event.recording_url
        return call
    shown_to = set()
    if call is None:
        call = start(connection, event)
    else:
        shown_to = card_audience(call)
        take_details(call, event)
        if event.event != "ended":
            ring(connection, call, event.user)
    if event.event == "ended":
        # The call's row is written once, with what it became, rather than field by field as
        # each lookup would flush it.
        with db.session.no_autoflush:
            finish(connection, call, event.user)
    # The card shows, changes or goes away for whoever saw it and whoever sees it now.
    redraw_bells(shown_to | card_audience(call))
    return call


def record(connection, recording):
    """Give a known call the recording told of apart from its events (Mango Office sends it
    so); the call, or None when no call has that id."""
    call = find(connection, recording.call_id)
    if call is not None and call.recording_url is None:
        call.recording_url = recording.recording_url
    return call


def find(connection, call_id):
    return db.session.scalar(
        select(Call).where(Call.connection_id == connection.id, Call.external_id == call_id)
    )


def start(connection, event):
    """A new call row with what the event tells; if another request made it meanwhile, that
    one, with the event's details."""
    call = Call(
        connection_id=connection.id,
        external_id=event.call_id,
        direction=event.direction,
        started_at=event.started_at or utcnow(),
        status=CallStatus.GOING,
        answered=False,
    )
    take_details(call, event)
    if event.event != "ended":
        # Before the row is written, so that it is written once.
        ring(connection, call, event.user)
    try:
        with db.session.begin_nested():
            db.session.add(call)
    except IntegrityError:
        call = find(connection, event.call_id)
        take_details(call, event)
    return call


def take_details(call, event):
    """What the event tells of the call; what it leaves out stays as it was."""
    call.direction = event.direction or call.direction
    call.from_number = event.from_number or call.from_number
    call.to_number = event.to_number or call.to_number
    call.outside_number = event.outside_number or call.outside_number
    if event.started_at is not None:
        call.started_at = event.started_at
    if event.event == "answered" or event.answered:
        call.answered = True
    if event.duration_s is not None:
        call.duration_s = event.duration_s
    call.recording_url = event.recording_url or call.recording_url
    if event.event == "ended" and event.answered is None and not call.answered:
        # `ended` alone, without saying: a call that lasted was answered.
        call.answered = bool(event.duration_s)


def ring(connection, call, named_user):
    """The call goes on: who it is for and, for an incoming one, the lead it comes from, known
    while it rings, so that its card shows. Matched again when it ends, as a person's lead can
    change meanwhile."""
    call.user_id = person_behind(connection, named_user, inside_number(call)) or call.user_id
    if call.direction != "in" or call.lead_id is not None or not recent(call):
        return
    found = matching_row(call.outside_number, call.user_id)
    if found is not None and found is not AMBIGUOUS:
        call.lead_id = found.id


def finish(connection, call, named_user):
    """The call ended: make it what the team needs (see the module's docstring)."""
    call.ended_at = utcnow()
    # Whoever the end names took the call (a call put through ends with its last person).
    call.user_id = person_behind(connection, named_user, inside_number(call)) or call.user_id
    # The lead is matched afresh: the one known while it rang waits for the end's verdict.
    call.lead_id = None
    found = matching_lead(call.outside_number, call.user_id)
    if found is AMBIGUOUS:
        call.status = CallStatus.TO_PICK
        return
    if found is None and call.direction == "in":
        found = new_lead(call)
    if found is None:
        call.status = CallStatus.UNMATCHED if call.answered else CallStatus.NOT_ANSWERED
        return
    settle(call, found)


def inside_number(call):
    return call.to_number if call.direction == "in" else call.from_number


def settle(call, lead):
    """The call, its lead known, becomes a contact to write up or a call back to make."""
    call.lead_id = lead.id
    if call.answered:
        activity = funnel.log_call(lead, call.user_id, call_kind(), call.started_at)
        call.activity_id = activity.id
        call.status = CallStatus.TO_WRITE_UP
    elif call.direction == "in":
        plan_call_back(lead)
        call.status = CallStatus.MISSED
        notify_missed_call(lead.owner_id, lead, call)
    else:
        call.status = CallStatus.NOT_ANSWERED


def plan_call_back(lead):
    """The lead's next step becomes a call back, now, for whoever owns the lead."""
    if lead.stage.kind != StageKind.OPEN or lead.archived:
        return
    with force_locale(team_language()):
        note = _("Call back: a missed call")
    funnel.plan_next_step(lead, None, utcnow().replace(microsecond=0), note)


def notify_missed_call(user_id, lead, call):
    """Tell `user_id` (None: nobody owns the lead, so the managers) of a missed call from
    `lead`: under the bell, and by push and email as each chose. The call back planned for now
    is on their agenda besides."""
    from crm.notifications import notices  # noqa: PLC0415 (it reads the agenda, which reads calls)

    notices.missed_call(user_id, lead, call)


def new_lead(call):
    """A lead for an incoming call from a number no lead has, in the first stage, owned by
    whoever answered (nobody, if nobody did)."""
    number = call.outside_number
    if not number:
        return None
    with force_locale(team_language()):
        source = _("Incoming call")
    owner_id = call.user_id if call.answered else None
    return funnel.create_lead(
        None, ask_required=False, title=number, phone=number, source=source, owner_id=owner_id
    )


def person_behind(connection, named, number):
    """The active user the connection maps `named` (an extension, a number or an email) or,
    failing that, the call's inside number to; None if nobody."""
    extensions = connection.extensions or {}
    by_key = {str(key).strip().casefold(): user_id for key, user_id in extensions.items()}
    by_tail = {
        funnel.phone_tail(key): user_id
        for key, user_id in extensions.items()
        if len(funnel.phone_digits(key) or "") >= MATCH_DIGITS
    }
    for key in (named, number):
        if not key:
            continue
        user_id = by_key.get(key.strip().casefold())
        if user_id is None and len(funnel.phone_digits(key) or "") >= MATCH_DIGITS:
            user_id = by_tail.get(funnel.phone_tail(key))
        if user_id is not None and active_user(user_id):
            return user_id
    if named and "@" in named:
        return db.session.scalar(
            select(User.id).where(User.email == named.strip().lower(), User.active)
        )
    return None


def active_user(user_id):
    return db.session.scalar(select(User.id).where(User.id == user_id, User.active))


# The card of a call ringing


def recent(call, now=None):
    return call.started_at >= (now or utcnow()) - CARD_FOR


def shows_card(call):
    """Whether the call shows its lead's card: incoming from a known lead, going on, recent."""
    return (
        call.status == CallStatus.GOING
        and call.direction == "in"
        and call.lead_id is not None
        and recent(call)
    )


def card_audience(call):
    """The ids of the people the call's card is for: the person it rings for when known, else
    the lead's owner, else (a lead of nobody's) everyone active; the poll shows it only to
    those of them who may see the lead."""
    if not shows_card(call):
        return set()
    if call.user_id is not None:
        return {call.user_id}
    owner_id = db.session.scalar(select(Lead.owner_id).where(Lead.id == call.lead_id))
    if owner_id is not None:
        return {owner_id}
    return set(db.session.scalars(select(User.id).where(User.active.is_(True))))


def redraw_bells(user_ids):
    """Have these people's bells redraw on their next poll (with the card, or without)."""
    if not user_ids:
        return
    from crm.notifications import inbox  # noqa: PLC0415 (it reads the agenda, which reads calls)

    inbox.touch(user_ids)


def ringing_for(user, now=None):
    """The newest call from a lead's number ringing or going on for `user`, on a lead they may
    see: (call, lead, stage), or None. Off the index of (status, started_at)."""
    since = (now or utcnow()) - CARD_FOR
    meant = or_(
        Call.user_id == user.id,
        and_(Call.user_id.is_(None), or_(Lead.owner_id == user.id, Lead.owner_id.is_(None))),
    )
    return db.session.execute(
        select(Call, Lead, Stage)
        .join(Lead, Lead.id == Call.lead_id)
        .join(Stage, Stage.id == Lead.stage_id)
        .where(
            Call.status == CallStatus.GOING,
            Call.started_at >= since,
            Call.direction == "in",
            meant,
            *access.lead_scope(user),
        )
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(1)
    ).first()


# Matching a number to a lead


def candidates(number):
    """The leads one of whose people has this number: newest first, with owner and whether
    open. Empty for a number too short to name anyone."""
    tail = funnel.phone_tail(number)
    if not tail or len(tail) < MATCH_DIGITS:
        return []
    return db.session.execute(
        select(Lead.id, Lead.owner_id, Lead.archived, Stage.kind)
        .join(Stage, Stage.id == Lead.stage_id)
        .where(clients.reached_at("phone", tail))
        .order_by(Lead.id.desc())
        .limit(CANDIDATES_MAX)
    ).all()


def matching_lead(number, user_id=None):
    """The lead a call with `number` belongs to (see matching_row), AMBIGUOUS or None."""
    found = matching_row(number, user_id)
    if found is None or found is AMBIGUOUS:
        return found
    return db.session.get(Lead, found.id)


def matching_row(number, user_id=None):
    """The candidate row of the lead a call with `number` belongs to: the caller's newest open
    lead; open leads of different people: the newest of `user_id`'s (who took the call), else
    AMBIGUOUS; no open lead: the newest kept lead, else the newest. None when no lead has the
    number."""
    found = candidates(number)
    open_leads = [row for row in found if row.kind == StageKind.OPEN and not row.archived]
    if open_leads:
        owners = {row.owner_id for row in open_leads}
        if len(owners) > 1:
            theirs = [row for row in open_leads if user_id and row.owner_id == user_id]
            if not theirs:
                return AMBIGUOUS
            open_leads = theirs
        return open_leads[0]
    kept = [row for row in found if not row.archived] or found
    return kept[0] if kept else None


def call_kind():
    """The "call" kind of contact, added the first time it is needed if the team removed it."""
    kind = db.session.scalar(select(ActivityKind).where(ActivityKind.code == "call"))
    if kind is None:
        last = db.session.scalar(select(func.max(ActivityKind.position)))
        with force_locale(team_language() or current_app.config["BABEL_DEFAULT_LOCALE"]):
            name = _("Call")
        kind = ActivityKind(code="call", name=name, position=(last or 0) + 1)
        db.session.add(kind)
        db.session.flush()
    return kind


# What a person does with the calls waiting for them


class CallError(ValueError):
    """A change to a call refused, with the reason for the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def attach(call, lead, actor):
    """Give a call waiting for its lead (unmatched, or to pick) the lead `actor` chose."""
    if call.status not in TO_SORT:
        raise CallError(_("This call is no longer waiting for a lead."))
    funnel.check_may_change(lead, actor)
    if lead.archived:
        raise CallError(_("The lead is archived: restore it first."))
    settle(call, lead)


def attach_to_new_lead(call, actor):
    """Make a lead of the call's number, owned by `actor`, and attach the call to it."""
    if call.status not in TO_SORT:
        raise CallError(_("This call is no longer waiting for a lead."))
    number = call.outside_number or _("Unknown number")
    lead = funnel.create_lead(
        actor, ask_required=False, title=number, phone=call.outside_number, owner_id=actor.id
    )
    settle(call, lead)
    return lead


def owed_by_lead(lead, call_id):
    """The call of `lead` with this id whose contact waits to be written up; a call written up
    already is refused, so a second save never makes a second contact."""
    call_id = id_arg(call_id)
    call = db.session.get(Call, call_id) if call_id else None
    if call is None or call.lead_id != lead.id or call.activity_id is None:
        raise funnel.FunnelError(_("This call is not one of the lead's."))
    if call.status != CallStatus.TO_WRITE_UP:
        raise funnel.FunnelError(_("This call is written up already."))
    return call


def owed_count(user_id):
    """How many of this person's calls still wait for what was said: the navigation's count,
    off the index of (user, status)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Call)
        .where(Call.user_id == user_id, Call.status == CallStatus.TO_WRITE_UP)
    )
