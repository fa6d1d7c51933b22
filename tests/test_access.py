"""Who may reach what, for every route the app has.

Every endpoint is listed in ROUTES with the rule it follows; a new route without a rule fails
`test_every_route_has_an_access_rule`, so nobody adds a page without deciding who may see it.
"""

import io
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from crm import access, data_version, funnel, lists, pipelines
from crm.extensions import db
from crm.models import Activity, AppSetting, Lead, Role, StageChange
from tests import factories

# Reachable without logging in (some answer 404 without a valid secret in the address).
PUBLIC = "public"
# The JSON API: a token, never a login session.
API = "api"
# Administrators only.
ADMIN = "admin"
# Managers and administrators.
MANAGER = "manager"
# Names a lead (by number or id): a lead hidden from the user is 404, a colleague's lead is
# read-only.
LEAD = "lead"
# Lists leads: a hidden lead is not among them.
LIST = "list"
# Any logged-in user, about themselves or the instance's shared lists.
USER = "user"

SECRET_TITLE = "Zanzibar Shipping Secret"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ROUTES = {
    "static": (PUBLIC, "GET", "/static/css/app.css"),
    "main.healthz": (PUBLIC, "GET", "/healthz"),
    "main.set_language": (PUBLIC, "POST", "/language"),
    "main.stage_styles": (PUBLIC, "GET", "/stages.css"),
    "main.option_styles": (PUBLIC, "GET", "/option-colours.css"),
    # The installable app's parts: the same for everyone, nothing of anyone's.
    "main.manifest": (PUBLIC, "GET", "/manifest.webmanifest"),
    "main.service_worker": (PUBLIC, "GET", "/sw.js"),
    "auth.login": (PUBLIC, "GET", "/login"),
    # The code after the password: without a pending sign-in it says to log in again.
    "auth.login_code": (PUBLIC, "GET", "/login/code"),
    "auth.setup": (PUBLIC, "GET", "/setup"),
    "intake.receive": (PUBLIC, "POST", "/intake/not-a-token"),
    "telephony.hook": (PUBLIC, "POST", "/hooks/calls/not-a-token"),
    "agenda.calendar_feed": (PUBLIC, "GET", "/agenda/calendar/not-a-token.ics"),
    "api.openapi_document": (PUBLIC, "GET", "/api/v1/openapi.json"),
    "main.index": (USER, "GET", "/"),
    "auth.logout": (USER, "POST", "/logout"),
    "auth.account": (USER, "GET", "/account"),
    "auth.change_password": (USER, "GET", "/account/password"),
    "auth.two_step": (USER, "GET", "/account/two-step"),
    "auth.turn_on_two_step": (USER, "GET", "/account/two-step/on"),
    "auth.turn_off_two_step": (USER, "POST", "/account/two-step/off"),
    "auth.new_recovery_codes": (USER, "POST", "/account/two-step/recovery-codes"),
    "auth.push_key": (USER, "GET", "/account/push/key"),
    "auth.subscribe_device": (USER, "POST", "/account/push/subscriptions"),
    "auth.unsubscribe_device": (USER, "POST", "/account/push/subscriptions/delete"),
    # One's own device only: another person's is not found (tests/test_push.py).
    "auth.remove_device": (USER, "POST", "/account/push/subscriptions/1/delete"),
    "agenda.index": (LIST, "GET", "/agenda/"),
    "agenda.section_more": (LIST, "GET", "/agenda/sections/overdue"),
    "agenda.calendar": (LIST, "GET", "/agenda/calendar"),
    "agenda.calendar_day": (LIST, "GET", "/agenda/calendar/day?date={today}"),
    "agenda.calendar_new_feed": (USER, "POST", "/agenda/calendar/feed"),
    "agenda.missed": (LIST, "GET", "/agenda/missed"),
    "agenda.log": (LEAD, "GET", "/agenda/leads/{id}/log"),
    "agenda.reschedule": (LEAD, "POST", "/agenda/leads/{id}/reschedule"),
    "agenda.calendar_reschedule": (LEAD, "POST", "/agenda/calendar/leads/{id}/reschedule"),
    # A call the phone system logged on the lead: it goes with the lead.
    "agenda.write_up": (LEAD, "GET", "/agenda/calls/{call}/write-up"),
    "agenda.attach_call": (LEAD, "POST", "/agenda/calls/{call}/attach"),
    "agenda.call_to_new_lead": (LEAD, "POST", "/agenda/calls/{call}/new-lead"),
    "activities.index": (LIST, "GET", "/activities/?period=all"),
    "analytics.index": (LIST, "GET", "/analytics/"),
    "analytics.show": (LIST, "GET", "/analytics/funnel?period=365"),
    "analytics.leads": (
        LIST,
        "GET",
        "/analytics/funnel/leads?period=365&outcome=now&stage={stage}",
    ),
    "analytics.download": (LIST, "GET", "/analytics/funnel/now.csv?period=365"),
    "analytics.download_xlsx": (LIST, "GET", "/analytics/funnel/now.xlsx?period=365"),
    # The options of one of the team's fields: its definition, no lead.
    "analytics.field_filter": (USER, "GET", "/analytics/field-filter?f=gorod"),
    "board.index": (LIST, "GET", "/board/"),
    "board.changes": (LIST, "GET", "/board/changes?version=0"),
    "board.column": (LIST, "GET", "/board/columns/{stage}"),
    "board.move": (LEAD, "GET", "/board/leads/{id}/move"),
    "leads.index": (LIST, "GET", "/leads/"),
    "leads.new": (USER, "GET", "/leads/new"),
    "leads.next_step_preview": (USER, "GET", "/leads/next-step?next_step_when=tomorrow+10"),
    "leads.reassign": (MANAGER, "POST", "/leads/reassign?q=Sam"),
    "leads.show": (LEAD, "GET", "/leads/{number}"),
    "leads.summary": (LEAD, "GET", "/leads/{number}/summary"),
    "leads.history_of": (LEAD, "GET", "/leads/{number}/history"),
    "leads.restore_activity": (ADMIN, "POST", "/leads/{number}/activities/{activity}/restore"),
    "leads.timeline": (LEAD, "GET", "/leads/{number}/timeline?before=2100-01-01T00:00:00~1~1"),
    "leads.edit_details": (LEAD, "GET", "/leads/{number}/details"),
    "leads.people": (LEAD, "GET", "/leads/{number}/people"),
    "leads.edit_people": (LEAD, "GET", "/leads/{number}/people/edit"),
    "leads.log_activity": (LEAD, "POST", "/leads/{number}/log"),
    "leads.archive": (LEAD, "POST", "/leads/{number}/archive"),
    "leads.move_to_pipeline": (LEAD, "POST", "/leads/{number}/pipeline"),
    "leads.edit_activity": (LEAD, "GET", "/leads/{number}/activities/{activity}"),
    "leads.delete_activity": (LEAD, "POST", "/leads/{number}/activities/{activity}/delete"),
    "exports.leads": (LIST, "GET", "/export/leads.csv"),
    "exports.activities": (LIST, "GET", "/export/activities.csv?all=1"),
    "exports.leads_xlsx": (LIST, "GET", "/export/leads.xlsx"),
    "exports.activities_xlsx": (LIST, "GET", "/export/activities.xlsx?all=1"),
    "exports.everything": (ADMIN, "GET", "/export/everything.json"),
    "api.list_leads": (API, "GET", "/api/v1/leads"),
    "api.get_lead": (API, "GET", "/api/v1/leads/{number}"),
    "api.create_lead": (API, "POST", "/api/v1/leads"),
    "api.update_lead": (API, "PATCH", "/api/v1/leads/{number}"),
    "api.archive_lead": (API, "POST", "/api/v1/leads/{number}/archive"),
    "api.list_activities": (API, "GET", "/api/v1/leads/{number}/activities"),
    "api.log_activity": (API, "POST", "/api/v1/leads/{number}/activities"),
    "api.list_stages": (API, "GET", "/api/v1/stages"),
    "api.list_pipelines": (API, "GET", "/api/v1/pipelines"),
    "api.create_pipeline": (API, "POST", "/api/v1/pipelines"),
    "api.list_activity_kinds": (API, "GET", "/api/v1/activity-kinds"),
    "api.list_lost_reasons": (API, "GET", "/api/v1/lost-reasons"),
    "settings.index": (USER, "GET", "/settings/"),
    "settings.create_api_token": (USER, "POST", "/settings/api-tokens"),
    "settings.revoke_api_token": (USER, "POST", "/settings/api-tokens/{token}/revoke"),
    "settings.download_backup": (ADMIN, "GET", "/settings/backup.sqlite3"),
    "settings.general": (ADMIN, "GET", "/settings/general"),
    "settings.audit_log": (ADMIN, "GET", "/settings/audit"),
    "settings.users": (ADMIN, "GET", "/settings/users"),
    "settings.user_edit": (ADMIN, "GET", "/settings/users/{user}"),
    "settings.user_set_active": (ADMIN, "POST", "/settings/users/{user}/active"),
    "settings.user_pipelines": (ADMIN, "POST", "/settings/users/{user}/pipelines"),
    "settings.user_reset_password": (ADMIN, "GET", "/settings/users/{user}/password"),
    "settings.pipelines_page": (ADMIN, "GET", "/settings/pipelines"),
    "settings.pipeline_rename": (ADMIN, "GET", "/settings/pipelines/1"),
    "settings.pipeline_move": (ADMIN, "POST", "/settings/pipelines/1/move"),
    "settings.pipeline_archive": (ADMIN, "GET", "/settings/pipelines/1/archive"),
    "settings.pipeline_restore": (ADMIN, "POST", "/settings/pipelines/1/restore"),
    "settings.stages": (ADMIN, "GET", "/settings/stages"),
    "settings.stage_edit": (ADMIN, "GET", "/settings/stages/{stage}"),
    "settings.stage_move": (ADMIN, "POST", "/settings/stages/{stage}/move"),
    "settings.stage_remove": (ADMIN, "GET", "/settings/stages/{stage}/remove"),
    "settings.list_items": (ADMIN, "GET", "/settings/lost-reasons"),
    "settings.list_item_rename": (ADMIN, "GET", "/settings/lost-reasons/1"),
    "settings.list_item_move": (ADMIN, "POST", "/settings/lost-reasons/1/move"),
    "settings.list_item_set_active": (ADMIN, "POST", "/settings/lost-reasons/1/active"),
    "settings.fields": (ADMIN, "GET", "/settings/fields"),
    "settings.field_new": (ADMIN, "GET", "/settings/fields/new"),
    "settings.field_edit": (ADMIN, "GET", "/settings/fields/1"),
    "settings.field_move": (ADMIN, "POST", "/settings/fields/1/move"),
    "settings.field_remove": (ADMIN, "POST", "/settings/fields/1/remove"),
    "settings.field_restore": (ADMIN, "POST", "/settings/fields/1/restore"),
    "settings.field_delete": (ADMIN, "GET", "/settings/fields/1/delete"),
    "settings.field_type": (ADMIN, "GET", "/settings/fields/1/type?type=number"),
    "settings.option_add": (ADMIN, "POST", "/settings/fields/1/options"),
    "settings.option_edit": (ADMIN, "GET", "/settings/fields/1/options/moskva"),
    "settings.option_move": (ADMIN, "POST", "/settings/fields/1/options/moskva/move"),
    "settings.option_offered": (ADMIN, "POST", "/settings/fields/1/options/moskva/offered"),
    "settings.option_delete": (ADMIN, "POST", "/settings/fields/1/options/moskva/delete"),
    "imports.index": (ADMIN, "GET", "/settings/import/"),
    "imports.show": (ADMIN, "GET", "/settings/import/0123abcd"),
    "imports.sheet": (ADMIN, "POST", "/settings/import/0123abcd/sheet"),
    "imports.columns": (ADMIN, "GET", "/settings/import/0123abcd/columns"),
    "imports.column_warnings": (ADMIN, "POST", "/settings/import/0123abcd/columns/warnings"),
    "imports.lead_changes": (ADMIN, "GET", "/settings/import/0123abcd/changes"),
    "imports.answers": (ADMIN, "POST", "/settings/import/0123abcd/answers"),
    "imports.apply": (ADMIN, "POST", "/settings/import/0123abcd/import"),
    "intake.index": (ADMIN, "GET", "/settings/intake-forms"),
    "intake.new": (ADMIN, "GET", "/settings/intake-forms/new"),
    "intake.edit": (ADMIN, "GET", "/settings/intake-forms/1"),
    "intake.new_address": (ADMIN, "POST", "/settings/intake-forms/1/address"),
    "telephony.index": (ADMIN, "GET", "/settings/telephony"),
    "telephony.new": (ADMIN, "GET", "/settings/telephony/new"),
    "telephony.edit": (ADMIN, "GET", "/settings/telephony/1"),
    "telephony.new_address": (ADMIN, "POST", "/settings/telephony/1/address"),
    "settings.email": (ADMIN, "GET", "/settings/email"),
    "settings.email_test": (ADMIN, "POST", "/settings/email/test"),
    "settings.notifications": (ADMIN, "GET", "/settings/notifications"),
    # One's own notifications: another's cannot be read or marked (tests/test_notifications.py).
    "notifications.index": (USER, "GET", "/notifications/"),
    "notifications.bell": (USER, "GET", "/notifications/bell?version=0"),
    "notifications.mark_read": (USER, "POST", "/notifications/1/read"),
    "notifications.mark_all_read": (USER, "POST", "/notifications/read"),
    "notifications.preferences": (USER, "GET", "/account/notifications"),
    "notifications.send_my_digest": (USER, "POST", "/account/notifications/digest"),
}


def of_kind(kind):
    return sorted(endpoint for endpoint, (rule, *_) in ROUTES.items() if rule == kind)


class Team:
    """An admin, a manager, two salespeople, and one lead of Sue's that Sam must not see."""

    def __init__(self):
        self.stages = factories.funnel()
        self.admin = factories.admin(name="Ada Admin")
        self.manager = factories.user(name="Max Manager", role=Role.MANAGER)
        self.sam = factories.user(name="Sam Seller")
        self.sue = factories.user(name="Sue Seller")
        self.lead = factories.lead(title=SECRET_TITLE, owner=self.sue, phone="+7 999 111-22-33")
        self.activity = factories.activity(self.lead, author=self.sue, body="Secret call notes")
        self.sams_lead = factories.lead(title="Sam's own lead", owner=self.sam)
        # A field of the team's own (id 1), with its choice "moskva", for Settings → Fields.
        factories.field("Город", "choice", ["Москва", "Казань"])
        self.call = factories.call_to_write_up(self.lead, self.activity, self.sue)

    def url(self, endpoint):
        method, path = ROUTES[endpoint][1:]
        return method, path.format(
            number=self.lead.number,
            id=self.lead.id,
            activity=self.activity.id,
            stage=self.stages[0].id,
            user=self.sue.id,
            call=self.call.id,
            token=1,
            today=date.today().isoformat(),
        )


@pytest.fixture
def team(app):
    return Team()


def hide_colleagues_leads():
    access.set_colleagues_leads(access.ColleaguesLeads.HIDDEN)
    db.session.commit()


def keep_sam_to_another_pipeline(team):
    """The other way a lead is hidden: Sam works in Renewals only (his own lead moved there),
    and Sue's lead is in Sales."""
    renewals = pipelines.add_pipeline("Renewals")
    funnel.move_lead(team.sams_lead, lists.pipeline_stages(renewals.id)[0], None)
    team.sam.pipeline_ids = [renewals.id]
    db.session.commit()


HIDINGS = {
    "colleagues": lambda team: hide_colleagues_leads(),
    "pipeline": keep_sam_to_another_pipeline,
}


def log_in(client, user):
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    return client


def state():
    """What a refused request must leave exactly as it was."""
    counts = [
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Lead, Activity, StageChange, AppSetting)
    ]
    return data_version.current(db.session), counts


def request(client, team, endpoint, **kwargs):
    method, url = team.url(endpoint)
    return client.open(url, method=method, **kwargs)


def shown(response):
    """What a response shows a person: its text, or an XLSX workbook's cells (a zip file's
    bytes would hide any secret)."""
    if response.mimetype != XLSX or response.status_code != 200:
        return response.text
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    return "\n".join(
        str(value) for sheet in book for row in sheet.iter_rows(values_only=True) for value in row
    )


def test_every_route_has_an_access_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ROUTES) == set(), "add an access rule (and tests) for new routes"
    assert set(ROUTES) - endpoints == set()


def problems(client, team, endpoints, expected, unchanged=True, **kwargs):
    """Request every endpoint in turn; the ones whose answer `expected(endpoint, response)`
    refuses, or that changed anything while `unchanged` is asked, as "endpoint: status"."""
    found = []
    for endpoint in endpoints:
        before = state()
        response = request(client, team, endpoint, **kwargs)
        answered = expected(endpoint, response)
        # Read before closing: a streamed download is only complete once read.
        response.close()
        if not answered:
            found.append(f"{endpoint}: {response.status_code}")
        elif unchanged and state() != before:
            found.append(f"{endpoint}: changed something")
    return found


NOT_PUBLIC = sorted(set(ROUTES) - set(of_kind(PUBLIC)) - set(of_kind(API)))
# Forms for changing a lead: a colleague's lead that may only be read refuses them outright.
CHANGE_FORMS = {
    *("leads.edit_details", "leads.edit_people", "leads.edit_activity"),
    *("board.move", "agenda.log", "agenda.write_up"),
}


def test_without_logging_in_every_page_leads_to_the_login(team, client):
    def to_login(_endpoint, response):
        return response.status_code in (302, 303) and "/login" in response.headers["Location"]

    assert problems(client, team, NOT_PUBLIC, to_login) == []


def test_without_a_token_the_api_answers_401(team, client):
    log_in(client, team.admin)
    refused = problems(client, team, of_kind(API), lambda _e, r: r.status_code == 401, json={})
    assert refused == []


def test_public_addresses_never_ask_for_a_login(team, client):
    def served(_endpoint, response):
        return "/login" not in response.headers.get("Location", "") and response.status_code < 500

    assert problems(client, team, of_kind(PUBLIC), served, unchanged=False) == []


@pytest.mark.parametrize("role", [Role.SALESPERSON, Role.MANAGER])
def test_only_administrators_reach_the_administration(team, client, role):
    log_in(client, team.sam if role == Role.SALESPERSON else team.manager)
    forbidden = problems(client, team, of_kind(ADMIN), lambda _e, r: r.status_code == 403)
    assert forbidden == []


def test_administrators_reach_the_administration(team, client):
    log_in(client, team.admin)

    # The made-up import job and intake form do not exist; the page is reached all the same.
    def reached(_endpoint, response):
        return response.status_code in (200, 303, 302, 404, 422)

    assert problems(client, team, of_kind(ADMIN), reached, unchanged=False) == []


def test_salespeople_cannot_do_a_managers_work(team, client):
    log_in(client, team.sam)
    assert problems(client, team, of_kind(MANAGER), lambda _e, r: r.status_code == 403) == []


def test_managers_do_their_work(team, client):
    log_in(client, team.manager)
    done = problems(
        client,
        team,
        of_kind(MANAGER),
        lambda _e, r: r.status_code in (200, 303),
        unchanged=False,
        data={"owner_id": team.sue.id},
    )
    assert done == []


SNEAKY = {"body": "Sneaky", "kind_id": 1}


@pytest.mark.parametrize("hiding", HIDINGS)
def test_a_hidden_lead_does_not_exist_for_a_salesperson(team, client, hiding):
    HIDINGS[hiding](team)
    log_in(client, team.sam)

    def not_found(_endpoint, response):
        return response.status_code == 404 and SECRET_TITLE not in response.text

    assert problems(client, team, of_kind(LEAD), not_found, data=SNEAKY) == []


def test_a_colleagues_lead_is_read_only_for_a_salesperson(team, client):
    log_in(client, team.sam)

    def read_only(endpoint, response):
        if ROUTES[endpoint][1] == "GET" and endpoint not in CHANGE_FORMS:
            return response.status_code == 200
        return response.status_code in (403, 422)

    assert problems(client, team, of_kind(LEAD), read_only, data=SNEAKY) == []


def test_a_manager_works_every_lead(team, client):
    hide_colleagues_leads()
    log_in(client, team.manager)

    def reached(_endpoint, response):
        return response.status_code != 404 and response.status_code < 500

    assert problems(client, team, of_kind(LEAD), reached, unchanged=False) == []


@pytest.mark.parametrize("hiding", HIDINGS)
def test_lists_leave_out_hidden_leads(team, client, hiding):
    HIDINGS[hiding](team)
    log_in(client, team.sam)
    # The board's poll may answer "nothing changed" (204); a column or a report's stage of a
    # pipeline Sam does not work in is not found.
    shown_statuses = (200, 204, 404) if hiding == "pipeline" else (200, 204)

    def without_it(_endpoint, response):
        return (
            response.status_code in shown_statuses
            and SECRET_TITLE not in shown(response)
            and "Secret call notes" not in shown(response)
        )

    found = problems(client, team, of_kind(LIST), without_it, follow_redirects=True)
    assert found == []


SHOWN_TO_THE_TEAM = [
    "leads.index",
    "board.index",
    "activities.index",
    "exports.leads",
    "exports.leads_xlsx",
    "exports.activities_xlsx",
]


@pytest.mark.parametrize("endpoint", SHOWN_TO_THE_TEAM)
def test_lists_show_colleagues_leads_when_allowed(team, client, endpoint):
    log_in(client, team.sam)
    assert SECRET_TITLE in shown(request(client, team, endpoint))


@pytest.mark.parametrize("endpoint", SHOWN_TO_THE_TEAM)
def test_managers_see_every_lead_when_salespeople_do_not(team, client, endpoint):
    hide_colleagues_leads()
    log_in(client, team.manager)
    assert SECRET_TITLE in shown(request(client, team, endpoint))


def test_a_hidden_lead_is_not_found_by_search_or_phone(team, client):
    hide_colleagues_leads()
    log_in(client, team.sam)
    for query in ("Zanzibar", "999 111", f"#{team.lead.number}"):
        response = client.get("/leads/", query_string={"q": query})
        assert SECRET_TITLE not in response.text
    assert "Sam&#39;s own lead" in client.get("/leads/").text


def test_the_board_poll_does_not_count_hidden_leads(team, client):
    hide_colleagues_leads()
    log_in(client, team.sam)
    page = client.get("/board/").text
    assert SECRET_TITLE not in page
    # The first column holds Sam's lead alone: it counts one lead, not two.
    column = client.get(f"/board/columns/{team.stages[0].id}").text
    assert "1 lead<" in column


def test_a_duplicate_warning_names_a_hidden_lead_without_its_details(team, client):
    hide_colleagues_leads()
    log_in(client, team.sam)
    response = client.post(
        "/leads/new",
        data={"title": "Another", "phone": "+7 999 111 22 33", "stage_id": team.stages[0].id},
    )
    assert f"#{team.lead.number}" in response.text
    assert "Sue Seller" in response.text
    assert SECRET_TITLE not in response.text
    assert f"/leads/{team.lead.number}" not in response.text


def test_the_api_hides_a_colleagues_lead(team, client):
    from tests.test_api import token_for

    hide_colleagues_leads()
    headers = {"Authorization": f"Bearer {token_for(team.sam)}"}
    listed = client.get("/api/v1/leads", headers=headers).get_json()
    assert [lead["title"] for lead in listed["leads"]] == ["Sam's own lead"]
    assert client.get(f"/api/v1/leads/{team.lead.number}", headers=headers).status_code == 404
    response = client.post(
        f"/api/v1/leads/{team.lead.number}/activities",
        headers=headers,
        json={"kind": "call", "body": "Sneaky"},
    )
    assert response.status_code == 404


def test_an_administrator_chooses_what_salespeople_see(team, client):
    log_in(client, team.admin)
    page = client.get("/settings/general")
    assert "Salespeople see their colleagues" in page.text
    hidden = factories.general_settings(colleagues_leads="hidden")
    response = client.post("/settings/general", data=hidden)
    assert response.status_code == 303
    assert access.colleagues_leads() == access.ColleaguesLeads.HIDDEN
    everything = factories.general_settings(colleagues_leads="everything")
    refused = client.post("/settings/general", data=everything)
    assert refused.status_code == 422
    assert "Not a valid choice" in refused.text
