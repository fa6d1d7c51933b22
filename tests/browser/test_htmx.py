"""htmx 4 loads under the CSP, and its requests carry the CSRF token the server demands."""

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.browser.pages import expect, log_in


def is_language_post(response):
    return response.request.method == "POST" and response.url.endswith("/language")


def test_htmx_4_is_loaded(page, live_server):
    page.goto(live_server + "/login")

    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("htmx.version").startswith("4")


def test_htmx_post_carries_the_csrf_token(page, live_server):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token

    with page.expect_response(is_language_post) as answer:
        page.evaluate(
            """() => htmx.ajax("POST", "/language",
                               {values: {language: "en"}, swap: "none"})"""
        )

    response = answer.value
    assert response.status == 303
    assert response.request.header_value("x-csrftoken") == token
    assert response.request.header_value("hx-request") == "true"
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda")


def test_post_without_the_token_is_refused(page, live_server):
    # The check above means something only if the server does refuse a tokenless POST.
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)

    response = page.request.post(
        live_server + "/language", form={"language": "en"}, max_redirects=0
    )

    assert response.status == 400
    assert "This form has expired" in response.text()


def test_htmx_csrf_failure_shows_a_message(page, page_errors, live_server):
    log_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.allow_http_status(400, "/language")
    page.locator('meta[name="csrf-token"]').evaluate("meta => meta.content = 'stale'")

    with page.expect_response(is_language_post) as answer:
        page.evaluate(
            """() => htmx.ajax("POST", "/language",
                               {values: {language: "en"}, swap: "none"})"""
        )

    assert answer.value.status == 400
    expect(page.get_by_role("status")).to_contain_text("This form has expired")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda")
