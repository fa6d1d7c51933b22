"""A lead's timeline reads the same from `crm.leads.timeline.TimelineEntries` as from the macro
it replaced, and a call's facts from `formatting.call_facts` as from theirs: contacts with and
without author, body, call, edit and stage move, changes of stage, hostile text, both
languages."""

from datetime import timedelta

import pytest
from flask_login import login_user

from crm import funnel
from crm.extensions import db
from crm.formatting import call_facts
from crm.leads.queries import timeline_page
from crm.leads.timeline import TimelineEntries
from crm.lists import Choices
from crm.models import Role, utcnow
from tests import factories

# The macros the timeline was drawn with before.
MACROS = """
{% macro call_facts(call) -%}
<span class="call-facts">
  {{- _("Incoming call") if call.direction == "in" else _("Outgoing call") -}}
  {%- if call.duration_s is not none %} · <span class="call-duration">{{ "%d:%02d"|format(call.duration_s // 60, call.duration_s % 60) }}</span>{% endif -%}
  {%- if call.recording_url %} · <a href="{{ call.recording_url }}" rel="noreferrer noopener" target="_blank" class="call-recording">{{ _("Recording") }}</a>{% endif -%}
</span>
{%- endmacro %}
{%- macro timeline_item(item, lead) -%}
{% if item.activity %}
{% set activity = item.activity %}
<li class="item{% if item.moved_to %} stage-{{ item.moved_to.id }} moved{% endif %}" id="activity-{{ activity.id }}">
  <p class="item-meta">
    <strong>{{ activity.kind.name }}</strong>
    <time datetime="{{ activity.occurred_at.isoformat() }}Z">{{ activity.occurred_at|when }}</time>
    · {{ activity.author.name if activity.author else _("nobody") }}
    {% if activity.edited_at %}<span class="hint">({{ _("edited") }})</span>{% endif %}
  </p>
  {% if item.call %}<p class="item-call">{{ call_facts(item.call) }}{% if item.call.status == "to_write_up" %} <span class="tag">{{ _("To write up") }}</span>{% endif %}</p>{% endif %}
  {% if activity.body %}<div class="item-body">{{ activity.body }}</div>{% endif %}
  {% if item.moved_to %}
  <p class="item-move">{% if item.moved_from %}{{ stage_badge(item.moved_from) }} → {% endif %}{{ stage_badge(item.moved_to) }}</p>
  {% endif %}
  {% if item.changeable %}
  <div class="actions">
    <a href="{{ url_for('leads.edit_activity', number=lead.number, activity_id=activity.id) }}">{{ _("Edit") }}</a>
    <form method="post" action="{{ url_for('leads.delete_activity', number=lead.number, activity_id=activity.id) }}" class="inline"
          hx-post="{{ url_for('leads.delete_activity', number=lead.number, activity_id=activity.id) }}"
          hx-confirm="{{ _('Delete this entry? It stays in the history.') }}">
      <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
      <button type="submit" class="link">{{ _("Delete") }}</button>
    </form>
  </div>
  {% endif %}
</li>
{% else %}
<li class="item change{% if item.moved_to %} stage-{{ item.moved_to.id }} moved{% endif %}" id="stage-change-{{ item.id }}">
  <p class="item-meta">
    <strong>{{ _("Stage") if item.moved_from else _("Lead created") }}</strong>
    <time datetime="{{ item.at.isoformat() }}Z">{{ item.at|when }}</time>
    {% if item.changed_by %}· {{ item.changed_by }}{% endif %}
  </p>
  <p class="item-move">{% if item.moved_from %}{{ stage_badge(item.moved_from) }} → {% endif %}{{ stage_badge(item.moved_to) }}</p>
</li>
{% endif %}
{%- endmacro %}"""  # noqa: E501
TEMPLATE = MACROS.strip() + "{% for item in items %}{{ timeline_item(item, lead) }}{% endfor %}"
CALL_TEMPLATE = MACROS.strip() + "{{ call_facts(call) }}"

HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"


def a_busy_lead(owner, stages):
    """A lead with one entry of every kind its timeline tells apart."""
    lead = factories.lead(HOSTILE, owner=owner, stage=stages[0])
    start = utcnow() - timedelta(days=3)
    factories.activity(lead, owner, body=HOSTILE, occurred_at=start, stage=stages[1])
    called = factories.activity(lead, kind_code="call", body="", occurred_at=start + timedelta(1))
    call = factories.call_to_write_up(lead, called, owner)
    call.recording_url = "https://records.example/a?b=1&c=<2>"
    edited = factories.activity(lead, owner, body="line\nline", occurred_at=start + timedelta(2))
    edited.edited_at = utcnow()
    # Moved on the board: a change of stage without a contact, by a hostile name.
    mover = factories.user(HOSTILE, role=Role.MANAGER)
    funnel.move_lead(db.session.merge(lead), stages[2], mover)
    db.session.commit()
    return lead


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_entry_reads_as_the_macro_drew_it(app, admin, stages, language):
    admin.locale = language
    db.session.commit()
    lead = a_busy_lead(admin, stages)
    template = app.jinja_env.from_string(TEMPLATE)
    with app.test_request_context():
        login_user(admin)
        items, _more = timeline_page(lead, Choices().stage_by_id)
        # The author may still correct some of them.
        for item in items[::2]:
            item.changeable = item.activity is not None
        context = {"lead": lead, "items": items}
        app.update_template_context(context)
        expected = template.render(context)
        entry = TimelineEntries(lead)
        drawn = "".join(entry(item) for item in items)
    assert drawn == expected
    # What the comparison stands on: every kind of entry is there.
    for part in ("item change", "item-call", "call-recording", "item-move", "(", "actions"):
        assert part in drawn
    assert "&lt;script&gt;" in drawn and "<script>" not in drawn


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_call_reads_as_the_macro_drew_it(app, admin, stages, language):
    admin.locale = language
    db.session.commit()
    lead = factories.lead(owner=admin, stage=stages[0])
    call = factories.call_to_write_up(lead, factories.activity(lead, kind_code="call"), admin)
    template = app.jinja_env.from_string(CALL_TEMPLATE)
    with app.test_request_context():
        login_user(admin)
        for direction, duration, recording in [
            ("in", 83, None),
            ("out", None, HOSTILE),
            ("in", 0, "https://records.example/1"),
            ("out", 3600 * 3 + 5, ""),
        ]:
            call.direction, call.duration_s, call.recording_url = direction, duration, recording
            context = {"call": call}
            app.update_template_context(context)
            assert str(call_facts(call)) == template.render(context), (direction, duration)
