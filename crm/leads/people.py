"""The people at the client on a lead's page: shown in a card, edited in place."""

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access, funnel, htmx
from crm.access import changeable_lead_or_403, lead_or_404
from crm.extensions import db
from crm.leads import bp
from crm.leads.forms import PeopleForm, people_of
from crm.leads.page import page_context, summary_context
from crm.lists import Choices


def people_form(lead, formdata=None):
    """The form with the lead's people and a blank one to add someone."""
    if formdata is not None:
        form = PeopleForm(formdata=formdata)
    else:
        form = PeopleForm(data={"people": [person_data(p) for p in lead.people] + [{}]})
    form.main.choices = [(i, str(i)) for i in range(len(form.people))]
    return form


def person_data(person):
    return {
        "name": person.name,
        "job_title": person.job_title,
        "phones": "\n".join(person.phones or ()),
        "emails": "\n".join(person.emails or ()),
        "note": person.note,
    }


@bp.route("/<int:number>/people")
@login_required
def people(number):
    """The lead's people (what "Cancel" on their form swaps back)."""
    lead = lead_or_404(number)
    context = page_context(lead, Choices()) if not htmx.is_partial() else {"lead": lead}
    context["may_change_lead"] = access.may_change(lead, current_user)
    return htmx.render("leads/show.html", "leads/_people.html", **context)


@bp.route("/<int:number>/people/edit", methods=["GET", "POST"])
@login_required
def edit_people(number):
    """Add, change, remove and reorder the people at the client, in place."""
    lead = changeable_lead_or_403(number)
    if request.method == "GET":
        return render_people_form(lead, people_form(lead))
    form = people_form(lead, formdata=request.form)
    if form.validate():
        people, entries = people_of(form)
        try:
            funnel.set_people(lead, people)
        except funnel.FunnelError as error:
            db.session.rollback()
            attach_person_error(form, entries, error)
        else:
            db.session.commit()
            return people_saved(lead)
    return render_people_form(lead, form, status=422)


def attach_person_error(form, entries, error):
    """Show the service's refusal ("people.<i>.<field>") at that person's field."""
    parts = (error.field or "").split(".")
    if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(entries):
        entry = form.people[entries[int(parts[1])]].form
        field = entry[parts[2]] if len(parts) > 2 and parts[2] in entry else entry.name
        field.errors = [*field.errors, error.message]
    else:
        form.main.errors = [*form.main.errors, error.message]


def people_saved(lead):
    if not htmx.is_htmx():
        flash(_("People saved."), "success")
        return htmx.redirect_to(url_for("leads.show", number=lead.number))
    # The main contact shows in the summary too: it is swapped along, out of band.
    context = summary_context(lead, Choices())
    return htmx.fragment(
        render_template("leads/_people.html", **context)
        + render_template("leads/_summary.html", oob=True, **context)
    )


def render_people_form(lead, form, status=200):
    return htmx.render(
        "leads/people_edit.html",
        "leads/_people_form.html",
        status=status,
        lead=lead,
        form=form,
        active="leads",
    )
