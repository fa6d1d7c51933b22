"""Two-step sign-in: the code page after the password, and turning it on and off on My account.

Between the password and the code the session holds a pending sign-in (who, until when, where
to go next), not a login: nothing else is open to it, and it lapses after
SIGN_IN_CODE_TIME_LIMIT. Wrong codes are throttled and counted as wrong passwords are.
"""

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer

from crm import htmx, two_factor
from crm.auth import bp
from crm.auth.attempts import client_address, refused, wait_message
from crm.auth.forms import ConfirmTwoStepForm, SignInCodeForm, TurnOnTwoStepForm
from crm.auth.throttle import forget_failures, record_failure, wait_before_trying
from crm.extensions import db
from crm.models import User
from crm.security import SESSIONLESS_AREAS, log_in, rotate_session, safe_next

PENDING = "pending_sign_in"
# Set at sign-in for one the team requires it of who has not turned it on: read from the
# session, so no page or poll pays a query to ask.
SET_UP_FIRST = "two_step_set_up_first"
# How long the page that sets an app up stays good for (its secret is signed into the form).
SETUP_TIME_LIMIT = 30 * 60
# What someone who must still turn two-step sign-in on may reach meanwhile.
OPEN_UNTIL_SET_UP = {
    "auth.two_step",
    "auth.turn_on_two_step",
    "auth.logout",
    "main.set_language",
    "main.healthz",
    "main.stage_styles",
    "main.option_styles",
    "static",
    "main.service_worker",
    "main.manifest",
}


# The second step of signing in


def start_second_step(user, next_url):
    """The password was right: hold a pending sign-in for the code page, in a fresh session."""
    rotate_session()
    limit = current_app.config["SIGN_IN_CODE_TIME_LIMIT"]
    session[PENDING] = {
        "user": user.get_id(),
        "until": int(time.time() + limit.total_seconds()),
        "next": safe_next(next_url),
    }


def pending_user():
    """The user whose password was right a moment ago, while the code may still be entered."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or int(pending.get("until", 0)) < time.time():
        return None
    user_id, _sep, version = str(pending.get("user", "")).partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    # A password change, deactivation or two-step sign-in turned off meanwhile ends it.
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user if user.two_factor_on else None


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of signing in: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("agenda.index"))
    user = pending_user()
    if user is None:
        session.pop(PENDING, None)
        status = 200 if request.method == "GET" else 409
        return render_template("auth/login_code.html", form=None), status
    form = SignInCodeForm()
    if not form.validate_on_submit():
        return render_template("auth/login_code.html", form=form), 422 if form.errors else 200

    address = client_address()
    wait = wait_before_trying(user.email, address)
    if wait is not None:
        return refused("auth/login_code.html", form, wait)
    by_recovery_code = not form.code.data
    if by_recovery_code:
        accepted = two_factor.use_recovery_code(user, form.recovery_code.data)
    else:
        accepted = two_factor.use_code(user, form.code.data)
    if not accepted:
        db.session.rollback()
        record_failure(user.email, address)
        form.form_errors.append(
            _("This recovery code is not right, or was used already.")
            if by_recovery_code
            else _(
                "This code is not right, or was used already. Wait for the next one; if "
                "every code is refused, check that the phone's clock is set automatically."
            )
        )
        return render_template("auth/login_code.html", form=form), 422

    next_url = session[PENDING].get("next")
    forget_failures(user.email, address)
    db.session.commit()
    rotate_session()
    log_in(user)
    if by_recovery_code:
        left = two_factor.recovery_codes_left(user)
        flash(
            ngettext(
                "You used a recovery code: %(num)d is left. Make new ones under My account.",
                "You used a recovery code: %(num)d are left. Make new ones under My account.",
                left,
            ),
            "info",
        )
    return redirect(next_url or url_for("agenda.index"), 303)


# Those who must use it, before anything else


def note_set_up_first(user):
    """At sign-in (or on turning it off): whether this person must turn it on before going on."""
    if two_factor.must_set_up(user):
        session[SET_UP_FIRST] = True
    else:
        session.pop(SET_UP_FIRST, None)


@bp.before_app_request
def send_to_set_up():
    """Administrators and managers, when the team requires it, turn two-step sign-in on
    before they use anything else (they may also log out)."""
    if not session.get(SET_UP_FIRST) or request.endpoint in OPEN_UNTIL_SET_UP:
        return None
    if request.endpoint is None or request.blueprint in SESSIONLESS_AREAS:
        return None
    if not current_user.is_authenticated or current_user.two_factor_on:
        return None
    if not htmx.is_htmx():
        flash(_("Your team requires two-step sign-in: turn it on to go on."), "info")
    return htmx.redirect_to(url_for("auth.turn_on_two_step"))


# My account → Two-step sign-in


def two_step_page(status=200, **forms):
    user = current_user._get_current_object()
    context = {
        "active": "account",
        "off_form": forms.get("off_form") or ConfirmTwoStepForm(prefix="off"),
        "codes_form": forms.get("codes_form") or ConfirmTwoStepForm(prefix="codes"),
        "codes_left": two_factor.recovery_codes_left(user) if user.two_factor_on else 0,
        "required": two_factor.required_of(user),
    }
    return render_template("auth/two_step.html", **context), status


@bp.route("/account/two-step")
@login_required
def two_step():
    """Whether two-step sign-in is on, with the ways to turn it on or off."""
    return two_step_page()


def setup_signer():
    return URLSafeTimedSerializer(current_app.secret_key, salt="two-step-setup")


def signed_setup(user, secret):
    return setup_signer().dumps({"user": user.id, "secret": secret})


def secret_from_setup(user, signed):
    """The secret the page showed, if the form is this user's and recent enough."""
    try:
        data = setup_signer().loads(signed or "", max_age=SETUP_TIME_LIMIT)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("user") != user.id:
        return None
    secret = data.get("secret")
    return secret if isinstance(secret, str) else None


def setup_page(user, form, secret, status):
    form.setup.data = signed_setup(user, secret)
    address = two_factor.setup_address(secret, user.email)
    title = _("QR code that sets up two-step sign-in for %(email)s", email=user.email)
    return render_template(
        "auth/two_step_on.html",
        form=form,
        active="account",
        qr_code=two_factor.qr_code_svg(address, title),
        secret=two_factor.grouped(secret),
        issuer=current_app.config["TWO_FACTOR_ISSUER"],
        required=two_factor.must_set_up(user),
    ), status


@bp.route("/account/two-step/on", methods=["GET", "POST"])
@login_required
def turn_on_two_step():
    """Set an authenticator app up from a QR code, confirm with a code, get recovery codes."""
    user = current_user._get_current_object()
    if user.two_factor_on:
        return redirect(url_for("auth.two_step"), 303)
    form = TurnOnTwoStepForm()
    if not form.validate_on_submit():
        return setup_page(user, form, two_factor.new_secret(), 422 if form.errors else 200)
    secret = secret_from_setup(user, form.setup.data)
    if secret is None:
        form.form_errors.append(
            _("This page was open too long. Add the new key below to your app and try again.")
        )
        return setup_page(user, form, two_factor.new_secret(), 422)
    step = two_factor.matching_step(secret, form.code.data)
    if step is None:
        form.code.errors.append(
            _("This is not the code the app shows now. Check that it was set up from this page.")
        )
        return setup_page(user, form, secret, 422)
    codes = two_factor.turn_on(user, secret, step)
    # Anyone signed in elsewhere with the password alone is signed out.
    user.end_sessions()
    db.session.commit()
    rotate_session()
    log_in(user)
    return show_recovery_codes(codes, turned_on=True)


def show_recovery_codes(codes, turned_on=False):
    """The new recovery codes, once: only their hashes are kept."""
    return render_template(
        "auth/recovery_codes.html", codes=codes, turned_on=turned_on, active="account"
    )


def refusal(user, form):
    """None when the password or the code from the app in `form` is right, else the status to
    answer with. Throttled and counted as at sign-in, so a session left open is no way to
    guess either."""
    if not form.validate_on_submit():
        return 422
    address = client_address()
    wait = wait_before_trying(user.email, address)
    if wait is not None:
        form.form_errors.append(wait_message(wait))
        return 429
    if form.password.data:
        right = user.check_password(form.password.data)
    else:
        right = two_factor.use_code(user, form.code.data)
    if right:
        return None
    db.session.rollback()
    record_failure(user.email, address)
    form.form_errors.append(_("This is neither your password nor the code your app shows."))
    return 422


@bp.route("/account/two-step/off", methods=["POST"])
@login_required
def turn_off_two_step():
    """Back to the password alone, once the password or a code confirms it."""
    user = current_user._get_current_object()
    if not user.two_factor_on:
        return redirect(url_for("auth.two_step"), 303)
    form = ConfirmTwoStepForm(prefix="off")
    status = refusal(user, form)
    if status:
        return two_step_page(status, off_form=form)
    two_factor.turn_off(user)
    db.session.commit()
    note_set_up_first(user)
    flash(_("Two-step sign-in is off: your password alone signs you in."), "success")
    return redirect(url_for("auth.two_step"), 303)


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
def new_recovery_codes():
    """Ten new recovery codes in place of the old, once the password or a code confirms it."""
    user = current_user._get_current_object()
    if not user.two_factor_on:
        return redirect(url_for("auth.two_step"), 303)
    form = ConfirmTwoStepForm(prefix="codes")
    status = refusal(user, form)
    if status:
        return two_step_page(status, codes_form=form)
    codes = two_factor.make_recovery_codes(user)
    db.session.commit()
    return show_recovery_codes(codes)
