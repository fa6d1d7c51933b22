"""First start: the setup page, logging out and in, and the language chosen at setup."""

from tests.browser.pages import NAV_LINKS, expect, fill_setup, log_in, main_nav, url_path

NAME = "Olga Owner"
EMAIL = "olga@example.com"
PASSWORD = "correct horse battery staple"


def test_setup_then_log_out_and_back_in(page, page_errors, fresh_server):
    page.goto(fresh_server + "/")
    expect(page).to_have_url(url_path("/setup"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your CRM")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    fill_setup(page, NAME, EMAIL, PASSWORD, language="English")

    expect(page).to_have_url(url_path("/agenda/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda")
    expect(page.get_by_role("status")).to_contain_text("Welcome! Your CRM is ready.")
    for name in NAV_LINKS:
        expect(main_nav(page).get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Agenda")).to_have_attribute(
        "aria-current", "page"
    )

    # Setup is a one-time page: afterwards it is simply not there.
    page_errors.allow_http_status(404, "/setup")
    response = page.goto(fresh_server + "/setup")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(url_path("/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.get_by_role("status")).to_contain_text("You have logged out.")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    page_errors.allow_http_status(422, "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(url_path("/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    # The address stays filled in; the password does not.
    expect(page.get_by_label("Email")).to_have_value(EMAIL)
    expect(page.get_by_label("Password")).to_have_value("")

    log_in(page, fresh_server, EMAIL, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_setup_form_explains_mistakes(page, page_errors, fresh_server):
    page_errors.allow_http_status(422, "/setup")
    page.goto(fresh_server + "/setup")

    fill_setup(page, NAME, EMAIL, "short", language="English")

    expect(page).to_have_url(url_path("/setup"))
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your name")).to_have_value(NAME)


def test_setup_in_russian_then_switch_to_english(page, fresh_server):
    page.goto(fresh_server + "/setup")

    fill_setup(page, NAME, EMAIL, PASSWORD, language="Русский")

    expect(page).to_have_url(url_path("/agenda/"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("button", name="Русский")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "false")

    page.get_by_role("button", name="English").click()

    expect(page).to_have_url(url_path("/agenda/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda")

    # The choice is kept on the account: it holds on the next page and after logging in again.
    main_nav(page).get_by_role("link", name="Settings").click()
    expect(page).to_have_url(url_path("/settings/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")

    page.get_by_role("button", name="Log out").click()
    page.context.clear_cookies()
    log_in(page, fresh_server, EMAIL, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(main_nav(page).get_by_role("link", name="Leads")).to_be_visible()
