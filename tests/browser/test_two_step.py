"""Two-step sign-in in Chromium, as a Russian administrator in Moscow: turning it on from the
setup page with a real code, then signing in with the next code and with a recovery code; the
pages on the way pass axe."""

import re
import time

import pyotp
import pytest

from tests import factories
from tests.browser.axe import described, violations
from tests.browser.conftest import build_app, serving
from tests.browser.pages import expect, log_in_in_russian, url_path

EMAIL = "anna@example.com"


@pytest.fixture
def context_options():
    return {
        "viewport": {"width": 1280, "height": 800},
        "locale": "ru-RU",
        "timezone_id": "Europe/Moscow",
    }


@pytest.fixture
def russian_admin(tmp_path):
    app = build_app(tmp_path)
    with app.app_context():
        factories.funnel("ru")
        factories.admin(name="Анна Админова", email=EMAIL, locale="ru", timezone="Europe/Moscow")
    with serving(app) as url:
        yield url


def no_serious_violation(page):
    problems = violations(page)
    assert not problems, described(problems)


def password_step(page, base):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Пароль").fill(factories.PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(url_path("/login/code"))


def test_turn_it_on_then_sign_in_with_a_code_and_a_recovery_code(page, russian_admin):
    base = russian_admin
    log_in_in_russian(page, base, EMAIL, factories.PASSWORD)
    page.goto(f"{base}/account")
    page.get_by_role("link", name="Двухэтапный вход").click()
    no_serious_violation(page)
    page.get_by_role("link", name="Включить двухэтапный вход").click()

    expect(page).to_have_url(url_path("/account/two-step/on"))
    expect(page.locator("svg.qr-code")).to_be_visible()
    no_serious_violation(page)
    secret = page.locator("#setup-key").inner_text().replace(" ", "")
    page.get_by_label("Код из приложения").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Включить", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Ваши резервные коды")
    codes = page.get_by_role("list", name="Резервные коды").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery_code = codes.first.inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", recovery_code)
    no_serious_violation(page)
    page.get_by_role("link", name="Я сохранил(а) коды, продолжить").click()
    expect(page).to_have_url(url_path("/agenda/"))

    # Signing in again: the password, then the app's next code (this one is spent).
    page.get_by_role("button", name="Выйти").click()
    password_step(page, base)
    code_field = page.get_by_label("Код из приложения")
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    expect(code_field).to_have_attribute("inputmode", "numeric")
    no_serious_violation(page)
    code_field.fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(url_path("/agenda/"))

    # And with a recovery code, once the phone is lost.
    page.get_by_role("button", name="Выйти").click()
    password_step(page, base)
    page.get_by_text("Телефона нет под рукой? Введите резервный код").click()
    page.get_by_label("Резервный код").fill(recovery_code)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(url_path("/agenda/"))
    expect(page.get_by_role("status")).to_contain_text("осталось 9")
