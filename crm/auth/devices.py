"""My account → notifications on this device: the browser subscribes to Web Push through
these addresses (static/js/push.js), and the list of one's devices removes any of them."""

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import push
from crm.auth import bp
from crm.extensions import db
from crm.forms import ActionForm


def refusal(message, status):
    return jsonify({"error": message}), status


def sent_json():
    """The JSON object the browser sent, or a refusal to send back."""
    if not request.is_json:
        return None, refusal(_("Send the subscription as JSON."), 415)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return None, refusal(_("This is not a push subscription."), 400)
    return data, None


@bp.route("/account/push/key")
@login_required
def push_key():
    """The server's VAPID public key, which a browser subscribes with."""
    return jsonify({"applicationServerKey": push.application_server_key()})


@bp.route("/account/push/subscriptions", methods=["POST"])
@login_required
def subscribe_device():
    """Keep this browser's push subscription: it receives one's notifications from now on."""
    data, refused = sent_json()
    if refused:
        return refused
    try:
        push.subscribe(current_user, data, request.headers.get("User-Agent", ""))
    except push.SubscriptionError as error:
        return refusal(str(error), 422)
    db.session.commit()
    flash(_("Notifications are on for this device."), "success")
    return jsonify({"subscribed": True}), 201


@bp.route("/account/push/subscriptions/delete", methods=["POST"])
@login_required
def unsubscribe_device():
    """Forget this browser's subscription (it turned notifications off), found by its address."""
    data, refused = sent_json()
    if refused:
        return refused
    removed = push.unsubscribe(current_user, data.get("endpoint"))
    db.session.commit()
    if removed:
        flash(_("Notifications are off for this device."), "success")
    return jsonify({"removed": removed})


@bp.route("/account/push/subscriptions/<int:subscription_id>/delete", methods=["POST"])
@login_required
def remove_device(subscription_id):
    """Remove one of one's devices from the list: it gets no more notifications."""
    if not ActionForm().validate_on_submit():
        abort(400)
    record = push.own_subscription(current_user, subscription_id)
    if record is None:
        abort(404)
    db.session.delete(record)
    db.session.commit()
    flash(_("The device was removed: it gets no more notifications."), "success")
    return redirect(url_for("auth.account", _anchor="devices"), 303)
