"""A row of the lead list reads the same from `crm.leads.rows.Rows` as from the template's markup
it replaced: archived or not, with or without contact, owner, value, next step, last contact and
the team's fields, hostile text, in both languages and with a currency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_login import login_user

from crm import app_settings, funnel
from crm.custom_fields import Option
from crm.extensions import db
from crm.formatting import currency
from crm.leads.queries import last_contacts, leads_by_id
from crm.leads.rows import Rows
from crm.models import StageKind, utcnow
from tests import factories

# The rows as the list's template drew them before, one after another.
TEMPLATE = """
  {%- set step_labels = {"states": {"overdue": _("Overdue:"), "today": _("Today:")}, "no_next_step": _("None planned")} %}
  {%- set archived_label, never_contacted = _("Archived"), _("No contact yet") %}
  {%- set value_label = _("Value") ~ (" (" ~ currency_sign ~ ")" if currency_sign else "") %}
  {%- set lead_path = url_for("leads.show", number=0)[:-1] %}
  {%- for lead in leads %}
    {%- set lead_url = lead_path ~ lead.number %}
    {%- set hint = hints.get(lead.last_activity_id) -%}
    <tr id="lead-{{ lead.id }}"{% if lead.archived %} class="archived"{% endif %}>
      <td class="col-number"><a href="{{ lead_url }}">#{{ lead.number }}</a></td>
      <td class="col-title">
        <a href="{{ lead_url }}">{{ lead.title }}</a>
        {%- if lead.archived %} <span class="tag">{{ archived_label }}</span>{% endif %}
      </td>
      <td class="col-contact">
        {%- if lead.contact_name %}<span class="contact-name">{{ lead.contact_name }}</span>{% endif %}
        {%- if lead.phone %}<span class="contact-line">{{ lead.phone }}</span>{% endif %}
        {%- if lead.email %}<span class="contact-line">{{ lead.email }}</span>{% endif %}
      </td>
      <td class="col-stage">{{ stage_badge(lead.stage, lead.id) }}</td>
      <td class="col-owner">{{ lead.owner.name if lead.owner else "" }}</td>
      <td class="col-value" data-label="{{ value_label }}">{{ lead.value|money }}</td>
      <td class="col-next_step">
        {%- if lead.next_step_at or lead.stage.is_open %}{{ next_step(lead, step_labels, with_id=False, note_line=60) }}{% endif -%}
      </td>
      <td class="col-last_contact">
        {{- contact_hint(hint, never_contacted) -}}
      </td>
      {%- for field in columns %}
      <td class="col-field" data-field="{{ field.key }}" data-label="{{ field.label }}">{{ field_value(field, (lead.fields or {}).get(field.key), empty="") }}</td>
      {%- endfor %}
    </tr>
  {%- endfor %}"""  # noqa: E501

HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"


def listed_leads(owner, stages):
    """Leads of every kind a row tells apart."""
    city = factories.field("Город <i>", "choice", [Option("", "Москва", "#1D4ED8")], in_list=True)
    site = factories.field("Site", "link", in_list=True)
    lost = next(stage for stage in stages if stage.kind == StageKind.LOST)
    leads = [
        factories.lead(
            HOSTILE, owner=owner, stage=stages[0], value=Decimal("1234567.50"),
            contact_name=HOSTILE, phone="+7 912 345-67-89", email="a@example.com",
            next_step_at=utcnow() - timedelta(days=1), next_step_note=HOSTILE * 5,
            fields={city.key: city.options[0].key, site.key: "https://example.com/?a=1&b=2"},
        ),
        factories.lead("Без всего", owner=None, stage=stages[1], value=None),
        factories.lead("Lost", owner=owner, stage=lost, fields={site.key: "example.ru"}),
        factories.lead("Today", owner=owner, stage=stages[2], next_step_at=utcnow()),
    ]  # fmt: skip
    # Contacts that came in by themselves (an email, a call): the planned steps stay.
    factories.activity(leads[0], kind_code="email", body=f"{HOSTILE}\nsecond line")
    factories.activity(leads[3], body="")
    funnel.archive_lead(leads[2], owner)
    db.session.commit()
    return leads, [city, site]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_row_reads_as_the_template_drew_it(app, admin, stages, language):
    app_settings.store("currency", "₽" if language == "ru" else "")
    admin.locale = language
    db.session.commit()
    made, columns = listed_leads(admin, stages)
    ids = [lead.id for lead in made]
    template = app.jinja_env.from_string(TEMPLATE)
    with app.test_request_context():
        login_user(admin)
        found = leads_by_id(ids)
        leads = [found[lead_id] for lead_id in ids]
        hints = last_contacts(leads)
        context = {
            "leads": leads,
            "hints": hints,
            "columns": columns,
            "currency_sign": currency(),
        }
        app.update_template_context(context)
        expected = template.render(context)
        row = Rows(hints, columns, currency())
        drawn = "".join(row(lead) for lead in leads)
    assert drawn == expected
    # What the comparison stands on: each kind of row is there.
    assert 'class="archived"' in drawn and "next-step-overdue" in drawn
    assert "contact-hint-text" in drawn and "option-chip" in drawn
    assert "&lt;script&gt;" in drawn and "<script>" not in drawn
