"""A board card, written in Python rather than in the column's template: a board draws up to
500 of them and every poll redraws the changed columns, and Jinja's cost per expression came to
more than what a card says (as with the stage badge and a field's value)."""

from markupsafe import Markup, escape

from crm.board.queries import is_stuck
from crm.field_display import field_value
from crm.formatting import compact_hint, money, next_step


class Cards:
    """Draws the cards of one board. What every card says alike (its words, the start of its
    links) is escaped once here; `labels` and `paths` are the view's card_labels() and
    card_paths(), `hints` the last contacts by activity id, `movable_ids` the leads the viewer
    may move, `card_fields` the team's fields shown on cards."""

    def __init__(self, labels, paths, hints, movable_ids, card_fields, now):
        self.labels = labels
        self.move = escape(labels["move"])
        self.currency = escape(labels["currency"])
        self.stuck = (
            f'<span class="stuck-mark" title="{escape(labels["stuck_why"])}">'
            f"{escape(labels['stuck'])}</span>"
        )
        self.lead_path, self.move_path = paths["lead"], paths["move"]
        self.hints, self.movable_ids = hints, movable_ids
        self.card_fields, self.now = card_fields, now

    def __call__(self, lead):
        """One card: who, how much, the last contact, what is next, and whether it is stuck.
        A card its viewer may not move (a colleague's) has no Move and is not draggable."""
        lead_id, number = int(lead.id), int(lead.number)
        movable = lead_id in self.movable_ids
        move_url = escape(f"{self.move_path}{lead_id}/move")
        html = [
            f'<li class="board-card{" movable" if movable else ""}" id="card-{lead_id}"'
            f' data-lead="{lead_id}"\n        data-stage="{int(lead.stage_id)}"',
            f' data-move-url="{move_url}">' if movable else ">",
            f'\n      <p class="card-title"><a href="{escape(f"{self.lead_path}{number}")}">'
            f"#{number} {escape(lead.title)}</a></p>",
        ]
        if movable:
            # A small button in the card's corner: two arrows to see, "Move #42" to hear.
            html.append(
                f'\n      <button type="button" class="card-move" title="{self.move}"'
                f' hx-get="{move_url}" hx-target="#move-dialog-body">\n        <span'
                f' class="visually-hidden">{self.move} #{number}</span>\n      </button>'
            )
        html.append(self.facts(lead))
        html.append(self.fields(lead))
        hint = compact_hint(self.hints.get(lead.last_activity_id), self.labels["no_contact"])
        html.append(f'\n      <p class="card-hint">{escape(hint)}</p>\n      ')
        if lead.stage.is_open:
            step = next_step(lead, self.labels, with_id=False)
            html.append(f'\n      <p class="card-next">{step}</p>\n      ')
        html.append("\n    </li>")
        return Markup("".join(html))  # noqa: S704 (every value in it was escaped above)

    def facts(self, lead):
        html = ['\n      <p class="card-facts">']
        if lead.value is not None:
            value = escape(money(lead.value))
            html.append(f'<span class="card-value">{value}{self.currency}</span>')
        if lead.owner:
            owner = lead.owner
            html.append(
                f'<abbr class="card-owner" title="{escape(owner.name)}">'
                f"{escape(owner.initials)}</abbr>"
            )
        if is_stuck(lead, lead.stage, self.now):
            html.append(self.stuck)
        html.append("\n      </p>")
        return "".join(html)

    def fields(self, lead):
        """The team's fields marked for cards that the lead has, each with its name."""
        values = lead.fields
        if not values:
            return ""
        shown = [
            f'\n        <span class="card-field"><span class="card-field-label">'
            f"{escape(field.label)}:</span> {field_value(field, values[field.key])}</span>"
            for field in self.card_fields
            if values.get(field.key) is not None
        ]
        if not shown:
            return ""
        return '\n      <p class="card-fields">' + "".join(shown) + "\n      </p>"
