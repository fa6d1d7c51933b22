"""Finding the lead a row means, a chunk of rows at a time: by number, by a field of the team's
that names the client (ИНН), by email, by phone (its last ten digits) of anyone on the lead
or, for a contact, by title. One query per kind of key and chunk, so a file of 100,000 rows
costs a few hundred queries, not hundreds of thousands."""

import json

from sqlalchemy import literal_column, or_, select, table, text

from crm import custom_fields, search_index
from crm.extensions import db
from crm.funnel import phone_tail
from crm.leads.queries import PHONE_DIGITS_MIN
from crm.models import ContactPoint, Lead, Stage, StageKind

# Several leads answer to this title: the row must name its lead another way.
AMBIGUOUS = -2
REMEMBERED = 200_000


def casefolded(text_):
    return " ".join(text_.split()).casefold()


def tail_of(phone):
    if not phone:
        # Most rows of a contact log name no phone: spared the regular expression.
        return None
    tail = phone_tail(phone)
    return tail if tail and len(tail) >= PHONE_DIGITS_MIN else None


class LeadFinder:
    """The leads a chunk of rows names, looked up together; `get` then answers each row.

    With `remember`, what was looked up stays known for the rest of the file (an activities
    sheet names each lead again and again, and makes none), up to REMEMBERED keys; otherwise
    each chunk is looked up afresh, as the leads sheet makes leads as it goes.
    """

    def __init__(self, remember=False):
        self.dialect = db.session.get_bind().dialect.name
        self.remember = remember
        self.found = {}
        self.asked = set()

    def prepare(self, numbers=(), emails=(), phones=(), titles=(), identities=None):
        """Look up every key of the next chunk of rows not known yet. `identities`: the key of
        a field that names the client → {its value as text: as stored}."""
        if not self.remember or len(self.asked) > REMEMBERED:
            self.found, self.asked = {}, set()
        for key, values in (identities or {}).items():
            self.find_clients(key, values)
        keys = {
            "number": set(numbers),
            "email": set(emails),
            "phone": set(map(tail_of, phones)),
            "title": set(titles),
        }
        for kind, values in keys.items():
            values -= {None, ""}
            values -= {key for key in values if (kind, key) in self.asked}
            self.asked.update((kind, key) for key in values)
        numbers, emails, tails, titles = keys.values()
        if numbers:
            for lead_id, number in db.session.execute(
                select(Lead.id, Lead.number).where(Lead.number.in_(numbers))
            ):
                self.found["number", number] = lead_id
        # Anyone's phone or email on a lead, off the contact points' index; the oldest lead
        # that has one is the one meant, as before.
        for kind, values in (("email", emails), ("phone", tails)):
            if values:
                self.find_reached(kind, values)
        if titles:
            self.find_titles(titles)

    def find_reached(self, kind, values):
        rows = db.session.execute(
            select(ContactPoint.lead_id, ContactPoint.value)
            .join(Lead, Lead.id == ContactPoint.lead_id)
            .where(ContactPoint.kind == kind, ContactPoint.value.in_(values))
            .order_by(Lead.number)
        )
        for lead_id, value in rows:
            self.found.setdefault((kind, value), lead_id)

    def find_clients(self, key, values):
        """The lead each value of the identifying field `key` names: the client's open lead,
        else its newest (a client may have several over the years)."""
        kind = f"fields.{key}"
        values = {
            text_: value for text_, value in values.items() if (kind, text_) not in self.asked
        }
        if not values:
            return
        self.asked.update((kind, text_) for text_ in values)
        stored = custom_fields.stored(key, self.dialect)
        # PostgreSQL reads the value back as text; SQLite as the JSON value it is.
        wanted = list(values) if self.dialect == "postgresql" else list(values.values())
        rows = db.session.execute(
            select(Lead.id, stored.label("value"), Stage.kind, Lead.archived)
            .join(Stage, Stage.id == Lead.stage_id)
            .where(stored.in_(wanted))
            .order_by(Lead.created_at.desc(), Lead.id.desc())
        )
        best = {}
        for lead_id, value, stage_kind, archived in rows:
            text_ = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            is_open = stage_kind == StageKind.OPEN and not archived
            if text_ not in best or (is_open and not best[text_][1]):
                best[text_] = (lead_id, is_open)
        for text_, (lead_id, _open) in best.items():
            self.found[kind, text_] = lead_id

    def find_titles(self, titles):
        exact = {}
        for lead_id, title in db.session.execute(
            select(Lead.id, Lead.title).where(Lead.title.in_(titles))
        ):
            exact.setdefault(title, set()).add(lead_id)
        missing = {casefolded(t) for t in titles if t not in exact}
        folded = {}
        searchable = {t for t in missing if len(t) >= search_index.TRIGRAM}
        if searchable:
            # Written another way ("ACME" for "Acme"): the casefolded search line holds it.
            rows = db.session.execute(
                select(Lead.id, Lead.title).where(
                    self.holding("search_text", Lead.search_text, searchable)
                )
            )
            for lead_id, title in rows:
                key = casefolded(title)
                if key in missing:
                    folded.setdefault(key, set()).add(lead_id)
        for title in titles:
            ids = exact.get(title) or folded.get(casefolded(title)) or set()
            if ids:
                self.found["title", title] = next(iter(ids)) if len(ids) == 1 else AMBIGUOUS

    def holding(self, name, column, texts):
        """Leads whose `column` holds one of `texts`, through the trigram index."""
        if self.dialect == "sqlite":
            query = " OR ".join(f"{name} : {search_index.fts_phrase(t)}" for t in sorted(texts))
            matching = (
                select(literal_column("rowid"))
                .select_from(table(search_index.SQLITE_TABLE))
                .where(text(f"{search_index.SQLITE_TABLE} MATCH :query").bindparams(query=query))
            )
            return Lead.id.in_(matching)
        return or_(*(column.contains(t, autoescape=True) for t in texts))

    def get(self, kind, key):
        return self.found.get((kind, key)) if key is not None else None
