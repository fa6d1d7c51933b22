"""Activity: being built."""

from flask_babel import lazy_gettext as _l

from crm.analytics.reports import Report

REPORT = Report(
    slug="activity",
    title=_l("Activity"),
    template="analytics/activity.html",
    compute=lambda filters: None,
    tables=lambda filters, result: {},
    leads=lambda filters, args: None,
)
