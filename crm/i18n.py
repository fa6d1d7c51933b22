"""Which language and time zone a request is served in.

A person's own language and zone come first; then the team's (chosen at setup, changed in
Settings → General), which new accounts also start with; then the configuration's defaults.
"""

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations, refresh
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
    try:
        return g.user_locale
    except AttributeError:
        g.user_locale = get_locale()
        return g.user_locale


def request_translations():
    """The request's catalogue, looked up once: a page translates a few dozen strings, and
    Flask-Babel finds the context, the locale and the domain again for each."""
    if not has_request_context():
        return get_translations()
    # Kept with its locale: a message rendered under force_locale (an email in the
    # recipient's language) needs that locale's catalogue.
    locale = get_locale()
    kept = g.get("translations")
    if kept is None or kept[0] is not locale:
        kept = g.translations = (locale, get_translations())
    return kept[1]


def switch_language():
    """After the language or zone changed mid-request: look them up again."""
    for cached in ("user_locale", "user_zone", "local_today", "translations"):
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
    app.jinja_env.install_gettext_callables(
        gettext=lambda text: request_translations().ugettext(text),
        ngettext=lambda one, many, n: request_translations().ungettext(one, many, n),
        pgettext=lambda context, text: request_translations().upgettext(context, text),
        npgettext=lambda context, one, many, n: request_translations().unpgettext(
            context, one, many, n
        ),
        newstyle=True,
    )

    @app.context_processor
    def languages():
        return {
            "current_locale": str(get_locale()),
            "language_names": {
                code: LANGUAGE_NAMES.get(code, code) for code in app.config["LANGUAGES"]
            },
        }
