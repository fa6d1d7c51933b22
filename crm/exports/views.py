"""Downloads: the lead list and the activities feed as CSV files or XLSX workbooks, as
filtered on the page, and everything as JSON for administrators. None is held in memory
whole, whatever its size."""

from flask import Response, abort, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import csv_export, xlsx_export
from crm.access import restricted_to
from crm.activities import queries as feed_queries
from crm.activities.forms import FeedForm, set_choices
from crm.errors import render_error
from crm.exports import bp, files, queries
from crm.leads.filters import LeadList
from crm.security import admin_required
from crm.timezones import day_bounds, local_today, user_zone


def lead_list_table():
    """The header and rows of the lead list as the address filters and orders it."""
    # Whoever sees the list may take it away, and only what they see (crm.access).
    view = LeadList(request.args, current_user)
    return files.leads_table(view.filters(), user_zone(), view.sort, view.descending)


def leads_file_name(extension):
    return f"leads-{local_today().isoformat()}.{extension}"


@bp.route("/leads.csv")
@login_required
def leads():
    """The lead list as a CSV file: every lead its search and filters match, in its order."""
    header, rows = lead_list_table()
    separator = csv_export.request_separator()
    return csv_export.stream(leads_file_name("csv"), header, rows, separator)


@bp.route("/leads.xlsx")
@login_required
def leads_xlsx():
    """The lead list as an XLSX workbook: the same leads as the CSV file, in typed cells."""
    header, rows = lead_list_table()
    return xlsx_export.download(leads_file_name("xlsx"), _("Leads"), header, rows)


def feed_table():
    """The name (without extension), header and rows of the activities the feed's filters in
    the address match, all pages, oldest first; with `all=1`, of all time. Filters the feed
    would refuse are a 422 page."""
    form = FeedForm(formdata=request.args)
    set_choices(form)
    if not form.validate():
        problems = [
            f"{form[name].label.text}: {' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items()
        ]
        abort(render_error(422, " ".join(problems)))
    if request.args.get("all") == "1":
        start, end = queries.ALL_TIME
        name = "activities"
    else:
        first, last = form.period(local_today())
        start, end = day_bounds(first)[0], day_bounds(last)[1]
        name = f"activities-{first.isoformat()}-{last.isoformat()}"
    filters = feed_queries.Filters(
        start=start,
        end=end,
        author_id=form.author.data,
        kind_id=form.kind.data,
        stage_id=form.stage.data,
        pipeline_id=form.pipeline.data,
        restricted_to=restricted_to(current_user),
    )
    return (name, *files.activities_table(filters, user_zone()))


@bp.route("/activities.csv")
@login_required
def activities():
    """The activities feed as a CSV file: the contacts its filters match."""
    name, header, rows = feed_table()
    separator = csv_export.request_separator()
    return csv_export.stream(f"{name}.csv", header, rows, separator)


@bp.route("/activities.xlsx")
@login_required
def activities_xlsx():
    """The activities feed as an XLSX workbook: the same contacts as the CSV file."""
    name, header, rows = feed_table()
    return xlsx_export.download(f"{name}.xlsx", _("Activities"), header, rows)


@bp.route("/everything.json")
@admin_required
def everything():
    """Everything in the CRM as one JSON file, for a backup or for moving to another tool."""
    body = stream_with_context(piece.encode() for piece in files.everything())
    response = Response(body, mimetype="application/json")
    filename = f"crm-export-{local_today().isoformat()}.json"
    response.headers["Content-Disposition"] = csv_export.attachment(filename)
    return response
