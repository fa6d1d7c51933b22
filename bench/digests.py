"""Time 1,000 morning digests sent to an SMTP server on this machine (the budget: 60 s).

    .venv/bin/python -m bench.digests [--people 1000] [--leads-each 3]

Builds a SQLite database of its own in a temporary folder: one funnel, PEOPLE salespeople in
Moscow, each with an overdue call, a call today and a lead without a next step; starts an
aiosmtpd server on a free port; then times one `flask --app crm notify --digest` pass (made,
rendered in each person's language and sent over one SMTP connection) and prints the result.
"""

import argparse
import os
import sys
import tempfile
import time as clock
from datetime import timedelta
from pathlib import Path

from crm import create_app, funnel, funnel_defaults
from crm.extensions import db
from crm.models import Role, User, utcnow
from crm.notifications import dispatch
from tests.mail_server import MailServer

BUDGET_SECONDS = 60


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--leads-each", type=int, default=3)
    return parser.parse_args(argv)


def build(people, leads_each):
    """The team and their leads, written in bulk through the funnel service."""
    funnel_defaults.install("en")
    stage = funnel.first_stage()
    now = utcnow()
    users = []
    for n in range(people):
        user = User(
            email=f"seller{n}@example.com",
            name=f"Seller {n}",
            role=Role.SALESPERSON,
            locale="ru" if n % 2 else "en",
            timezone="Europe/Moscow",
            password_hash="-",  # noqa: S106 (no password: nobody logs in)
        )
        users.append(user)
    db.session.add_all(users)
    db.session.flush()
    steps = [now - timedelta(days=1), now + timedelta(hours=2), None]
    leads = []
    for user in users:
        for k in range(leads_each):
            lead = funnel.Lead(title=f"Lead {user.id}-{k}", owner_id=user.id, fields={})
            lead.next_step_at = steps[k % len(steps)]
            funnel.enter_lead(lead, None, stage)
            leads.append(lead)
    funnel.save_new_leads(leads, None)
    db.session.commit()


def main(argv=None):
    args = parse_args(argv)
    smtp = MailServer().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            os.environ["CRM_INSTANCE_PATH"] = folder
            app = create_app(
                {
                    "TESTING": True,
                    "SECRET_KEY": "bench",
                    "DATABASE_URL": f"sqlite:///{Path(folder) / 'digests.sqlite3'}",
                    "SMTP_URL": smtp.url,
                    "MAIL_FROM": "crm@example.com",
                    "BASE_URL": "http://crm.example.test",
                }
            )
            with app.app_context():
                db.create_all()
                build(args.people, args.leads_each)
                started = clock.perf_counter()
                tally = dispatch.run_pass(every_digest=True)
                seconds = clock.perf_counter() - started
                db.engine.dispose()
    finally:
        smtp.stop()
    received = len(smtp.messages)
    ok = received == args.people and tally.sent == args.people and seconds <= BUDGET_SECONDS
    print(
        f"{tally.sent} digests sent, {received} received by the SMTP server, "
        f"in {seconds:.1f} s ({seconds / max(received, 1) * 1000:.1f} ms each); "
        f"budget {BUDGET_SECONDS} s: {'ok' if ok else 'OVER'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
