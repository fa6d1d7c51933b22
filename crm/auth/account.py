"""My account: one's own name, language, time zone and password."""

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import i18n, push
from crm.accounts import end_credentials
from crm.auth import bp
from crm.auth.forms import ChangePasswordForm
from crm.extensions import db
from crm.forms import account_form, save_account_form
from crm.security import log_in, rotate_session


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """One's own name, interface language and time zone; the password has a page of its own."""
    user = current_user._get_current_object()
    form = account_form(user)
    if save_account_form(form, user):
        session["locale"] = user.locale
        # The message is read in the language just chosen.
        i18n.switch_language()
        flash(_("Your account is saved."), "success")
        return redirect(url_for("auth.account"), 303)
    status = 422 if form.errors else 200
    page = render_template("auth/account.html", form=form, devices=devices(user), active="account")
    return page, status


def devices(user):
    """The browsers that receive this person's notifications, as the list shows them."""
    return [
        {
            "id": record.id,
            "label": push.device_label(record.user_agent),
            "endpoint": record.endpoint,
            "added": record.created_at,
            "last_success": record.last_success_at,
        }
        for record in db.session.scalars(push.PushSubscription.of_user(user.id))
    ]


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other browsers are logged out, this one stays in."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append(_("This is not your current password."))
        else:
            user = current_user._get_current_object()
            user.set_password(form.password.data)
            end_credentials(user)
            db.session.commit()
            rotate_session()
            log_in(user)
            flash(
                _(
                    "Your password has been changed. Other sessions were logged out, your API "
                    "tokens and calendar address stopped working (make new ones in Settings), "
                    "and your devices no longer get notifications (turn them on again below)."
                ),
                "success",
            )
            return redirect(url_for("auth.account"), 303)
    status = 422 if form.errors else 200
    return render_template("auth/change_password.html", form=form, active="account"), status
