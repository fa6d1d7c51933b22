"""Funnel analytics: a page per report, its tables as CSV and XLSX, and the leads behind any
number."""

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm import csv_export, htmx, roles, xlsx_export
from crm.analytics import bp, cache
from crm.analytics.catalogue import REPORTS, by_slug
from crm.analytics.filters import OWNER_MINE, PERIODS, ReportFilters, choice_fields
from crm.board.queries import sources
from crm.extensions import db
from crm.formatting import currency
from crm.leads.queries import last_contacts
from crm.lists import stages_in_order, team
from crm.models import Lead, User

# The leads behind a number are listed up to this many; the count covers them all.
LISTED = 200
# Where the team's fields are defined; Settings itself leads there until that page exists.
FIELDS_PAGE = "settings.fields"


def report_or_404(slug):
    report = by_slug(slug)
    if report is None:
        abort(404)
    return report


def result_of(report, filters):
    key = (filters.key(), report.moves_with())
    return cache.remember(report.slug, key, lambda: report.compute(filters), may_lag=True)


# The filters offer the active team and the first sources by name: the one chosen is added
# when it is not among them, or the form would say "Everyone" (or "Any source") above numbers
# that are someone's (or one source's).


def owner_choices(filters):
    """Whom the owner filter offers: the active team, and the person chosen if they left it."""
    if not filters.sees_team:
        return []
    people = team()
    chosen = filters.owner_id if filters.owner != OWNER_MINE else None
    if chosen is not None and all(person.id != chosen for person in people):
        person = db.session.get(User, chosen)
        if person is not None:
            people = [*people, person]
    return people


def source_choices(filters):
    """The sources the source filter offers, the one chosen among them."""
    shown = sources()
    return shown if not filters.source or filters.source in shown else [*shown, filters.source]


def fields_page_url():
    """Settings → Fields, where an administrator adds a choice field to report by."""
    found = FIELDS_PAGE in current_app.view_functions
    return url_for(FIELDS_PAGE if found else "settings.index")


def page_context(report, filters):
    """What every report page shows around its own numbers."""
    stages = stages_in_order()
    return {
        "title": report.title,
        "active": "analytics",
        "report": report,
        "reports": REPORTS,
        "filters": filters,
        "periods": PERIODS,
        "stages": stages,
        "stage_by_id": {stage.id: stage for stage in stages},
        "team_by_role": roles.by_role(owner_choices(filters)),
        "sources": source_choices(filters),
        "filter_fields": choice_fields(),
        "fields_page": fields_page_url(),
        "adds_fields": current_user.is_admin,
        "currency_sign": currency(),
    }


@bp.route("/")
@login_required
def index():
    """Analytics opens on the funnel, with the filters the URL gives (and nothing else: any
    other argument, passed on to url_for, could name one of its own, such as `endpoint`)."""
    filters = ReportFilters.from_args(request.args, current_user)
    return redirect(filters.url("analytics.show", slug=REPORTS[0].slug))


@bp.route("/<slug>")
@login_required
def show(slug):
    """One report for the period, owner and source in the URL."""
    report = report_or_404(slug)
    filters = report.filters(ReportFilters.from_args(request.args, current_user))
    result = report.shows(result_of(report, filters))
    context = page_context(report, filters)
    return htmx.render(report.template, report.template, result=result, **context)


@bp.route("/field-filter")
@login_required
def field_filter():
    """The options of the field chosen in the report filters (`f`), to tick some of them."""
    filters = ReportFilters.from_args(request.args, current_user)
    return htmx.fragment(render_template("analytics/_field_options.html", filters=filters))


def table_or_404(slug, table):
    """The report, the file name (without extension) and the table `table` of the report
    `slug` for the filters in the address."""
    report = report_or_404(slug)
    filters = report.filters(ReportFilters.from_args(request.args, current_user))
    tables = report.tables(filters, result_of(report, filters))
    if table not in tables:
        abort(404)
    return report, f"{slug}-{table}-{filters.first_day}-{filters.last_day}", tables[table]


@bp.route("/<slug>/<table>.csv")
@login_required
def download(slug, table):
    """One table of a report as a CSV file, with the same filters."""
    _report, name, chosen = table_or_404(slug, table)
    separator = csv_export.request_separator()
    return csv_export.download(f"{name}.csv", chosen.header, chosen.rows, separator)


@bp.route("/<slug>/<table>.xlsx")
@login_required
def download_xlsx(slug, table):
    """One table of a report as an XLSX workbook, a sheet named after the report."""
    report, name, chosen = table_or_404(slug, table)
    return xlsx_export.download(f"{name}.xlsx", report.title, chosen.header, chosen.rows)


@bp.route("/<slug>/leads")
@login_required
def leads(slug):
    """The leads behind a number of a report."""
    report = report_or_404(slug)
    filters = report.filters(ReportFilters.from_args(request.args, current_user))
    behind = report.leads(filters, request.args)
    if behind is None:
        abort(404)
    ids = behind.ids.subquery()
    count = db.session.scalar(select(func.count()).select_from(ids))
    shown = db.session.scalars(
        select(Lead)
        .where(Lead.id.in_(select(ids.c[0])))
        .options(joinedload(Lead.stage), joinedload(Lead.owner))
        .order_by(Lead.number.desc())
        .limit(LISTED)
    ).all()
    context = page_context(report, filters)
    context["title"] = _("Leads: %(caption)s", caption=behind.caption)
    return htmx.render(
        "analytics/leads.html",
        "analytics/leads.html",
        leads=shown,
        count=count,
        listed=LISTED,
        caption=behind.caption,
        hints=last_contacts(shown),
        **context,
    )
