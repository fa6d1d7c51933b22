"""A row of the agenda reads the same from `crm.agenda.rows.AgendaRows` as from the section
template's markup it replaced: with and without its owner named, a contact or none, a step or
none, hostile text and filters in the address, in both languages."""

from datetime import timedelta

import pytest
from flask_login import login_user

from crm import funnel
from crm.agenda.queries import Section
from crm.agenda.rows import AgendaRows
from crm.agenda.views import AgendaView, row_labels, row_paths
from crm.extensions import db
from crm.leads.queries import last_contacts, leads_by_id
from crm.models import utcnow
from tests import factories

# The rows as the section's template drew them before.
TEMPLATE = """{% for lead in section.leads %}
{%- set hint = hints.get(lead.last_activity_id) %}
{%- set row = section.key ~ "-" ~ lead.id %}
{%- set agenda_lead = row_paths['agenda_lead'] ~ lead.id %}
<li class="agenda-row" id="agenda-{{ row }}">
  <p class="agenda-lead">
    <a href="{{ row_paths['lead'] ~ lead.number }}">#{{ lead.number }} {{ lead.title }}</a>
    {{ stage_badge(lead.stage) }}
    {% if with_owner and lead.owner %}<span class="agenda-owner-name">{{ lead.owner.name }}</span>{% endif %}
    {#- The step has no id of its own: the out-of-band updates of the lead page do not come here. #}
    <span class="agenda-next">{{ next_step(lead, row_labels, with_id=False) }}</span>
  </p>
  <p class="agenda-hint">{{ compact_hint(hint, row_labels['no_contact']) }}</p>
  <div class="agenda-actions">
    <button type="button" class="agenda-log-button" data-log-slot="log-slot-{{ row }}"
            hx-get="{{ agenda_lead }}/log{{ row_paths['query'] }}" hx-target="#log-slot-{{ row }}">
      {{ row_labels['log'] }}<span class="visually-hidden"> #{{ lead.number }}</span>
    </button>
    <form class="agenda-reschedule" method="post" action="{{ agenda_lead }}/reschedule{{ row_paths['query'] }}"
          hx-post="{{ agenda_lead }}/reschedule{{ row_paths['query'] }}" hx-target="#agenda-sections" hx-swap="outerHTML">
      <input type="hidden" name="csrf_token" value="{{ row_paths['token'] }}">
      <span class="agenda-reschedule-label" id="move-{{ row }}">{{ row_labels['next_step_in'] }}</span>
      <span class="agenda-days" role="group" aria-labelledby="move-{{ row }}">
        {%- for days, label in row_labels['days'] %}
        <button type="submit" name="days" value="{{ days }}">{{ label }}</button>
        {%- endfor %}
      </span>
      {#- A picked date is the rarer move: it opens over the rows, so they stay one line high. #}
      <details class="agenda-pick-day">
        <summary>{{ row_labels['pick_day'] }}</summary>
        <div class="agenda-pick-day-body">
          <label for="date-{{ row }}">{{ row_labels['next_step_on'] }}</label>
          <input type="text" id="date-{{ row }}" name="date" class="agenda-typed-day" autocomplete="off" placeholder="{{ row_labels['typed_example'] }}">
          <button type="submit">{{ row_labels['set_date'] }}</button>
        </div>
      </details>
    </form>
  </div>
  <div class="agenda-log-slot" id="log-slot-{{ row }}"></div>
</li>
{% endfor %}"""  # noqa: E501

HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"


def agenda_leads(owner, stages):
    colleague = factories.user(HOSTILE)
    leads = [
        factories.lead(
            HOSTILE, owner=owner, stage=stages[0],
            next_step_at=utcnow() - timedelta(days=1), next_step_note=HOSTILE,
        ),
        factories.lead("Без шага", owner=colleague, stage=stages[1]),
        factories.lead("Nobody's", owner=None, stage=stages[2], next_step_at=utcnow()),
    ]  # fmt: skip
    # A call that came in by itself: the planned step stays.
    factories.activity(leads[0], kind_code="call", body=f"{HOSTILE}\nsecond line")
    funnel.reschedule(leads[2], owner, utcnow() + timedelta(days=2))
    db.session.commit()
    return leads


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("args", [{}, {"owner": "everyone", "f.x": "<b>&"}])
def test_every_row_reads_as_the_template_drew_it(app, admin, stages, language, args):
    admin.locale = language
    db.session.commit()
    ids = [lead.id for lead in agenda_leads(admin, stages)]
    template = app.jinja_env.from_string(TEMPLATE)
    with app.test_request_context(query_string=args):
        login_user(admin)
        view = AgendaView(args, admin)
        found = leads_by_id(ids)
        leads = [found[lead_id] for lead_id in ids]
        hints = last_contacts(leads)
        labels, paths = row_labels(), row_paths(view)
        with_owner = view.owner == "everyone"
        context = {
            "section": Section("overdue", len(leads), len(leads), leads, 0),
            "hints": hints,
            "row_labels": labels,
            "row_paths": paths,
            "with_owner": with_owner,
        }
        app.update_template_context(context)
        expected = template.render(context)
        row = AgendaRows(labels, paths, hints, with_owner)
        drawn = "".join(f"\n{row(lead, 'overdue')}\n" for lead in leads)
    assert drawn == expected
    # What the comparison stands on.
    assert "agenda-owner-name" in drawn if with_owner else "agenda-owner-name" not in drawn
    assert "next-step-overdue" in drawn and "&lt;script&gt;" in drawn and "<script>" not in drawn
