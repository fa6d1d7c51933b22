"""The channels a notification goes out on, besides the list under the bell: email, and push
where the app has it (crm.push, registered below when present).

A channel has a name (stored on each Delivery), the kinds it carries, whether a person's choices
want it, and `opened()`: a context manager whose `send(notification, user, zone)` sends one and
returns what the other side answered; it raises on failure (the dispatcher retries or gives up).
One is opened per pass, so a pass of a thousand digests uses one SMTP connection.
"""

import importlib
import importlib.util
from contextlib import contextmanager

from flask import render_template
from flask_babel import force_locale

from crm.models import NotificationKind
from crm.notifications import mail, texts

EVERY_KIND = frozenset(NotificationKind)


class EmailChannel:
    name = "email"
    kinds = EVERY_KIND

    def wants(self, kind, prefs, _user_id):
        # Without a server nothing is queued: it would only fail, and the list under the bell
        # has it anyway.
        return kind in self.kinds and bool(prefs.get("email", True)) and mail.is_set_up()

    @contextmanager
    def opened(self):
        connection = None

        def send(notification, user, zone):
            nonlocal connection
            if connection is None:
                connection = mail.Connection()
            return connection.send(email_for(notification, user, zone))

        try:
            yield send
        finally:
            if connection is not None:
                connection.close()


def email_for(notification, user, zone):
    """The message telling `user` of `notification`, in their language and zone."""
    with force_locale(user.locale or "en"):
        words = texts.describe(notification, zone)
        context = {
            "notification": notification,
            "params": notification.params or {},
            "words": words,
            "link": texts.absolute(words.path),
            "lead_link": lambda number: texts.absolute(texts.path_for("leads.show", number=number)),
            "moment": lambda iso: texts.moment_text(texts.parse_moment(iso), zone),
            "time": lambda iso: texts.step_time(texts.parse_moment(iso), zone),
            "settings_link": texts.absolute(texts.path_for("notifications.preferences")),
            "user": user,
        }
        template = EMAIL_TEMPLATES.get(notification.kind, "notification")
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    return mail.message(mail.address(user.name, user.email), words.title, text, html)


EMAIL_TEMPLATES = {
    NotificationKind.DIGEST: "digest",
    NotificationKind.WEEKLY: "weekly",
}


class PushChannel:
    """Web Push through crm.push: `send(user_id, title, body, url, tag)` delivers to each device
    the person subscribed (and forgets those gone); it raises when the push service fails."""

    name = "push"
    kinds = frozenset(
        {
            NotificationKind.REMINDER,
            NotificationKind.GIVEN,
            NotificationKind.REQUEST,
            NotificationKind.MISSED_CALL,
        }
    )

    def __init__(self, module):
        self.module = module

    def wants(self, kind, prefs, user_id):
        # A person with no device subscribed gets no push to fail or to count as sent.
        return (
            kind in self.kinds
            and bool(prefs.get("push", True))
            and self.module.has_devices(user_id)
        )

    @contextmanager
    def opened(self):
        def send(notification, user, zone):
            with force_locale(user.locale or "en"):
                words = texts.describe(notification, zone)
            # The tag makes a retry replace the notice on a device that had it already.
            self.module.send(
                user.id,
                words.title,
                words.body,
                texts.absolute(words.path),
                tag=f"crm-{notification.id}",
            )
            return "pushed"

        yield send


def registered():
    """The channels this app has: email always, push when crm.push is part of it."""
    found = [EmailChannel()]
    if importlib.util.find_spec("crm.push") is not None:
        found.append(PushChannel(importlib.import_module("crm.push")))
    return found


CHANNELS = {channel.name: channel for channel in registered()}


def wanted(kind, prefs, user_id):
    """The names of the channels a notification of `kind` goes out on for `user_id` with these
    choices."""
    return [name for name, channel in CHANNELS.items() if channel.wants(kind, prefs, user_id)]
