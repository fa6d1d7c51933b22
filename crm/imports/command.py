"""`flask --app crm import leads|activities FILE`: the import of Settings → Import, from a shell.

It reads the file as the page does, guesses the columns from the headers (--map corrects them),
checks the file, and imports it in one transaction unless the check found problems. On a leads
sheet, a column named like a field of the team's is read into it (--field says which by hand),
and with --new-fields each column left over becomes a new field.
"""

import tempfile
from decimal import Decimal

import click

from crm import custom_fields, parsing
from crm.extensions import db
from crm.imports import engine, fields, team_fields
from crm.imports.changes import LeadChange
from crm.imports.forms import column_name
from crm.imports.matching import casefolded
from crm.imports.reading import FileProblem, inspect
from crm.models import ActivityKind, LostReason, Pipeline, Stage, User
from crm.timezones import team_zone_name


@click.command("import")
@click.argument("kind", type=click.Choice(fields.KINDS))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Read FIELD from COLUMN (its header or letter); FIELD '-' ignores the column. "
    "Repeatable. Fields: leads: number, title, contact_name, phone, email, source, value, owner, "
    "status, created_at, next_step_at, next_step_note, lost_reason; activities: lead_number, "
    "lead_title, lead_email, lead_phone, occurred_at, body, status, kind, author, value, "
    "lost_reason.",
)
@click.option(
    "--field",
    "own_fields",
    multiple=True,
    metavar="COLUMN=KEY",
    help="Read the team's field KEY (Settings → Fields) from COLUMN (its header or letter). "
    "Repeatable; leads only.",
)
@click.option(
    "--new-fields",
    is_flag=True,
    help="Make a new field of the team's of each column no field reads, typed after its "
    "values (leads only).",
)
@click.option(
    "--dates",
    type=click.Choice(parsing.DATE_ORDERS),
    help="Which comes first in dates like 03/04/2026.",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS=STAGE",
    help="Read the status STATUS as the stage STAGE. Repeatable.",
)
@click.option("--create-stages", is_flag=True, help="Create a stage for each unknown status.")
@click.option("--owner", metavar="EMAIL", help="Owner of leads whose row names none.")
@click.option("--pipeline", help="Pipeline of leads whose row names none (the first by default).")
@click.option("--kind-of-contact", "contact_kind", help="Kind of contact for rows naming none.")
@click.option(
    "--lost-reason", help="Why lost, for rows moving a lead to a lost stage without saying why."
)
@click.option("--won-value", help="Value of a won deal that has none.")
@click.option("--timezone", "zone", help="Zone of the dates (the app's default zone if not given).")
@click.option("--sheet", help="The sheet of an XLSX workbook (the first by default).")
@click.option("--dry-run", is_flag=True, help="Only check: say what would happen.")
@click.option("--skip-errors", is_flag=True, help="Import the rows that have no errors.")
def import_command(
    kind,
    path,
    mapping,
    own_fields,
    new_fields,
    dates,
    statuses,
    create_stages,
    owner,
    pipeline,
    contact_kind,
    lost_reason,
    won_value,
    zone,
    sheet,
    dry_run,
    skip_errors,
):
    """Import a sheet of leads or activities (CSV or XLSX), as Settings → Import does."""
    if kind != fields.LEADS and (own_fields or new_fields):
        raise click.UsageError("--field and --new-fields are for a leads sheet.")
    try:
        layout = inspect(path, sheet=sheet)
    except FileProblem as problem:
        raise click.ClickException(problem.message) from problem
    chosen = columns(kind, layout, mapping, own_fields)
    unread, made = team_columns(kind, layout, chosen, new_fields)
    settings = engine.Settings(
        kind=kind,
        mapping={key: index for index, key in chosen.items() if key},
        new_fields=made,
        date_order=dates,
        statuses=stage_answers(statuses),
        owner_id=user_id(owner) if owner else None,
        pipeline_id=named(Pipeline, pipeline, "--pipeline"),
        kind_id=named(ActivityKind, contact_kind, "--kind-of-contact"),
        lost_reason_id=named(LostReason, lost_reason, "--lost-reason"),
        won_value=amount(won_value),
        zone=zone or team_zone_name(),
        skip_errors=skip_errors,
    )
    described = ", ".join(
        f"{layout.columns[index].header} → {key}"
        for key, index in sorted(settings.mapping.items(), key=lambda item: item[1])
    )
    click.echo(f"Columns: {described}", err=True)
    if made:
        planned = ", ".join(f"{item['label']} ({item['type']})" for item in made)
        click.echo(f"New fields: {planned}", err=True)
    if unread:
        click.echo(
            f"Not imported: {', '.join(unread)} (--new-fields makes fields of them).", err=True
        )
    with tempfile.TemporaryDirectory(prefix="crm-import-") as scratch:
        report = check(path, layout, settings, scratch)
        settings.statuses |= created_stages(report, create_stages)
        if create_stages and report.unknown_statuses:
            report = check(path, layout, settings, scratch)
        describe(report, "Would import" if dry_run else "Checked")
        if dry_run:
            describe_changes(report)
        if report.has_questions:
            ask(report)
        if report.failed and not skip_errors:
            raise click.ClickException(
                "Some rows have errors: correct the file, or import the others with --skip-errors."
            )
        if dry_run:
            return
        try:
            report = engine.run(
                path, layout, settings, apply=True, scratch=scratch, progress=show_progress
            )
        except engine.ImportFailed as failure:
            raise click.ClickException(failure.message) from failure
        click.echo("Committing ...", err=True)
        db.session.commit()
    describe(report, "Imported")


def check(path, layout, settings, scratch):
    try:
        report = engine.run(path, layout, settings, scratch=scratch, progress=show_progress)
    except engine.ImportFailed as failure:
        raise click.ClickException(failure.message) from failure
    db.session.rollback()
    return report


def show_progress(phase, share, rows):
    click.echo(f"  {phase}: {rows:,} rows, {share:.0%}", err=True)


def columns(kind, layout, overrides, own_fields=()):
    """Column index → the field guessed from its header (None: none is known by it; "": not
    imported), corrected by --map and --field."""
    keys = {f.key for f in fields.fields_of(kind)}
    samples = [column.examples for column in layout.columns]
    chosen = dict(enumerate(fields.guess(kind, layout.headers, samples)))
    for item in overrides:
        column, _sep, key = item.rpartition("=")
        index = column_index(layout, column.strip())
        key = key.strip()
        if key not in keys | {"-"}:
            raise click.BadParameter(f"no field {key!r} in a {kind} sheet", param_hint="--map")
        choose(chosen, index, fields.LEFT_OUT if key == "-" else key)
    team = {field.key for field in custom_fields.active_fields()}
    for item in own_fields:
        column, _sep, key = item.rpartition("=")
        index = column_index(layout, column.strip(), "--field")
        key = key.strip()
        if key not in team:
            known = ", ".join(sorted(team)) or "none yet"
            raise click.BadParameter(
                f"no field {key!r} of the team's (their keys: {known})", param_hint="--field"
            )
        choose(chosen, index, team_fields.field_value(key))
    return chosen


def choose(chosen, index, key):
    """Read `key` from column `index`, and from no other."""
    for other, other_key in chosen.items():
        if key and other_key == key and other != index:
            chosen[other] = fields.LEFT_OUT
    chosen[index] = key


def team_columns(kind, layout, chosen, new_fields):
    """The columns no field reads: each read into the field of the team's its header names
    (added to `chosen`), else made a new field with `new_fields`. Returns (the headers left
    out, the new fields)."""
    if kind != fields.LEADS:
        return [], []
    guesses = [chosen[column.index] for column in layout.columns]
    existing, made = team_fields.unmatched_columns(layout, guesses, custom_fields.active_fields())
    for key, index in existing.items():
        choose(chosen, index, key)
    if new_fields:
        return [], made
    return [layout.columns[item["column"]].header for item in made], []


def column_index(layout, column, option="--map"):
    for candidate in layout.columns:
        if column in (candidate.header, column_name(candidate.index)):
            return candidate.index
    folded = casefolded(column)
    for candidate in layout.columns:
        if casefolded(candidate.header) == folded:
            return candidate.index
    raise click.BadParameter(f"no column {column!r} in the file", param_hint=option)


def stage_answers(statuses):
    answers = {}
    stages = {casefolded(s.name): s for s in db.session.scalars(Stage.in_funnel_order())}
    for item in statuses:
        status, _sep, stage_name = item.rpartition("=")
        stage = stages.get(casefolded(stage_name))
        if not status or stage is None:
            raise click.BadParameter(f"no stage {stage_name!r}", param_hint="--status")
        answers[casefolded(status)] = f"{engine.EXISTING_STAGE}{stage.id}"
    return answers


def created_stages(report, create_stages):
    if not create_stages:
        return {}
    return {key: f"{engine.NEW_STAGE}open" for key in report.unknown_statuses}


def user_id(email):
    user = db.session.scalar(User.by_email(email))
    if user is None:
        raise click.BadParameter(f"no user {email!r}", param_hint="--owner")
    return user.id


def named(model, name, option):
    if not name:
        return None
    for item in db.session.scalars(db.select(model)):
        if casefolded(item.name) == casefolded(name):
            return item.id
    raise click.BadParameter(f"nothing called {name!r}", param_hint=option)


def amount(text):
    if not text:
        return None
    try:
        return str(Decimal(parsing.parse_number(text)))
    except parsing.ValueProblem as problem:
        raise click.BadParameter(problem.message, param_hint="--won-value") from problem


def describe(report, heading):
    click.echo(
        f"{heading}: {report.rows:,} rows: {report.created:,} new, {report.updated:,} updated, "
        f"{report.skipped:,} skipped, {report.failed:,} with errors"
        + (f", {report.stage_changes:,} stage changes" if report.stage_changes else "")
        + f" ({report.seconds:.1f} s)."
    )
    made = [new for new in report.new_fields if new["key"]]
    if made:
        click.echo(
            ("Fields created: " if heading == "Imported" else "New fields: ")
            + ", ".join(
                f"{new['label']} ({new['type']}"
                + (f", {new['options']} choices" if new["options"] else "")
                + ")"
                for new in made
            )
        )
    for line, message in report.errors:
        click.echo(f"  line {line}: {message}")
    if report.failed > len(report.errors):
        click.echo(f"  ... and {report.failed - len(report.errors):,} more.")


def describe_changes(report):
    """What the import would do to each of the dry run's first leads, a line each."""
    labels = {team_fields.field_value(f.key): f.label for f in custom_fields.all_fields()} | {
        team_fields.field_value(new["key"]): new["label"] for new in report.new_fields if new["key"]
    }
    for change in map(LeadChange.from_dict, report.lead_changes):
        stages = " → ".join(stage["name"] if stage else "…" for stage in change.stages)
        said = []
        if change.new:
            said.append(f"new, at {stages}" if stages else "new")
        elif stages:
            said.append(f"stage {stages}")
        said += [
            f"{labels.get(key, key)} {old or '—'} → {new or '—'}" for key, old, new in change.fields
        ]
        if change.contacts:
            said.append(f"{change.contacts:,} contacts added")
        number = f"#{change.number} " if change.number else ""
        click.echo(f"  {number}{change.title}: {'; '.join(said)}")
    more = report.leads_changed - len(report.lead_changes)
    if more > 0:
        click.echo(f"  ... and {more:,} more leads.")


def ask(report):
    lines = []
    if report.unknown_statuses:
        names = ", ".join(written for written, _count in report.unknown_statuses.values())
        lines.append(
            f"No stage is called: {names}. Say which stage each means with "
            '--status "STATUS=STAGE", or add --create-stages.'
        )
    if report.date_order_needed:
        lines.append("Dates like 03/04/2026 read either way: add --dates day-first or month-first.")
    raise click.ClickException(" ".join(lines))
