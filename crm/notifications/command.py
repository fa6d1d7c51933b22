"""`flask --app crm notify`: one pass of the notifications, for a cron job or systemd timer."""

import time

import click

from crm.notifications import dispatch

# Another worker may be in a pass: wait for its lease this long before giving up.
WAIT_FOR_LEASE_SECONDS = 60


@click.command("notify")
@click.option(
    "--digest",
    is_flag=True,
    help="Send every person's morning digest now, whatever the hour or the day.",
)
def notify_command(digest):
    """Send the reminders, digests and summaries that are due, once.

    The app sends them by itself every minute or so; this is for a server that runs it with
    CRM_NOTIFY_IN_APP=0, from a cron job or the systemd timer in deploy/.
    """
    waited = 0
    while True:
        tally = dispatch.run_pass(every_digest=digest)
        if tally.held or waited >= WAIT_FOR_LEASE_SECONDS:
            break
        time.sleep(2)
        waited += 2
    if not tally.held:
        raise click.ClickException("another worker is sending now; nothing was done")
    click.echo(
        f"{tally.made} notifications made, {tally.sent} sent, "
        f"{tally.retried} to try again, {tally.failed} failed."
    )
