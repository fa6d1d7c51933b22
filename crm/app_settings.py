"""The team's settings (rows of AppSetting): read together, once per request.

A page asks for several of them (the team's zone and language, the currency, what salespeople
see of colleagues' leads, when a lead goes quiet); there are only a handful, so one query reads
them all the first time any is asked for, instead of a query each.
"""

from flask import g, has_request_context
from sqlalchemy import select

from crm import kept_settings
from crm.extensions import db
from crm.models import AppSetting


def value(key, default=None):
    """The setting's stored text, or `default` when it was never set."""
    return all_values().get(key, default)


def all_values():
    """{key: value} of every setting, read once per request."""
    if has_request_context() and "app_settings" in g:
        return g.app_settings
    values = dict(kept_settings.kept("app_settings", read_all))
    if has_request_context():
        g.app_settings = values
    return values


def read_all():
    return tuple(db.session.execute(select(AppSetting.key, AppSetting.value)))


def store(key, text):
    """Set `key` to `text` (in the session; the caller commits)."""
    setting = db.session.get(AppSetting, key)
    if setting is None:
        setting = AppSetting(key=key)
        db.session.add(setting)
    setting.value = text
    # Whatever this request reads next sees the new value.
    g.pop("app_settings", None)
    return setting
