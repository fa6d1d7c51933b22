"""A row of the agenda, written in Python rather than in the section's template: a salesperson's
day lists a hundred or more, each with its log button and reschedule form, and Jinja's cost per
expression came to more than what a row says (as with the board's cards and the list's rows)."""

from markupsafe import Markup, escape

from crm.formatting import compact_hint, next_step, stage_badge


class AgendaRows:
    """Draws the rows of the agenda's sections. What every row says alike is escaped once
    here: `labels` and `paths` are the view's row_labels() and row_paths(), `hints` the last
    contacts by activity id; `with_owner` names each lead's owner (the whole team's agenda)."""

    def __init__(self, labels, paths, hints, with_owner):
        self.labels, self.hints, self.with_owner = labels, hints, with_owner
        self.said = {key: escape(value) for key, value in labels.items() if isinstance(value, str)}
        self.lead_path, self.agenda_lead = paths["lead"], paths["agenda_lead"]
        self.query, self.token = escape(paths["query"]), escape(paths["token"])
        self.days = "".join(
            f'\n        <button type="submit" name="days" value="{int(days)}">'
            f"{escape(label)}</button>"
            for days, label in labels["days"]
        )

    def __call__(self, lead, section_key):
        """One row, two lines: the lead, its stage and what is planned; then the last contact,
        and the actions (log a contact, move the next step by days or to a typed day)."""
        row = escape(f"{section_key}-{int(lead.id)}")
        number = int(lead.number)
        lead_url = escape(f"{self.lead_path}{number}")
        agenda_lead = escape(f"{self.agenda_lead}{int(lead.id)}")
        query, said = self.query, self.said
        owner = ""
        if self.with_owner and lead.owner:
            owner = f'<span class="agenda-owner-name">{escape(lead.owner.name)}</span>'
        hint = compact_hint(self.hints.get(lead.last_activity_id), self.labels["no_contact"])
        # The step has no id of its own: the out-of-band updates of the lead page do not come
        # here.
        step = next_step(lead, self.labels, with_id=False)
        return Markup(  # noqa: S704 (every value in it was escaped above)
            f'<li class="agenda-row" id="agenda-{row}">\n  <p class="agenda-lead">\n'
            f'    <a href="{lead_url}">#{number} {escape(lead.title)}</a>\n'
            f"    {stage_badge(lead.stage)}\n    {owner}\n"
            f'    <span class="agenda-next">{step}</span>\n  </p>\n'
            f'  <p class="agenda-hint">{escape(hint)}</p>\n  <div class="agenda-actions">\n'
            f'    <button type="button" class="agenda-log-button" data-log-slot="log-slot-{row}"\n'
            f'            hx-get="{agenda_lead}/log{query}" hx-target="#log-slot-{row}">\n'
            f'      {said["log"]}<span class="visually-hidden"> #{number}</span>\n    </button>\n'
            f'    <form class="agenda-reschedule" method="post"'
            f' action="{agenda_lead}/reschedule{query}"\n'
            f'          hx-post="{agenda_lead}/reschedule{query}" hx-target="#agenda-sections"'
            f' hx-swap="outerHTML">\n'
            f'      <input type="hidden" name="csrf_token" value="{self.token}">\n'
            f'      <span class="agenda-reschedule-label" id="move-{row}">'
            f"{said['next_step_in']}</span>\n"
            f'      <span class="agenda-days" role="group" aria-labelledby="move-{row}">'
            f"{self.days}\n      </span>\n"
            # A picked date is the rarer move: it opens over the rows, so they stay one line high.
            f'      <details class="agenda-pick-day">\n'
            f"        <summary>{said['pick_day']}</summary>\n"
            f'        <div class="agenda-pick-day-body">\n'
            f'          <label for="date-{row}">{said["next_step_on"]}</label>\n'
            f'          <input type="text" id="date-{row}" name="date" class="agenda-typed-day"'
            f' autocomplete="off" placeholder="{said["typed_example"]}">\n'
            f'          <button type="submit">{said["set_date"]}</button>\n'
            f"        </div>\n      </details>\n    </form>\n  </div>\n"
            f'  <div class="agenda-log-slot" id="log-slot-{row}"></div>\n</li>'
        )
