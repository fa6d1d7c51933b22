"""Every form of the pages, and the API's requests not driven elsewhere, take hostile input:
arbitrary text, huge values, wrong types, unicode edge cases, markup and script. None gets a
server error, none shows up in a page as markup, and a refused request changes nothing."""

import io
import re
from datetime import timedelta

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict

from crm import custom_fields
from crm.extensions import db
from crm.imports import jobs
from crm.models import (
    Activity,
    ActivityKind,
    ApiToken,
    Call,
    CustomField,
    FieldType,
    IntakeForm,
    Lead,
    LoginAttempt,
    LostReason,
    Notification,
    PhoneConnection,
    Pipeline,
    PushSubscription,
    Stage,
    User,
)
from crm.settings import email as email_settings
from crm.timezones import local_today
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.hostile_inputs import (
    FEWER,
    HUGE,
    MARKUP,
    SETTINGS,
    TEMPLATES,
    UNICODE,
    URLS,
    Browser,
    Tally,
    World,
    hostile_text,
    printable,
    some_id,
    sometimes,
    table_digest,
)

TALLY = Tally()

# Forms driven elsewhere: the intake's public address (tests/test_intake.py), the setup page
# (below, on an empty database), the API's writes (tests/test_api.py, and below), the JSON a
# browser sends to turn notifications on and off (tests/test_push.py) and the phone systems'
# address (tests/test_calls.py).
DRIVEN_ELSEWHERE = {
    *("intake.receive", "auth.setup", "telephony.hook"),
    *("auth.subscribe_device", "auth.unsubscribe_device"),
}
# The API's endpoints that take input, and where: the rest take none.
API_DRIVEN = {
    "api.create_lead": "tests/test_api.py",
    "api.update_lead": "tests/test_api.py",
    "api.log_activity": "tests/test_api.py",
    "api.list_leads": "tests/test_api.py",
    "api.create_pipeline": "tests/test_pipelines.py",
    "api.get_lead": "below",
    "api.list_activities": "below",
    "api.archive_lead": "below",
}
API_WITHOUT_INPUT = {
    "api.list_stages",
    "api.list_pipelines",
    "api.list_activity_kinds",
    "api.list_lost_reasons",
    "api.openapi_document",
}


@pytest.fixture(scope="module", autouse=True)
def report_tally(request):
    yield
    TALLY.report(request)


@pytest.fixture
def world(app, admin):
    world = World(app, admin, TALLY)
    world.shown_on = list
    yield world
    # Once the examples are done, the pages that show what they saved, with all of it.
    world.keep_logged_in()
    world.look_at(world.shown_on())


def lead_numbers():
    return set(db.session.scalars(select(Lead.number)))


SHOWN_EVERYWHERE = [
    "/leads/",
    "/leads/?archived=1",
    "/board/",
    "/agenda/",
    "/agenda/calendar",
    "/agenda/calendar?view=month",
    "/agenda/missed",
    "/activities/",
    "/settings/",
    # The downloads of all of it: a workbook takes no control character, for one.
    "/export/leads.csv?archived=1&sep=semicolon",
    "/export/leads.xlsx?archived=1",
    "/export/activities.xlsx?all=1",
]
SHOWN_IN_SETTINGS = [
    "/account",
    "/account/two-step",
    "/settings/users",
    "/settings/stages",
    "/settings/activity-kinds",
    "/settings/lost-reasons",
    "/settings/general",
    "/settings/intake-forms",
    "/settings/telephony",
    "/settings/import/",
    "/settings/fields",
    "/settings/email",
    "/settings/notifications",
    "/account/notifications",
    "/notifications/",
]


# Field values: plausible ones most of the time, so that saving is tried, not only refusing.

plausible_days = st.integers(-30, 60).map(lambda n: (local_today() + timedelta(days=n)).isoformat())
times = st.sampled_from(["", "09:30", "23:59", "00:00"])
# A next step as people type it, or an empty field.
typed_days = st.tuples(
    plausible_days | st.sampled_from(["", "завтра", "+3", "fri", "today"]), times
).map(lambda parts: " ".join(parts).strip())
moments = st.integers(-300, 0).map(
    lambda n: (local_today() + timedelta(days=n)).isoformat() + "T10:30"
)
amounts = st.decimals(min_value=0, max_value=10**9, places=2).map(str) | st.just("")


def chosen(ids, empty=True):
    """A select's value: one of `ids` as text, or (when allowed) none chosen."""
    values = some_id(ids).map(str)
    return sometimes(values | st.just("") if empty else values)


def log_fields(world):
    return {
        "kind_id": chosen(world.ids(ActivityKind), empty=False),
        "occurred_at": sometimes(moments),
        "offered_time": hostile_text,
        "body": hostile_text,
        "stage_id": chosen(world.ids(Stage), empty=False),
        "next_step_when": sometimes(typed_days),
        "next_step_note": hostile_text,
        "no_next_step": sometimes(st.sampled_from(["", "y"])),
        "lost_reason_id": chosen(world.ids(LostReason)),
        "lost_note": hostile_text,
        "value": sometimes(amounts),
    }


def lead_fields(world):
    return {
        "title": hostile_text,
        "contact_name": hostile_text,
        "phone": hostile_text,
        "email": sometimes(st.sampled_from(["", "ann@example.com"])),
        "source": hostile_text,
        "value": sometimes(amounts),
        "owner_id": chosen(world.ids(User)),
        "stage_id": chosen(world.ids(Stage), empty=False),
        "next_step_when": sometimes(typed_days),
        "next_step_note": hostile_text,
        "confirmed": st.sampled_from(["", "1"]),
    }


def people_fields(_world):
    """Two people and a blank one, as the lead page's people form sends them."""
    fields = {"main": sometimes(st.sampled_from(["0", "1", "2", "9", "-1", "x"]))}
    for index in range(3):
        fields |= {
            f"people-{index}-name": hostile_text,
            f"people-{index}-job_title": hostile_text,
            f"people-{index}-phones": hostile_text,
            f"people-{index}-emails": hostile_text,
            f"people-{index}-note": hostile_text,
            f"people-{index}-remove": sometimes(st.sampled_from(["", "y"])),
        }
    return fields


def stage_fields(world):
    return {
        "name": hostile_text,
        "colour": sometimes(st.sampled_from(["#1d4ed8", "#FFFFFF", "red", "#12345"])),
        "kind": sometimes(st.sampled_from(["open", "won", "lost"])),
        "stuck_after_days": sometimes(st.sampled_from(["", "1", "30", "3650"])),
    }


# Time zones: ones the list offers, one it lacks but the zone database knows, and ones nobody has.
zones = st.sampled_from(
    ["Europe/Moscow", "Asia/Vladivostok", "UTC", "asia/calcutta", "Mars/Olympus", "", "Europe"]
)


def new_user_fields(world):
    return {
        "name": hostile_text,
        "email": sometimes(st.integers(0, 10**6).map(lambda n: f"someone{n}@example.com")),
        "role": sometimes(st.sampled_from(["salesperson", "manager", "admin"])),
        "language": sometimes(st.sampled_from(["en", "ru"])),
        "timezone": sometimes(zones),
        "password": sometimes(st.just("a long new passphrase")),
    }


def account_fields(world):
    return {
        "name": hostile_text,
        "language": sometimes(st.sampled_from(["en", "ru", "de"])),
        "timezone": sometimes(zones),
    }


def general_fields(world):
    return {
        "currency": hostile_text,
        "quiet_after_days": sometimes(st.sampled_from(["1", "14", "365", "0", "366"])),
        "colleagues_leads": sometimes(st.sampled_from(["read-only", "hidden"])),
        "language": sometimes(st.sampled_from(["en", "ru"])),
        "timezone": sometimes(zones),
        # Refused: the administrator does not use two-step sign-in.
        "two_factor_required": sometimes(st.sampled_from(["", "y"])),
    }


# A server's name that passes is one on this machine: the test message then fails at once,
# never waiting on a server somewhere else.
LOCAL_HOSTS = ["127.0.0.1", "localhost"]
hosts = st.sampled_from(LOCAL_HOSTS) | hostile_text.filter(
    lambda text: not re.fullmatch(email_settings.HOST, text.strip())
)


def email_fields(world):
    return {
        "host": sometimes(hosts),
        "port": sometimes(st.sampled_from(["1", "25", "587", "0", "65536", "x"])),
        "security": sometimes(st.sampled_from(["starttls", "tls", "none", "ssl"])),
        "username": hostile_text,
        "password": hostile_text,
        "sender": sometimes(st.sampled_from(["crm@example.com", "nobody", ""])) | hostile_text,
    }


def notification_choices(world):
    return {
        "digest": sometimes(st.sampled_from(["", "y"])),
        "digest_at": sometimes(st.sampled_from(["08:30", "05:00", "25:00", "8:30"])),
        "reminder": sometimes(st.sampled_from(["", "y"])),
        "reminder_minutes": sometimes(st.sampled_from(["5", "60", "7", "-1"])),
        "given": sometimes(st.sampled_from(["", "y"])),
        "request": sometimes(st.sampled_from(["", "y"])),
        "weekly": sometimes(st.sampled_from(["", "y"])),
        "email": sometimes(st.sampled_from(["", "y"])),
    }


def new_passwords(world):
    return {
        "password": sometimes(st.just("a long new passphrase")),
        "password_again": sometimes(st.just("a long new passphrase")),
    }


def intake_fields(world):
    return {
        "name": hostile_text,
        "source": hostile_text,
        "owner_id": chosen(world.ids(User)),
        "allowed_origins": sometimes(st.sampled_from(["", "https://example.com"])),
        "reply": sometimes(st.sampled_from(["page", "redirect", "json"])),
        "redirect_url": sometimes(st.sampled_from(["", "https://example.com/thanks"])),
        "active": st.sampled_from(["", "y"]),
    }


def connection_fields(world):
    return {
        "name": hostile_text,
        "provider": sometimes(st.sampled_from(["generic", "zadarma", "mango", "sipuni"])),
        "secret": hostile_text,
        "extensions": sometimes(st.sampled_from(["101 sam@example.com", "101 = nobody@x.y"]))
        | hostile_text,
    }


def field_fields(world):
    return {
        "label": hostile_text,
        "type": sometimes(st.sampled_from([*(t.value for t in FieldType), "nope"])),
        "options": hostile_text,
        "help_text": hostile_text,
        **{flag: st.sampled_from(["", "y"]) for flag in custom_fields.FLAGS},
    }


def option_fields(prefix):
    return lambda world: {
        f"{prefix}label": hostile_text,
        f"{prefix}colour": sometimes(st.sampled_from(["", "#16a34a", "#ABCDEF", "red", "#1234"])),
    }


def type_change_fields(world):
    return {
        "type": sometimes(st.sampled_from([t.value for t in FieldType])),
        "clear_misfits": st.sampled_from(["", "y"]),
    }


def some_option_key():
    """A choice's key, mostly one some field has now, else one nothing has."""

    def pick(n):
        keys = sorted(
            option["key"]
            for options in db.session.scalars(select(CustomField.options))
            for option in options or ()
        )
        return keys[n % len(keys)] if n < 14 and keys else ["nope", "a/b", "%00"][n % 3]

    return st.integers(0, 15).map(pick)


def nothing(world):
    return {}


def one(name, *values):
    return lambda world: {name: sometimes(st.sampled_from(values))}


def move_fields(world):
    return {
        "stage_id": chosen(world.ids(Stage), empty=False),
        "from_stage_id": chosen(world.ids(Stage)),
        "lost_reason_id": chosen(world.ids(LostReason)),
        "lost_note": hostile_text,
        "value": sometimes(amounts),
    }


def calendar_move_fields(world):
    return {
        "date": sometimes(plausible_days),
        "from": sometimes(plausible_days),
        "listed": sometimes(plausible_days),
        "view": sometimes(st.sampled_from(["week", "month"])),
        "anchor": sometimes(plausible_days),
        "owner": sometimes(st.sampled_from(["", "everyone", str(world.admin_id)])),
    }


def remove_stage_fields(world):
    return {
        "target_stage_id": chosen(world.ids(Stage)),
        "lost_reason_id": chosen(world.ids(LostReason)),
        "lost_note": hostile_text,
    }


LEAD_FORMS = {
    "leads.new": lead_fields,
    "leads.edit_details": lead_fields,
    "leads.edit_people": people_fields,
    "leads.log_activity": log_fields,
    "leads.edit_activity": log_fields,
    "leads.delete_activity": nothing,
    "leads.restore_activity": nothing,
    "leads.reassign": lambda world: {
        "owner_id": chosen(world.ids(User)),
        "expected": sometimes(st.integers(0, 5).map(str)),
    },
    "leads.archive": one("restore", "", "1"),
    "leads.move_to_pipeline": lambda world: {"stage_id": chosen(world.ids(Stage))},
    "board.move": move_fields,
    "agenda.log": log_fields,
    "agenda.reschedule": lambda world: {
        "days": sometimes(st.sampled_from(["1", "3", "7"])),
        "date": sometimes(plausible_days),
    },
    "agenda.calendar_reschedule": calendar_move_fields,
    "agenda.calendar_new_feed": nothing,
    "agenda.attach_call": lambda world: {
        "number": sometimes(st.sampled_from(sorted(map(str, lead_numbers())) + ["#1", "0"]))
    },
    "agenda.call_to_new_lead": nothing,
}
SETTINGS_FORMS = {
    "settings.create_api_token": lambda world: {"name": hostile_text},
    "settings.revoke_api_token": nothing,
    "settings.users": new_user_fields,
    "settings.user_set_active": nothing,
    "settings.user_pipelines": lambda world: {"pipeline": chosen(world.ids(Pipeline))},
    "settings.user_reset_password": new_passwords,
    "settings.stages": stage_fields,
    "settings.stage_edit": stage_fields,
    "settings.stage_move": one("direction", "up", "down"),
    "settings.stage_remove": remove_stage_fields,
    "settings.list_items": lambda world: {"name": hostile_text},
    "settings.list_item_rename": lambda world: {"name": hostile_text},
    "settings.list_item_move": one("direction", "up", "down"),
    "settings.list_item_set_active": one("active", "on", "off"),
    "settings.general": general_fields,
    "settings.user_edit": account_fields,
    "settings.field_new": field_fields,
    "settings.field_edit": field_fields,
    "settings.field_move": one("direction", "up", "down"),
    "settings.pipelines_page": lambda world: {"name": hostile_text},
    "settings.pipeline_rename": lambda world: {"name": hostile_text},
    "settings.pipeline_move": one("direction", "up", "down"),
    "settings.pipeline_archive": lambda world: {"target_stage_id": chosen(world.ids(Stage))},
    "settings.pipeline_restore": nothing,
    "settings.field_remove": nothing,
    "settings.field_restore": nothing,
    "settings.field_delete": nothing,
    "settings.field_type": type_change_fields,
    "settings.option_add": option_fields("option-"),
    "settings.option_edit": option_fields(""),
    "settings.option_move": one("direction", "up", "down"),
    "settings.option_offered": one("active", "on", "off"),
    "settings.option_delete": nothing,
    "auth.account": account_fields,
    "settings.email": email_fields,
    "settings.email_test": lambda world: {
        "to": sometimes(st.sampled_from(["ada@example.com", "nobody"])) | hostile_text
    },
    "notifications.preferences": notification_choices,
    "notifications.mark_read": nothing,
    "notifications.mark_all_read": nothing,
    "notifications.send_my_digest": nothing,
    "intake.new": intake_fields,
    "intake.edit": intake_fields,
    "intake.new_address": nothing,
    "telephony.new": connection_fields,
    "telephony.edit": connection_fields,
    "telephony.new_address": nothing,
    "auth.change_password": lambda world: {
        "current_password": sometimes(st.just(factories.PASSWORD)),
        **new_passwords(world),
    },
    "auth.logout": nothing,
    "auth.remove_device": nothing,
    "auth.turn_on_two_step": lambda world: {
        "setup": hostile_text,
        "code": sometimes(st.sampled_from(["123456", "000 000", "１２３４５６"])),
    },
    # The administrator has no two-step sign-in to turn off or make codes for: these answer
    # with a redirect whatever they are sent (tests/test_two_factor.py drives them).
    "auth.turn_off_two_step": lambda world: {
        "off-password": sometimes(st.just(factories.PASSWORD)),
        "off-code": hostile_text,
    },
    "auth.new_recovery_codes": lambda world: {
        "codes-password": sometimes(st.just(factories.PASSWORD)),
        "codes-code": hostile_text,
    },
    "main.set_language": lambda world: {
        "language": sometimes(st.sampled_from(["en", "ru"])),
        "next": sometimes(st.sampled_from(["/leads/", "//evil.example", "javascript:alert(1)"])),
    },
}
LOGGED_OUT_FORMS = {
    "auth.login": lambda world: {
        "email": sometimes(st.sampled_from(["ada@example.com", "ADA@example.com "])),
        "password": sometimes(st.just(factories.PASSWORD)),
    },
    "main.set_language": SETTINGS_FORMS["main.set_language"],
    # With no sign-in pending it only says so (test_the_code_step_takes_hostile_input has one).
    "auth.login_code": lambda world: {
        "code": sometimes(st.sampled_from(["123456", "12 34 56", "١٢٣٤٥٦"])),
        "recovery_code": hostile_text,
    },
}
IMPORT_FORMS = {
    "imports.index": None,  # an upload: see upload_fields
    "imports.columns": None,  # a select per column of the file: see mapping_fields
    "imports.column_warnings": None,  # the same selects
    "imports.sheet": lambda world: {"sheet": hostile_text},
    "imports.answers": lambda world: {
        "status_0": sometimes(st.sampled_from(["new:open", "new:lost", "stage:1"])),
        "date_order": sometimes(st.sampled_from(["day-first", "month-first"])),
    },
    "imports.apply": one("skip_errors", "", "y"),
}


def address_values(world, endpoint, data):
    """Values for the variable parts of an endpoint's address: mostly ones that exist."""
    rule = next(world.app.url_map.iter_rules(endpoint))
    pools = {
        "number": lambda: lead_numbers(),
        "lead_id": lambda: world.ids(Lead),
        "activity_id": lambda: set(db.session.scalars(select(Activity.id))),
        "stage_id": lambda: world.ids(Stage),
        "user_id": lambda: world.ids(User),
        "token_id": lambda: world.ids(ApiToken),
        "form_id": lambda: world.ids(IntakeForm),
        "connection_id": lambda: world.ids(PhoneConnection),
        "call_id": lambda: world.ids(Call),
        "item_id": lambda: world.ids(ActivityKind) | world.ids(LostReason),
        "field_id": lambda: world.ids(CustomField),
        "pipeline_id": lambda: world.ids(Pipeline),
        "subscription_id": lambda: world.ids(PushSubscription),
        "notification_id": lambda: world.ids(Notification),
    }
    values = {}
    for name in sorted(rule.arguments):
        if name == "list_name":
            strategy = st.sampled_from(["activity-kinds", "lost-reasons"])
        elif name == "option_key":
            strategy = some_option_key()
        elif name == "job_id":
            known = [job.id for job in jobs.recent(5)] or ["none"]
            strategy = st.integers(0, 7).flatmap(
                lambda n, known=known: (
                    st.text(printable, min_size=1) if n == 7 else st.just(known[n % len(known)])
                )
            )
        else:
            strategy = some_id(pools[name]())
        values[name] = data.draw(strategy, label=name)
    return values


def fill(data, fields):
    """A form post: each field present, missing, or sent twice, and now and then one the
    form does not have."""
    body = []
    for name, strategy in fields.items():
        shape = data.draw(st.integers(0, 15), label=f"{name} shape")
        if shape == 0:
            continue
        body.append((name, data.draw(strategy, label=name)))
        if shape == 1:
            body.append((name, data.draw(hostile_text, label=f"{name} again")))
    if data.draw(st.integers(0, 7), label="extra field") == 0:
        body.append((data.draw(st.text(printable, max_size=12), label="extra"), "x"))
    return body


def drive(world, data, forms, client=None, skip=()):
    """Post hostile fields to one of `forms`, as a plain form or as htmx."""
    endpoint = data.draw(st.sampled_from(sorted(forms)), label="form")
    url = world.url(endpoint, **address_values(world, endpoint, data))
    body = fill(data, forms[endpoint](world))
    htmx = data.draw(st.booleans(), label="htmx")
    response = world.send("POST", url, MultiDict(body), htmx=htmx, client=client, skip=skip)
    hypothesis.event(f"{endpoint} {response.status_code}")
    return response


def every_post_form(app):
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.endpoint.startswith("api.")
    }


def test_every_form_is_driven_with_hostile_input(app):
    """A new form without hostile input of its own makes this fail: add it to a family."""
    driven = set(LEAD_FORMS) | set(SETTINGS_FORMS) | set(LOGGED_OUT_FORMS) | set(IMPORT_FORMS)
    assert every_post_form(app) == driven | DRIVEN_ELSEWHERE
    api = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert api == set(API_DRIVEN) | API_WITHOUT_INPUT


@fewer_on_postgresql(SETTINGS, given(data=st.data()))
def test_lead_forms_take_hostile_input(world, data):
    world.shown_on = lambda: SHOWN_EVERYWHERE + [f"/leads/{n}" for n in sorted(lead_numbers())]
    drive(world, data, LEAD_FORMS)


@fewer_on_postgresql(SETTINGS, given(data=st.data()))
def test_settings_forms_take_hostile_input(world, data):
    world.shown_on = lambda: SHOWN_IN_SETTINGS + SHOWN_EVERYWHERE[:3]
    world.keep_logged_in()
    drive(world, data, SETTINGS_FORMS)


@fewer_on_postgresql(FEWER, given(data=st.data()))
def test_forms_before_login_take_hostile_input(world, data):
    db.session.execute(delete(LoginAttempt))
    # A failed login is counted: that is the one change a refused request makes.
    drive(world, data, LOGGED_OUT_FORMS, client=world.app.test_client(), skip={"login_attempts"})


@fewer_on_postgresql(FEWER, given(data=st.data()))
def test_the_code_step_takes_hostile_input(world, data):
    """The page after the right password, for a person with two-step sign-in."""
    seller = db.session.get(User, world.seller.id)
    if not seller.two_factor_on:
        factories.two_step(seller)
    db.session.execute(delete(LoginAttempt))
    db.session.commit()
    browser = world.app.test_client()
    browser.post("/login", data={"email": seller.email, "password": factories.PASSWORD})
    forms = {"auth.login_code": LOGGED_OUT_FORMS["auth.login_code"]}
    # A wrong code is counted: that is the one change a refused request makes.
    drive(world, data, forms, client=browser, skip={"login_attempts"})


# The import: a file with markup in its headers and cells, then its forms


HOSTILE_SHEET = "\r\n".join(
    [
        "Title;Status;<script>alert(1)</script>;Value;{{7*'7'}}",
        '<script>alert(1)</script>;Thinking <b hostile>;x;1 000,50;"><img src=x hostile>',
        "{{7*'7'}};Cold;y;lots;javascript:alert(1)",
    ]
).encode()
# Sheets past the import's bounds, refused at upload: more columns, a longer cell.
OVERSIZED_SHEETS = [
    ";".join(f"<b hostile>{n}" for n in range(250)).encode() + b"\r\nx;y\r\n",
    b"Title;Notes\r\n<script>alert(1)</script>;" + "Долго говорили. ".encode() * 700,
]
FILE_NAMES = ["leads.csv", "<script>alert(1)</script>.csv", "a\u202eslx.csv", "x.xlsx", ""]
FIELD_KEYS = ["", "title", "status", "value", "phone", "email", "source", "number", "nonsense"]


@pytest.fixture
def sheet_job(world):
    response = world.send(
        "POST",
        "/settings/import/",
        {"kind": "leads", "file": (io.BytesIO(HOSTILE_SHEET), "leads.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    return response.headers["Location"].rstrip("/").split("/")[-2]


def mapping_fields(world):
    return {f"column_{n}": sometimes(st.sampled_from(FIELD_KEYS)) for n in range(6)} | {
        "owner_id": chosen(world.ids(User)),
        "kind_id": chosen(world.ids(ActivityKind)),
        "lost_reason_id": chosen(world.ids(LostReason)),
        "won_value": sometimes(st.sampled_from(["", "1 000,50", "-5", "lots"])),
        "date_order": sometimes(st.sampled_from(["", "day-first", "month-first"])),
    }


def upload_body(data):
    if data.draw(st.booleans(), label="our sheet"):
        content = data.draw(st.sampled_from([HOSTILE_SHEET, *OVERSIZED_SHEETS]), label="sheet")
    else:
        content = data.draw(st.binary(max_size=300) | hostile_text.map(str.encode), label="file")
    body = MultiDict(fill(data, {"kind": sometimes(st.sampled_from(["leads", "activities"]))}))
    name = data.draw(st.sampled_from(FILE_NAMES), label="file name")
    body.add("file", (io.BytesIO(content), name))
    return body


@fewer_on_postgresql(FEWER, given(data=st.data()))
def test_import_forms_take_hostile_input(world, sheet_job, data):
    world.shown_on = lambda: (
        [f"/settings/import/{job.id}" for job in jobs.recent(5)]
        + [
            f"/settings/import/{sheet_job}/columns",
            f"/settings/import/{sheet_job}/changes",
            "/leads/",
        ]
    )
    endpoint = data.draw(st.sampled_from(sorted(IMPORT_FORMS)), label="form")
    url = world.url(endpoint, **address_values(world, endpoint, data))
    if endpoint == "imports.index":
        body, options = upload_body(data), {"content_type": "multipart/form-data"}
    else:
        fields = (IMPORT_FORMS[endpoint] or mapping_fields)(world)
        body, options = MultiDict(fill(data, fields)), {}
    htmx = data.draw(st.booleans(), label="htmx")
    response = world.send("POST", url, body, htmx=htmx, **options)
    hypothesis.event(f"{endpoint} {response.status_code}")


# The setup page, on a database with no account yet


SETUP_FIELDS = {
    "name": hostile_text,
    "email": sometimes(st.just("boss@example.com")),
    "password": sometimes(st.just("a long setup passphrase")),
    "password_again": sometimes(st.just("a long setup passphrase")),
    "language": sometimes(st.sampled_from(["en", "ru"])),
    "timezone": sometimes(zones),
}


def undo_setup(app):
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()
    app.extensions.pop("crm.setup_done", None)


@fewer_on_postgresql(FEWER, given(data=st.data()))
def test_the_setup_form_takes_hostile_input(app, data):
    browser = Browser(app, TALLY)
    body = MultiDict(fill(data, SETUP_FIELDS))
    response = browser.send("POST", "/setup", body)
    hypothesis.event(f"setup {response.status_code}")
    if response.status_code == 303:
        browser.send("GET", "/agenda/")
        undo_setup(app)


# Pages with filters and search: every page, with arbitrary query strings


PARAMETERS = sorted(
    {"q", "stage", "owner", "sort", "dir", "after", "key", "from", "to", "range", "author"}
    | {"kind", "view", "date", "day", "days", "offset", "period", "before", "before_id"}
    | {"outcome", "source", "stuck", "stays", "week", "col", "cards", "all", "version"}
    | {"archived", "overdue", "no_next_step", "focus", "next", "month", "table", "reset"}
    | {"sep"}
    | {"next_step_when"}
)
PATH_VALUES = {
    "slug": ["funnel", "time-in-stage", "won-lost", "activity", "sources", "nope"],
    "table": ["stages", "losses", "nope"],
    "key": ["overdue", "today", "week", "unplanned", "stuck", "quiet", "nope"],
    "token": ["x" * 43, "nope"],
    # What a phone system adds to its connection's address (Mango Office's paths).
    "rest": ["", "events/call", "events/summary", "nope"],
}


def every_page(app):
    return sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint != "static"
        and not rule.endpoint.startswith(("api.", "settings.download_backup"))
    )


def page_address(world, endpoint, data):
    rule = next(world.app.url_map.iter_rules(endpoint))
    fixed = {
        name: data.draw(st.sampled_from(PATH_VALUES[name]) | hostile_text, label=name)
        for name in rule.arguments
        if name in PATH_VALUES
    }
    others = address_values(world, endpoint, data) if set(rule.arguments) - set(fixed) else {}
    return world.url(endpoint, **{**others, **fixed})


query_values = st.lists(
    st.tuples(st.sampled_from(PARAMETERS) | st.text(printable, max_size=8), hostile_text),
    max_size=4,
)


@fewer_on_postgresql(SETTINGS, given(data=st.data()))
def test_pages_take_hostile_query_strings(world, data):
    endpoint = data.draw(st.sampled_from(every_page(world.app)), label="page")
    url = page_address(world, endpoint, data)
    if data.draw(st.integers(0, 7), label="raw bytes") == 0:
        # What a program, not a browser, may send: bytes that are not even UTF-8.
        query = data.draw(st.binary(max_size=40), label="query").decode("latin-1")
    else:
        query = MultiDict(data.draw(query_values, label="query"))
    htmx = data.draw(st.booleans(), label="htmx")
    response = world.send("GET", url, htmx=htmx, query_string=query)
    hypothesis.event(f"{endpoint} {response.status_code}")


# The API's requests not driven in tests/test_api.py


@fewer_on_postgresql(FEWER, given(data=st.data()))
def test_api_reads_and_archiving_take_hostile_input(world, data):
    endpoint = data.draw(
        st.sampled_from(sorted(name for name, where in API_DRIVEN.items() if where == "below")),
        label="endpoint",
    )
    url = world.url(endpoint, **address_values(world, endpoint, data))
    query = MultiDict(
        data.draw(st.lists(st.tuples(st.sampled_from(["limit", "cursor"]), hostile_text)))
    )
    method = "POST" if endpoint == "api.archive_lead" else "GET"
    body = data.draw(st.binary(max_size=100), label="body")
    before = table_digest()
    response = world.client.open(
        url, method=method, query_string=query, data=body, headers=world.bearer()
    )
    TALLY.add()
    hypothesis.event(f"{endpoint} {response.status_code}")
    assert response.status_code < 500
    assert response.is_json
    if response.status_code >= 400:
        assert table_digest() == before


# Numbers in addresses larger than any id


def test_numbers_beyond_any_id_are_not_found(world):
    for rule in world.app.url_map.iter_rules():
        # Every number in our addresses is an <int:name> part of the rule.
        ids = re.findall(r"<int:(\w+)>", rule.rule)
        if not ids:
            continue
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
        for number in (2**31, 2**63, 2**70):
            values = {name: number for name in ids}
            values |= {name: "lost-reasons" for name in rule.arguments if name == "list_name"}
            values |= {name: "kazan" for name in rule.arguments if name == "option_key"}
            url = world.url(rule.endpoint, **values)
            bearer = world.bearer() if rule.endpoint.startswith("api.") else {}
            response = world.client.open(url, method=method, headers=bearer)
            TALLY.add()
            assert response.status_code == 404, (method, url)


# Markup typed into every text field that pages show again


# What a template or a format string would evaluate, all in one: each is shown as typed.
SHOWN_PAYLOADS = [*MARKUP, "".join(TEMPLATES), URLS[0]]
CURRENCY_PAYLOAD = "<script>"


def saved(response):
    assert response.status_code in (200, 303), response.status_code
    return response


def answered(response):
    """Saved or refused: either is fine for text no one types (the request checks the rest)."""
    return response


def type_everywhere(world, payload, n, saved=saved):
    """Type `payload` into every form field whose text a page shows; the new lead's number."""
    today = local_today().isoformat()
    stage_id = db.session.scalar(select(Stage.id).order_by(Stage.position))
    kind_id = db.session.scalar(select(ActivityKind.id).order_by(ActivityKind.id))
    send = world.send
    lead = {"title": payload, "contact_name": payload, "phone": payload, "source": payload}
    response = saved(
        send(
            "POST",
            "/leads/new",
            lead
            | {"stage_id": stage_id, "owner_id": world.admin_id, "confirmed": "1"}
            | {"next_step_when": "today", "next_step_note": payload},
        )
    )
    location = response.headers.get("Location") or f"/leads/{max(lead_numbers())}"
    number = int(location.rsplit("/", 1)[1])
    log = {"kind_id": kind_id, "occurred_at": f"{today}T08:00", "body": payload}
    log |= {"stage_id": stage_id, "next_step_when": "today", "next_step_note": payload}
    saved(send("POST", f"/leads/{number}/log", log))
    saved(send("POST", "/settings/activity-kinds", {"name": payload}))
    saved(send("POST", "/settings/lost-reasons", {"name": payload}))
    saved(send("POST", "/settings/stages", {"name": payload, "colour": "#123456", "kind": "open"}))
    user = {"name": payload, "email": f"hostile{n}@example.com", "role": "salesperson"}
    user |= {"language": "en", "timezone": "Europe/Moscow"}
    saved(send("POST", "/settings/users", user | {"password": "a long new passphrase"}))
    saved(send("POST", "/settings/api-tokens", {"name": payload}))
    intake = {"name": payload, "source": payload, "reply": "page", "active": "y"}
    saved(send("POST", "/settings/intake-forms/new", intake))
    return number


# Where each payload must be seen, as text.
SHOWN_ON = {
    "/leads/": "title",
    "/board/": "title",
    "/agenda/": "title",
    "/agenda/calendar": "next step",
    "/activities/": "what was said",
    "/settings/users": "name",
    "/settings/stages": "name",
    "/settings/activity-kinds": "name",
    "/settings/lost-reasons": "name",
    "/settings/intake-forms": "name",
}


def test_markup_typed_into_the_forms_is_shown_as_text(world):
    numbers = [type_everywhere(world, payload, n) for n, payload in enumerate(SHOWN_PAYLOADS)]
    for payload in SHOWN_PAYLOADS:
        # Refused, the form is shown again with the reason, which quotes what was typed.
        origins = {"name": "Contact page", "allowed_origins": payload, "reply": "page"}
        assert world.send("POST", "/settings/intake-forms/1", origins).status_code == 422
    saved(
        world.send(
            "POST", "/settings/general", factories.general_settings(currency=CURRENCY_PAYLOAD)
        )
    )

    pages = {url: world.send("GET", url).text for url in SHOWN_ON}
    pages |= {"/settings/": world.send("GET", "/settings/").text}
    for payload in SHOWN_PAYLOADS:
        shown = str(escape(payload))
        for url, what in SHOWN_ON.items():
            assert shown in pages[url], (payload, url, what)
        # One's own API tokens, by name.
        assert shown in pages["/settings/"], payload
    for number, payload in zip(numbers, SHOWN_PAYLOADS, strict=True):
        page = world.send("GET", f"/leads/{number}").text
        assert page.count(str(escape(payload))) >= 5, payload
        assert str(escape(CURRENCY_PAYLOAD)) in page
    world.look_at(SHOWN_IN_SETTINGS + SHOWN_EVERYWHERE + ["/agenda/calendar?view=month"])


def change_everything(world, text, number):
    """Type `text` into the forms that change what exists: details, a loss, the settings."""
    lead = {"title": text, "contact_name": text, "phone": text, "source": text}
    world.send("POST", f"/leads/{number}/details", lead | {"next_step_note": text})
    lead_id = world.first(select(Lead.id).where(Lead.number == number))
    lost = world.first(select(Stage.id).where(Stage.kind == "lost"))
    reason = world.first(select(LostReason.id))
    move = {"stage_id": lost, "lost_reason_id": reason, "lost_note": text, "value": text}
    world.send("POST", f"/board/leads/{lead_id}/move", move)
    world.send("POST", "/settings/general", factories.general_settings(currency=text))
    intake = {"name": text, "source": text, "allowed_origins": text, "redirect_url": text}
    world.send("POST", "/settings/intake-forms/1", intake | {"reply": "redirect"})
    world.send("POST", "/settings/api-tokens", {"name": text})
    world.send("POST", "/account", {"name": text, "language": "en", "timezone": "UTC"})


# Hypothesis tries the edges one by one; here every field gets them all at once, and a value
# longer than any field takes.
EDGES = ["\x00", "".join(UNICODE), "\r\n\u2028\t ", min(HUGE, key=len)]


def test_unicode_edges_in_every_text_field_are_saved_or_refused(world):
    for n, text in enumerate(EDGES):
        number = type_everywhere(world, text, n, saved=answered)
        change_everything(world, text, number)
    for email in ["\x00", "ada@example.com\x00", "\u202e@example.com", "İ@example.com"]:
        data = {"email": email, "password": "\x00"}
        world.send("POST", "/login", data, client=world.app.test_client(), skip={"login_attempts"})
    world.look_at(SHOWN_IN_SETTINGS + SHOWN_EVERYWHERE)
