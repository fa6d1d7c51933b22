"""The list under the bell, its poll, and one's own choices of what is sent."""

import json
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crm import htmx
from crm.args import id_arg
from crm.extensions import db
from crm.forms import ActionForm
from crm.leads.queries import last_contacts
from crm.models import NotificationKind, utcnow
from crm.notifications import bp, dispatch, inbox, mail, planning, texts
from crm.notifications.forms import PreferencesForm
from crm.telephony import calls
from crm.timezones import user_zone

PAGE = 50
# What an open tab shows as the browser's own notifications: reminders and new leads, made
# lately (a tab opened in the afternoon does not pop up the morning's).
ALERT_KINDS = (NotificationKind.REMINDER, NotificationKind.GIVEN, NotificationKind.REQUEST)
ALERTS_SINCE = timedelta(minutes=15)


@bp.route("/notifications/")
@login_required
def index():
    """One's notifications, newest first, fifty at a time."""
    before = id_arg(request.args.get("before"))
    found = inbox.listed(current_user.id, before, PAGE + 1)
    shown = found[:PAGE]
    zone = user_zone()
    return render_template(
        "notifications/index.html",
        title=_("Notifications"),
        active="notifications",
        rows=[(notification, texts.describe(notification, zone)) for notification in shown],
        older=shown[-1].id if len(found) > PAGE else None,
        form=ActionForm(),
    )


@bp.route("/notifications/bell")
@login_required
def bell():
    """The bell's poll: 204 while nothing changed since `version`, else the bell drawn again
    (with what an open tab should pop up), and the card of a call ringing for the person, or
    none."""
    unread, version = inbox.bell(current_user.id)
    if request.args.get("version", "") == str(version):
        return htmx.no_content()
    response = htmx.fragment(
        render_template(
            "notifications/_polled.html",
            unread=unread,
            version=version,
            alerts=alerts_json(),
            card=call_card(),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@dataclass(frozen=True)
class CallCard:
    """A call ringing from a lead's number, as its card shows it."""

    call: object
    lead: object
    stage: object
    # The lead's last contact before this call (a leads.queries.ContactHint), or None.
    hint: object
    # How long the card stays up at most if the phone system never tells of the call's end.
    seconds_left: int


def call_card():
    """The card of the call ringing or going on for the person from a lead they may see, or
    None: two reads, the call (by its status and start) and the lead's last contact."""
    found = calls.ringing_for(current_user)
    if found is None:
        return None
    call, lead, stage = found
    hint = last_contacts([lead]).get(lead.last_activity_id)
    left = calls.CARD_FOR - (utcnow() - call.started_at)
    return CallCard(call, lead, stage, hint, max(int(left.total_seconds()), 0))


def alerts_json():
    zone = user_zone()
    recent = inbox.recent_unread(current_user.id, utcnow() - ALERTS_SINCE, ALERT_KINDS)
    alerts = []
    for notification in recent:
        words = texts.describe(notification, zone)
        alerts.append(
            {"id": notification.id, "title": words.title, "body": words.body, "url": words.path}
        )
    return json.dumps(alerts, ensure_ascii=False)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id):
    """Mark one of one's notifications read."""
    if not ActionForm().validate_on_submit():
        abort(400)
    inbox.mark_read(current_user.id, notification_id)
    db.session.commit()
    return back_to_list()


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_all_read():
    """Mark all one's notifications read."""
    if not ActionForm().validate_on_submit():
        abort(400)
    marked = inbox.mark_read(current_user.id)
    db.session.commit()
    if marked:
        flash(_("All your notifications are marked read."), "success")
    return back_to_list()


def back_to_list():
    return redirect(url_for("notifications.index"), 303)


# One's own choices


def preferences_form(prefs, formdata=None):
    form = PreferencesForm(formdata=formdata, data=None if formdata else shown_prefs(prefs))
    form.reminder_minutes.choices = [
        SelectChoice(str(n), ngettext("%(num)d minute", "%(num)d minutes", n))
        for n in inbox.REMINDER_MINUTES
    ]
    return form


def shown_prefs(prefs):
    return prefs | {"reminder_minutes": str(prefs["reminder_minutes"])}


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    """What the app tells me, and whether by email too."""
    prefs = inbox.preferences_of(current_user.id)
    form = preferences_form(prefs, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        inbox.save_preferences(current_user.id, form.chosen())
        db.session.commit()
        flash(_("Your notification choices are saved."), "success")
        return redirect(url_for("notifications.preferences"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "notifications/preferences.html",
        title=_("Notifications"),
        active="account",
        form=form,
        digest_form=ActionForm(),
        manages=inbox.manages(current_user),
        email_set_up=mail.is_set_up(),
    ), status


@bp.route("/account/notifications/digest", methods=["POST"])
@login_required
def send_my_digest():
    """Make my digest of today now, and send it at once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    person = planning.Person(user, planning.zone_of(user), inbox.preferences_of(user.id), None)
    notification_id = planning.digest_now(person, utcnow())
    db.session.commit()
    if notification_id is None:
        flash(
            _(
                "Nothing to put in a digest: nothing overdue or planned for today, no lead "
                "without a next step or gone quiet."
            ),
            "info",
        )
    else:
        tally = dispatch.send_now(notification_id)
        if tally.sent:
            flash(_("Your digest is sent to %(email)s.", email=user.email), "success")
        elif tally.failed or tally.retried:
            flash(_("Your digest is under the bell, but the email could not be sent."), "error")
        else:
            flash(_("Your digest is under the bell."), "success")
    return redirect(url_for("notifications.preferences"), 303)
