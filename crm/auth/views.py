import secrets
from functools import cache

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from crm import demo, funnel_defaults, i18n, timezones
from crm.accounts import AccountError, create_user, normalise_email
from crm.auth import bp
from crm.auth.attempts import client_address, refused
from crm.auth.forms import LoginForm, SetupForm
from crm.auth.throttle import forget_failures, record_failure, wait_before_trying
from crm.auth.two_step import note_set_up_first, start_second_step
from crm.extensions import db
from crm.forms import offer_zones
from crm.models import AppSetting, Role, User, utcnow
from crm.security import log_in, log_out, rotate_session, safe_next, setup_done

# The setup page's zone when the browser does not say its own (no JavaScript): the reference
# team's for a Russian page.
ZONE_FOR_LANGUAGE = {"ru": "Europe/Moscow"}


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first administrator and the default funnel; gone once done."""
    if setup_done():
        abort(404)
    form = SetupForm()
    if request.method == "GET":
        form.language.data = str(get_locale())
        form.timezone.data = zone_without_the_browser(form.language.data)
    offer_zones(form.timezone)
    if form.validate_on_submit():
        try:
            user = install(form)
        except AccountError as error:
            db.session.rollback()
            form[error.field].errors.append(str(error))
        except IntegrityError:
            # Another browser finished setup a moment earlier.
            db.session.rollback()
            abort(404)
        else:
            rotate_session()
            log_in(user)
            flash(_("Welcome! Your CRM is ready."), "success")
            return redirect(url_for("agenda.index"), 303)
    status = 422 if form.errors else 200
    # On the first visit the browser's own zone is chosen; a form sent back keeps its choice.
    return render_template(
        "auth/setup.html", form=form, zone_from_browser=request.method == "GET"
    ), status


def zone_without_the_browser(language):
    return ZONE_FOR_LANGUAGE.get(language) or current_app.config["BABEL_DEFAULT_TIMEZONE"]


def install(form):
    """The first administrator, the team's language and zone, the default funnel and, if
    asked, the sample data: all in one transaction."""
    language = form.language.data
    # The primary key makes a second, concurrent setup fail instead of adding another admin.
    db.session.add(AppSetting(key="installed_at", value=utcnow().isoformat()))
    i18n.set_team_language(language)
    timezones.set_team_zone(form.timezone.data)
    user = create_user(
        form.email.data, form.name.data, form.password.data, role=Role.ADMIN, locale=language
    )
    funnel_defaults.install(language)
    if form.sample_data.data:
        # The demo generator on a small scale, in this transaction: a failed setup leaves no
        # sample behind.
        demo.generate(language, owner=user, **demo.SAMPLE)
    db.session.commit()
    return user


@cache
def unknown_user_hash(method):
    return generate_password_hash(secrets.token_hex(16), method=method)


def password_matches(user, password):
    """Check the password; an unknown email costs a hash check too, so timing tells nothing."""
    if user is None:
        check_password_hash(unknown_user_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return False
    return user.check_password(password)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with email and password; throttled after repeated failures."""
    if current_user.is_authenticated:
        return redirect(url_for("agenda.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.errors else 200

    email, address = normalise_email(form.email.data), client_address()
    wait = wait_before_trying(email, address)
    if wait is not None:
        return refused("auth/login.html", form, wait)

    user = db.session.scalar(User.by_email(email))
    if not password_matches(user, form.password.data):
        record_failure(email, address)
        form.form_errors.append(_("Wrong email or password."))
        return render_template("auth/login.html", form=form), 422
    if not user.active:
        form.form_errors.append(_("This account is deactivated. Ask an administrator."))
        return render_template("auth/login.html", form=form), 403

    if user.two_factor_on:
        # The failures are forgotten only once the code is right too.
        start_second_step(user, request.args.get("next"))
        return redirect(url_for("auth.login_code"), 303)
    forget_failures(email, address)
    db.session.commit()
    rotate_session()
    log_in(user)
    note_set_up_first(user)
    return redirect(safe_next(request.args.get("next")) or url_for("agenda.index"), 303)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out everywhere: every session of this account ends, not just this browser's."""
    current_user.end_sessions()
    db.session.commit()
    log_out()
    rotate_session()
    flash(_("You have logged out."), "info")
    response = redirect(url_for("auth.login"), 303)
    # This browser keeps nothing of the session: the service worker's files and the contacts
    # waiting to be sent (IndexedDB) go, and the HTTP cache with them.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
