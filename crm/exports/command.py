"""`flask --app crm export`: the downloads of the lead list, the activities feed (as CSV or
XLSX) and the full JSON export, written to files or to standard output."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask_babel import force_locale
from flask_babel import gettext as _

from crm import csv_export, xlsx_export
from crm.activities import queries as feed_queries
from crm.exports import files, queries
from crm.i18n import team_language
from crm.leads.queries import LeadFilters
from crm.timezones import team_zone_name

STDOUT = "-"


def zone_of(name):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise click.BadParameter(f"unknown time zone {name!r}", param_hint="--timezone") from error


class Counted:
    """Rows passed through, counted on the way, for the summary."""

    def __init__(self, rows):
        self.rows = rows
        self.count = 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def write(path, pieces):
    # Binary, so the file holds exactly the bytes a download would, whatever the terminal's
    # encoding; "-" is standard output.
    with click.open_file(path, "wb") as out:
        for piece in pieces:
            out.write(piece.encode())


def write_table(path, file_format, separator, sheet_title, header, rows):
    """Write a table to `path` as CSV with `separator`, or as an XLSX workbook."""
    if file_format == "csv":
        write(path, csv_export.pieces(header, rows, separator))
        return
    with click.open_file(path, "wb") as out:
        xlsx_export.write_workbook(out, sheet_title, header, rows)


@click.command("export")
@click.option(
    "--leads", "leads_path", metavar="FILE", help="Every lead, archived too ('-': stdout)."
)
@click.option(
    "--activities",
    "activities_path",
    metavar="FILE",
    help="Every activity (but deleted ones) ('-': stdout).",
)
@click.option(
    "--json",
    "json_path",
    metavar="FILE",
    help="Everything, deleted activities flagged, as JSON ('-': stdout).",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "xlsx"]),
    default="csv",
    show_default=True,
    help="Format of the leads and activities files.",
)
@click.option(
    "--language",
    type=click.Choice(["en", "ru"]),
    help="Language of the headers (the instance's default language if not given).",
)
@click.option(
    "--separator",
    type=click.Choice(sorted(csv_export.SEPARATORS)),
    help="Separator of the CSV files (the language's if not given: semicolon for ru).",
)
@click.option(
    "--timezone",
    "zone_name",
    help="Zone of the dates in the files (the instance's default zone if not given).",
)
def export_command(
    leads_path, activities_path, json_path, file_format, language, separator, zone_name
):
    """Write the leads and activities as CSV (UTF-8 with BOM) or XLSX, everything as JSON."""
    paths = [path for path in (leads_path, activities_path, json_path) if path]
    if not paths:
        raise click.UsageError("Say what to export: --leads, --activities and/or --json FILE.")
    if paths.count(STDOUT) > 1:
        raise click.UsageError("Only one of the files can go to standard output.")
    zone = zone_of(zone_name or team_zone_name())
    language = language or team_language()
    separator = csv_export.SEPARATORS[csv_export.separator_name(separator, language)]
    with force_locale(language):
        if leads_path:
            header, rows = files.leads_table(LeadFilters(include_archived=True), zone)
            rows = Counted(rows)
            write_table(leads_path, file_format, separator, _("Leads"), header, rows)
            click.echo(f"Wrote {rows.count:,} leads to {leads_path}.", err=True)
        if activities_path:
            filters = feed_queries.Filters(*queries.ALL_TIME)
            header, rows = files.activities_table(filters, zone)
            rows = Counted(rows)
            write_table(activities_path, file_format, separator, _("Activities"), header, rows)
            click.echo(f"Wrote {rows.count:,} activities to {activities_path}.", err=True)
    if json_path:
        write(json_path, files.everything())
        click.echo(f"Wrote everything to {json_path}.", err=True)
