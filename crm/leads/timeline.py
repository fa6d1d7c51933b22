"""An entry of a lead's timeline, written in Python rather than as a template macro: the lead
page draws twenty, and each logged contact one, and Jinja's cost per expression came to more
than what an entry says (as with the board's cards and the list's rows)."""

from flask import url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from crm.formatting import call_facts, stage_badge, when


class TimelineEntries:
    """Draws the entries of `lead`'s timeline: a contact, or a change of stage made without one
    (the board, an import, creation). The words and the start of each entry's links are worked
    out once for the page."""

    def __init__(self, lead):
        self.edit_path = url_for("leads.edit_activity", number=lead.number, activity_id=0)[:-1]
        self.nobody, self.edited = escape(_("nobody")), escape(_("edited"))
        self.to_write_up = f' <span class="tag">{escape(_("To write up"))}</span>'
        self.stage, self.created = escape(_("Stage")), escape(_("Lead created"))
        # A contact its author may still correct: its Edit and Delete.
        self.edit, self.delete = escape(_("Edit")), escape(_("Delete"))
        self.confirm = escape(_("Delete this entry? It stays in the history."))
        self.token = escape(generate_csrf())

    def __call__(self, item):
        entry = self.contact(item) if item.activity else self.change(item)
        return Markup(entry)  # noqa: S704 (every value in it was escaped)

    def contact(self, item):
        activity = item.activity
        activity_id = int(activity.id)
        author = escape(activity.author.name) if activity.author else self.nobody
        edited = f'<span class="hint">({self.edited})</span>' if activity.edited_at else ""
        html = [
            f'\n\n<li class="item{moved_class(item)}" id="activity-{activity_id}">\n'
            f'  <p class="item-meta">\n    <strong>{escape(activity.kind.name)}</strong>\n'
            f"    {moment(activity.occurred_at)}\n    · {author}\n    {edited}\n  </p>\n  ",
        ]
        if item.call:
            waiting = self.to_write_up if item.call.status == "to_write_up" else ""
            html.append(f'<p class="item-call">{call_facts(item.call)}{waiting}</p>')
        html.append("\n  ")
        if activity.body:
            html.append(f'<div class="item-body">{escape(activity.body)}</div>')
        html.append("\n  ")
        if item.moved_to:
            html.append(f"\n  {moves(item)}\n  ")
        html.append("\n  ")
        if item.changeable:
            html.append(self.actions(activity_id))
        html.append("\n</li>\n")
        return "".join(html)

    def actions(self, activity_id):
        edit = escape(f"{self.edit_path}{activity_id}")
        delete = escape(f"{self.edit_path}{activity_id}/delete")
        return (
            f'\n  <div class="actions">\n    <a href="{edit}">{self.edit}</a>\n'
            f'    <form method="post" action="{delete}" class="inline"\n'
            f'          hx-post="{delete}"\n          hx-confirm="{self.confirm}">\n'
            f'      <input type="hidden" name="csrf_token" value="{self.token}">\n'
            f'      <button type="submit" class="link">{self.delete}</button>\n'
            "    </form>\n  </div>\n  "
        )

    def change(self, item):
        said = self.stage if item.moved_from else self.created
        by = f"· {escape(item.changed_by)}" if item.changed_by else ""
        return (
            f'\n<li class="item change{moved_class(item)}" id="stage-change-{int(item.id)}">\n'
            f'  <p class="item-meta">\n    <strong>{said}</strong>\n'
            f"    {moment(item.at)}\n    {by}\n  </p>\n  {moves(item)}\n</li>\n"
        )


def moved_class(item):
    return f" stage-{int(item.moved_to.id)} moved" if item.moved_to else ""


def moment(at):
    return f'<time datetime="{escape(at.isoformat())}Z">{escape(when(at))}</time>'


def moves(item):
    came_from = f"{stage_badge(item.moved_from)} → " if item.moved_from else ""
    return f'<p class="item-move">{came_from}{stage_badge(item.moved_to)}</p>'
