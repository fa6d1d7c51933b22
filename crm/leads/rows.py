"""A row of the lead list, written in Python rather than in the list's template: the list and
every search as you type draw fifty, and Jinja's cost per expression came to more than what a
row says (as with the board's cards)."""

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from crm.field_display import field_value
from crm.formatting import contact_hint, money, next_step, stage_badge


class Rows:
    """Draws the rows of one page of the list. What every row says alike is worked out once:
    `hints` are the last contacts by activity id, `fields` the team's fields shown as columns,
    `currency_sign` the currency the value column is in."""

    def __init__(self, hints, fields, currency_sign):
        self.hints, self.fields = hints, fields
        self.step_labels = {
            "states": {"overdue": _("Overdue:"), "today": _("Today:")},
            "no_next_step": _("None planned"),
        }
        self.archived = f' <span class="tag">{escape(_("Archived"))}</span>'
        self.never_contacted = _("No contact yet")
        # The value column's heading; on a phone, where rows are cards, each amount says it.
        self.value_label = _("Value") + (f" ({currency_sign})" if currency_sign else "")
        self.escaped_value_label = escape(self.value_label)
        # A lead's address is this and its number: url_for per row costs more than the row.
        self.lead_path = url_for("leads.show", number=0)[:-1]

    def __call__(self, lead):
        lead_id = int(lead.id)
        url = escape(f"{self.lead_path}{int(lead.number)}")
        archived = ' class="archived"' if lead.archived else ""
        html = [
            f'<tr id="lead-{lead_id}"{archived}>\n'
            f'      <td class="col-number"><a href="{url}">#{int(lead.number)}</a></td>\n'
            f'      <td class="col-title">\n        <a href="{url}">{escape(lead.title)}</a>',
            self.archived if lead.archived else "",
            '\n      </td>\n      <td class="col-contact">',
            self.contact(lead),
            f'\n      </td>\n      <td class="col-stage">{stage_badge(lead.stage, lead.id)}</td>'
            f'\n      <td class="col-owner">{escape(lead.owner.name if lead.owner else "")}</td>'
            f'\n      <td class="col-value" data-label="{self.escaped_value_label}">'
            f"{escape(money(lead.value))}</td>",
            '\n      <td class="col-next_step">',
        ]
        if lead.next_step_at or lead.stage.is_open:
            html.append(next_step(lead, self.step_labels, with_id=False, note_line=60))
        hint = contact_hint(self.hints.get(lead.last_activity_id), self.never_contacted)
        html.append(f'</td>\n      <td class="col-last_contact">{hint}</td>')
        values = lead.fields or {}
        for field in self.fields:
            html.append(
                f'\n      <td class="col-field" data-field="{escape(field.key)}"'
                f' data-label="{escape(field.label)}">'
                f"{field_value(field, values.get(field.key), empty='')}</td>"
            )
        html.append("\n    </tr>")
        return Markup("".join(html))  # noqa: S704 (every value in it was escaped above)

    @staticmethod
    def contact(lead):
        html = []
        if lead.contact_name:
            html.append(f'<span class="contact-name">{escape(lead.contact_name)}</span>')
        if lead.phone:
            html.append(f'<span class="contact-line">{escape(lead.phone)}</span>')
        if lead.email:
            html.append(f'<span class="contact-line">{escape(lead.email)}</span>')
        return "".join(html)
