"""Settings → Email: the SMTP server the app sends through, and a test message; Settings →
Notifications: what could not be sent."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Regexp

from crm import app_settings
from crm.extensions import db
from crm.form_base import AppForm
from crm.forms import WholeNumberField
from crm.models import Delivery, DeliveryState, Notification, NotificationKind, utcnow
from crm.notifications import dispatch, lease, mail
from crm.security import admin_required
from crm.settings import bp

HOST = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$"
FAILURES_SHOWN = 100


def strip(value):
    return value.strip() if isinstance(value, str) else value


class EmailForm(AppForm):
    host = StringField(
        _l("SMTP server"),
        filters=[strip],
        validators=[
            InputRequired(),
            Length(max=253),
            Regexp(HOST, message=_l("A server's name, such as smtp.example.com, or its address.")),
        ],
    )
    port = WholeNumberField(_l("Port"), validators=[InputRequired(), NumberRange(min=1, max=65535)])
    security = SelectField(
        _l("Encryption"),
        choices=[
            SelectChoice("starttls", _l("STARTTLS (usually port 587)")),
            SelectChoice("tls", _l("TLS from the start (usually port 465)")),
            SelectChoice("none", _l("None (a server on this machine or network)")),
        ],
    )
    username = StringField(_l("User name"), filters=[strip], validators=[Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[Length(max=254)], render_kw={"autocomplete": "new-password"}
    )
    sender = EmailField(
        _l("Messages come from"),
        filters=[strip],
        validators=[InputRequired(), Email(check_deliverability=False), Length(max=254)],
    )


class TestMessageForm(AppForm):
    to = EmailField(
        _l("Send a test message to"),
        filters=[strip],
        validators=[InputRequired(), Email(check_deliverability=False), Length(max=254)],
    )


def email_form(formdata=None):
    found = mail.server()
    data = None
    if formdata is None:
        data = {
            "host": found.host if found else "",
            "port": found.port if found else 587,
            "security": found.security if found else "starttls",
            "username": found.username if found else "",
            "sender": app_settings.value(mail.FROM_SETTING, ""),
        }
    return EmailForm(formdata=formdata, data=data)


def page(form, test_form, status=200, answer=None):
    found = mail.server()
    return render_template(
        "settings/email.html",
        title=_("Email"),
        active="settings",
        form=form,
        test_form=test_form,
        configured=mail.configured_url() is not None,
        configured_from=bool(current_app.config.get("MAIL_FROM")),
        server=found.shown if found else None,
        sender=mail.sender_address(),
        has_password=bool(found and found.password),
        answer=answer,
    ), status


@bp.route("/email", methods=["GET", "POST"])
@admin_required
def email():
    """The SMTP server and the sender's address (unless the configuration sets them)."""
    form = email_form(request.form if request.method == "POST" else None)
    test_form = TestMessageForm(formdata=None, data={"to": current_user.email})
    if request.method == "POST":
        if mail.configured_url():
            form.form_errors.append(
                _(
                    "The server's configuration sets the SMTP server (CRM_SMTP_URL): "
                    "change it there."
                )
            )
        elif form.validate_on_submit():
            save(form)
            db.session.commit()
            flash(_("Email settings are saved. Send a test message to check them."), "success")
            return redirect(url_for("settings.email"), 303)
        return page(form, test_form, 422)
    return page(form, test_form)


def save(form):
    found = mail.server()
    password = form.password.data or (found.password if found else "")
    server = mail.Server(
        form.host.data.strip("[]"),
        form.port.data,
        form.security.data,
        form.username.data or "",
        password if form.username.data else "",
    )
    app_settings.store(mail.URL_SETTING, server.url)
    app_settings.store(mail.FROM_SETTING, form.sender.data)


@bp.route("/email/test", methods=["POST"])
@admin_required
def email_test():
    """Send a test message now and show what the server answered, or why it failed."""
    test_form = TestMessageForm()
    form = email_form()
    if not test_form.validate_on_submit():
        return page(form, test_form, 422)
    if not mail.is_set_up():
        test_form.to.errors.append(_("Set up the SMTP server and the sender's address first."))
        return page(form, test_form, 422)
    message = mail.message(
        test_form.to.data,
        _("A test message from the CRM"),
        _("Email from the CRM works: reminders and digests will reach people this way."),
    )
    try:
        with mail.Connection() as connection:
            answer = connection.send(message)
    except Exception as error:  # noqa: BLE001 (whatever went wrong, the page says it)
        test_form.to.errors.append(_("Not sent: %(error)s", error=mail.describe_error(error)))
        return page(form, test_form, 422)
    return page(form, test_form, answer=answer)


@bp.route("/notifications")
@admin_required
def notifications():
    """What could not be sent: failed, waiting to be tried again, or cut off by a crash."""
    now = utcnow()
    rows = db.session.scalars(
        select(Delivery)
        .options(joinedload(Delivery.notification).joinedload(Notification.user))
        .where(
            or_(
                Delivery.state == DeliveryState.FAILED,
                (Delivery.state == DeliveryState.DUE) & (Delivery.attempts > 0),
                (Delivery.state == DeliveryState.SENDING)
                & (Delivery.claimed_at < now - dispatch.SENDING_TOO_LONG),
            )
        )
        .order_by(Delivery.id.desc())
        .limit(FAILURES_SHOWN)
    ).all()
    return render_template(
        "settings/notifications.html",
        title=_("Notifications"),
        active="settings",
        rows=rows,
        states={
            DeliveryState.FAILED: _("Failed"),
            DeliveryState.DUE: _("Will be tried again"),
            DeliveryState.SENDING: _("Unknown: cut off while sending"),
        },
        last_pass=lease.state(dispatch.LEASE),
        kinds={
            NotificationKind.REMINDER: _("Reminder"),
            NotificationKind.DIGEST: _("Morning digest"),
            NotificationKind.GIVEN: _("A lead given"),
            NotificationKind.REQUEST: _("A new request"),
            NotificationKind.WEEKLY: _("Weekly summary"),
        },
        set_up=mail.is_set_up(),
        max_attempts=dispatch.MAX_ATTEMPTS,
    )
