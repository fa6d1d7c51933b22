"""Which language and time zone a request is served in.

A person's own language and zone come first; then the team's (chosen at setup, changed in
Settings → General), which new accounts also start with; then the configuration's defaults.
"""

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, refresh
from flask_login import current_user

from crm import app_settings
from crm.timezones import known_zone, team_zone_name

LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
TEAM_LANGUAGE_SETTING = "language"


def select_locale():
    """The account's language; before login, the one picked on the page, the browser's, or
    the team's."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or team_language()


def user_locale():
    """The request's locale, looked up once (Flask-Babel looks it up on every call)."""
    if not has_request_context():
        return get_locale()
    if "user_locale" not in g:
        g.user_locale = get_locale()
    return g.user_locale


def switch_language():
    """After the language or zone changed mid-request: look them up again."""
    for cached in ("user_locale", "user_zone", "local_today"):
        g.pop(cached, None)
    refresh()


def select_timezone():
    """The account's zone, else the team's, else BABEL_DEFAULT_TIMEZONE."""
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        own = known_zone(current_user.timezone)
        if own:
            return own
    return team_zone_name()


def team_language():
    """The language new accounts start with: the team's, else the configuration's default."""
    language = app_settings.value(TEAM_LANGUAGE_SETTING)
    if language in current_app.config["LANGUAGES"]:
        return language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def set_team_language(language):
    """Make `language` the one new accounts start with."""
    if language not in current_app.config["LANGUAGES"]:
        raise ValueError(f"unknown language {language!r}")
    app_settings.store(TEAM_LANGUAGE_SETTING, language)
    return language


def init_app(app):
    @app.context_processor
    def languages():
        return {
            "current_locale": str(get_locale()),
            "language_names": {
                code: LANGUAGE_NAMES.get(code, code) for code in app.config["LANGUAGES"]
            },
        }
