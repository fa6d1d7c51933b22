"""`flask --app crm import leads|activities FILE`: the import of Settings → Import, from a shell.

It reads the file as the page does, guesses the columns from the headers (--map corrects them),
checks the file, and imports it in one transaction unless the check found problems.
"""

import tempfile
from decimal import Decimal

import click

from crm import parsing
from crm.extensions import db
from crm.imports import engine, fields
from crm.imports.changes import LeadChange
from crm.imports.forms import column_name
from crm.imports.matching import casefolded
from crm.imports.reading import FileProblem, inspect
from crm.models import ActivityKind, LostReason, Stage, User
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
    dates,
    statuses,
    create_stages,
    owner,
    contact_kind,
    lost_reason,
    won_value,
    zone,
    sheet,
    dry_run,
    skip_errors,
):
    """Import a sheet of leads or activities (CSV or XLSX), as Settings → Import does."""
    try:
        layout = inspect(path, sheet=sheet)
    except FileProblem as problem:
        raise click.ClickException(problem.message) from problem
    settings = engine.Settings(
        kind=kind,
        mapping=columns(kind, layout, mapping),
        date_order=dates,
        statuses=stage_answers(statuses),
        owner_id=user_id(owner) if owner else None,
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


def columns(kind, layout, overrides):
    """The fields guessed from the headers, corrected by --map."""
    keys = {f.key for f in fields.fields_of(kind)}
    samples = [column.examples for column in layout.columns]
    chosen = dict(enumerate(fields.guess(kind, layout.headers, samples)))
    for item in overrides:
        column, _sep, key = item.rpartition("=")
        index = column_index(layout, column.strip())
        key = key.strip()
        if key not in keys | {"-"}:
            raise click.BadParameter(f"no field {key!r} in a {kind} sheet", param_hint="--map")
        for other, other_key in chosen.items():
            if other_key == key and other != index:
                chosen[other] = None
        chosen[index] = None if key == "-" else key
    return {key: index for index, key in chosen.items() if key}


def column_index(layout, column):
    for candidate in layout.columns:
        if column in (candidate.header, column_name(candidate.index)):
            return candidate.index
    folded = casefolded(column)
    for candidate in layout.columns:
        if casefolded(candidate.header) == folded:
            return candidate.index
    raise click.BadParameter(f"no column {column!r} in the file", param_hint="--map")


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
    for line, message in report.errors:
        click.echo(f"  line {line}: {message}")
    if report.failed > len(report.errors):
        click.echo(f"  ... and {report.failed - len(report.errors):,} more.")


def describe_changes(report):
    """What the import would do to each of the dry run's first leads, a line each."""
    for change in map(LeadChange.from_dict, report.lead_changes):
        stages = " → ".join(stage["name"] if stage else "…" for stage in change.stages)
        said = []
        if change.new:
            said.append(f"new, at {stages}" if stages else "new")
        elif stages:
            said.append(f"stage {stages}")
        said += [f"{key} {old or '—'} → {new or '—'}" for key, old, new in change.fields]
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
