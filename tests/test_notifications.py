"""Notifications: email through a real SMTP server started in the test (aiosmtpd), the morning
digest at each person's hour in their zone, reminders before timed steps, at most once with two
app instances on one database, retries with backoff, the bell and its poll, the test message."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm import create_app, security
from crm.extensions import db
from crm.models import Delivery, DeliveryState, Notification, NotificationKind, Role
from crm.notifications import dispatch, inbox, mail, planning
from tests import factories
from tests.mail_server import MailServer, html_of, text_of
from tests.querycount import counting_queries

MOSCOW = "Europe/Moscow"


@pytest.fixture
def smtp():
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailing(app, smtp):
    """The app sending through the test's SMTP server."""
    app.config["SMTP_URL"] = smtp.url
    app.config["MAIL_FROM"] = "crm@example.com"
    app.config["BASE_URL"] = "http://crm.example.test"
    return smtp


def stored(day, at, zone):
    """A local day and time in `zone`, as stored (naive UTC)."""
    moment = datetime.combine(day, at, tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def next_weekday(weekday, after=None):
    """The next date with `weekday` (0 = Monday) after today (or `after`)."""
    day = (after or date.today()) + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def person(zone=MOSCOW, locale="en", **fields):
    return factories.user(timezone=zone, locale=locale, **fields)


def digest_world(zone=MOSCOW, locale="en", day=None):
    """A person in `zone` with a call overdue since the day before `day` and two calls on
    `day` (by default the next Tuesday), and the day."""
    day = day or next_weekday(1)
    owner = person(zone, locale, name="Sasha Seller", email="sasha@example.com")
    factories.lead(
        title="Overdue Ltd",
        owner=owner,
        next_step_at=stored(day - timedelta(days=1), time(10), zone),
        next_step_note="Send the quote",
    )
    factories.lead(title="Morning Call", owner=owner, next_step_at=stored(day, time(11), zone))
    factories.lead(
        title="Afternoon Call", owner=owner, next_step_at=stored(day, time(15, 30), zone)
    )
    return owner, day


def test_the_digest_goes_once_at_the_persons_hour_with_working_links(
    app, stages, mailing, client, auth
):
    owner, day = digest_world()
    # 08:29 in Moscow: not yet.
    assert dispatch.run_pass(now=stored(day, time(8, 29), MOSCOW)).made == 0
    assert mailing.messages == []

    tally = dispatch.run_pass(now=stored(day, time(8, 31), MOSCOW))
    assert tally.sent == 1
    # A minute later, and on another server's pass: nothing more.
    assert dispatch.run_pass(now=stored(day, time(8, 32), MOSCOW)).made == 0
    (message,) = mailing.messages
    assert message["To"] == "Sasha Seller <sasha@example.com>"
    assert message["From"] == "crm@example.com"
    text = text_of(message)
    assert "Overdue (1)" in text and "Overdue Ltd: Send the quote" in text
    assert "11:00 AM #2 Morning Call" in text
    assert "3:30 PM #3 Afternoon Call" in text
    assert text.index("Morning Call") < text.index("Afternoon Call")
    html = html_of(message)
    assert "Afternoon Call" in html

    # Its links lead to the leads, once the person logs in.
    link = next(line for line in text.splitlines() if line.strip().endswith("/leads/2"))
    address = urlsplit(link.strip())
    assert address.netloc == "crm.example.test"
    auth.login(owner.email)
    page = client.get(address.path)
    assert page.status_code == 200
    assert "Morning Call" in page.text


def test_an_empty_digest_is_not_sent(app, stages, mailing):
    owner = person()
    day = next_weekday(2)
    # A lead with a step next week: nothing to say this morning.
    factories.lead(owner=owner, next_step_at=stored(day + timedelta(days=7), time(12), MOSCOW))
    assert dispatch.run_pass(now=stored(day, time(9), MOSCOW)).made == 0
    assert mailing.messages == []
    assert db.session.get(inbox.NotificationInbox, owner.id).last_digest_on == day


def test_no_digest_at_the_weekend(app, stages, mailing):
    _owner, tuesday = digest_world()
    saturday = tuesday + timedelta(days=4)
    assert dispatch.run_pass(now=stored(saturday, time(8, 45), MOSCOW)).made == 0


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Vladivostok"])
def test_the_digest_keeps_to_the_persons_hour_across_summer_time(app, stages, mailing, zone):
    owner = person(zone)
    # The Mondays after the spring and autumn changes of 2027 (Europe: 28 March and 31 October;
    # America: 14 March and 7 November), and the weeks before: 08:30 is a different UTC hour.
    for day in (date(2027, 3, 9), date(2027, 3, 30), date(2027, 10, 26), date(2027, 11, 9)):
        factories.lead(owner=owner, next_step_at=stored(day, time(14), zone))
        assert dispatch.run_pass(now=stored(day, time(8, 29), zone)).made == 0
        assert dispatch.run_pass(now=stored(day, time(8, 30), zone)).made == 1, day
    assert len(mailing.to(owner.email)) == 4


def test_the_digest_is_in_the_persons_language(app, stages, mailing):
    owner, day = digest_world(locale="ru")
    dispatch.run_pass(now=stored(day, time(9), MOSCOW))
    (message,) = mailing.messages
    text = text_of(message)
    assert message["Subject"].startswith("Ваш день")
    assert "Просроченные (1)" in text
    assert "11:00 #2 Morning Call" in text


def test_a_reminder_goes_before_a_timed_step_and_not_for_a_whole_day(app, stages, mailing):
    owner = person()
    day = next_weekday(3)
    timed = factories.lead(
        title="Timed",
        owner=owner,
        next_step_at=stored(day, time(14), MOSCOW),
        next_step_note="Call",
    )
    # Planned for the whole day (local midnight): that goes in the digest, not at midnight.
    factories.lead(title="All day", owner=owner, next_step_at=stored(day, time(0), MOSCOW))
    planning.mark_digest_done(owner.id, day)
    db.session.commit()

    assert dispatch.run_pass(now=stored(day, time(13, 49), MOSCOW)).made == 0
    assert dispatch.run_pass(now=stored(day - timedelta(days=1), time(23, 55), MOSCOW)).made == 0
    tally = dispatch.run_pass(now=stored(day, time(13, 51), MOSCOW))
    assert (tally.made, tally.sent) == (1, 1)
    assert dispatch.run_pass(now=stored(day, time(13, 55), MOSCOW)).made == 0
    (message,) = mailing.messages
    assert message["Subject"].replace("\u202f", " ") == "At 2:00 PM: #1 Timed"
    assert f"http://crm.example.test/leads/{timed.number}" in text_of(message)


def test_the_reminder_time_is_each_persons_choice(app, stages, mailing):
    owner = person()
    inbox.save_preferences(owner.id, inbox.DEFAULTS | {"reminder_minutes": 30})
    db.session.commit()
    day = next_weekday(3)
    factories.lead(owner=owner, next_step_at=stored(day, time(14), MOSCOW))
    planning.mark_digest_done(owner.id, day)
    db.session.commit()
    assert dispatch.run_pass(now=stored(day, time(13, 29), MOSCOW)).made == 0
    assert dispatch.run_pass(now=stored(day, time(13, 31), MOSCOW)).made == 1


def two_apps(app):
    """Another app instance on the test's database, as a second server would be."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "another",
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SMTP_URL": app.config["SMTP_URL"],
            "MAIL_FROM": app.config["MAIL_FROM"],
        }
    )


def in_threads(apps, work):
    """Run `work()` in each app at once, each in a thread with its own app context."""
    start = threading.Barrier(len(apps))
    errors = []

    def run(one):
        try:
            with one.app_context():
                start.wait()
                work()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            with one.app_context():
                db.session.remove()

    threads = [threading.Thread(target=run, args=(one,)) for one in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def test_two_app_instances_send_nothing_twice(app, stages, mailing):
    people = [person(name=f"Person {n}", email=f"p{n}@example.com") for n in range(6)]
    day = next_weekday(1)
    for owner in people:
        factories.lead(owner=owner, next_step_at=stored(day, time(10), MOSCOW))
        factories.lead(owner=owner, next_step_at=stored(day, time(8, 35), MOSCOW))
    db.session.commit()
    other = two_apps(app)
    now = stored(day, time(8, 31), MOSCOW)
    # Whole passes at once: the lease lets one through at a time.
    in_threads([app, other, app], lambda: dispatch.run_pass(now=now))
    in_threads([app, other], lambda: dispatch.run_pass(now=now))
    # And deliveries claimed by two senders at once, without the lease.
    for owner in people:
        planning.digest_now(planning.Person(owner, ZoneInfo(MOSCOW), inbox.DEFAULTS, None), now)
    db.session.commit()
    in_threads([app, other, app, other], lambda: dispatch.send_due(dispatch.Tally()))
    with other.app_context():
        db.engine.dispose()

    keys = [m["Message-ID"] for m in mailing.messages]
    assert len(keys) == len(set(keys))
    # Each person: the digest at 08:31, the reminder of 08:35, and the digest asked for.
    for owner in people:
        subjects = sorted(m["Subject"] for m in mailing.to(owner.email))
        assert len(subjects) == 3, subjects
    sent = db.session.scalar(select(func.count()).where(Delivery.state == DeliveryState.SENT))
    assert sent == len(mailing.messages) == 18


def test_failures_are_retried_with_backoff_and_listed(app, stages, mailing, client, auth, admin):
    owner, day = digest_world()
    mailing.handler.refuse = "451 4.3.0 Try again later"
    now = stored(day, time(8, 31), MOSCOW)
    tally = dispatch.run_pass(now=now)
    assert (tally.sent, tally.retried) == (0, 1)
    delivery = db.session.scalar(select(Delivery))
    assert delivery.state == DeliveryState.DUE and delivery.attempts == 1
    assert "451" in delivery.error
    assert delivery.next_attempt_at >= dispatch.utcnow() + timedelta(seconds=50)

    auth.login(admin.email)
    listed = client.get("/settings/notifications")
    assert "Will be tried again" in listed.text and "451 4.3.0 Try again later" in listed.text

    # Not before its time; then it goes.
    assert dispatch.send_due(dispatch.Tally()).sent == 0
    mailing.handler.refuse = None
    db.session.execute(
        Delivery.__table__.update().values(next_attempt_at=dispatch.utcnow() - timedelta(1))
    )
    db.session.commit()
    assert dispatch.send_due(dispatch.Tally()).sent == 1
    assert len(mailing.messages) == 1
    assert "Everything was sent." in client.get("/settings/notifications").text


def test_a_refusal_for_good_fails_at_once(app, stages, mailing, client, auth, admin):
    digest_world()
    mailing.handler.refuse = "550 5.1.1 No such user"
    day = next_weekday(1)
    tally = dispatch.run_pass(now=stored(day, time(8, 31), MOSCOW))
    assert tally.failed == 1
    assert db.session.scalar(select(Delivery.state)) == DeliveryState.FAILED
    auth.login(admin.email)
    assert "550 5.1.1 No such user" in client.get("/settings/notifications").text


def test_a_server_out_of_reach_is_tried_once_a_pass(app, stages, mailing):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{mailing.port}"
    people = [person(email=f"q{n}@example.com") for n in range(3)]
    day = next_weekday(1)
    for owner in people:
        factories.lead(owner=owner, next_step_at=stored(day, time(12), MOSCOW))
    mailing.stop()
    tally = dispatch.run_pass(now=stored(day, time(8, 31), MOSCOW))
    # The first fails; the others wait, untried, for the next pass.
    assert (tally.made, tally.retried, tally.sent) == (3, 1, 0)
    assert db.session.scalar(select(func.sum(Delivery.attempts))) == 1


# In the app


def test_the_bell_counts_unread_and_its_poll_is_cheap(app, stages, client, auth, hx):
    owner = person()
    auth.login(owner.email)
    page = client.get("/agenda/")
    assert 'id="bell"' in page.text and 'class="bell-count" hidden' in page.text
    assert client.get("/notifications/bell?version=0").status_code == 204

    inbox.record(owner.id, NotificationKind.GIVEN, "given:x", [], params={"number": 1})
    db.session.commit()
    polled = client.get("/notifications/bell?version=0")
    assert polled.status_code == 200 and "<html" not in polled.text
    assert '<span class="bell-count">1</span>' in polled.text
    assert "notifications/bell?version=1" in polled.text
    assert client.get("/notifications/bell?version=1").status_code == 204

    listed = client.get("/notifications/")
    assert "#1 was given to you" in listed.text
    notification = db.session.scalar(select(Notification))
    client.post(f"/notifications/{notification.id}/read")
    assert inbox.bell(owner.id) == (0, 2)
    assert client.get("/notifications/bell?version=1").text.count('bell-count" hidden') == 1


def test_the_bell_poll_reads_one_statement(app, stages, client, auth):
    owner = person()
    auth.login(owner.email)
    with counting_queries() as statements:
        assert client.get("/notifications/bell?version=0").status_code == 204
    reads = [statement for statement in statements if statement.startswith("SELECT")]
    # The person (for the session) with their inbox row, by primary key.
    assert len(reads) == 1
    assert "LEFT OUTER JOIN notification_inboxes ON notification_inboxes.user_id = " in reads[0]


def test_the_bell_is_read_again_once_the_request_changes_an_inbox(app, stages):
    """Read with the user at the start of a request; a request that then records or reads a
    notification shows the bell as it left it."""
    owner = person()
    with app.test_request_context():
        security.load_user(f"{owner.id}:{owner.session_version}")
        assert inbox.bell(owner.id) == (0, 0)
        inbox.record(owner.id, NotificationKind.GIVEN, "given:1", [], params={"number": 1})
        assert inbox.bell(owner.id) == (1, 1)
        inbox.mark_read(owner.id)
        assert inbox.bell(owner.id)[0] == 0


def test_mark_all_read(app, stages, client, auth):
    owner = person()
    for n in range(3):
        inbox.record(owner.id, NotificationKind.GIVEN, f"given:{n}", [], params={"number": n})
    db.session.commit()
    auth.login(owner.email)
    client.post("/notifications/read")
    assert inbox.bell(owner.id)[0] == 0
    # Another's notification cannot be marked by me.
    other = person()
    inbox.record(other.id, NotificationKind.GIVEN, "given:other", [], params={"number": 9})
    db.session.commit()
    theirs = db.session.scalar(select(Notification.id).where(Notification.user_id == other.id))
    client.post(f"/notifications/{theirs}/read")
    assert inbox.bell(other.id)[0] == 1


def today_in(zone):
    return datetime.now(ZoneInfo(zone)).date()


def test_choices_are_saved_and_the_digest_sent_on_asking(app, stages, mailing, client, auth):
    # A digest asked for is of the person's today: the call due yesterday is overdue by now,
    # whatever the day of the week.
    owner, _day = digest_world(day=today_in(MOSCOW))
    auth.login(owner.email)
    page = client.get("/account/notifications")
    assert page.status_code == 200
    saved = client.post(
        "/account/notifications",
        data={"digest": "y", "digest_at": "09:00", "reminder_minutes": "15", "email": "y"},
    )
    assert saved.status_code == 303
    prefs = inbox.preferences_of(owner.id)
    assert (prefs["digest_at"], prefs["reminder_minutes"], prefs["reminder"]) == (
        "09:00",
        15,
        False,
    )
    refused = client.post("/account/notifications", data={"digest_at": "25:00"})
    assert refused.status_code == 422

    sent = client.post("/account/notifications/digest", follow_redirects=True)
    assert "Your digest is sent to sasha@example.com" in sent.text
    (message,) = mailing.messages
    assert "Overdue Ltd" in text_of(message)


def test_asking_for_an_empty_digest_says_so(app, stages, mailing, client, auth):
    owner = person()
    auth.login(owner.email)
    answer = client.post("/account/notifications/digest", follow_redirects=True)
    assert "Nothing to put in a digest" in answer.text
    assert mailing.messages == []


# Settings → Email


def test_the_test_message_reports_the_servers_answer(app, stages, smtp, client, auth, admin):
    auth.login(admin.email)
    saved = client.post(
        "/settings/email",
        data={
            "host": "127.0.0.1",
            "port": str(smtp.port),
            "security": "none",
            "sender": "crm@example.com",
        },
    )
    assert saved.status_code == 303
    assert mail.server().port == smtp.port
    answer = client.post("/settings/email/test", data={"to": "ada@example.com"})
    assert answer.status_code == 200
    assert "The server answered: 250 2.0.0 Ok: queued as TEST" in answer.text
    assert smtp.to("ada@example.com")[0]["Subject"] == "A test message from the CRM"

    smtp.handler.refuse = "554 5.7.1 Relay access denied"
    refused = client.post("/settings/email/test", data={"to": "ada@example.com"})
    assert refused.status_code == 422
    assert "Not sent: 554 5.7.1 Relay access denied" in refused.text


def test_the_test_message_says_when_the_server_is_out_of_reach(app, stages, client, auth, admin):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"
    app.config["MAIL_FROM"] = "crm@example.com"
    auth.login(admin.email)
    page = client.get("/settings/email")
    assert "CRM_SMTP_URL" in page.text
    refused = client.post("/settings/email/test", data={"to": "ada@example.com"})
    assert refused.status_code == 422
    assert "Not sent: ConnectionRefusedError" in refused.text


def test_bad_email_settings_are_refused(app, stages, client, auth, admin):
    auth.login(admin.email)
    refused = client.post(
        "/settings/email",
        data={"host": "smtp example", "port": "99999", "security": "none", "sender": "nobody"},
    )
    assert refused.status_code == 422
    assert mail.server() is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://u%40x:p%3Aw@mail.example.com:587?starttls=1",
            ("mail.example.com", 587, "starttls", "u@x", "p:w"),
        ),
        ("smtps://mail.example.com", ("mail.example.com", 465, "tls", "", "")),
        ("smtp://localhost", ("localhost", 25, "none", "", "")),
    ],
)
def test_smtp_urls(url, expected):
    found = mail.parse_url(url)
    assert (found.host, found.port, found.security, found.username, found.password) == expected
    assert mail.parse_url(found.url) == found


def test_the_notify_command_sends_every_digest_now(app, stages, mailing, runner):
    digest_world(day=today_in(MOSCOW))
    person()  # nothing to say: no digest
    result = runner.invoke(args=["notify", "--digest"])
    assert result.exit_code == 0, result.output
    assert "1 notifications made, 1 sent" in result.output
    assert len(mailing.messages) == 1


# Notices


def test_a_lead_given_to_someone_tells_them(app, stages, mailing, client, auth):
    manager = person(role=Role.MANAGER, name="Max Manager")
    seller = person(name="Sam Seller", email="sam@example.com")
    lead = factories.lead(title="Acme", owner=manager)
    auth.login(manager.email)
    given = client.post(
        f"/leads/{lead.number}/details",
        data={"title": "Acme", "owner_id": str(seller.id), "value": "1000"},
    )
    assert given.status_code in (200, 303)
    notification = db.session.scalar(select(Notification).where(Notification.user_id == seller.id))
    assert notification.kind == NotificationKind.GIVEN
    assert notification.params["by"] == "Max Manager"
    assert inbox.bell(seller.id)[0] == 1
    assert dispatch.send_due(dispatch.Tally()).sent == 1
    (message,) = mailing.to("sam@example.com")
    assert message["Subject"] == f"#{lead.number} Acme was given to you by Max Manager"
    # Taking a lead oneself tells nobody.
    auth.login(seller.email)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


def test_many_leads_given_at_once_make_one_notice(app, stages):
    from crm import funnel

    manager = person(role=Role.MANAGER, name="Max Manager")
    seller = person()
    leads = [factories.lead(owner=manager) for _ in range(8)]
    funnel.reassign_leads([lead.id for lead in leads], seller.id, manager)
    db.session.commit()
    (notification,) = db.session.scalars(select(Notification)).all()
    assert notification.params["count"] == 8


def test_a_request_tells_the_forms_owner_or_the_managers(app, stages, mailing):
    from crm.intake import receiving
    from crm.models import IntakeForm

    person(role=Role.MANAGER, email="max@example.com")
    seller = person(email="sam@example.com")
    owned = IntakeForm(name="Site", token="t1", owner_id=seller.id)
    nobodys = IntakeForm(name="Landing", token="t2")
    db.session.add_all([owned, nobodys])
    db.session.commit()
    receiving.receive(owned, receiving.read([("name", "Ann"), ("phone", "+7 900 000-00-01")]))
    receiving.receive(nobodys, receiving.read([("name", "Bob"), ("phone", "+7 900 000-00-02")]))
    db.session.commit()
    dispatch.send_due(dispatch.Tally())
    assert [m["Subject"] for m in mailing.to("sam@example.com")] == ["New request: #1 Ann"]
    assert [m["Subject"] for m in mailing.to("max@example.com")] == ["New request: #2 Bob"]


def test_managers_get_a_weekly_summary_on_monday_morning(app, stages, mailing):
    manager = person(role=Role.MANAGER, email="max@example.com", name="Max Manager")
    seller = person(name="Sam Seller")
    monday = next_weekday(0)
    # A step due last Wednesday that nobody answered: a missed contact of Sam's.
    lead = factories.lead(title="Acme", owner=seller)
    factories.lead(owner=seller)
    from crm import funnel

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(funnel, "utcnow", lambda: stored(monday - timedelta(days=7), time(9), MOSCOW))
        funnel.reschedule(lead, seller, stored(monday - timedelta(days=5), time(10), MOSCOW))
    db.session.commit()
    planning.mark_digest_done(manager.id, monday)
    planning.mark_digest_done(seller.id, monday)
    db.session.commit()
    assert dispatch.run_pass(now=stored(monday, time(8, 29), MOSCOW)).made == 0
    assert dispatch.run_pass(now=stored(monday, time(8, 31), MOSCOW)).made == 1
    assert dispatch.run_pass(now=stored(monday, time(8, 40), MOSCOW)).made == 0
    (message,) = mailing.to("max@example.com")
    assert message["Subject"].startswith("Weekly summary: the week of")
    text = text_of(message)
    assert "Sam Seller: 0 stuck, 1 missed" in text
    assert "Step conversion" in text


def test_the_loop_in_the_app_sends_by_itself(app, stages, mailing, monkeypatch):
    from crm.notifications import loop

    owner = person(email="sam@example.com")
    inbox.record(
        owner.id, NotificationKind.GIVEN, "given:loop", ["email"], params={"number": 1, "by": "Max"}
    )
    db.session.commit()
    monkeypatch.setattr(loop, "FIRST_PASS_AFTER_SECONDS", 0.05)
    app.config["NOTIFY_INTERVAL_SECONDS"] = 0.2
    stop = threading.Event()
    thread = loop.start(app, stop)
    try:
        assert loop.start(app, stop) is None  # once per process
        for _ in range(100):
            if mailing.messages:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(10)
        loop._started.clear()
    assert [m["Subject"] for m in mailing.to("sam@example.com")] == ["#1 was given to you by Max"]
