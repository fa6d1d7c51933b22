"""Time in stage: being built."""

from flask_babel import lazy_gettext as _l

from crm.analytics.reports import Report

REPORT = Report(
    slug="time-in-stage",
    title=_l("Time in stage"),
    template="analytics/time_in_stage.html",
    compute=lambda filters: None,
    tables=lambda filters, result: {},
    leads=lambda filters, args: None,
)
