"""Funnel analytics: a page per report, its tables as CSV, and the leads behind any number."""

from flask import abort, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm import csv_export, htmx
from crm.analytics import bp, cache
from crm.analytics.catalogue import REPORTS, by_slug
from crm.analytics.filters import PERIODS, ReportFilters
from crm.board.queries import sources
from crm.extensions import db
from crm.formatting import currency
from crm.leads.queries import last_contacts, stages_in_order, team
from crm.models import Lead

# The leads behind a number are listed up to this many; the count covers them all.
LISTED = 200


def report_or_404(slug):
    report = by_slug(slug)
    if report is None:
        abort(404)
    return report


def result_of(report, filters):
    key = (filters.key(), report.moves_with())
    return cache.remember(report.slug, key, lambda: report.compute(filters))


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
        "team": team() if filters.sees_team else [],
        "sources": sources(),
        "currency_sign": currency(),
    }


@bp.route("/")
@login_required
def index():
    """Analytics opens on the funnel."""
    return redirect(url_for("analytics.show", slug=REPORTS[0].slug, **request.args))


@bp.route("/<slug>")
@login_required
def show(slug):
    """One report for the period, owner and source in the URL."""
    report = report_or_404(slug)
    filters = ReportFilters.from_args(request.args, current_user)
    result = result_of(report, filters)
    context = page_context(report, filters)
    return htmx.render(report.template, report.template, result=result, **context)


@bp.route("/<slug>/<table>.csv")
@login_required
def download(slug, table):
    """One table of a report as a CSV file, with the same filters."""
    report = report_or_404(slug)
    filters = ReportFilters.from_args(request.args, current_user)
    tables = report.tables(filters, result_of(report, filters))
    if table not in tables:
        abort(404)
    chosen = tables[table]
    filename = f"{slug}-{table}-{filters.first_day}-{filters.last_day}.csv"
    return csv_export.download(filename, chosen.header, chosen.rows)


@bp.route("/<slug>/leads")
@login_required
def leads(slug):
    """The leads behind a number of a report."""
    report = report_or_404(slug)
    filters = ReportFilters.from_args(request.args, current_user)
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
