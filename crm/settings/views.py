from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm.accounts import AccountError, create_user
from crm.extensions import db
from crm.models import User
from crm.security import admin_required
from crm.settings import bp
from crm.settings.forms import ActionForm, NewUserForm, ResetPasswordForm, role_choices


@bp.route("/")
@login_required
def index():
    """Settings: one's own account, and for administrators the team."""
    return render_template("settings/index.html", active="settings")


def get_user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    """The team: everyone's role and status, and a form to add an account."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data,
                form.name.data,
                form.password.data,
                role=form.role.data,
                locale=form.language.data,
            )
        except AccountError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Account for %(name)s created.", name=user.name), "success")
            return redirect(url_for("settings.users"), 303)
    team = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    status = 422 if form.errors else 200
    return render_template(
        "settings/users.html",
        form=form,
        team=team,
        action=ActionForm(),
        role_names=role_choices(),
        active="settings",
    ), status


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@admin_required
def user_set_active(user_id):
    """Deactivate (ending every session) or reactivate an account."""
    user = get_user_or_404(user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("settings.users"), 303)
    user.active = not user.active
    if not user.active:
        user.end_sessions()
        flash(_("%(name)s is deactivated and logged out everywhere.", name=user.name), "info")
    else:
        flash(_("%(name)s can log in again.", name=user.name), "success")
    db.session.commit()
    return redirect(url_for("settings.users"), 303)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def user_reset_password(user_id):
    """Set a new password for a colleague who lost theirs; their sessions end."""
    user = get_user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        user.set_password(form.password.data)
        user.end_sessions()
        db.session.commit()
        flash(
            _("New password set for %(name)s. Tell it to them in person.", name=user.name),
            "success",
        )
        return redirect(url_for("settings.users"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "settings/reset_password.html", form=form, user=user, active="settings"
    ), status
