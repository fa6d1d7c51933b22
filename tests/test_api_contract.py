"""The API holds to its OpenAPI document on a live server: as Schemathesis finds when it
fuzzes it, and at the edges the server itself answers (a body or an address too long, a method
an address does not take).

Schemathesis reads the document the API serves and sends every operation what the document
allows and, in its negative mode, what it forbids (a field left out, a wrong type, an empty
parameter, a method the address does not take), then checks each answer against the document:
no server error, a documented status, content type, headers and body, refusals of what the
document forbids. Examples and time are bounded, so the run stays short on two cores.
"""

import json
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from crm import api_tokens
from crm.api import openapi
from crm.extensions import db
from tests import factories
from tests.conftest import HOSTILE_INPUTS_TRIED
from tests.live_server import serving

# What the API serves while the team has defined no fields of its own.
DOCUMENT = openapi.document([])
schema = schemathesis.openapi.from_dict(DOCUMENT)
# A failure shows the request in full, the token too: it is a throwaway of the test's.
schema.config.output.sanitization.update(enabled=False)

# Generated cases per operation, besides the document's examples and the coverage phase's.
EXAMPLES = 25
# An operation stops sending cases once it has run this long (a slow machine sends fewer).
SECONDS_PER_OPERATION = 20
REQUEST_TIMEOUT = 10

# What the document allows and the API may still refuse with a 422, by the field it names:
# refusals that depend on the data, which no JSON Schema can say, each explained in the
# document's words. Any other refusal of a request the document allows fails the test.
CURSOR = "`cursor` is opaque: only a `next_cursor` the API gave reads"
IDS = "an id names something on offer: a stage of a pipeline still offered, an active account"
EMAIL = "an email address as the lead form reads it; JSON Schema's `email` format is another"
FUNNEL = "the funnel's rules: a lost stage needs a reason, a won one a value, a step is ahead"
EXPLAINED = {
    "GET /leads": {"cursor": CURSOR},
    "GET /leads/{number}/activities": {"cursor": CURSOR},
    "POST /leads": {
        "stage_id": IDS,
        "owner_id": IDS,
        "email": EMAIL,
        "people.*.emails": EMAIL,
        "next_step_at": FUNNEL,
    },
    "PATCH /leads/{number}": {
        "stage_id": IDS,
        "owner_id": IDS,
        "lost_reason_id": IDS,
        "email": EMAIL,
        "people.*.emails": EMAIL,
        "next_step_at": FUNNEL,
        "lost_note": "`lost_note` and `lost_reason_id` go with a move to a lost stage",
        "value": FUNNEL,
    },
    "POST /leads/{number}/activities": {
        "kind": "a kind of contact on offer, not one switched off",
        "stage_id": IDS,
        "lost_reason_id": IDS,
        "value": FUNNEL,
        "next_step_at": FUNNEL,
        "no_next_step": FUNNEL,
        "occurred_at": "a contact is not in the future",
    },
    "POST /pipelines": {
        "name": "a name no other pipeline has",
        "stages": "at least one open stage",
        "stages.*.name": "a name no other stage of the pipeline has",
    },
}


# Every change: the fuzzer sends a few short keys again and again, each time with another body.
KEY_REUSED = "an Idempotency-Key sent before with a different request"
for change in (
    "POST /leads",
    "PATCH /leads/{number}",
    "POST /leads/{number}/archive",
    "POST /leads/{number}/activities",
    "POST /pipelines",
):
    EXPLAINED.setdefault(change, {})["Idempotency-Key"] = KEY_REUSED


def explained(operation, field):
    """Whether the document explains a refusal of `field` ("people.0.emails") in `operation`."""
    general = ".".join("*" if part.isdecimal() else part for part in (field or "").split("."))
    return general in EXPLAINED.get(operation, {})


def accepted_unless_explained(ctx, response, case):
    """Schemathesis's positive_data_acceptance (what the document allows is accepted), but for
    the refusals the document explains."""
    try:
        return schemathesis.checks.positive_data_acceptance(ctx, response, case)
    except AssertionError:
        operation = f"{case.method.upper()} {case.path}"
        if response.status_code == 422 and explained(operation, response.json()["error"]["field"]):
            return None
        raise


@schema.auth(refresh_interval=None)
class AdminsToken:
    """The token of the running test's administrator, which Schemathesis sends as the
    document's security scheme says; it leaves it out or spoils it itself, to check that such a
    request is refused. Read afresh for each request: each test has a database of its own."""

    token = None

    def get(self, case, context):
        return AdminsToken.token

    def set(self, case, token, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


class LiveApi:
    """The API of the test's app on a real port, and a clock."""

    def __init__(self, base):
        self.base = f"{base}/api/v1"
        self.started = time.monotonic()

    def out_of_time(self):
        return time.monotonic() - self.started > SECONDS_PER_OPERATION


@pytest.fixture
def live_api(app, admin, request):
    """The app served on a real port with a few leads, as an administrator's token sees it."""
    for n in range(3):
        factories.lead(owner=admin, title=f"Lead {n}")
    _record, AdminsToken.token = api_tokens.issue(admin, "Fuzzing")
    db.session.commit()
    with serving(app) as base:
        api = LiveApi(base)
        served = requests.get(f"{api.base}/openapi.json", timeout=REQUEST_TIMEOUT).json()
        # The fuzzer's document is the one served.
        assert served == json.loads(json.dumps(DOCUMENT))
        yield api
    AdminsToken.token = None


def count_case(request):
    tried = request.config.stash[HOSTILE_INPUTS_TRIED]
    tried[request.module.__name__] = tried.get(request.module.__name__, 0) + 1


@pytest.mark.fuzz
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_keeps_to_its_document(case, live_api, request):
    if live_api.out_of_time():
        return
    count_case(request)
    case.call_and_validate(
        base_url=live_api.base,
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
        additional_checks=[accepted_unless_explained],
        timeout=REQUEST_TIMEOUT,
    )


# What the HTTP server answers as the document says


def authorised():
    return {"Authorization": f"Bearer {AdminsToken.token}"}


def document_answer(method, path, status):
    """The answer the document describes for `status` of `method` `path`."""
    answer = DOCUMENT["paths"][path][method]["responses"][str(status)]
    name = answer["$ref"].rpartition("/")[2]
    return DOCUMENT["components"]["responses"][name]


def test_a_body_too_large_is_a_json_413_as_documented(live_api):
    response = requests.post(
        f"{live_api.base}/leads",
        data=json.dumps({"title": "x" * 300_000}),
        headers={
            "Authorization": f"Bearer {AdminsToken.token}",
            "Content-Type": "application/json",
        },
        timeout=REQUEST_TIMEOUT,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": {"message": "The upload is too large.", "field": None}}
    assert "256 KiB" in document_answer("post", "/leads", 413)["description"]
    listed = requests.get(f"{live_api.base}/leads", headers=authorised(), timeout=REQUEST_TIMEOUT)
    assert len(listed.json()["leads"]) == 3


def test_an_address_too_long_is_the_servers_414_as_documented(live_api):
    """The HTTP server refuses it before the app sees it (Werkzeug's over 64 KiB, gunicorn's
    over 4094 bytes), with a page of its own: the document says so."""
    response = requests.get(
        f"{live_api.base}/leads?q={'x' * 70_000}",
        headers=authorised(),
        timeout=REQUEST_TIMEOUT,
    )
    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith("text/html")
    assert set(document_answer("get", "/leads", 414)["content"]) == {"text/html"}


@pytest.mark.parametrize("path", ["/leads", "/leads/1", "/leads/1/activities", "/stages"])
def test_a_method_an_address_does_not_take_is_405_saying_which_it_does(live_api, path):
    response = requests.request("TRACE", f"{live_api.base}{path}", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 405
    allowed = {name.strip() for name in response.headers["Allow"].split(",")}
    documented = {method.upper() for method in DOCUMENT["paths"][path.replace("1", "{number}")]}
    assert allowed - {"HEAD", "OPTIONS"} == documented - {"PARAMETERS"}
    assert response.json()["error"]["message"]
