"""Notices of what others did: "a lead was given to you" and "a new request came in".

The funnel service tells of a lead changing hands as it happens (`lead_given`); the notices are
recorded once the transaction commits, one query and a few rows per commit, so a manager
reassigning a thousand leads gives each person one notice of how many, not a thousand. A
rolled-back change tells nobody.
"""

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from crm.extensions import db
from crm.models import NotificationKind, User, utcnow
from crm.notifications import inbox

PENDING = "crm_leads_given"
# More leads than this given to one person in one go make one notice of how many.
ONE_BY_ONE = 5


def lead_given(session, lead, owner_id, actor):
    """Note that `actor` gives `lead` to `owner_id`: a notice for them once this commits. Not
    for one's own leads, leads let go, or changes the system makes (an import's, a form's)."""
    if owner_id is None or actor is None or owner_id == actor.id:
        return
    session.info.setdefault(PENDING, []).append((lead, owner_id, actor.name))


@event.listens_for(Session, "before_commit")
def _record_given(session):
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    # New leads get their ids and numbers.
    session.flush()
    by_owner = {}
    for lead, owner_id, by in pending:
        if lead.owner_id == owner_id:
            by_owner.setdefault(owner_id, []).append((lead, by))
    for owner_id, given in by_owner.items():
        tell_owner(owner_id, given)


@event.listens_for(Session, "after_rollback")
def _forget_given(session):
    session.info.pop(PENDING, None)


def tell_owner(owner_id, given):
    from crm.notifications import channels  # it reads the funnel's lists, which import this

    active = db.session.scalar(select(User.active).where(User.id == owner_id))
    prefs = inbox.preferences_of(owner_id)
    if not active or not prefs["given"]:
        return
    wanted = channels.wanted(NotificationKind.GIVEN, prefs, owner_id)
    moment = f"{utcnow():%Y%m%dT%H%M%S%f}"
    if len(given) > ONE_BY_ONE:
        first, by = given[0]
        key = f"given:{owner_id}:{first.id}:{len(given)}:{moment}"
        params = {"count": len(given), "by": by}
        inbox.record(owner_id, NotificationKind.GIVEN, key, wanted, params=params)
        return
    for lead, by in given:
        params = {"number": lead.number, "title": lead.title, "by": by}
        key = f"given:{owner_id}:{lead.id}:{moment}"
        inbox.record(owner_id, NotificationKind.GIVEN, key, wanted, lead_id=lead.id, params=params)


def request_came_in(form, lead, activity, is_new):
    """Tell of a request through an intake form: its owner, or when it gives its leads to
    nobody, the managers and administrators."""
    from crm.notifications import channels

    db.session.flush()
    if form.owner is not None and form.owner.active:
        people = [form.owner.id]
    else:
        people = db.session.scalars(
            select(User.id).where(User.active.is_(True), User.role.in_(inbox.MANAGING_ROLES))
        ).all()
    params = {"number": lead.number, "title": lead.title, "form": form.name, "new": is_new}
    for user_id in people:
        prefs = inbox.preferences_of(user_id)
        if not prefs["request"]:
            continue
        inbox.record(
            user_id,
            NotificationKind.REQUEST,
            f"request:{activity.id}:{user_id}",
            channels.wanted(NotificationKind.REQUEST, prefs, user_id),
            lead_id=lead.id,
            params=params,
        )


def missed_call(owner_id, lead, call):
    """Tell the lead's owner of a call nobody answered, or when nobody owns the lead, the
    managers and administrators."""
    from crm.notifications import channels

    db.session.flush()
    if owner_id is not None:
        people = [owner_id]
    else:
        people = db.session.scalars(
            select(User.id).where(User.active.is_(True), User.role.in_(inbox.MANAGING_ROLES))
        ).all()
    params = {
        "number": lead.number,
        "title": lead.title,
        "from": call.outside_number,
        "at": call.started_at.isoformat() if call.started_at else None,
    }
    for user_id in people:
        prefs = inbox.preferences_of(user_id)
        if not prefs["missed_call"]:
            continue
        inbox.record(
            user_id,
            NotificationKind.MISSED_CALL,
            f"missed_call:{call.id}:{user_id}",
            channels.wanted(NotificationKind.MISSED_CALL, prefs, user_id),
            lead_id=lead.id,
            params=params,
        )
