"""CSRF with the check on, as in production: every form of the pages refuses a post without
the page's token, with a wrong one, or with another session's, as a plain form and as htmx,
and changes nothing; the page's own token passes. The API and the intake address are exempt
by design, and a login cookie alone writes nothing through the API."""

import io
import re

import pytest
from sqlalchemy import select

from crm.extensions import csrf, db
from crm.models import (
    Activity,
    ActivityKind,
    ApiToken,
    Call,
    CustomField,
    IntakeForm,
    Lead,
    LostReason,
    Notification,
    NotificationKind,
    PhoneConnection,
    Pipeline,
    Stage,
    User,
)
from crm.notifications import inbox
from tests import factories
from tests.hostile_inputs import Tally, World, table_digest

pytestmark = pytest.mark.sqlite_only

TALLY = Tally()
REFUSAL = "This form has expired or was sent from elsewhere. Reload the page and try again."
# Exempt by design: the API authenticates by a token in a header, the intake address is posted
# to from other sites, and the import checks its token itself once the upload limit is raised.
# The phone systems' address is called by the phone system, with a token (and a signature).
EXEMPT_VIEWS = {"crm.intake.public.receive", "crm.imports.views.index", "crm.telephony.hooks.hook"}


@pytest.fixture(scope="module", autouse=True)
def report_tally(request):
    yield
    TALLY.report(request)


def page_token(client, url="/settings/"):
    """The token a page gives its forms (and htmx, through the meta tag)."""
    page = client.get(url).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def log_in(client, email):
    token = page_token(client, "/login")
    data = {"email": email, "password": factories.PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 303


class Site:
    """The world of the hostile input tests with the check on, an import waiting for its
    columns, and a second person logged in elsewhere."""

    def __init__(self, app, admin):
        self.world = World(app, admin, TALLY)
        self.job_id = self.upload_a_sheet()
        inbox.record(admin.id, NotificationKind.GIVEN, "given:csrf", [], params={"number": 1})
        app.config["WTF_CSRF_ENABLED"] = True
        self.client = self.world.client
        self.elsewhere = app.test_client()
        log_in(self.elsewhere, self.world.seller.email)

    def upload_a_sheet(self):
        sheet = {"kind": "leads", "file": (io.BytesIO(b"Title\nAcme\n"), "leads.csv")}
        response = self.world.client.post("/settings/import/", data=sheet)
        return response.headers["Location"].rstrip("/").split("/")[-2]

    def address(self, endpoint):
        """The form's address, on things that exist (the seller, rather than oneself)."""
        first = {
            "number": select(Lead.number),
            "lead_id": select(Lead.id),
            "activity_id": select(Activity.id),
            "stage_id": select(Stage.id),
            "token_id": select(ApiToken.id),
            "form_id": select(IntakeForm.id),
            "connection_id": select(PhoneConnection.id),
            "call_id": select(Call.id),
            "item_id": select(LostReason.id),
            "field_id": select(CustomField.id).where(CustomField.type == "choice"),
            "pipeline_id": select(Pipeline.id),
            "notification_id": select(Notification.id),
        }
        rule = next(self.world.app.url_map.iter_rules(endpoint))
        values = {}
        for name in rule.arguments:
            if name == "user_id":
                values[name] = self.world.seller.id
            elif name == "list_name":
                values[name] = "lost-reasons"
            elif name == "job_id":
                values[name] = self.job_id
            elif name == "option_key":
                values[name] = "kazan"
            elif name == "subscription_id":
                # One's own device, made afresh: a new password before removes them all.
                admin = db.session.get(User, self.world.admin_id)
                values[name] = factories.push_device(admin).id
            else:
                values[name] = self.world.first(first[name])
        return self.world.url(endpoint, **values)


@pytest.fixture
def site(app, admin):
    return Site(app, admin)


def form_posts(app):
    """Every address the pages post forms to: what CSRF protects (the intake address is
    posted to from other sites, with no session to forge)."""
    return sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
        and not rule.endpoint.startswith("api.")
        and rule.endpoint not in ("intake.receive", "telephony.hook")
    )


def would_save(site, endpoint):
    """A body the form would accept, so that a refusal is what stops it."""
    stage_id = site.world.first(select(Stage.id))
    kind_id = site.world.first(select(ActivityKind.id))
    password = "a long new passphrase"
    return {
        "leads.new": {"title": "Forged", "stage_id": stage_id, "confirmed": "1"},
        "leads.log_activity": {"kind_id": kind_id, "occurred_at": "2025-01-02T10:00"},
        "agenda.log": {"kind_id": kind_id, "occurred_at": "2025-01-02T10:00"},
        "agenda.reschedule": {"days": "1"},
        "settings.users": {"name": "Mallory", "email": "m@example.com", "password": password}
        | {"language": "en", "timezone": "UTC"},
        "settings.user_reset_password": {"password": password, "password_again": password},
        "auth.change_password": {"current_password": factories.PASSWORD}
        | {"password": password, "password_again": password},
        "settings.stages": {"name": "Forged", "colour": "#123456", "kind": "open"},
        "settings.list_items": {"name": "Forged"},
        "settings.create_api_token": {"name": "Forged"},
        "settings.general": factories.general_settings(currency="XXX"),
        "auth.account": {"name": "Forged", "language": "ru", "timezone": "Asia/Vladivostok"},
        "settings.user_edit": {"name": "Forged", "language": "ru", "timezone": "Asia/Vladivostok"},
        "main.set_language": {"language": "ru"},
        "intake.new": {"name": "Forged", "reply": "page", "active": "y"},
        "telephony.new": {"name": "Forged", "provider": "generic"},
        "auth.turn_off_two_step": {"off-password": factories.PASSWORD},
        "auth.new_recovery_codes": {"codes-password": factories.PASSWORD},
    }.get(endpoint, {})


def post(client, url, body, kind, token):
    """Post `body` as a plain form or as htmx, with `token` where each sends it (None: none)."""
    headers = {}
    if kind == "htmx":
        headers = {"HX-Request": "true", "HX-Request-Type": "partial"}
        if token is not None:
            headers["X-CSRFToken"] = token
    elif token is not None:
        body = body | {"csrf_token": token}
    TALLY.add()
    return client.post(url, data=body, headers=headers)


def test_every_form_post_is_protected_except_those_exempt_by_design(app):
    assert {bp.name for bp in csrf._exempt_blueprints} == {"api"}
    assert csrf._exempt_views == EXEMPT_VIEWS


def test_posts_without_the_session_s_token_are_refused_and_change_nothing(site):
    tokens = {
        "no token": None,
        "a wrong token": "IjEyMzQ1Ig.wrong.token",
        "another session's token": page_token(site.elsewhere),
    }
    refused = []
    for endpoint in form_posts(site.world.app):
        url = site.address(endpoint)
        before = table_digest()
        for what, token in tokens.items():
            for kind in ("form", "htmx"):
                response = post(site.client, url, would_save(site, endpoint), kind, token)
                answer = (response.status_code, REFUSAL in response.text)
                whole_page = "<html" in response.text
                to_messages = response.headers.get("HX-Retarget") == "#messages"
                if answer != (400, True) or whole_page != (kind == "form") != to_messages:
                    refused.append((endpoint, what, kind, response.status_code))
        assert table_digest() == before, endpoint
    assert refused == []


def test_the_page_s_own_token_passes_every_form(site):
    # Logging out ends the session the other forms need: it goes last.
    endpoints = sorted(form_posts(site.world.app), key=lambda endpoint: endpoint == "auth.logout")
    for endpoint in endpoints:
        url = site.address(endpoint)
        # Logging out with the form ends the session an htmx post would need.
        for kind in ("form",) if endpoint == "auth.logout" else ("form", "htmx"):
            # Taken afresh each time: a new password or a login starts a new session.
            own = page_token(site.client)
            response = post(site.client, url, would_save(site, endpoint), kind, own)
            assert response.status_code != 400, (endpoint, kind)
            assert REFUSAL not in response.text, (endpoint, kind)


def test_a_token_from_before_login_is_refused_after_it(app, admin):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    before_login = page_token(client, "/login")
    data = {"email": admin.email, "password": factories.PASSWORD, "csrf_token": before_login}
    assert client.post("/login", data=data).status_code == 303
    response = client.post("/settings/api-tokens", data={"name": "x", "csrf_token": before_login})
    TALLY.add()
    assert response.status_code == 400
    assert page_token(client) != before_login


def test_a_login_cookie_alone_writes_nothing_through_the_api(site):
    """The API skips the CSRF check: the cookie a forged request rides on must not count."""
    own = page_token(site.client)
    number = site.world.first(select(Lead.number))
    writes = [
        rule
        for rule in site.world.app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.methods & {"POST", "PATCH", "PUT", "DELETE"}
    ]
    assert writes
    before = table_digest()
    for rule in writes:
        url = site.world.url(rule.endpoint, **{name: number for name in rule.arguments})
        method = sorted(rule.methods & {"POST", "PATCH", "PUT", "DELETE"})[0]
        for headers in ({}, {"X-CSRFToken": own}):
            response = site.client.open(
                url, method=method, json={"title": "Forged", "kind": "call"}, headers=headers
            )
            TALLY.add()
            assert response.status_code == 401, (method, url)
    assert table_digest() == before
