"""Reads for the lead register and the lead page: the list a page at a time, last-contact
hints, duplicates, and a lead's timeline a page at a time.

The list pages by keyset (the last row's sort key and id), so page 2,000 costs what page 1 does,
and counts at most COUNT_CAP rows, so no keystroke of the search counts the whole table.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, case, false, func, null, or_, select, true
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from crm import clients, custom_fields, search_index
from crm.access import scope_condition
from crm.args import MAX_ID
from crm.database import one_of
from crm.extensions import db
from crm.funnel import PHONE_TAIL, VALUE_MAX, phone_digits, phone_tail
from crm.models import (
    Activity,
    ActivityKind,
    Call,
    FieldType,
    Lead,
    Stage,
    StageChange,
    StageKind,
    User,
)

PAGE_SIZE = 50
# "More than 1,000 leads" is as precise as a list needs; counting further costs a whole scan.
COUNT_CAP = 1000


def parse_amount(text):
    value = Decimal(text)
    # Anything beyond the largest value a lead can hold is a hand-made URL.
    if not value.is_finite() or abs(value) > VALUE_MAX:
        raise ValueError(text)
    return value


@dataclass(frozen=True)
class SortColumn:
    """A column the list sorts by: what to order on, and how its cursor key reads back."""

    # A column, or a function that builds the expression when a query needs it.
    expression: object
    parse: object = str
    nullable: bool = True
    # A unique key needs no id to break ties.
    unique: bool = False
    descending_first: bool = False

    def column(self):
        return self.expression() if callable(self.expression) else self.expression


def stage_position():
    """The stage's place in the funnel, as a CASE over the few stages.

    Joining the stages instead lets SQLite walk the leads in stage order, scattered on disk,
    and a subquery per row is slow on PostgreSQL: at 100,000 leads this is three times quicker.
    """
    positions = dict(db.session.execute(select(Stage.id, Stage.position)).all())
    return case(positions, value=Lead.stage_id) if positions else null()


def owner_name():
    """The owner's name, the same way (an account is a row in a small table)."""
    names = dict(db.session.execute(select(User.id, User.name)).all())
    return case(names, value=Lead.owner_id) if names else null()


class Sorts(dict):
    """The columns the list sorts by, by name: the fixed ones, and "f.<key>" for each field of
    the team's own marked filterable, made when asked for (the team changes its fields while
    the app runs). The list, its export and the API all look a sort up here."""

    def __missing__(self, name):
        column = field_sort(name)
        if column is None:
            raise KeyError(name)
        return column

    def __contains__(self, name):
        return super().__contains__(name) or field_sort(name) is not None


SORTS = Sorts(
    {
        "number": SortColumn(Lead.number, int, nullable=False, unique=True, descending_first=True),
        "title": SortColumn(Lead.title, nullable=False),
        "contact": SortColumn(Lead.contact_name),
        "stage": SortColumn(stage_position, int, nullable=False),
        "owner": SortColumn(owner_name),
        "value": SortColumn(Lead.value, parse_amount, descending_first=True),
        "next_step": SortColumn(Lead.next_step_at, datetime.fromisoformat),
        "last_contact": SortColumn(
            Lead.last_activity_at, datetime.fromisoformat, descending_first=True
        ),
    }
)
DEFAULT_SORT = "number"
FIELD_SORT = "f."


def field_sort(name):
    """The sort column of the field `name` names ("f.gorod"), or None when it names no field
    a person may sort by."""
    if not isinstance(name, str) or not name.startswith(FIELD_SORT):
        return None
    field = custom_fields.by_key().get(name.removeprefix(FIELD_SORT))
    if field is None or field.removed or not field.filterable:
        return None
    return FIELD_SORTS.get(field.type, lambda _field: None)(field)


def parse_field_date(text):
    return date.fromisoformat(text).isoformat()


def parse_field_number(text):
    value = Decimal(text)
    # Beyond what a field holds is a hand-made URL.
    if not value.is_finite() or abs(value) >= custom_fields.NUMBER_MAX:
        raise ValueError(text)
    return value


def option_sort(field):
    """A choice sorts in the order of its options, as a stage does in the funnel's."""
    return in_option_order(field, custom_fields.stored(field.key))


def options_sort(field):
    """Several choices sort by the earliest option held: those with the first option first."""
    return in_option_order(field, custom_fields.first_held(field.key))


def in_option_order(field, held):
    order = {option.key: position for position, option in enumerate(field.options)}
    return SortColumn(lambda: case(order, value=held) if order else null(), int)


def yes_no_sort(field):
    """No before yes, the same on both databases (they write JSON's booleans differently)."""
    answer = case(
        (custom_fields.equals_any(field, [True]), 1),
        (custom_fields.equals_any(field, [False]), 0),
    )
    return SortColumn(lambda: answer, int)


def number_sort(field):
    return SortColumn(
        lambda: custom_fields.stored_number(field.key), parse_field_number, descending_first=True
    )


def date_sort(field):
    return SortColumn(
        lambda: custom_fields.stored(field.key), parse_field_date, descending_first=True
    )


def text_sort(field):
    return SortColumn(lambda: custom_fields.stored(field.key))


FIELD_SORTS = {
    FieldType.CHOICE: option_sort,
    FieldType.CHOICES: options_sort,
    FieldType.YES_NO: yes_no_sort,
    FieldType.NUMBER: number_sort,
    FieldType.MONEY: number_sort,
    FieldType.DATE: date_sort,
    FieldType.TEXT: text_sort,
    FieldType.LONG_TEXT: text_sort,
    FieldType.LINK: text_sort,
    FieldType.PHONE: text_sort,
    FieldType.EMAIL: text_sort,
}


@dataclass(frozen=True)
class LeadFilters:
    """What the list shows: plain values, already checked by the view."""

    search: str = ""
    stage_ids: tuple = ()
    owner_id: int | None = None
    unassigned: bool = False
    # Next step before this moment (the start of the user's today, in UTC).
    overdue_before: datetime | None = None
    no_next_step: bool = False
    include_archived: bool = False
    # Set for a salesperson who may not see colleagues' leads: see crm.access.
    # What the viewer may see: an access.Scope, or None for every lead.
    restricted_to: object = None
    # On the team's own fields: crm.field_filters.FieldFilter values.
    fields: tuple = ()
    # Only the leads in this pipeline now.
    pipeline_id: int | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just after the row with this sort key and id."""

    key: object
    id: int

    def params(self):
        """The cursor as URL parameters; a missing `key` means the key was empty (NULL)."""
        params = {"after": self.id}
        if self.key is not None:
            params["key"] = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        return params


def read_cursor(sort, after, key):
    """The cursor in a URL, or None when it is missing or does not parse."""
    try:
        row_id = int(after)
        value = None if key is None else SORTS[sort].parse(key)
    except (TypeError, ValueError, InvalidOperation, KeyError):
        return None
    if not 0 < row_id <= MAX_ID:
        return None
    if value is None and not SORTS[sort].nullable:
        return None
    if isinstance(value, int) and abs(value) > MAX_ID:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return None
    return Cursor(value, row_id)


def search_condition(term):
    """Leads whose number, title, contact, email or phone match what was typed.

    Every word must appear in the lead's search line (kept casefolded by the funnel service,
    so Cyrillic matches in any case on SQLite too); a term with three or more digits also matches
    the phone on its last ten digits, and "#123" or "123" the number itself.
    """
    term = term.strip()
    if not term:
        return true()
    dialect = db.session.get_bind().dialect.name
    words = term.casefold().split()
    alternatives = [holds_every_word(dialect, Lead.search_text, "search_text", words)]
    digits = phone_digits(term)
    if digits and len(digits) >= 3:
        # The main contact's phone, and everyone's, whose digits are in the search line.
        typed_digits = [phone_tail(digits)]
        alternatives.append(
            holds_every_word(dialect, Lead.phone_digits, "phone_digits", typed_digits)
        )
        alternatives.append(
            holds_every_word(dialect, Lead.search_text, "search_text", typed_digits)
        )
    if digits and len(digits) >= PHONE_TAIL:
        # A whole number finds the lead by anyone's phone, not only its main contact's (through
        # the index: part of a number is looked for in the main contact's phone alone).
        alternatives.append(clients.reached_at("phone", phone_tail(digits)))
    number = term.removeprefix("#").strip()
    if number.isdecimal() and number.isascii() and 0 < int(number) <= MAX_ID:
        alternatives.append(Lead.number == int(number))
    return or_(*alternatives)


def holds_every_word(dialect, column, name, words):
    """Every word somewhere in `column`: through the trigram index where it helps, with LIKE
    for what it cannot check (and on PostgreSQL, where LIKE itself uses the index)."""
    likes = [column.contains(word, autoescape=True) for word in words]
    indexed = search_index.contains_all(dialect, Lead.id, name, words)
    if indexed is None:
        return and_(*likes)
    too_short = [len(word) < search_index.TRIGRAM for word in words]
    short = [like for like, unchecked in zip(likes, too_short, strict=True) if unchecked]
    return and_(indexed, *short)


def matching_ids(filters):
    """The ids of every lead the filters match, all pages."""
    return db.session.scalars(
        select(Lead.id).where(*filter_conditions(filters)).order_by(Lead.id)
    ).all()


def filter_conditions(filters, found_ids=None):
    """The filters as conditions; given `found_ids` (the search's few matches as a JSON list,
    see `few_found_ids`), the search is that list."""
    if found_ids is None:
        found = search_condition(filters.search)
    else:
        # One parameter, not a thousand for SQLAlchemy to expand into the statement.
        found = Lead.id.in_(select(func.json_each(found_ids).table_valued("value").c.value))
    conditions = [found, *scope_condition(filters.restricted_to)]
    if not filters.include_archived:
        not_archived = Lead.archived == false()
        # Most leads are not archived: said so, SQLite looks the few found up by id instead of
        # walking the index on (archived, number) past every lead.
        conditions.append(not_archived if found_ids is None else func.likely(not_archived))
    if filters.stage_ids:
        conditions.append(Lead.stage_id.in_(filters.stage_ids))
    if filters.pipeline_id is not None:
        in_pipeline = select(Stage.id).where(Stage.pipeline_id == filters.pipeline_id)
        conditions.append(Lead.stage_id.in_(in_pipeline))
    if filters.unassigned:
        conditions.append(Lead.owner_id.is_(None))
    elif filters.owner_id is not None:
        conditions.append(Lead.owner_id == filters.owner_id)
    if filters.overdue_before is not None:
        conditions.append(Lead.next_step_at < filters.overdue_before)
    if filters.no_next_step:
        open_stages = select(Stage.id).where(Stage.kind == StageKind.OPEN)
        conditions.append(and_(Lead.next_step_at.is_(None), Lead.stage_id.in_(open_stages)))
    conditions.extend(field_filter.condition() for field_filter in filters.fields)
    return conditions


def after_condition(sort, column, descending, cursor):
    """Rows that come after the cursor in the list's order (NULL keys last either way)."""
    if cursor is None:
        return true()
    tie = Lead.id < cursor.id if descending else Lead.id > cursor.id
    if cursor.key is None:
        return and_(column.is_(None), tie)
    beyond = column < cursor.key if descending else column > cursor.key
    if SORTS[sort].unique:
        return beyond
    after = or_(beyond, and_(column == cursor.key, tie))
    return or_(after, column.is_(None)) if SORTS[sort].nullable else after


def order_by(sort, column, descending, id_column=Lead.id):
    ordered = column.desc() if descending else column.asc()
    if SORTS[sort].nullable:
        ordered = ordered.nulls_last()
    if SORTS[sort].unique:
        return [ordered]
    return [ordered, id_column.desc() if descending else id_column.asc()]


@dataclass(frozen=True)
class LeadPage:
    leads: list
    # Where the next page starts; None on the last page.
    next_cursor: Cursor | None
    # On the first page, how many leads match, counted no further than COUNT_CAP + 1.
    count: int | None


def lead_page(filters, sort=DEFAULT_SORT, descending=None, cursor=None, size=None):
    """One page of the list, the cursor of the next page, and on the first page the count.

    The page is found on the leads table alone (ids and sort keys), then its rows are loaded
    with their stage and owner: sorting narrow rows is what keeps a sort over 100,000 quick.
    The first page reads on to COUNT_CAP + 1 ids, so the same scan counts the matches: a search
    that finds little reads the table once, not twice. The database counts them and hands back
    the page's rows alone, not a thousand for Python to count.
    """
    size = size or PAGE_SIZE
    if descending is None:
        descending = SORTS[sort].descending_first
    column = SORTS[sort].column()
    conditions = filter_conditions(filters, few_found_ids(filters.search))
    found = (
        select(Lead.id, column.label("sort_key"))
        .where(*conditions, after_condition(sort, column, descending, cursor))
        .order_by(*order_by(sort, column, descending))
    )
    if cursor:
        rows, count = db.session.execute(found.limit(size + 1)).all(), None
    else:
        first = found.limit(max(size, COUNT_CAP) + 1)
        rows, count = first_rows_and_count(first, sort, descending, size)
    page = rows[:size]
    leads = leads_by_id([row.id for row in page])
    return LeadPage(
        leads=[leads[row.id] for row in page if row.id in leads],
        next_cursor=Cursor(page[-1].sort_key, page[-1].id) if len(rows) > size else None,
        count=count,
    )


def first_rows_and_count(found, sort, descending, size):
    """The first size + 1 of the (id, sort_key) rows `found` selects, in the list's order, and
    how many it selects, in one statement."""
    matches = found.cte("matches")
    count = select(func.count()).select_from(matches).scalar_subquery()
    rows = db.session.execute(
        select(matches.c.id, matches.c.sort_key, count.label("count"))
        .order_by(*order_by(sort, matches.c.sort_key, descending, matches.c.id))
        .limit(size + 1)
    ).all()
    return rows, rows[0].count if rows else 0


def few_found_ids(term):
    """On SQLite, the ids of every lead a search finds, as a JSON list, when they are COUNT_CAP or
    fewer; None when they are more, when nothing is searched, on PostgreSQL, or when no word is
    long enough for the trigram index.

    SQLite keeps no statistics, so to show a search in the list's order it walks the list's
    index and checks every lead against the index's matches: 100,000 leads read to show the 9
    whose phone matches. The few matches are read first, by the index alone, and the page sorted
    from them. Many matches (three letters typed so far) stay with the walk, which soon finds a
    page of them.
    """
    if not search_index.finds_by_index(db.session.get_bind().dialect.name, term.split()):
        return None
    found = select(Lead.id).where(search_condition(term)).limit(COUNT_CAP + 1).subquery()
    count, ids = db.session.execute(
        select(func.count(), func.json_group_array(found.c.id)).select_from(found)
    ).one()
    return ids if count <= COUNT_CAP else None


def leads_by_id(ids, stages=None):
    """Leads with their stage and owner, in one query (the badge and the owner need no more).
    Given the `stages` the caller holds, a lead's stage is set from them instead of being read
    again with every lead (or looked up in the session when first used: on a board of 175
    cards that lookup cost more than reading the leads)."""
    if not ids:
        return {}
    with_stage = [] if stages else [joinedload(Lead.stage)]
    statement = (
        select(Lead).options(*with_stage, joinedload(Lead.owner)).where(one_of(Lead.id, ids))
    )
    leads = {lead.id: lead for lead in db.session.scalars(statement)}
    if stages:
        held = {stage.id: stage for stage in stages}
        for lead in leads.values():
            if lead.stage_id in held:
                set_committed_value(lead, "stage", held[lead.stage_id])
    return leads


@dataclass(frozen=True)
class ContactHint:
    """The last contact with a lead, as the list hints at it."""

    kind: str
    occurred_at: datetime
    body: str


# The first line is all a hint shows: no need to fetch an 8,000-character note whole.
HINT_CHARS = 300


def last_contacts(leads):
    """The newest activity of each lead, in one query by the leads' cached `last_activity_id`."""
    ids = {lead.last_activity_id for lead in leads if lead.last_activity_id}
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            Activity.id,
            ActivityKind.name,
            Activity.occurred_at,
            func.substr(Activity.body, 1, HINT_CHARS),
        )
        .join(ActivityKind, ActivityKind.id == Activity.kind_id)
        .where(one_of(Activity.id, sorted(ids)))
    ).all()
    return {row[0]: ContactHint(row[1], row[2], row[3] or "") for row in rows}


# Duplicates

# Legal forms say nothing about who the client is: "ООО Ромашка" and "Ромашка" are one client.
COMPANY_FORMS = frozenset(
    [
        *("ооо", "оао", "зао", "пао", "ао", "нао", "ип", "чп", "тоо", "одо", "нко", "гк", "ук"),
        *("llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company"),
        *("gmbh", "plc", "llp", "lp", "ag", "sa", "bv"),
    ]
)
# Looking at more candidates than this for one new lead would not make a hint more useful.
CANDIDATES = 500
DUPLICATES_SHOWN = 10
# Fewer digits than this match too many phones by chance.
PHONE_DIGITS_MIN = 5


def title_words(title):
    """A title as comparable words: casefolded, without punctuation or legal forms."""
    words = re.sub(r"[\W_]+", " ", (title or "").casefold()).split()
    return [word for word in words if word not in COMPANY_FORMS]


def contains_words(longer, shorter):
    size = len(shorter)
    return any(longer[i : i + size] == shorter for i in range(len(longer) - size + 1))


def similar_titles(first, second):
    """Alike once normalised: equal, or one holds the other as whole words."""
    a, b = title_words(first), title_words(second)
    if not a or not b:
        return False
    shorter, longer = sorted((a, b), key=len)
    return contains_words(longer, shorter)


@dataclass(frozen=True)
class Duplicate:
    lead: Lead
    same_email: bool
    same_phone: bool
    similar_title: bool
    # A colleague's lead the user may not open: named by number and owner only.
    hidden: bool = False
    # The identifying fields (ИНН ...) whose value it shares: the same client's lead.
    same_fields: tuple = ()

    @property
    def same_client(self):
        return self.same_email or self.same_phone or bool(self.same_fields)


def possible_duplicates(title, email=None, phone=None, fields=None, limit=DUPLICATES_SHOWN):
    """Leads, archived ones too, that may be the one about to be created: same email, same
    phone (on its last ten digits), the same value of a field that identifies the client
    (`fields`: the new lead's stored values), or a title alike once legal forms and
    punctuation are gone. The client's own leads come first, the open ones before the rest."""
    email = (email or "").strip().lower() or None
    tail = phone_tail(phone)
    if tail and len(tail) < PHONE_DIGITS_MIN:
        tail = None
    words = title_words(title)
    identity = clients.identity(fields)

    contact_matches = []
    if email:
        contact_matches.append(clients.reached_at("email", email))
    if tail:
        contact_matches.append(clients.reached_at("phone", tail))
    if identity:
        contact_matches.append(clients.sharing_any(identity))
    found = {}
    if contact_matches:
        found.update(
            (lead.id, lead)
            for lead in db.session.scalars(
                select(Lead)
                .options(joinedload(Lead.stage), joinedload(Lead.owner))
                .where(or_(*contact_matches))
                .order_by(Lead.id.desc())
                .limit(limit)
            )
        )
    if words:
        # Any lead whose title is alike holds at least one of the new title's words.
        candidates = db.session.scalars(
            select(Lead)
            .options(joinedload(Lead.stage), joinedload(Lead.owner))
            .where(or_(*(Lead.search_text.contains(word, autoescape=True) for word in words[:8])))
            .order_by(Lead.id.desc())
            .limit(CANDIDATES)
        )
        found.update((lead.id, lead) for lead in candidates if similar_titles(title, lead.title))

    # Anyone on the lead counts, not only its main contact.
    reach = clients.reach_of(found) if email or tail else {}
    duplicates = [
        Duplicate(
            lead,
            same_email=bool(email) and clients.reaches(reach.get(lead.id, ()), "email", email),
            same_phone=bool(tail) and clients.reaches(reach.get(lead.id, ()), "phone", tail),
            similar_title=similar_titles(title, lead.title),
            same_fields=tuple(clients.shared_fields(identity, lead.fields)),
        )
        for lead in found.values()
    ]
    duplicates.sort(
        key=lambda d: (
            not d.same_client,
            d.lead.stage.kind != StageKind.OPEN,
            not d.same_email,
            not d.same_phone,
            -d.lead.number,
        )
    )
    return duplicates[:limit]


# The client's other leads

CLIENT_LEADS_SHOWN = 20


@dataclass(frozen=True)
class ClientLead:
    """Another lead of the same client, and the identifying fields it shares with this one."""

    lead: Lead
    same_fields: tuple
    # A colleague's lead the user may not open: named by number and owner only.
    hidden: bool = False


def client_leads(lead, limit=CLIENT_LEADS_SHOWN):
    """The other leads, archived ones too, that share a value of a field identifying the client
    with `lead`: the open ones first, then the newest; and whether there are more than
    `limit`. One query, with their stage, owner and lost reason."""
    identity = clients.identity(lead.fields)
    if not identity:
        return [], False
    found = db.session.scalars(
        select(Lead)
        .join(Lead.stage)
        .options(contains_eager(Lead.stage), joinedload(Lead.owner), joinedload(Lead.lost_reason))
        .where(clients.sharing_any(identity), Lead.id != lead.id)
        .order_by(case((Stage.kind == StageKind.OPEN, 0), else_=1), Lead.number.desc())
        .limit(limit + 1)
    ).all()
    shown = [
        ClientLead(other, tuple(clients.shared_fields(identity, other.fields)))
        for other in found[:limit]
    ]
    return shown, len(found) > limit


# A lead's timeline

TIMELINE_PAGE = 20
# Within one moment, an activity is shown above the stage changes of the same moment.
ACTIVITY_RANK, CHANGE_RANK = 1, 0


@dataclass
class TimelineItem:
    """An activity, or a stage change made without one (the board, an import, creation)."""

    at: datetime
    rank: int
    id: int
    activity: Activity | None = None
    change: StageChange | None = None
    moved_from: Stage | None = None
    moved_to: Stage | None = None
    changed_by: str | None = None
    # Whether the reader may still correct this activity (set by the page, not the query).
    changeable: bool = False
    # The phone system's call the activity came from, if it did.
    call: Call | None = None

    @property
    def cursor(self):
        return f"{self.at.isoformat()}~{self.rank}~{self.id}"


def before_clause(time_column, id_column, rank, before):
    """Rows that come after the cursor in newest-first order of (time, rank, id)."""
    if before is None:
        return True
    at, cursor_rank, cursor_id = before
    if rank < cursor_rank:
        return time_column <= at
    if rank > cursor_rank:
        return time_column < at
    return or_(time_column < at, and_(time_column == at, id_column < cursor_id))


def timeline_page(lead, stage_by_id, before=None, limit=TIMELINE_PAGE):
    """One page of the timeline, newest first, and the cursor for the next (or None)."""
    activities = db.session.execute(
        select(Activity, StageChange.from_stage_id, Call)
        .options(joinedload(Activity.author), joinedload(Activity.kind))
        .outerjoin(StageChange, StageChange.activity_id == Activity.id)
        .outerjoin(Call, Call.activity_id == Activity.id)
        .where(
            Activity.lead_id == lead.id,
            Activity.deleted_at.is_(None),
            before_clause(Activity.occurred_at, Activity.id, ACTIVITY_RANK, before),
        )
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit + 1)
    ).all()
    changes = db.session.execute(
        select(StageChange, User.name)
        .outerjoin(User, User.id == StageChange.changed_by_id)
        .outerjoin(Activity, Activity.id == StageChange.activity_id)
        .where(
            StageChange.lead_id == lead.id,
            # Shown on its own unless its activity shows it (a deleted one does not).
            or_(StageChange.activity_id.is_(None), Activity.deleted_at.isnot(None)),
            before_clause(StageChange.changed_at, StageChange.id, CHANGE_RANK, before),
        )
        .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
        .limit(limit + 1)
    ).all()
    items = [
        TimelineItem(
            a.occurred_at,
            ACTIVITY_RANK,
            a.id,
            activity=a,
            moved_from=stage_by_id.get(from_stage_id),
            moved_to=stage_by_id.get(a.stage_after_id),
            call=call,
        )
        for a, from_stage_id, call in activities
    ] + [
        TimelineItem(
            c.changed_at,
            CHANGE_RANK,
            c.id,
            change=c,
            changed_by=name,
            moved_from=stage_by_id.get(c.from_stage_id),
            moved_to=stage_by_id.get(c.to_stage_id),
        )
        for c, name in changes
    ]
    items.sort(key=lambda item: (item.at, item.rank, item.id), reverse=True)
    page = items[:limit]
    more = page[-1].cursor if len(items) > limit else None
    return page, more
