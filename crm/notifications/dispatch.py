"""One pass of the notifications: find what is due, record it, send it, at most once.

A pass runs in the app's own loop (crm.notifications.loop), from `flask --app crm notify`, or for
one person's digest from My account. Only one runs at a time anywhere: it holds a lease in the
database, so two workers, or two servers on one PostgreSQL, never send side by side.

At most once. Every notification has a unique key, so it is recorded once however many passes
find it due. Each delivery is then claimed before it is sent: one UPDATE moves it from "due" to
"sending" only if it is still due, and that is committed before the message leaves. A crash
after the server took the message and before "sent" is written leaves it "sending": it is
never sent again, and Settings → Notifications lists it as unknown. We chose this side of the
race on purpose: a reminder lost in a crash is still in the person's list under the bell, while
the other side (send first, then record) would send it again after every crash, and a worker
that keeps dying mid-pass would mail a person the same reminder over and over.

A failure the server reports (a timeout, a refusal) is retried later with growing waits, up to
MAX_ATTEMPTS; a refusal that retrying cannot change (a 5xx for the address) fails at once.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from crm import database
from crm.extensions import db
from crm.models import Delivery, DeliveryState, Notification, User, utcnow
from crm.notifications import channels, lease, mail, planning

LEASE = "notifications"
LEASE_TTL = timedelta(minutes=5)
# The waits before each retry: 1, 5, 15 minutes, an hour, three hours; then it has failed.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
BATCH = 200
# A delivery "sending" this long was cut off by a crash: it may or may not have gone out.
SENDING_TOO_LONG = timedelta(minutes=10)


@dataclass
class Tally:
    """What a pass did."""

    held: bool = True
    made: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    answers: list = field(default_factory=list)


def run_pass(every_digest=False, now=None):
    """Plan and send what is due, holding the lease; a Tally (held=False: another worker
    holds the lease, nothing was done)."""
    holder = lease.holder_name()
    with database.writing():
        if not lease.take(LEASE, holder, LEASE_TTL):
            return Tally(held=False)
        try:
            tally = Tally()
            moment = now or utcnow()
            tally.made = plan(moment, every_digest)
            send_due(tally, holder, moment)
            return tally
        finally:
            db.session.rollback()
            lease.release(LEASE, holder)


def plan(now, every_digest=False):
    """Record what has come due: reminders, digests, weekly summaries."""
    people = planning.everyone_active()
    made = planning.plan_reminders(now, people)
    db.session.commit()
    made += planning.plan_digests(now, people, every=every_digest)
    db.session.commit()
    made += planning.plan_weekly(now, people)
    db.session.commit()
    return made


def due_ids(now, notification_ids=None, limit=BATCH):
    query = select(Delivery.id).where(
        Delivery.state == DeliveryState.DUE, Delivery.next_attempt_at <= now
    )
    if notification_ids is not None:
        query = query.where(Delivery.notification_id.in_(notification_ids))
    return db.session.scalars(query.order_by(Delivery.next_attempt_at, Delivery.id).limit(limit))


def send_due(tally, holder=None, now=None, notification_ids=None):
    """Send the deliveries due, a batch at a time, while the lease is ours."""
    people = {}
    with database.writing(), OpenChannels() as opened:
        while True:
            # A pass planned for a given moment (a test's) sends what is due by then, and what
            # it has just recorded.
            moment = max(now, utcnow()) if now else utcnow()
            ids = due_ids(moment, notification_ids).all()
            db.session.commit()
            if not ids:
                return tally
            claimed = [send_one(delivery_id, opened, people, tally) for delivery_id in ids]
            # None claimed: what is left waits for a channel out of reach, or is another's.
            if not any(claimed):
                return tally
            if holder is not None and not lease.take(LEASE, holder, LEASE_TTL):
                return tally
            now = None


def claim(delivery_id):
    """Take a due delivery for sending, committed before anything is sent; False when another
    pass took it first."""
    now = utcnow()
    claimed = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.DUE)
        .values(state=DeliveryState.SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def send_one(delivery_id, opened, people, tally):
    channel_name = db.session.scalar(select(Delivery.channel).where(Delivery.id == delivery_id))
    # A channel that could not be reached is not tried again this pass: its deliveries wait,
    # still due, rather than each waiting out a timeout.
    if channel_name in opened.unreachable or not claim(delivery_id):
        return False
    delivery = db.session.get(Delivery, delivery_id)
    notification = db.session.get(Notification, delivery.notification_id)
    person = people.get(notification.user_id)
    if person is None:
        user = db.session.get(User, notification.user_id)
        person = people[user.id] = (user, planning.zone_of(user))
    user, zone = person
    channel = channels.CHANNELS.get(delivery.channel)
    try:
        if channel is None:
            raise mail.NotSetUp(f"the {delivery.channel} channel is not part of this app")
        if not user.active:
            raise mail.NotSetUp("the account is deactivated")
        answer = opened.sender(channel)(notification, user, zone)
    except Exception as error:  # noqa: BLE001 (whatever failed, the delivery records it)
        failed(delivery, error, tally)
        if not mail.about_the_message(error):
            opened.unreachable.add(delivery.channel)
    else:
        delivery.state = DeliveryState.SENT
        delivery.sent_at = utcnow()
        delivery.error = None
        tally.sent += 1
        tally.answers.append(answer)
    db.session.commit()
    return True


def failed(delivery, error, tally):
    """Retry later with a longer wait, or give up: for good after MAX_ATTEMPTS, at once for
    a refusal that will not change."""
    delivery.error = mail.describe_error(error)[:2000]
    if mail.permanent(error) or delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = DeliveryState.FAILED
        tally.failed += 1
    else:
        delivery.state = DeliveryState.DUE
        delivery.next_attempt_at = utcnow() + BACKOFF[delivery.attempts - 1]
        tally.retried += 1
    current_app.logger.warning(
        "notification %s by %s: %s", delivery.notification_id, delivery.channel, delivery.error
    )


class OpenChannels:
    """Each channel opened when a pass first sends on it, closed at its end."""

    def __init__(self):
        self.senders = {}
        self.contexts = []
        self.unreachable = set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for context in reversed(self.contexts):
            context.__exit__(None, None, None)

    def sender(self, channel):
        if channel.name not in self.senders:
            context = channel.opened()
            self.senders[channel.name] = context.__enter__()
            self.contexts.append(context)
        return self.senders[channel.name]


def send_now(notification_id):
    """Send one notification's deliveries at once (the digest asked for on My account),
    without waiting for the next pass; a Tally."""
    tally = Tally()
    with database.writing():
        send_due(tally, notification_ids=[notification_id])
    return tally
