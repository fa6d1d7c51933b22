"""Settings → Fields: the team's own fields on leads (ИНН, город, сайт ...), for administrators.

The pages change the definitions through crm.custom_fields and the leads' values through
crm.funnel; a refusal from either comes back as a message beside the box it concerns, with
status 422 (409 where the change conflicts with what leads hold), and nothing saved.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from crm import custom_fields, funnel, htmx, lists
from crm.args import id_arg
from crm.custom_fields import FieldValueError
from crm.errors import render_error
from crm.extensions import db
from crm.forms import ActionForm
from crm.security import admin_required
from crm.settings import bp
from crm.settings.forms import (
    OPTION_COLOURS,
    ConvertForm,
    FieldFlagsForm,
    FieldTypeForm,
    MoveForm,
    NewFieldForm,
    OptionForm,
    SwitchForm,
    field_type_choices,
)


def field_or_404(field_id):
    field = next((f for f in custom_fields.all_fields() if f.id == field_id), None)
    if field is None:
        abort(404)
    return field


def option_or_404(field, option_key):
    option = field.option(option_key) if field.has_options else None
    if option is None:
        abort(404)
    return option


def show_refusal(form, error):
    """A refusal of the definitions' service, next to the box it concerns."""
    box = getattr(form, error.key, None) if error.key else None
    if box is not None and hasattr(box, "errors"):
        box.errors = [*box.errors, error.message]
    else:
        form.form_errors.append(error.message)


def moved_message(name, direction):
    if direction == "up":
        return _("“%(name)s” moved up.", name=name)
    return _("“%(name)s” moved down.", name=name)


def focus_after_move(prefix, keys, key, direction):
    """The id of the button to keep focus on: the one pressed, or the other at either end."""
    index = keys.index(key)
    can_go_up, can_go_down = index > 0, index < len(keys) - 1
    if direction == "up":
        wanted = "up" if can_go_up else "down" if can_go_down else None
    else:
        wanted = "down" if can_go_down else "up" if can_go_up else None
    return f"{prefix}-{key}-{wanted}" if wanted else None


# The list


def fields_context(**extra):
    everything = custom_fields.all_fields()
    return {
        "fields": [field for field in everything if not field.removed],
        "removed": [field for field in everything if field.removed],
        "at_limit": len(everything) >= custom_fields.FIELDS_MAX,
        "fields_max": custom_fields.FIELDS_MAX,
        "active": "settings",
        **extra,
    }


@bp.route("/fields")
@admin_required
def fields():
    """The team's own fields in their order, the removed ones listed apart."""
    return htmx.render(
        "settings/fields.html",
        "settings/_field_list.html",
        **fields_context(focus_id=request.args.get("focus")),
    )


def fields_swap_or_redirect(focus_id=None, status=None):
    """After a change in the list: htmx gets the list to swap in, a plain form the page again
    (shown at once, with its message, when the change was refused)."""
    if htmx.is_partial():
        return htmx.render(
            "settings/fields.html",
            "settings/_field_list.html",
            status=status or 200,
            oob_messages=True,
            **fields_context(focus_id=focus_id),
        )
    if status:
        return render_template("settings/fields.html", **fields_context()), status
    return redirect(url_for("settings.fields", focus=focus_id), 303)


@bp.route("/fields/new", methods=["GET", "POST"])
@admin_required
def field_new():
    """Add a field: its name, type, first choices, help text and where it shows."""
    form = NewFieldForm()
    if form.validate_on_submit():
        try:
            field = custom_fields.add_field(
                form.label.data,
                form.type.data,
                form.option_labels(),
                help_text=form.help_text.data,
                **form.flags(),
            )
        except FieldValueError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Field “%(label)s” added.", label=field.label), "success")
            return redirect(url_for("settings.fields", _anchor=f"field-{field.id}"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "settings/field_new.html",
        form=form,
        at_limit=len(custom_fields.all_fields()) >= custom_fields.FIELDS_MAX,
        active="settings",
    ), status


@bp.route("/fields/<int:field_id>/move", methods=["POST"])
@admin_required
def field_move(field_id):
    """One step up or down the list; htmx swaps the list and keeps focus on the button."""
    field = field_or_404(field_id)
    form = MoveForm()
    if not form.validate_on_submit():
        return render_error(422, _("Choose up or down."))
    moved = custom_fields.move_field(field.id, form.direction.data)
    db.session.commit()
    if moved:
        flash(moved_message(field.label, form.direction.data), "success")
    order = [f.id for f in custom_fields.active_fields()]
    focus_id = focus_after_move("field", order, field.id, form.direction.data) if moved else None
    return fields_swap_or_redirect(focus_id or f"field-{field.id}-{form.direction.data}")


@bp.route("/fields/<int:field_id>/remove", methods=["POST"])
@admin_required
def field_remove(field_id):
    """Hide a field everywhere; leads keep its values, and it can be restored."""
    field = field_or_404(field_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    custom_fields.remove_field(field.id)
    db.session.commit()
    flash(
        _(
            "“%(label)s” is removed: hidden everywhere, its values kept. Restore it to use it "
            "again.",
            label=field.label,
        ),
        "success",
    )
    return fields_swap_or_redirect(f"field-{field.id}-restore")


@bp.route("/fields/<int:field_id>/restore", methods=["POST"])
@admin_required
def field_restore(field_id):
    """A removed field back in use, at the end of the list, with the values leads kept."""
    field = field_or_404(field_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        custom_fields.restore_field(field.id)
    except FieldValueError as error:
        db.session.rollback()
        flash(error.message, "error")
        return fields_swap_or_redirect(status=409)
    db.session.commit()
    flash(_("“%(label)s” is back in use.", label=field.label), "success")
    return fields_swap_or_redirect(f"field-{field.id}-remove")


# One field


def chosen_pipelines():
    """The pipelines ticked on the field's page, of those offered."""
    offered = {pipeline.id for pipeline in lists.pipelines()}
    return {id_arg(value) for value in request.form.getlist("pipeline")} & offered


def field_page_context(field, form, option_form=None, **extra):
    return {
        "field": field,
        "form": form,
        "option_form": option_form or OptionForm(formdata=None, prefix="option"),
        "type_label": custom_fields.TYPE_LABELS[field.type],
        "pipelines": lists.pipelines(),
        **options_context(field),
        "active": "settings",
        **extra,
    }


def options_context(field, **extra):
    counts = custom_fields.option_counts(field) if field.has_options else {}
    return {
        "field": field,
        "option_counts": counts,
        "colour_names": {code: str(name) for code, name in OPTION_COLOURS.items()},
        "options_full": len(field.options) >= custom_fields.OPTIONS_MAX,
        **extra,
    }


def flags_form(field, sent=False):
    """The name, help text and flags as set, or (`sent`) as posted to the field's page."""
    if sent:
        return FieldFlagsForm()
    current = {
        "label": field.label,
        "help_text": field.help_text or "",
        **{name: getattr(field, name) for name in custom_fields.FLAGS},
    }
    return FieldFlagsForm(formdata=None, data=current)


@bp.route("/fields/<int:field_id>", methods=["GET", "POST"])
@admin_required
def field_edit(field_id):
    """A field's name, help text and where it shows; its choices; its type, removal."""
    field = field_or_404(field_id)
    form = flags_form(field, sent=request.method == "POST")
    if form.validate_on_submit():
        try:
            saved = custom_fields.update_field(
                field.id, form.label.data, help_text=form.help_text.data, **form.flags()
            )
            saved = custom_fields.set_pipelines(field.id, chosen_pipelines())
        except FieldValueError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Field “%(label)s” saved.", label=saved.label), "success")
            return redirect(url_for("settings.fields", _anchor=f"field-{field.id}"), 303)
    status = 422 if form.errors or form.form_errors else 200
    context = field_page_context(field, form, focus_id=request.args.get("focus"))
    return render_template("settings/field_edit.html", **context), status


@bp.route("/fields/<int:field_id>/delete", methods=["GET", "POST"])
@admin_required
def field_delete(field_id):
    """Delete a field no lead has a value for; otherwise say so and offer to remove it."""
    field = field_or_404(field_id)
    form = ActionForm()
    held = custom_fields.leads_with_value(field.key)
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            label = custom_fields.delete_field(field.id)
        except FieldValueError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
            status = 409
        else:
            db.session.commit()
            flash(_("Field “%(label)s” deleted.", label=label), "success")
            return redirect(url_for("settings.fields"), 303)
    return render_template(
        "settings/field_delete.html", field=field, form=form, held=held, active="settings"
    ), status


# Changing the type


@bp.route("/fields/<int:field_id>/type", methods=["GET", "POST"])
@admin_required
def field_type(field_id):
    """Change a field's type: first a dry run listing the leads whose values do not fit, then
    the change, which converts the rest and clears those only when the administrator says so."""
    field = field_or_404(field_id)
    if request.method == "POST":
        return convert(field)
    form = type_form(field, request.args)
    change, status = None, 200
    if "type" in request.args:
        if not form.validate():
            status = 422
        else:
            try:
                change = dry_run(field, form.type.data)
            except FieldValueError as error:
                show_refusal(form, error)
                status = 422
    return render_type_page(field, form, change, ConvertForm(formdata=None), status)


def type_form(field, formdata=None, **kwargs):
    """The pick of a new type: every type but the field's own."""
    form = FieldTypeForm(formdata, **kwargs)
    form.type.choices = {k: v for k, v in field_type_choices().items() if k != field.type}
    return form


def dry_run(field, type_):
    new = custom_fields.retyped(field.id, type_)
    return custom_fields.type_change_dry_run(field, new)


def render_type_page(field, form, change, convert_form, status):
    return render_template(
        "settings/field_type.html",
        field=field,
        form=form,
        change=change,
        convert_form=convert_form,
        type_label=custom_fields.TYPE_LABELS[field.type],
        active="settings",
    ), status


def convert(field):
    """The type change itself: values converted (and misfits cleared if confirmed), recorded
    lead by lead in the audit trail; refused whole if a value does not fit unconfirmed."""
    form = ConvertForm()
    look = type_form(field, data={"type": form.type.data})
    if not form.validate_on_submit():
        return render_type_page(field, look, None, form, 422)
    try:
        new = custom_fields.retyped(field.id, form.type.data)
        converted, cleared = custom_fields.change_type(
            new,
            lambda old, new: funnel.convert_field_values(
                old, new, current_user, clear_misfits=form.clear_misfits.data
            ),
        )
    except (FieldValueError, funnel.FunnelError) as error:
        db.session.rollback()
        custom_fields.forget()
        change = None
        try:
            change = dry_run(field, form.type.data)
        except FieldValueError as refusal:
            show_refusal(look, refusal)
        else:
            if change.misfit_count and not form.clear_misfits.data:
                form.clear_misfits.errors = [
                    _("Tick this to clear the values that do not fit, or correct them first."),
                ]
            else:
                form.form_errors.append(error.message)
        return render_type_page(field, look, change, form, 422)
    db.session.commit()
    flash(converted_message(field, new, converted, cleared), "success")
    return redirect(url_for("settings.field_edit", field_id=field.id), 303)


def converted_message(field, new, converted, cleared):
    message = _(
        "“%(label)s” is now of type “%(type)s”.",
        label=field.label,
        type=custom_fields.TYPE_LABELS[new.type],
    )
    message += " " + ngettext("%(num)d value converted.", "%(num)d values converted.", converted)
    if cleared:
        message += " " + ngettext(
            "%(num)d value that did not fit was cleared.",
            "%(num)d values that did not fit were cleared.",
            cleared,
        )
    return message


# The choices of a choice field


def options_swap_or_redirect(field_id, focus_id=None, status=None, option_form=None):
    """After a change of the choices: htmx gets the choices to swap in, a plain form the
    field's page again (shown at once, with its message, when refused)."""
    custom_fields.forget()
    field = field_or_404(field_id)
    if htmx.is_partial():
        return htmx.render(
            "settings/field_edit.html",
            "settings/_options.html",
            status=status or 200,
            oob_messages=True,
            **field_page_context(field, flags_form(field), option_form, focus_id=focus_id),
        )
    if status:
        context = field_page_context(field, flags_form(field), option_form, focus_id=focus_id)
        return render_template("settings/field_edit.html", **context), status
    return redirect(
        url_for("settings.field_edit", field_id=field_id, focus=focus_id, _anchor="choices"), 303
    )


@bp.route("/fields/<int:field_id>/options", methods=["POST"])
@admin_required
def option_add(field_id):
    """Add a choice at the end of the list."""
    field = field_or_404(field_id)
    form = OptionForm(prefix="option")
    if not form.validate_on_submit():
        return options_swap_or_redirect(field.id, status=422, option_form=form)
    try:
        option = custom_fields.add_option(field.id, form.label.data, form.colour.data)
    except FieldValueError as error:
        db.session.rollback()
        show_refusal(form, error)
        return options_swap_or_redirect(field.id, status=422, option_form=form)
    db.session.commit()
    flash(_("Choice “%(label)s” added.", label=option.label), "success")
    return options_swap_or_redirect(field.id, focus_id="option-label")


@bp.route("/fields/<int:field_id>/options/<option_key>", methods=["GET", "POST"])
@admin_required
def option_edit(field_id, option_key):
    """Rename or recolour a choice: its key stays, so every lead holding it shows the change."""
    field = field_or_404(field_id)
    option = option_or_404(field, option_key)
    current = {"label": option.label, "colour": option.colour or ""}
    form = OptionForm(
        data=current if request.method == "GET" else None, current_colour=option.colour
    )
    if form.validate_on_submit():
        try:
            saved = custom_fields.update_option(
                field.id, option.key, form.label.data, form.colour.data
            )
        except FieldValueError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Choice “%(label)s” saved.", label=saved.label), "success")
            return redirect(
                url_for("settings.field_edit", field_id=field.id, _anchor="choices"), 303
            )
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "settings/option_edit.html", field=field, option=option, form=form, active="settings"
    ), status


def option_focus(field, option_key, what):
    return f"option-{field.id}-{option_key}-{what}"


@bp.route("/fields/<int:field_id>/options/<option_key>/move", methods=["POST"])
@admin_required
def option_move(field_id, option_key):
    """One step up or down the choices."""
    field = field_or_404(field_id)
    option = option_or_404(field, option_key)
    form = MoveForm()
    if not form.validate_on_submit():
        return render_error(422, _("Choose up or down."))
    direction = form.direction.data
    moved = custom_fields.move_option(field.id, option.key, direction)
    db.session.commit()
    if moved:
        flash(moved_message(option.label, direction), "success")
    custom_fields.forget()
    keys = [o.key for o in field_or_404(field.id).options]
    focus = focus_after_move(f"option-{field.id}", keys, option.key, direction)
    return options_swap_or_redirect(field.id, focus or option_focus(field, option.key, direction))


@bp.route("/fields/<int:field_id>/options/<option_key>/offered", methods=["POST"])
@admin_required
def option_offered(field_id, option_key):
    """Retire a choice (no longer offered, kept by the leads holding it) or offer it again."""
    field = field_or_404(field_id)
    option = option_or_404(field, option_key)
    form = SwitchForm()
    if not form.validate_on_submit():
        return render_error(422, _("Choose on or off."))
    retired = form.active.data == "off"
    custom_fields.retire_option(field.id, option.key, retired)
    db.session.commit()
    if retired:
        flash(
            _(
                "“%(label)s” is retired: no longer offered; the leads that have it keep it.",
                label=option.label,
            ),
            "success",
        )
    else:
        flash(_("“%(label)s” is offered again.", label=option.label), "success")
    return options_swap_or_redirect(field.id, option_focus(field, option.key, "offered"))


@bp.route("/fields/<int:field_id>/options/<option_key>/delete", methods=["POST"])
@admin_required
def option_delete(field_id, option_key):
    """Delete a choice no lead holds; one in use is refused, with retiring offered instead."""
    field = field_or_404(field_id)
    option = option_or_404(field, option_key)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        custom_fields.delete_option(field.id, option.key)
    except FieldValueError as error:
        db.session.rollback()
        flash(error.message, "error")
        return options_swap_or_redirect(
            field.id, option_focus(field, option.key, "offered"), status=409
        )
    db.session.commit()
    flash(_("Choice “%(label)s” deleted.", label=option.label), "success")
    return options_swap_or_redirect(field.id, "option-label")
