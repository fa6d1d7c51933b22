"""Settings → Telephony: administrators connect the team's phone systems, say which extension
is whose, and copy each connection's hook address into the phone system."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from crm import lists
from crm.args import MAX_ID
from crm.extensions import db
from crm.forms import ActionForm
from crm.models import PhoneConnection, User
from crm.security import admin_required
from crm.telephony import bp
from crm.telephony.forms import ConnectionForm, extensions_text, provider_choices
from crm.telephony.tokens import new_token


def get_connection_or_404(connection_id):
    found = db.session.get(PhoneConnection, connection_id) if 0 < connection_id <= MAX_ID else None
    if found is None:
        abort(404)
    return found


def hook_url(connection):
    return url_for("telephony.hook", token=connection.token, _external=True)


def settings_form(connection=None):
    """The form, filled from `connection` or from the request; it knows the team's emails."""
    form = ConnectionForm(obj=connection)
    form.people = {person.email: person.id for person in lists.team()}
    if connection is not None and not form.is_submitted():
        emails = dict(db.session.execute(select(User.id, User.email)).all())
        form.extensions.data = extensions_text(connection, emails)
    return form


def apply(form, connection):
    connection.name = form.name.data
    connection.provider = form.provider.data
    connection.secret = form.secret.data or None
    connection.extensions = form.mapping


@bp.route("/settings/telephony")
@admin_required
def index():
    """The connections, each with the address its phone system sends calls to."""
    connections = db.session.scalars(
        select(PhoneConnection).order_by(PhoneConnection.name, PhoneConnection.id)
    ).all()
    names = dict(db.session.execute(select(User.id, User.name)).all())
    return render_template(
        "telephony/index.html",
        title=_("Telephony"),
        active="settings",
        connections=[(connection, hook_url(connection)) for connection in connections],
        providers=provider_choices(),
        names=names,
    )


@bp.route("/settings/telephony/new", methods=["GET", "POST"])
@admin_required
def new():
    """Connect a phone system; it gets its secret address at once."""
    form = settings_form()
    if form.validate_on_submit():
        connection = PhoneConnection(token=new_token())
        apply(form, connection)
        db.session.add(connection)
        db.session.commit()
        flash(
            _("“%(name)s” connected. Give its address to the phone system.", name=connection.name),
            "success",
        )
        return redirect(url_for("telephony.index", _anchor=f"connection-{connection.id}"), 303)
    return render_template(
        "telephony/edit.html",
        title=_("Connect a phone system"),
        active="settings",
        form=form,
        connection=None,
    ), 422 if form.errors else 200


@bp.route("/settings/telephony/<int:connection_id>", methods=["GET", "POST"])
@admin_required
def edit(connection_id):
    """Change a connection; its address stays the same."""
    connection = get_connection_or_404(connection_id)
    form = settings_form(connection)
    if form.validate_on_submit():
        apply(form, connection)
        db.session.commit()
        flash(_("“%(name)s” saved.", name=connection.name), "success")
        return redirect(url_for("telephony.index", _anchor=f"connection-{connection.id}"), 303)
    return render_template(
        "telephony/edit.html",
        title=_("Connection “%(name)s”", name=connection.name),
        active="settings",
        form=form,
        connection=connection,
        action=ActionForm(),
    ), 422 if form.errors else 200


@bp.route("/settings/telephony/<int:connection_id>/address", methods=["POST"])
@admin_required
def new_address(connection_id):
    """Give a connection a new secret address: the old one stops working at once."""
    connection = get_connection_or_404(connection_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    connection.token = new_token()
    db.session.commit()
    flash(
        _(
            "“%(name)s” has a new address: give it to the phone system, "
            "the old address no longer works.",
            name=connection.name,
        ),
        "success",
    )
    return redirect(url_for("telephony.index", _anchor=f"connection-{connection.id}"), 303)
