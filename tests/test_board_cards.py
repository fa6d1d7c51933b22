"""A board card reads the same from `crm.board.cards.Cards` as from the column template's markup
it replaced: movable or not, with or without value, owner, contact, fields and next step, stuck,
closed, hostile text, in both languages and with a currency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_login import login_user

from crm import app_settings, custom_fields
from crm.board.cards import Cards
from crm.board.queries import is_stuck
from crm.board.views import card_labels, card_paths
from crm.custom_fields import Option
from crm.extensions import db
from crm.leads.queries import last_contacts, leads_by_id
from crm.models import StageKind, utcnow
from tests import factories

# The cards as the column template drew them before, one after another.
TEMPLATE = """
{%- for lead in leads %}
    {%- set hint = hints.get(lead.last_activity_id) -%}
    {%- set stuck = is_stuck(lead, lead.stage, now) -%}
    {%- set movable = lead.id in movable_ids -%}
    {%- set move_url = paths['move'] ~ lead.id ~ "/move" -%}
    <li class="board-card{% if movable %} movable{% endif %}" id="card-{{ lead.id }}" data-lead="{{ lead.id }}"
        data-stage="{{ lead.stage_id }}"{% if movable %} data-move-url="{{ move_url }}"{% endif %}>
      <p class="card-title"><a href="{{ paths['lead'] ~ lead.number }}">#{{ lead.number }} {{ lead.title }}</a></p>
      {%- if movable %}
      <button type="button" class="card-move" title="{{ labels['move'] }}" hx-get="{{ move_url }}" hx-target="#move-dialog-body">
        <span class="visually-hidden">{{ labels['move'] }} #{{ lead.number }}</span>
      </button>
      {%- endif %}
      <p class="card-facts">
        {%- if lead.value is not none %}<span class="card-value">{{ lead.value|money }}{{ labels['currency'] }}</span>{% endif %}
        {%- if lead.owner %}<abbr class="card-owner" title="{{ lead.owner.name }}">{{ lead.owner.initials }}</abbr>{% endif %}
        {%- if stuck %}<span class="stuck-mark" title="{{ labels['stuck_why'] }}">{{ labels['stuck'] }}</span>{% endif %}
      </p>
      {%- for field in card_fields if lead.fields and lead.fields.get(field.key) is not none %}
      {%- if loop.first %}
      <p class="card-fields">
      {%- endif %}
        <span class="card-field"><span class="card-field-label">{{ field.label }}:</span> {{ field_value(field, lead.fields[field.key]) }}</span>
      {%- if loop.last %}
      </p>
      {%- endif %}
      {%- endfor %}
      <p class="card-hint">{{ compact_hint(hint, labels['no_contact']) }}</p>
      {% if lead.stage.is_open %}
      <p class="card-next">{{ next_step(lead, labels, with_id=False) }}</p>
      {% endif %}
    </li>
    {% endfor %}"""  # noqa: E501

HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"


def board_leads(viewer, stages):
    """Leads of every kind a card tells apart."""
    colleague = factories.user("Борис <b>Б.</b>")
    city = factories.field(
        "Город <i>", "choice", [Option("", "Москва", "#1D4ED8"), Option("", HOSTILE)], on_card=True
    )
    budget = factories.field("Budget", "money", on_card=True)
    factories.field("Hidden", "text")
    won = next(stage for stage in stages if stage.kind == StageKind.WON)
    long_ago = utcnow() - timedelta(days=400)
    leads = [
        factories.lead(
            HOSTILE, owner=viewer, stage=stages[0], value=Decimal("1234567.50"),
            next_step_at=utcnow() - timedelta(days=1), next_step_note=HOSTILE,
            fields={city.key: city.options[0].key, budget.key: "2500"},
        ),
        factories.lead("Без всего", owner=None, stage=stages[1], value=None),
        factories.lead(
            "Чужой", owner=colleague, stage=stages[1], next_step_at=utcnow() + timedelta(days=3),
            fields={city.key: city.options[1].key},
        ),
        factories.lead("Won", owner=viewer, stage=won, value=Decimal("10")),
    ]  # fmt: skip
    factories.activity(leads[0], viewer, kind_code="email", body=f"{HOSTILE}\nsecond line")
    factories.activity(leads[2], colleague, body="")
    # Long in its stage and without contact: stuck.
    stuck = factories.lead("Stuck", owner=viewer, stage=stages[1])
    stuck.stage_changed_at = stuck.created_at = long_ago
    db.session.commit()
    return [*leads, stuck]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_card_reads_as_the_template_drew_it(app, admin, stages, language):
    app_settings.store("currency", "₽" if language == "ru" else "")
    admin.locale = language
    db.session.commit()
    ids = [lead.id for lead in board_leads(admin, stages)]
    template = app.jinja_env.from_string(TEMPLATE)
    with app.test_request_context():
        login_user(admin)
        found = leads_by_id(ids, stages)
        leads = [found[lead_id] for lead_id in ids]
        context = {
            "leads": leads,
            "labels": card_labels(),
            "paths": card_paths(),
            "hints": last_contacts(leads),
            # The colleague's lead and the won one stay where they are.
            "movable_ids": {ids[0], ids[1], ids[4]},
            "card_fields": [
                f for f in custom_fields.fields_for(stages[0].pipeline_id) if f.on_card
            ],
            "now": utcnow(),
            "is_stuck": is_stuck,
        }
        app.update_template_context(context)
        expected = template.render(context)
        cards = Cards(
            context["labels"], context["paths"], context["hints"], context["movable_ids"],
            context["card_fields"], context["now"],
        )  # fmt: skip
        drawn = "".join(f"{cards(lead)}\n    " for lead in leads)
    assert drawn == expected
    # What the comparison stands on: each kind of card is there.
    assert "stuck-mark" in drawn and "card-fields" in drawn and "data-move-url" in drawn
    assert drawn.count("card-next") == 4 and "&lt;script&gt;" in drawn and "<script>" not in drawn
