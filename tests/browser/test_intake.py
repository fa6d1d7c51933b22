"""Intake forms in Chromium: set up on the settings page, pasted into a page of another site,
sent from there as a form and by a script (with the CORS preflight a real browser makes)."""

import re
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from crm.extensions import db
from crm.models import Activity, IntakeForm, Lead
from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in


class OtherSite:
    """Another origin: a tiny site whose only page is `html` (with no CSP of its own)."""

    def __init__(self):
        self.html = "<!doctype html><title>Shop</title>"

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [self.html.encode()]


@contextmanager
def other_site():
    site = OtherSite()
    server = make_server("127.0.0.1", 0, site, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        site.url = f"http://127.0.0.1:{server.server_port}"
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def stored(app, model, **where):
    with app.app_context():
        rows = db.session.scalars(select(model).filter_by(**where)).all()
        db.session.remove()
    return rows


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-GB",
        "permissions": ["clipboard-read", "clipboard-write"],
    }


def set_up_form(page, live_server, name, origin):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server + "/settings/")
    page.get_by_role("link", name="Intake forms").click()
    page.get_by_role("link", name="New intake form").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Source of its leads").fill("Browser site")
    page.get_by_label("Sites it may be sent from").fill(origin)
    page.get_by_role("button", name="Create the form").click()
    expect(page).to_have_url(re.compile(r"/settings/intake-forms#intake-form-\d+$"))
    section = page.locator("section.intake-form").filter(has_text=name)
    return section


def test_the_html_is_copied_and_works_on_another_site(page, live_app, live_server):
    with other_site() as site:
        section = set_up_form(page, live_server, "Shop contact form", site.url)
        expect(section).to_contain_text("Shop contact form")
        section.get_by_role("button", name="Copy the HTML").click()
        expect(section.get_by_role("button", name="Copied")).to_be_visible()
        snippet = page.evaluate("navigator.clipboard.readText()")
        assert snippet == section.get_by_label("HTML for your site").input_value()
        assert 'name="homepage"' in snippet

        # The shop's page with the pasted form; a person fills in what they see.
        site.html = f"<!doctype html><title>Shop</title>{snippet}"
        page.goto(site.url)
        page.get_by_label("Your name").fill("Вера Браузерова")
        page.get_by_label("Email").fill("vera@shop.example")
        page.get_by_label("Message").fill("Перезвоните, пожалуйста")
        expect(page.locator('input[name="homepage"]')).not_to_be_in_viewport()
        page.get_by_role("button", name="Send").click()

        expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
        (lead,) = stored(live_app, Lead, email="vera@shop.example")
        assert (lead.title, lead.source) == ("Вера Браузерова", "Browser site")
        (activity,) = stored(live_app, Activity, lead_id=lead.id)
        assert activity.body.startswith("Перезвоните, пожалуйста")


def test_a_script_on_an_allowed_site_sends_json(page, live_app, live_server, page_errors):
    with other_site() as site:
        set_up_form(page, live_server, "Shop script", site.url)
        (form,) = stored(live_app, IntakeForm, name="Shop script")
        address = f"{live_server}/intake/{form.token}"
        page.goto(site.url)

        # A JSON body makes the browser ask first (the preflight); both must pass.
        answer = page.evaluate(
            """async (address) => {
                const response = await fetch(address, {
                    method: "POST",
                    headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({name: "Script Sam", phone: "+7 900 111 22 33"}),
                });
                return {status: response.status, body: await response.json()};
            }""",
            address,
        )
        assert answer["status"] == 200
        assert answer["body"]["ok"] is True
        assert stored(live_app, Lead, contact_name="Script Sam")

        # A site not on the list cannot even read the refusal.
        before = len(page_errors.seen)
        with other_site() as elsewhere:
            page.goto(elsewhere.url)
            refused = page.evaluate(
                """async (address) => {
                    try {
                        await fetch(address, {
                            method: "POST",
                            headers: {"Content-Type": "application/json"},
                            body: JSON.stringify({name: "Mallory"}),
                        });
                        return "read";
                    } catch (error) {
                        return "blocked";
                    }
                }""",
                address,
            )
            page.wait_for_timeout(1)
        assert refused == "blocked"
        assert not stored(live_app, Lead, contact_name="Mallory")
        # The browser reports the blocked request on the console, as it should: expected here.
        blocked = page_errors.seen[before:]
        assert blocked and all(
            "CORS" in text or url.endswith(f"/intake/{form.token}") for text, url in blocked
        )
        del page_errors.seen[before:]
