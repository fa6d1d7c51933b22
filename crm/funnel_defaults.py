"""The starting funnel, activity kinds and lost reasons, in the language chosen at setup."""

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, select

from crm.extensions import db
from crm.models import ActivityKind, LostReason, Pipeline, Stage, StageKind


def default_stages():
    """The founding article's funnel: (name, colour, kind, stuck after days).

    Each colour reads at 4.5:1 with white or dark text, and each differs from the next by a
    wide step of hue (or grey against colour, or light against dark), so neighbouring columns
    and badges are told apart at a glance; Lost is a darker red than Won's green is, for those
    who do not see red and green apart.
    """
    return [
        (_("Cold"), "#64748b", StageKind.OPEN, 30),  # slate grey
        (_("Interested"), "#0e7490", StageKind.OPEN, 14),  # cyan
        (_("Estimate requested"), "#6d28d9", StageKind.OPEN, 5),  # violet
        (_("Estimate made"), "#be185d", StageKind.OPEN, 7),  # pink
        (_("Discussing the task"), "#ca8a04", StageKind.OPEN, 10),  # yellow, with dark text
        (_("Discussing terms"), "#1d4ed8", StageKind.OPEN, 10),  # blue
        (_("Signing the contract"), "#c2410c", StageKind.OPEN, 7),  # orange
        (_("Work!"), "#15803d", StageKind.WON, None),  # green
        (_("Lost"), "#991b1b", StageKind.LOST, None),  # dark red
    ]


def first_pipeline_name():
    return _("Sales")


# The built-in kinds' codes, by which the API takes them whatever the team renamed them to.
DEFAULT_KIND_CODES = ("call", "email", "meeting", "message", "note")


def default_activity_kinds():
    names = (_("Call"), _("Email"), _("Meeting"), _("Message"), _("Note"))
    return list(zip(DEFAULT_KIND_CODES, names, strict=True))


# The kind of the activities intake forms record. Not among the defaults: it is added with the
# first intake form, so a CRM that takes no requests from the web never offers it.
INCOMING_REQUEST = "request"
KIND_CODES = (*DEFAULT_KIND_CODES, INCOMING_REQUEST)


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
        pipeline = Pipeline(name=first_pipeline_name(), position=0)
        db.session.add(pipeline)
        for position, (name, colour, kind, stuck) in enumerate(default_stages()):
            db.session.add(
                Stage(
                    pipeline=pipeline,
                    name=name,
                    colour=colour,
                    position=position,
                    kind=kind,
                    stuck_after_days=stuck,
                )
            )
        for position, (code, name) in enumerate(default_activity_kinds()):
            db.session.add(ActivityKind(code=code, name=name, position=position))
        for position, name in enumerate(default_lost_reasons()):
            db.session.add(LostReason(name=name, position=position))
    db.session.flush()
