"""Sources: being built."""

from flask_babel import lazy_gettext as _l

from crm.analytics.reports import Report

REPORT = Report(
    slug="sources",
    title=_l("Sources"),
    template="analytics/sources.html",
    compute=lambda filters: None,
    tables=lambda filters, result: {},
    leads=lambda filters, args: None,
)
