from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from crm import access, api_tokens, backup, htmx, i18n, lists, roles, timezones, two_factor
from crm.accounts import AccountError, create_user, end_credentials
from crm.args import id_arg
from crm.errors import render_error
from crm.extensions import db
from crm.forms import LANGUAGE_CHOICES, ActionForm, account_form, offer_zones, save_account_form
from crm.i18n import user_locale
from crm.lists import SettingsError
from crm.models import ActivityKind, LostReason, Pipeline, Stage, User
from crm.security import admin_required
from crm.settings import bp
from crm.settings.forms import (
    ApiTokenForm,
    GeneralForm,
    MoveForm,
    NameForm,
    NewUserForm,
    RemoveStageForm,
    ResetPasswordForm,
    StageForm,
    SwitchForm,
    stage_kind_choices,
)


@bp.route("/")
@login_required
def index():
    """Settings: one's own account, and for administrators the team."""
    return render_template("settings/index.html", **index_context(), **api_tokens_context())


def index_context():
    """What the Settings page shows besides the tokens: one's own account, and the team's
    sections for an administrator."""
    zone = timezones.zone_name_of(current_user)
    return {
        "active": "settings",
        "manages_the_instance": current_user.is_admin,
        "own_zone": timezones.zone_label(zone, user_locale()),
    }


@bp.route("/backup.sqlite3")
@admin_required
def download_backup():
    """A consistent, verified copy of the SQLite database, for an administrator to keep."""
    return backup.download_response()


# One's own API tokens, on the Settings page.


def api_tokens_context(form=None, new_token=None, new_token_name=None):
    return {
        "api_tokens": db.session.scalars(api_tokens.active_tokens(current_user)).all(),
        "token_form": form or ApiTokenForm(formdata=None),
        "new_token": new_token,
        "new_token_name": new_token_name,
    }


def api_tokens_page(status=200, **context):
    """The tokens section for htmx, the Settings page otherwise (with the same section)."""
    return htmx.render(
        "settings/index.html",
        "settings/_api_tokens.html",
        status=status,
        oob_messages=htmx.is_partial(),
        **index_context(),
        **api_tokens_context(**context),
    )


@bp.route("/api-tokens", methods=["POST"])
@login_required
def create_api_token():
    """Make a personal API token and show it this once: only its hash is kept."""
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return api_tokens_page(status=422, form=form)
    record, token = api_tokens.issue(current_user, form.name.data)
    db.session.commit()
    # Shown in this answer, never flashed: the session cookie is signed, not secret.
    return api_tokens_page(new_token=token, new_token_name=record.name)


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id):
    """Revoke one of one's own tokens: programs using it are refused from now on."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    record = api_tokens.own_token(current_user, token_id)
    if record is None:
        abort(404)
    api_tokens.revoke(record)
    db.session.commit()
    flash(_("Token “%(name)s” revoked: it no longer works.", name=record.name), "success")
    if htmx.is_partial():
        return api_tokens_page()
    return redirect(url_for("settings.index", _anchor="api-tokens"), 303)


def get_user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def new_user_form():
    """The form to add a colleague, starting in the team's language and zone."""
    form = NewUserForm(
        data={"language": i18n.team_language(), "timezone": timezones.team_zone_name()}
        if request.method == "GET"
        else None
    )
    offer_zones(form.timezone)
    return form


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    """The team: everyone's role, language, zone and status, and a form to add an account."""
    form = new_user_form()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data,
                form.name.data,
                form.password.data,
                role=form.role.data,
                locale=form.language.data,
                timezone=form.timezone.data,
            )
        except AccountError as error:
            form[error.field].errors.append(str(error))
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
        zones={user.id: zone_shown(user) for user in team},
        action=ActionForm(),
        role_names=roles.role_names(),
        active="settings",
    ), status


def zone_shown(user):
    """A person's zone as the team list shows it; without one of their own, the team's."""
    label = timezones.zone_label(timezones.zone_name_of(user), user_locale())
    return label if user.timezone else _("%(zone)s (the team's)", zone=label)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id):
    """Change a colleague's name, interface language and time zone."""
    user = get_user_or_404(user_id)
    form = account_form(user)
    if save_account_form(form, user):
        flash(_("%(name)s's account is saved.", name=user.name), "success")
        return redirect(url_for("settings.users", _anchor=f"user-{user.id}"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "settings/user_edit.html",
        form=form,
        user=user,
        pipelines=lists.pipelines(),
        active="settings",
    ), status


@bp.route("/users/<int:user_id>/pipelines", methods=["POST"])
@admin_required
def user_pipelines(user_id):
    """Keep a salesperson to some pipelines (none ticked: every one)."""
    user = get_user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    offered = {pipeline.id for pipeline in lists.pipelines()}
    chosen = sorted({id_arg(value) for value in request.form.getlist("pipeline")} & offered)
    user.pipeline_ids = chosen or None
    db.session.commit()
    flash(_("%(name)s's pipelines are saved.", name=user.name), "success")
    return redirect(url_for("settings.user_edit", user_id=user.id), 303)


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
        end_credentials(user)
        flash(
            _(
                "%(name)s is deactivated and logged out everywhere; their API tokens and "
                "calendar address no longer work.",
                name=user.name,
            ),
            "info",
        )
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
        end_credentials(user)
        db.session.commit()
        flash(
            _(
                "New password set for %(name)s. Tell it to them in person. Their sessions, API "
                "tokens and calendar address were ended.",
                name=user.name,
            ),
            "success",
        )
        return redirect(url_for("settings.users"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "settings/reset_password.html", form=form, user=user, active="settings"
    ), status


# The funnel's stages, activity kinds and lost reasons, and the currency.


def get_or_404(model, item_id):
    item = db.session.get(model, item_id)
    if item is None:
        abort(404)
    return item


def show_error(form, error):
    """Put a refusal from the settings service next to the field it concerns."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def focus_after_move(prefix, items, item, direction):
    """The id of the button to keep focus on: the one pressed, or the other at either end."""
    index = items.index(item)
    can_go_up, can_go_down = index > 0, index < len(items) - 1
    if direction == "up":
        wanted = "up" if can_go_up else "down" if can_go_down else None
    else:
        wanted = "down" if can_go_down else "up" if can_go_up else None
    return f"{prefix}-{item.id}-{wanted}" if wanted else None


def moved_one_step(name, direction):
    if direction == "up":
        return _("“%(name)s” moved up.", name=name)
    return _("“%(name)s” moved down.", name=name)


def stage_page_context(pipeline, **extra):
    return {
        "pipeline": pipeline,
        "pipelines": lists.pipelines(),
        "stages": lists.stages_with_lead_counts(pipeline.id),
        "kind_names": stage_kind_choices(),
        "active": "settings",
        **extra,
    }


def stages_url(pipeline_id, **values):
    """The stages page of a pipeline (the first one's needs no argument)."""
    first = lists.first_pipeline()
    if first is not None and first.id == pipeline_id:
        return url_for("settings.stages", **values)
    return url_for("settings.stages", pipeline=pipeline_id, **values)


def chosen_pipeline(args):
    """The pipeline whose stages the page shows: the one asked for, archived or not, else the
    first one offered."""
    asked = db.session.get(Pipeline, id_arg(args.get("pipeline")) or 0)
    return asked or lists.first_pipeline()


@bp.route("/stages", methods=["GET", "POST"])
@admin_required
def stages():
    """A pipeline's stages in order, and a form to add one."""
    pipeline = chosen_pipeline(request.args)
    form = StageForm()
    if form.validate_on_submit():
        try:
            stage = lists.add_stage(
                form.name.data,
                form.colour.data,
                form.kind.data,
                form.stuck_after_days.data,
                pipeline=pipeline,
            )
        except SettingsError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Stage “%(name)s” added.", name=stage.name), "success")
            return redirect(stages_url(pipeline.id, _anchor=f"stage-{stage.id}"), 303)
    status = 422 if form.errors else 200
    context = stage_page_context(pipeline, form=form, focus_id=request.args.get("focus"))
    return render_template("settings/stages.html", **context), status


@bp.route("/stages/<int:stage_id>", methods=["GET", "POST"])
@admin_required
def stage_edit(stage_id):
    """Rename or recolour a stage, change its kind or when its leads count as stuck."""
    stage = get_or_404(Stage, stage_id)
    form = StageForm(obj=stage)
    if form.validate_on_submit():
        try:
            lists.update_stage(
                stage,
                form.name.data,
                form.colour.data,
                form.kind.data,
                form.stuck_after_days.data,
            )
        except SettingsError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Stage “%(name)s” saved.", name=stage.name), "success")
            return redirect(stages_url(stage.pipeline_id, _anchor=f"stage-{stage.id}"), 303)
    status = 422 if form.errors else 200
    return render_template(
        "settings/stage_edit.html", form=form, stage=stage, active="settings"
    ), status


@bp.route("/stages/<int:stage_id>/move", methods=["POST"])
@admin_required
def stage_move(stage_id):
    """One step up or down the funnel; htmx swaps the list and keeps focus on the button."""
    stage = get_or_404(Stage, stage_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return render_error(422, _("Choose up or down."))
    moved = lists.move(Stage, stage, form.direction.data)
    db.session.commit()
    if moved:
        flash(moved_one_step(stage.name, form.direction.data), "success")
    order = lists.pipeline_stages(stage.pipeline_id)
    focus_id = focus_after_move("stage", order, stage, form.direction.data)
    if htmx.is_partial():
        return htmx.render(
            "settings/stages.html",
            "settings/_stage_list.html",
            oob_messages=True,
            **stage_page_context(stage.pipeline, focus_id=focus_id),
        )
    return redirect(stages_url(stage.pipeline_id, focus=focus_id, _anchor=f"stage-{stage.id}"), 303)


def remove_stage_form(stage):
    form = RemoveStageForm()
    targets = db.session.scalars(Stage.in_funnel_order().where(Stage.id != stage.id)).all()
    several = len({target.pipeline_id for target in targets}) > 1
    form.target_stage_id.choices = {None: _("Choose a stage…")} | {
        t.id: f"{t.pipeline.name}: {t.name}" if several else t.name for t in targets
    }
    reasons = db.session.scalars(lists.active_items(LostReason)).all()
    form.lost_reason_id.choices = {None: _("Only for a lost stage")} | {
        r.id: r.name for r in reasons
    }
    return form, {t.id: t for t in targets}, {r.id: r for r in reasons}


@bp.route("/stages/<int:stage_id>/remove", methods=["GET", "POST"])
@admin_required
def stage_remove(stage_id):
    """Remove a stage nothing refers to; if leads are in it, move them elsewhere first."""
    stage = get_or_404(Stage, stage_id)
    form, targets, reasons = remove_stage_form(stage)
    lead_count = lists.lead_count(stage)
    last_open = lists.is_last_open(stage)
    history_count = lists.stage_history_count(stage)
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 422
        elif last_open:
            form.form_errors.append(
                _("This is the only open stage: the funnel needs at least one.")
            )
            status = 409
        elif not lead_count:
            name = stage.name
            try:
                lists.remove_stage(stage)
            except SettingsError as error:
                db.session.rollback()
                form.form_errors.append(error.message)
                status = 409
            else:
                db.session.commit()
                flash(_("Stage “%(name)s” removed.", name=name), "success")
                return redirect(stages_url(stage.pipeline_id), 303)
        else:
            target = targets.get(form.target_stage_id.data)
            reason = reasons.get(form.lost_reason_id.data)
            try:
                moved = lists.move_leads_out(
                    stage, target, current_user, reason, form.lost_note.data
                )
                removed = not lists.stage_in_use(stage)
                if removed:
                    lists.remove_stage(stage)
            except SettingsError as error:
                db.session.rollback()
                show_error(form, error)
                status = 422
            else:
                db.session.commit()
                flash(moved_message(stage, target, moved, removed), "success")
                return redirect(stages_url(target.pipeline_id, _anchor=f"stage-{target.id}"), 303)
    return render_template(
        "settings/stage_remove.html",
        form=form,
        stage=stage,
        lead_count=lead_count,
        history_count=history_count,
        last_open=last_open,
        active="settings",
    ), status


def moved_message(stage, target, moved, removed):
    if removed:
        return ngettext(
            "Moved %(num)d lead to “%(target)s” and removed “%(name)s”.",
            "Moved %(num)d leads to “%(target)s” and removed “%(name)s”.",
            moved,
            target=target.name,
            name=stage.name,
        )
    return ngettext(
        "Moved %(num)d lead to “%(target)s”. “%(name)s” stays in the funnel because leads "
        "have it in their history; rename it to reuse it.",
        "Moved %(num)d leads to “%(target)s”. “%(name)s” stays in the funnel because leads "
        "have it in their history; rename it to reuse it.",
        moved,
        target=target.name,
        name=stage.name,
    )


@dataclass(frozen=True)
class ListPage:
    """An editable pick list: activity kinds or lost reasons."""

    model: type
    limit: int
    title: Callable[[], str]
    add_title: Callable[[], str]
    explanation: Callable[[], str]


LIST_PAGES = {
    "activity-kinds": ListPage(
        ActivityKind,
        lists.KIND_NAME_MAX,
        lambda: _("Activity kinds"),
        lambda: _("Add an activity kind"),
        lambda: _(
            "The kinds of contact offered when logging one. A switched-off kind is no longer "
            "offered, but contacts logged with it keep it."
        ),
    ),
    "lost-reasons": ListPage(
        LostReason,
        lists.REASON_NAME_MAX,
        lambda: _("Lost reasons"),
        lambda: _("Add a lost reason"),
        lambda: _(
            "Why leads are lost, asked whenever one moves to a lost stage. A switched-off "
            "reason is no longer offered, but leads lost for it keep it."
        ),
    ),
}
LIST_NAME = '<any("activity-kinds", "lost-reasons"):list_name>'


def list_page_context(list_name, **extra):
    page = LIST_PAGES[list_name]
    return {
        "list_name": list_name,
        "list_page": page,
        "items": db.session.scalars(lists.in_order(page.model)).all(),
        "active": "settings",
        **extra,
    }


def list_swap_or_redirect(list_name, focus_id, status=None):
    """After a change in a list: htmx gets the list to swap in, a plain form the page again.

    A refusal (`status`) shows the page again with its message instead of redirecting.
    """
    if htmx.is_partial():
        return htmx.render(
            "settings/list.html",
            "settings/_list_items.html",
            status=status or 200,
            oob_messages=True,
            **list_page_context(list_name, focus_id=focus_id),
        )
    if status:
        page = list_page_context(
            list_name, focus_id=focus_id, form=NameForm(LIST_PAGES[list_name].limit, formdata=None)
        )
        return render_template("settings/list.html", **page), status
    return redirect(url_for("settings.list_items", list_name=list_name, focus=focus_id), 303)


@bp.route(f"/{LIST_NAME}", methods=["GET", "POST"])
@admin_required
def list_items(list_name):
    """Activity kinds or lost reasons in their order, and a form to add one."""
    page = LIST_PAGES[list_name]
    form = NameForm(page.limit)
    if form.validate_on_submit():
        try:
            item = lists.add_item(page.model, form.name.data, page.limit)
        except SettingsError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("“%(name)s” added.", name=item.name), "success")
            return redirect(url_for("settings.list_items", list_name=list_name), 303)
    status = 422 if form.errors else 200
    context = list_page_context(list_name, form=form, focus_id=request.args.get("focus"))
    return render_template("settings/list.html", **context), status


@bp.route(f"/{LIST_NAME}/<int:item_id>", methods=["GET", "POST"])
@admin_required
def list_item_rename(list_name, item_id):
    """Rename an activity kind or lost reason; old records show the new name."""
    page = LIST_PAGES[list_name]
    item = get_or_404(page.model, item_id)
    form = NameForm(page.limit, obj=item)
    if form.validate_on_submit():
        try:
            lists.rename_item(page.model, item, form.name.data, page.limit)
        except SettingsError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("“%(name)s” saved.", name=item.name), "success")
            return redirect(url_for("settings.list_items", list_name=list_name), 303)
    status = 422 if form.errors else 200
    return render_template(
        "settings/list_rename.html",
        form=form,
        item=item,
        list_page=page,
        list_name=list_name,
        active="settings",
    ), status


@bp.route(f"/{LIST_NAME}/<int:item_id>/move", methods=["POST"])
@admin_required
def list_item_move(list_name, item_id):
    """One step up or down the list."""
    page = LIST_PAGES[list_name]
    item = get_or_404(page.model, item_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return render_error(422, _("Choose up or down."))
    if lists.move(page.model, item, form.direction.data):
        flash(moved_one_step(item.name, form.direction.data), "success")
    db.session.commit()
    order = list(db.session.scalars(lists.in_order(page.model)))
    return list_swap_or_redirect(
        list_name, focus_after_move("item", order, item, form.direction.data)
    )


@bp.route(f"/{LIST_NAME}/<int:item_id>/active", methods=["POST"])
@admin_required
def list_item_set_active(list_name, item_id):
    """Switch an entry off (gone from pick lists, kept on old records) or back on."""
    page = LIST_PAGES[list_name]
    item = get_or_404(page.model, item_id)
    form = SwitchForm()
    if not form.validate_on_submit():
        return render_error(422, _("Choose on or off."))
    try:
        lists.set_active(page.model, item, form.active.data == "on")
    except SettingsError as error:
        db.session.rollback()
        flash(error.message, "error")
        return list_swap_or_redirect(list_name, f"item-{item.id}-active", status=409)
    db.session.commit()
    if item.active:
        flash(_("“%(name)s” is offered again.", name=item.name), "success")
    else:
        flash(
            _(
                "“%(name)s” is switched off: no longer offered, kept on old records.",
                name=item.name,
            ),
            "success",
        )
    return list_swap_or_redirect(list_name, f"item-{item.id}-active")


def general_form():
    """The general settings as set, or as sent."""
    current = {
        "currency": lists.currency(),
        "quiet_after_days": lists.quiet_after_days(),
        "colleagues_leads": access.colleagues_leads(),
        "pass_leads_on": access.salespeople_pass_leads_on(),
        "warn_of_hidden_duplicates": access.warns_of_hidden_duplicates(),
        "language": i18n.team_language(),
        "timezone": timezones.team_zone_name(),
        "two_factor_required": two_factor.required(),
    }
    form = GeneralForm(data=current if request.method == "GET" else None)
    offer_zones(form.timezone)
    return form, current


@bp.route("/general", methods=["GET", "POST"])
@admin_required
def general():
    """Instance-wide settings, saved at once: the currency shown next to amounts, when a lead
    goes quiet, what salespeople see of each other's leads and whether they pass leads on, the
    duplicate warning, the team's language and zone."""
    form, current = general_form()
    if form.validate_on_submit():
        try:
            changed = save_general(form, current)
        except SettingsError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            for message in changed or [_("Nothing to change: everything was already so.")]:
                flash(message, "success")
            return redirect(url_for("settings.general"), 303)
    status = 422 if form.errors else 200
    return render_template("settings/general.html", form=form, active="settings"), status


def save_general(form, current):
    """Apply the general settings form; a message for each setting it changed."""
    changed = []
    if form.currency.data != current["currency"]:
        text = lists.set_currency(form.currency.data)
        changed.append(
            _("Amounts are now shown in “%(currency)s”.", currency=text)
            if text
            else _("Amounts are now shown without a currency.")
        )
    if form.quiet_after_days.data != current["quiet_after_days"]:
        days = lists.set_quiet_after_days(form.quiet_after_days.data)
        changed.append(
            ngettext(
                "A lead now goes quiet after %(num)d day without contact.",
                "A lead now goes quiet after %(num)d days without contact.",
                days,
            )
        )
    if form.colleagues_leads.data != current["colleagues_leads"]:
        access.set_colleagues_leads(form.colleagues_leads.data)
        changed.append(
            _("Salespeople now see only their own and unclaimed leads.")
            if form.colleagues_leads.data == access.ColleaguesLeads.HIDDEN
            else _("Salespeople now see their colleagues' leads, read-only.")
        )
    if form.pass_leads_on.data != current["pass_leads_on"]:
        access.set_salespeople_pass_leads_on(form.pass_leads_on.data)
        changed.append(
            _("Salespeople may now give their leads to a colleague.")
            if form.pass_leads_on.data
            else _("Only managers and administrators give leads to someone else now.")
        )
    if form.warn_of_hidden_duplicates.data != current["warn_of_hidden_duplicates"]:
        access.set_warns_of_hidden_duplicates(form.warn_of_hidden_duplicates.data)
        changed.append(
            _("A new lead like a colleague's hidden one is now warned of, saying whose.")
            if form.warn_of_hidden_duplicates.data
            else _("Colleagues' hidden leads are now left out of the duplicate warning.")
        )
    if form.language.data != current["language"]:
        i18n.set_team_language(form.language.data)
        changed.append(
            _(
                "New accounts now start in %(language)s.",
                language=LANGUAGE_CHOICES[form.language.data],
            )
        )
    if form.timezone.data != current["timezone"]:
        zone = timezones.set_team_zone(form.timezone.data)
        label = timezones.zone_label(zone, user_locale())
        changed.append(_("The team's time zone is now %(zone)s.", zone=label))
    if form.two_factor_required.data != current["two_factor_required"]:
        changed.append(require_two_factor(form.two_factor_required.data))
    return changed


def require_two_factor(required):
    """Require two-step sign-in of administrators and managers, or stop; the message to show.
    Whoever requires it uses it already, so nobody turns it on for themselves unawares."""
    if required and not current_user.two_factor_on:
        raise SettingsError(
            _("Turn on two-step sign-in for yourself first, under My account."),
            "two_factor_required",
        )
    two_factor.set_required(required)
    if required:
        return _(
            "Administrators and managers without two-step sign-in were logged out: they will "
            "be asked to turn it on when they log in again."
        )
    return _("Two-step sign-in is no longer required; those who use it keep it.")
