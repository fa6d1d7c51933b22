"""Configuration: defaults here, then `instance/config.py`, then `CRM_*` environment variables."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


class Defaults:
    # The database defaults to a SQLite file in the instance folder (set in `load`).
    DATABASE_URL = None
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    LANGUAGES = ("en", "ru")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    # Serve over HTTPS: HSTS and Secure cookies.
    HTTPS = False
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_COUNT = 0

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # The CSRF token lives as long as the session, so a page left open still posts.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    PASSWORD_MIN_LENGTH = 10
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a method name, not a password)
    # Sign-in throttling (crm.auth.throttle): failures of one account from one address, and from
    # one address on any accounts, are limited in the window; one account's failures from
    # anywhere only slow it down, by a wait that doubles up to the cap, never lock it.
    LOGIN_MAX_FAILURES = 10
    LOGIN_ADDRESS_MAX_FAILURES = 30
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
    LOGIN_SLOWDOWN_AFTER = 3
    # 40 s: at most 90 guesses an hour at one account, under ASVS v4 2.2.1's 100.
    LOGIN_SLOWDOWN_MAX_SECONDS = 40
    # Two-step sign-in: how long the code page waits after the right password, and the name
    # an authenticator app lists the account under.
    SIGN_IN_CODE_TIME_LIMIT = timedelta(minutes=5)
    TWO_FACTOR_ISSUER = "CRM"

    # Web Push (crm.push): the VAPID private key (PEM, or base64url as `vapid --gen` prints
    # it), made into instance/vapid_private.pem when unset; the contact push services are
    # given ("mailto:" or "https:"), by default the sender address of emails.
    VAPID_PRIVATE_KEY = None
    VAPID_SUBJECT = None
    # Push services are public HTTPS servers; the tests run one on this machine over HTTP.
    PUSH_ALLOW_LOCAL_ENDPOINTS = False
    # Outgoing email (crm.notifications.mail): the server as a URL, such as
    # smtp://user:password@host:587?starttls=1 or smtps://user:password@host:465; when unset,
    # an administrator sets it under Settings → Email. MAIL_FROM is the sender's address, and
    # BASE_URL the app's address as people open it, for the links in messages.
    SMTP_URL = None
    MAIL_FROM = None
    BASE_URL = None
    SMTP_TIMEOUT_SECONDS = 20
    # Reminders and digests are sent by a thread in each worker, started with the first
    # request; one pass every NOTIFY_INTERVAL_SECONDS, one worker at a time (a lease in the
    # database). False: only `flask --app crm notify` sends (a cron job or a systemd timer).
    # Tests never start it.
    NOTIFY_IN_APP = True
    NOTIFY_INTERVAL_SECONDS = 45
    # How long a report may leave out colleagues' latest changes (never the viewer's own):
    # a year's figures are counted once in that time, not after every contact a team logs.
    REPORTS_MAY_LAG_SECONDS = 30


def load(app, config=None):
    """Fill `app.config` from defaults, the instance file, the environment and `config`."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(prefix="CRM")
    if config:
        app.config.update(config)

    url = app.config["DATABASE_URL"] or default_database_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("postgresql"):
        # psycopg prepares a statement run five times, and PostgreSQL may then plan it once
        # for any values: a report's period would be guessed, not seen, and its plan go wrong.
        options["connect_args"] = {"prepare_threshold": None} | options.get("connect_args", {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)


def default_database_url(instance_path):
    return "sqlite:///" + str(Path(instance_path) / "crm.sqlite3")


def instance_secret_key(instance_path):
    """Read the key from `instance/secret_key`, creating it (mode 0600) on first start."""
    path = instance_file(instance_path, "secret_key", lambda: secrets.token_hex(32))
    return path.read_text().strip()


def instance_file(instance_path, name, make):
    """The path of `instance/<name>`, written (mode 0600) with the text `make()` returns if it
    does not exist yet: for secrets made on first need, such as the secret key."""
    path = Path(instance_path) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then link into place: concurrent workers never read a half-written file.
        tmp = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path
