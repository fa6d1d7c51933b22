"""What a user does on the pages many browser tests pass through."""

import re

try:
    from playwright.sync_api import expect
except ImportError:
    # Collection must still work: the `browser` fixture then skips (or fails) with the reason.
    expect = None

NAV_LINKS = ["Agenda", "Leads", "Activity log", "Board", "Analytics", "Settings"]


def url_path(path):
    """Match a page's URL by its path, whatever the server's port."""
    return re.compile(rf"^http://127\.0\.0\.1:\d+{re.escape(path)}(\?.*)?$")


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def open_menu(page):
    """Open the top bar's menu, where a phone keeps the areas and the account."""
    menu = page.locator("details.menu")
    if not menu.evaluate("menu => menu.open"):
        menu.locator("summary").click()


def fill_setup(page, name, email, password, language="English"):
    """Fill the setup form the way a first-time administrator would, and send it."""
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("radio", name=language).check()
    page.get_by_role("button", name="Create administrator").click()


def log_in(page, base_url, email, password):
    """Log in through the login page; lands on the agenda."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(url_path("/agenda/"))
    page.wait_for_load_state()


def log_in_in_russian(page, base_url, email, password):
    """Log in through the login page in Russian; lands on the agenda."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(url_path("/agenda/"))
    page.wait_for_load_state()
