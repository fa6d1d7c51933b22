"""Which language and time zone a request is served in."""

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, refresh
from flask_login import current_user

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def select_locale():
    """The account's language; before login, the one picked on the page or the browser's."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or languages[0]


def user_locale():
    """The request's locale, looked up once (Flask-Babel looks it up on every call)."""
    if not has_request_context():
        return get_locale()
    if "user_locale" not in g:
        g.user_locale = get_locale()
    return g.user_locale


def switch_language():
    """After the language changed mid-request: look it up again."""
    g.pop("user_locale", None)
    refresh()


def select_timezone():
    if (
        has_request_context()
        and current_user
        and current_user.is_authenticated
        and current_user.timezone
    ):
        return current_user.timezone
    return None


def init_app(app):
    @app.context_processor
    def languages():
        return {
            "current_locale": str(get_locale()),
            "language_names": {
                code: LANGUAGE_NAMES.get(code, code) for code in app.config["LANGUAGES"]
            },
        }
