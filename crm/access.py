"""Who sees and who changes which leads: the one place for that policy.

Admins and managers see and work every lead. Salespeople work their own and the unclaimed ones
(which they may take), and see, unless an admin has turned it off, their colleagues' leads
read-only. Every read of leads (pages, partials, the board and its poll, the agenda, exports,
the API) narrows itself with `lead_scope`, and a lead fetched by its number or id passes
`may_see`. The funnel service asks `may_change` before every write.
"""

from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from crm import app_settings, kept_settings
from crm.args import MAX_ID
from crm.extensions import db
from crm.models import Activity, Lead, Role, Stage, utcnow
from crm.per_request import once_per_request

SETTING = "salespeople_see"
HANDING_ON_SETTING = "salespeople_pass_leads_on"
HIDDEN_DUPLICATES_SETTING = "warn_of_hidden_duplicates"


# How long the author may still edit or delete an activity they logged.
EDIT_WINDOW = timedelta(hours=24)


def manages_the_team(user):
    """Admins and managers work every lead and see every colleague's agenda."""
    return user.role in (Role.ADMIN, Role.MANAGER)


def may_change(lead, actor):
    """Admins and managers work every lead; a salesperson works their own and unclaimed ones.
    No actor is the system itself (the demo data, an import)."""
    if actor is None or manages_the_team(actor):
        return True
    return lead.owner_id in (None, actor.id)


def not_allowed_message():
    return _("This lead is someone else's: only its owner or a manager can change it.")


def can_change_activity(activity, actor, now=None):
    """Authors may correct what they logged for a while; after that it stands."""
    now = now or utcnow()
    return (
        actor is not None
        and activity.author_id == actor.id
        and activity.deleted_at is None
        and now - activity.created_at <= EDIT_WINDOW
    )


def may_restore_activities(actor):
    """Administrators undo a deletion; no actor is the system itself."""
    return actor is None or actor.role == Role.ADMIN


class ColleaguesLeads(StrEnum):
    """What a salesperson sees of the leads their colleagues own."""

    READ_ONLY = "read-only"
    HIDDEN = "hidden"


def colleagues_leads():
    """The instance's setting (read with the team's other settings, once per request)."""
    value = app_settings.value(SETTING, "")
    known = value in ColleaguesLeads.__members__.values()
    return ColleaguesLeads(value) if known else ColleaguesLeads.READ_ONLY


def set_colleagues_leads(choice):
    app_settings.store(SETTING, ColleaguesLeads(choice).value)


def salespeople_pass_leads_on():
    """Whether a salesperson may give a lead they work to a colleague (off unless an admin
    turns it on: reassigning is a manager's job)."""
    return app_settings.value(HANDING_ON_SETTING, "") == "on"


def set_salespeople_pass_leads_on(allowed):
    app_settings.store(HANDING_ON_SETTING, "on" if allowed else "off")


def warns_of_hidden_duplicates():
    """Whether a new lead that looks like a colleague's hidden one is warned of, saying whose
    (on unless an admin turns it off: it keeps two people from working one client, at the cost
    of telling that the client is someone's)."""
    return app_settings.value(HIDDEN_DUPLICATES_SETTING, "") != "off"


def set_warns_of_hidden_duplicates(warns):
    app_settings.store(HIDDEN_DUPLICATES_SETTING, "on" if warns else "off")


def told_of(found, user):
    """Leads found like another (the duplicate warning, a client's other leads), each marked
    `hidden` when `user` may not open it: named without its details, or left out when the
    team keeps hidden leads out of the warning."""
    marked = [replace(item, hidden=not may_see(item.lead, user)) for item in found]
    if warns_of_hidden_duplicates():
        return marked
    return [item for item in marked if not item.hidden]


def gives_leads_to_others(user):
    """Managers and administrators give leads to anyone; salespeople only when the team lets
    them pass leads on."""
    return manages_the_team(user) or salespeople_pass_leads_on()


def sees_every_lead(user):
    return manages_the_team(user) or colleagues_leads() == ColleaguesLeads.READ_ONLY


@dataclass(frozen=True)
class Scope:
    """The leads a person may see, when not all: only their own and the unclaimed ones
    (`owner_id`), only those in some pipelines (`pipeline_ids`), or both. Plain values, so it
    can ride in a query's filters and cache key."""

    owner_id: int | None = None
    pipeline_ids: tuple | None = None


def pipelines_of(user):
    """The ids of the pipelines `user` works in, sorted; None for every one (managers and
    administrators always)."""
    if user is None or manages_the_team(user) or not user.pipeline_ids:
        return None
    return tuple(sorted(user.pipeline_ids))


def may_use_pipeline(user, pipeline_id):
    """Whether `user` works in the pipeline: may see its leads and put leads in it."""
    pipelines = pipelines_of(user)
    return pipelines is None or pipeline_id in pipelines


def restricted_to(user):
    """What `user` may see of the leads (a Scope), or None when they see every lead."""
    owner_id = None if sees_every_lead(user) else user.id
    pipeline_ids = pipelines_of(user)
    if owner_id is None and pipeline_ids is None:
        return None
    return Scope(owner_id, pipeline_ids)


def scope_condition(scope):
    """Conditions on Lead that keep to `scope`; none for None."""
    if scope is None:
        return []
    found = []
    if scope.owner_id is not None:
        found.append(or_(Lead.owner_id == scope.owner_id, Lead.owner_id.is_(None)))
    if scope.pipeline_ids is not None:
        in_pipelines = select(Stage.id).where(Stage.pipeline_id.in_(scope.pipeline_ids))
        found.append(Lead.stage_id.in_(in_pipelines))
    return found


def lead_scope(user):
    """Conditions on Lead that keep to what `user` may see (none when they see everything)."""
    return scope_condition(restricted_to(user))


def may_see(lead, user):
    if pipelines_of(user) is not None and lead.stage_id not in stages_worked_in(user):
        return False
    return sees_every_lead(user) or lead.owner_id in (None, user.id)


def stages_worked_in(user):
    """The ids of the stages of the pipelines `user` works in: read once per request."""
    key = f"stages_worked_in:{user.id}"
    return once_per_request(key, lambda: kept_settings.kept(key, lambda: stage_ids_of(user)))


def stage_ids_of(user):
    pipelines = pipelines_of(user)
    return frozenset(db.session.scalars(select(Stage.id).where(Stage.pipeline_id.in_(pipelines))))


# A lead named in an address


def lead_or_404(number, *options):
    """The lead with this number, if the user may see it; else 404. `options` load what the
    page shows with it in the same statement (its people, on its own page)."""
    if number > MAX_ID:
        abort(404)
    found = select(Lead).options(*options).where(Lead.number == number)
    return visible_or_404(db.session.execute(found).unique().scalar_one_or_none())


def lead_by_id_or_404(lead_id):
    """The lead with this id (the board and the agenda address leads by id), or 404."""
    lead = db.session.get(Lead, lead_id) if lead_id <= MAX_ID else None
    return visible_or_404(lead)


def visible_or_404(lead):
    """A lead hidden from the user is answered as if it did not exist: a guessed number
    tells nothing."""
    if lead is None or not may_see(lead, current_user):
        abort(404)
    return lead


def changeable_lead_or_403(number):
    """A lead the user may change: a colleague's lead they may only read is 403."""
    lead = lead_or_404(number)
    if not may_change(lead, current_user):
        abort(403)
    return lead


def activity_or_404(lead, activity_id):
    """One of the lead's activities, not deleted, or 404."""
    activity = db.session.get(Activity, activity_id) if activity_id <= MAX_ID else None
    if activity is None or activity.lead_id != lead.id or activity.deleted_at is not None:
        abort(404)
    return activity
