"""Hostile input for the pages and what must hold after each request: payloads, hypothesis
strategies, a digest of every table, and a check that a page carries no markup of ours."""

import hashlib
from html.parser import HTMLParser

from flask import url_for
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from crm import api_tokens
from crm.extensions import db
from crm.intake import receiving
from crm.models import IntakeForm, LoginAttempt, PhoneConnection, User
from tests import factories
from tests.conftest import HOSTILE_INPUTS_TRIED

# Markup that would run if a page put it out unescaped. Every injected tag or attribute has
# "hostile" in its name or is a script without src, so a parsed page shows any that got through.
MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1) hostile>',
    "'><svg onload=alert(1) hostile>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "<div hx-get=/logout hx-trigger=load hostile>",
    '<a href="javascript:alert(1)" hostile>x</a>',
    "<hostile-tag>",
    "<!--",
    "<![CDATA[",
]
# Text that a template engine or a format string would evaluate; 7*'7' is "7777777" in Jinja.
TEMPLATES = ["{{7*'7'}}", "{{config}}", "{% raw %}", "${7*7}", "%(name)s", "%s%d", "{0}"]
URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,x"]
UNICODE = [
    "\x00",
    "a\x00b",
    "\u202eevil",
    "\u200b",
    "\ufeff",
    "\U0001d54f",
    "İ",
    "ß",
    "e\u0301",
    "\u2028",
    "\r\n",
    "\x1b[31m",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "ｓｃｒｉｐｔ",
    "١٢٣",
    "１２３",
]
NUMBERS = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1e400",
    "NaN",
    "Infinity",
    "0x10",
    "1_000",
    "9" * 400,
    str(2**31),
    str(2**63),
    str(-(2**63) - 1),
    "1,5",
    "99999999999999.99",
]
HUGE = ["x" * 10_000, "я" * 100_000, "<" * 50_000]
FIXED = MARKUP + TEMPLATES + URLS + UNICODE + NUMBERS

# What a page must never contain when hostile text came in.
EVALUATED = ["7777777"]

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    # Explaining a failure replays it a hundred times over: with a page per example, minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# For forms with few fields, or few ways to go wrong.
FEWER = settings(SETTINGS, max_examples=25)

printable = st.characters(blacklist_categories=["Cs"])
embedded = st.tuples(
    st.text(printable, max_size=10), st.sampled_from(MARKUP + TEMPLATES + URLS)
).map("".join)
# Markup and edge cases most often; huge values now and then, as they are mostly refused.
hostile_text = st.integers(0, 15).flatmap(
    lambda n: (
        st.sampled_from(HUGE)
        if n == 0
        else st.integers().map(str) | st.floats().map(str)
        if n == 1
        else st.text(printable, max_size=40)
        if n < 6
        else embedded
        if n < 9
        else st.sampled_from(FIXED)
    )
)
# Ids in addresses: ones that exist, ones that do not, and ones no database column holds.
NO_SUCH_IDS = [0, 2**31 - 1, 2**31, 2**63]


def some_id(ids):
    """One of `ids` mostly, else an id that names nothing.

    The draw is a plain number picked from whatever `ids` holds then: the ids change as the
    forms save, and hypothesis needs the same draws to mean the same shape of input."""

    def pick(n):
        if n >= 28 or not ids:
            return NO_SUCH_IDS[n % len(NO_SUCH_IDS)]
        return sorted(ids)[n % len(ids)]

    return st.integers(0, 31).map(pick)


def sometimes(plausible):
    """A plausible value seven times in eight, so that saving is tried, not only refusing."""
    return st.integers(0, 7).flatmap(lambda n: hostile_text if n == 7 else plausible)


# The database


def table_digest(skip=()):
    """A fingerprint of every table, by name, to compare before and after a request."""
    digest = {}
    for table in db.metadata.sorted_tables:
        if table.name in skip:
            continue
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    db.session.commit()
    return digest


# Rendered pages


class InjectedMarkup(HTMLParser):
    """Tags and attributes in a page that only hostile text could have put there."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post", "data"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if "hostile" in tag:
            self.found.append(f"<{tag}>")
        if tag == "script" and not (names.get("src") or "").startswith("/static/"):
            self.found.append("<script> without our src")
        for name, value in attrs:
            if "hostile" in name or name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"<{tag} {name}>")
            url = (value or "").strip().lower()
            if name in self.URL_ATTRIBUTES and url.startswith(("javascript:", "data:text")):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def injected_markup(response, secret_key):
    """What in this response shows hostile text taken as markup or as a template."""
    if response.mimetype != "text/html":
        return []
    text = response.get_data(as_text=True)
    found = InjectedMarkup(text).found
    # A comment or CDATA opened by hostile text would hide the rest of the page instead.
    found += [f"unescaped {payload!r}" for payload in MARKUP if payload in text]
    found += [f"evaluated {marker}" for marker in EVALUATED if marker in text]
    if secret_key in text:
        found.append("the secret key")
    return found


class Tally:
    """How many hostile inputs a test module tried, reported at the end of the run."""

    def __init__(self):
        self.count = 0

    def add(self, n=1):
        self.count += n

    def report(self, request):
        """Hand the count so far to the summary (each test process counts its own share)."""
        request.config.stash[HOSTILE_INPUTS_TRIED][request.module.__name__] = self.count


# The world the forms work on


class Browser:
    """Sends requests and holds the app to its promises about each; every one is counted."""

    def __init__(self, app, tally, client=None):
        self.app = app
        self.tally = tally
        self.secret_key = app.config["SECRET_KEY"]
        self.client = client or app.test_client()

    def url(self, endpoint, **values):
        with self.app.test_request_context():
            return url_for(endpoint, **values)

    def send(self, method, url, body=None, htmx=False, client=None, skip=(), **options):
        """Never a server error, never hostile text as markup, and a refusal (or a page
        merely looked at) changes no table but those in `skip`."""
        client = client or self.client
        headers = {"HX-Request": "true", "HX-Request-Type": "partial"} if htmx else {}
        before = table_digest(skip)
        response = client.open(url, method=method, data=body, headers=headers, **options)
        self.tally.add()
        assert response.status_code < 500, (method, url, body)
        assert injected_markup(response, self.secret_key) == [], (method, url, body)
        if response.status_code >= 400 or method == "GET":
            assert table_digest(skip) == before, (method, url, response.status_code, body)
        return response

    def look_at(self, urls):
        """The pages that show what the forms saved carry none of it as markup."""
        for url in urls:
            response = self.send("GET", url)
            assert response.status_code < 400 or response.status_code == 404, url


class World(Browser):
    """A funnel with two people, leads, an activity, an API token, an intake form and a device
    of the administrator's that gets notifications, and a browser logged in as them."""

    def __init__(self, app, admin, tally):
        super().__init__(app, tally)
        self.admin_id = admin.id
        self.seller = factories.user(name="Sam Seller", email="sam@example.com")
        lead = factories.lead(title="Target", owner=admin, contact_name="Ann")
        activity = factories.activity(lead, author=admin, body="Talked about the price.")
        factories.lead(title="Other", owner=self.seller)
        api_tokens.issue(admin, "Laptop")
        db.session.add(IntakeForm(name="Contact page", token=receiving.new_token()))
        db.session.add(PhoneConnection(name="Office", token=receiving.new_token(), extensions={}))
        db.session.commit()
        factories.push_device(admin, user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/130.0")
        factories.call_to_write_up(lead, activity, admin)
        city = factories.field("Город", "choice", ["Москва", "Казань"], filterable=True)
        factories.field("ИНН", identifies_client=True)
        factories.lead(title="In Kazan", owner=admin, fields={city.key: "Казань"})
        self.log_in()
        self._bearer = None

    def log_in(self, client=None):
        client = client or self.client
        admin = db.session.get(User, self.admin_id)
        client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})

    def keep_logged_in(self):
        """Undo what a fuzzed form did to the administrator's own account and session."""
        admin = db.session.get(User, self.admin_id)
        db.session.refresh(admin)
        admin.active = True
        if not admin.check_password(factories.PASSWORD):
            admin.set_password(factories.PASSWORD)
        db.session.execute(delete(LoginAttempt))
        db.session.commit()
        with self.client.session_transaction() as session:
            logged_in = session.get("_user_id") == admin.get_id()
        if not logged_in:
            self.log_in()

    def bearer(self):
        """The header that authenticates an API request as the administrator."""
        if self._bearer is None:
            _record, token = api_tokens.issue(db.session.get(User, self.admin_id), "Hostile")
            db.session.commit()
            self._bearer = {"Authorization": f"Bearer {token}"}
        return self._bearer

    def ids(self, model):
        return set(db.session.scalars(select(model.id)))

    def first(self, statement):
        return db.session.scalar(statement.limit(1))
