"""Who sees which leads.

Admins and managers see every lead. Salespeople see their own and the unclaimed ones (which
they may take), and, unless an admin has turned it off, their colleagues' leads read-only.
Every read of leads (pages, partials, the board and its poll, the agenda, exports, the API)
narrows itself with `lead_scope`, and a lead fetched by its number or id passes `may_see`.
"""

from enum import StrEnum

from flask import g
from sqlalchemy import or_

from crm.extensions import db
from crm.funnel import manages_the_team
from crm.models import AppSetting, Lead

SETTING = "salespeople_see"


class ColleaguesLeads(StrEnum):
    """What a salesperson sees of the leads their colleagues own."""

    READ_ONLY = "read-only"
    HIDDEN = "hidden"


def colleagues_leads():
    """The instance's setting, read once per request."""
    if "colleagues_leads" not in g:
        setting = db.session.get(AppSetting, SETTING)
        value = setting.value if setting else ""
        known = value in ColleaguesLeads.__members__.values()
        g.colleagues_leads = ColleaguesLeads(value) if known else ColleaguesLeads.READ_ONLY
    return g.colleagues_leads


def set_colleagues_leads(choice):
    setting = db.session.get(AppSetting, SETTING)
    if setting is None:
        setting = AppSetting(key=SETTING)
        db.session.add(setting)
    setting.value = ColleaguesLeads(choice).value
    g.pop("colleagues_leads", None)


def sees_every_lead(user):
    return manages_the_team(user) or colleagues_leads() == ColleaguesLeads.READ_ONLY


def restricted_to(user):
    """The id of the user whose leads (and the unclaimed ones) are all `user` may see, or None
    when they see every lead. A plain value, so it can ride in a query's filters and cache key."""
    return None if sees_every_lead(user) else user.id


def scope_condition(owner_id):
    """The leads of `owner_id` and the unclaimed ones; no condition for None."""
    if owner_id is None:
        return []
    return [or_(Lead.owner_id == owner_id, Lead.owner_id.is_(None))]


def lead_scope(user):
    """Conditions on Lead that keep to what `user` may see (none when they see everything)."""
    return scope_condition(restricted_to(user))


def may_see(lead, user):
    return sees_every_lead(user) or lead.owner_id in (None, user.id)
