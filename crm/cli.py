"""Commands for operators: `flask --app crm <command>`."""

import sys

import click

from crm import api_tokens, demo, funnel_defaults, i18n, timezones, two_factor
from crm.accounts import AccountError, create_user
from crm.backup import backup_command, restore_command
from crm.exports.command import export_command
from crm.extensions import db
from crm.imports.command import import_command
from crm.models import AppSetting, Role, User, utcnow
from crm.notifications.command import notify_command


def init_app(app):
    app.cli.add_command(create_user_command)
    app.cli.add_command(api_token_command)
    app.cli.add_command(two_factor_off_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(notify_command)


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option(
    "--language",
    type=click.Choice(["en", "ru"]),
    help="Interface language (and of the default funnel, if none exists yet). "
    "Default: the team's, else en.",
)
@click.option(
    "--timezone",
    "zone",
    callback=lambda _ctx, _param, value: value and known_zone_or_fail(value),
    help="Time zone, such as Europe/Moscow. Default: the team's.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email, name, admin, language, zone, password_stdin):
    """Create an account. The password is asked for, or read with --password-stdin.

    The first account made here also sets the team's language and, given --timezone, its zone,
    as the setup page does.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    role = Role.ADMIN if admin else Role.SALESPERSON
    try:
        user = create_user(email, name, password, role=role, locale=language, timezone=zone)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    # An install made from the command line needs a funnel and the team's defaults just as
    # one made on the setup page.
    funnel_defaults.install(user.locale)
    if not db.session.get(AppSetting, "installed_at"):
        install_team_defaults(user.locale, zone)
        db.session.add(AppSetting(key="installed_at", value=utcnow().isoformat()))
    db.session.commit()
    zone_note = f" in {user.timezone}" if user.timezone else ""
    click.echo(f"Created {user.role} {user.email}{zone_note}.")


@click.command("api-token")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, as Settings lists it.")
def api_token_command(email, name):
    """Print a new personal API token for the account EMAIL, for a script or a monitor.

    Shown once, here: only its hash is kept. It can do what its owner can do, and is revoked
    under Settings → API tokens.
    """
    user = db.session.scalar(User.by_email(email))
    if user is None or not user.active:
        raise click.ClickException(f"no active account has the email {email!r}")
    name = name.strip()
    if not name or len(name) > api_tokens.NAME_MAX:
        raise click.BadParameter(
            f"give the token a name of 1 to {api_tokens.NAME_MAX} characters", param_hint="--name"
        )
    _record, token = api_tokens.issue(user, name)
    db.session.commit()
    click.echo(token)


@click.command("two-factor-off")
@click.argument("email")
def two_factor_off_command(email):
    """Turn two-step sign-in off for the account EMAIL, whose owner lost both the phone and the
    recovery codes: their password alone signs them in again, and they may turn it on anew.

    Recorded in the log of changes, as done by the system.
    """
    user = db.session.scalar(User.by_email(email))
    if user is None:
        raise click.ClickException(f"no account has the email {email!r}")
    if not user.two_factor_on:
        click.echo(f"{user.email} does not use two-step sign-in: nothing to turn off.")
        return
    two_factor.turn_off(user)
    db.session.commit()
    click.echo(
        f"Two-step sign-in is off for {user.email}: their password alone signs them in. "
        "They can turn it on again under My account."
    )


def known_zone_or_fail(name):
    """The zone as the list offers it, or a usage error naming the problem."""
    zone = timezones.known_zone(name)
    if zone is None:
        raise click.BadParameter(
            f"unknown time zone {name!r}; use a name from the zone database, such as "
            "Europe/Moscow or Asia/Vladivostok.",
            param_hint="--timezone",
        )
    return zone


def install_team_defaults(language, zone):
    """What setup asks of the first account: the team's language and, if given, zone."""
    i18n.set_team_language(language)
    if zone:
        timezones.set_team_zone(zone)


@click.command("demo")
@click.option("--leads", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--activities", type=click.IntRange(min=0), default=10000, show_default=True)
@click.option(
    "--users",
    type=click.IntRange(min=1),
    default=demo.DEFAULT_USERS,
    show_default=True,
    help="One manager, the rest salespeople.",
)
@click.option("--seed", type=int, default=demo.DEFAULT_SEED, show_default=True)
@click.option(
    "--language",
    type=click.Choice(["en", "ru"]),
    default="en",
    show_default=True,
    help="Language of the funnel (if none exists yet), the notes and most names.",
)
def demo_command(leads, activities, users, seed, language):
    """Fill an empty database with made-up leads and two years of their contact history.

    For trying the CRM out and for benchmarks. The same seed gives the same data. The demo's
    users cannot log in (their passwords are unusable); add yourself with create-user.
    """
    try:
        summary = demo.generate(
            language=language,
            leads=leads,
            activities=activities,
            users=users,
            seed=seed,
            progress=click.echo,
        )
    except demo.DemoError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    click.echo("Committing ...")
    db.session.commit()
    click.echo(
        f"Added {summary.users:,} users, {summary.leads:,} leads, "
        f"{summary.activities:,} activities and {summary.stage_changes:,} stage changes "
        f"in {summary.seconds:.0f} s."
    )
