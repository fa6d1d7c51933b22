"""Won and lost: being built."""

from flask_babel import lazy_gettext as _l

from crm.analytics.reports import Report

REPORT = Report(
    slug="won-lost",
    title=_l("Won and lost"),
    template="analytics/won_lost.html",
    compute=lambda filters: None,
    tables=lambda filters, result: {},
    leads=lambda filters, args: None,
)
