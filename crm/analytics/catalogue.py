"""Every report, in the order the tabs show them."""

from crm.analytics import activity, by_field, conversion, outcomes, sources, time_in_stage

REPORTS = [
    conversion.REPORT,
    time_in_stage.REPORT,
    outcomes.REPORT,
    activity.REPORT,
    sources.REPORT,
    by_field.REPORT,
]


def by_slug(slug):
    return next((report for report in REPORTS if report.slug == slug), None)
