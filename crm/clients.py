"""A client as the team's identifying fields name one (ИНН, ОГРН ...).

One client can have several leads over the years (a new project, a renewal), so such a value
is no unique key: leads that share one are the same client's. The duplicate warning, the lead
page's "Other leads of this client" and intake matching find them with `sharing_any`, whose
conditions are the indexed expressions of `crm.custom_fields` (`ensure_indexes`), so finding a
client's leads stays quick at 100,000 leads.
"""

from decimal import Decimal

from sqlalchemy import or_, select

from crm import custom_fields
from crm.extensions import db
from crm.funnel import PHONE_TAIL
from crm.models import ContactPoint, FieldType, Lead

# Values that name no one client: a set of options, or a yes/no, is shared by half the base.
UNIDENTIFYING_TYPES = (FieldType.CHOICES, FieldType.YES_NO)


def identity(values, fields=None):
    """The identifying fields `values` (a lead's stored values) fill: [(field, value)]."""
    values = values or {}
    return [
        (field, values[field.key])
        for field in (fields if fields is not None else custom_fields.identifying_fields())
        if field.identifies_client
        and not field.removed
        and field.type not in UNIDENTIFYING_TYPES
        and values.get(field.key) not in (None, "")
    ]


def same_value(field, value):
    """Leads whose `field` holds `value` (stored), said as its index is built."""
    if field.type in custom_fields.NUMERIC_TYPES:
        column = custom_fields.stored_number(field.key)
        # PostgreSQL compares NUMERIC with NUMERIC; SQLite reads the JSON number as a number.
        if custom_fields.dialect_name() == "postgresql":
            return column == Decimal(str(value))
        return column == value
    return custom_fields.stored(field.key) == str(value)


def sharing_any(pairs):
    """Leads sharing any of the identifying values `pairs` ([(field, value)]), or None."""
    if not pairs:
        return None
    return or_(*(same_value(field, value) for field, value in pairs))


def shared_fields(pairs, values):
    """The fields of `pairs` whose value another lead's `values` holds too."""
    values = values or {}
    return [field for field, value in pairs if same(values.get(field.key), value)]


def same(first, second):
    if first is None or second is None:
        return False
    if isinstance(first, int | float) and isinstance(second, int | float):
        return Decimal(str(first)) == Decimal(str(second))
    return str(first) == str(second)


# Phones and emails of anyone on a lead


def reached_at(kind, value):
    """Leads one of whose people has this phone ("phone": its last ten digits, as
    `funnel.phone_tail` gives them) or email ("email", lower case). A shorter phone, a local
    number written without its code, matches the end of a longer one."""
    points = select(ContactPoint.lead_id).where(ContactPoint.kind == kind)
    if kind == "phone" and len(value) < PHONE_TAIL:
        points = points.where(ContactPoint.value.endswith(value, autoescape=True))
    else:
        points = points.where(ContactPoint.value == value)
    return Lead.id.in_(points)


def reach_of(lead_ids):
    """{lead id: {(kind, value)}}: every phone and email of the leads' people."""
    found = {}
    if lead_ids:
        rows = db.session.execute(
            select(ContactPoint.lead_id, ContactPoint.kind, ContactPoint.value).where(
                ContactPoint.lead_id.in_(list(lead_ids))
            )
        )
        for lead_id, kind, value in rows:
            found.setdefault(lead_id, set()).add((kind, value))
    return found


def reaches(points, kind, value):
    """Whether `points` (of `reach_of`) hold this phone or email, as `reached_at` matches."""
    if kind == "phone":
        return any(k == kind and v.endswith(value) for k, v in points)
    return (kind, value) in points
