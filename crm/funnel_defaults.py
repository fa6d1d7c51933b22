"""The starting funnel, activity kinds and lost reasons, in the language chosen at setup."""

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, select

from crm.extensions import db
from crm.models import ActivityKind, LostReason, Stage, StageKind


def default_stages():
    """The founding article's funnel: (name, colour, kind, stuck after days)."""
    return [
        (_("Cold"), "#64748b", StageKind.OPEN, 30),
        (_("Interested"), "#0284c7", StageKind.OPEN, 14),
        (_("Estimate requested"), "#4f46e5", StageKind.OPEN, 5),
        (_("Estimate made"), "#7c3aed", StageKind.OPEN, 7),
        (_("Discussing the task"), "#b45309", StageKind.OPEN, 10),
        (_("Discussing terms"), "#c2410c", StageKind.OPEN, 10),
        (_("Signing the contract"), "#0f766e", StageKind.OPEN, 7),
        (_("Work!"), "#15803d", StageKind.WON, None),
        (_("Lost"), "#b91c1c", StageKind.LOST, None),
    ]


def default_activity_kinds():
    return [
        ("call", _("Call")),
        ("email", _("Email")),
        ("meeting", _("Meeting")),
        ("message", _("Message")),
        ("note", _("Note")),
    ]


# The kind of the activities intake forms record. Not among the defaults: it is added with the
# first intake form, so a CRM that takes no requests from the web never offers it.
INCOMING_REQUEST = "request"


def incoming_request_name():
    return _("Incoming request")


def default_lost_reasons():
    return [
        _("Price too high"),
        _("Chose a competitor"),
        _("No budget"),
        _("Stopped responding"),
        _("Not a fit for us"),
    ]


def install(language):
    """Create the default funnel and lists unless a funnel already exists."""
    if db.session.scalar(select(exists().where(Stage.id.isnot(None)))):
        return
    with force_locale(language):
        for position, (name, colour, kind, stuck) in enumerate(default_stages()):
            db.session.add(
                Stage(
                    name=name, colour=colour, position=position, kind=kind, stuck_after_days=stuck
                )
            )
        for position, (code, name) in enumerate(default_activity_kinds()):
            db.session.add(ActivityKind(code=code, name=name, position=position))
        for position, name in enumerate(default_lost_reasons()):
            db.session.add(LostReason(name=name, position=position))
    db.session.flush()
