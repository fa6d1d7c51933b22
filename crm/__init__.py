"""A self-hosted sales CRM."""

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from crm import (
    audit,  # noqa: F401  (its session event records every change)
    config,
    csv_export,
    data_version,  # noqa: F401  (its session events keep the number)
    database,
    errors,
    field_display,
    formatting,
    i18n,
    installable,
    kept_settings,
    request_log,
    search_index,
    security,
)
from crm.extensions import babel, csrf, db, login_manager, migrate

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def create_app(test_config=None):
    """Build the app; `test_config` overrides every other source of configuration."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("CRM_INSTANCE_PATH") or None,
    )
    os.makedirs(app.instance_path, exist_ok=True)
    config.load(app, test_config)

    db.init_app(app)
    database.init_app(app)
    # Batch mode lets later migrations alter SQLite tables (it rebuilds them).
    migrate.init_app(
        app,
        db,
        directory=MIGRATIONS,
        render_as_batch=True,
        compare_type=True,
        include_name=search_index.include_name,
        include_object=search_index.include_object,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)

    request_log.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    field_display.init_app(app)
    csv_export.init_app(app)
    installable.init_app(app)
    register_blueprints(app)

    from crm import cli, notifications
    from crm.analytics import cache as analytics_cache

    cli.init_app(app)
    notifications.init_app(app)
    analytics_cache.init_app(app)
    kept_settings.init_app(app)

    if app.config["PROXY_COUNT"]:
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app


def register_blueprints(app):
    from crm import (
        activities,
        agenda,
        analytics,
        api,
        auth,
        board,
        exports,
        imports,
        intake,
        leads,
        main,
        notifications,
        settings,
        telephony,
    )

    for area in (
        main,
        auth,
        agenda,
        leads,
        activities,
        board,
        analytics,
        settings,
        imports,
        api,
        exports,
        intake,
        notifications,
        telephony,
    ):
        app.register_blueprint(area.bp)
    # The API authenticates by a token in a header, never by the cookie a CSRF attack rides on.
    csrf.exempt(api.bp)
