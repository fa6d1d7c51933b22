"""The people at the client in a leads sheet: the main contact's job title, and the "Контакт 2 /
Телефон 2 / Email 2 / Должность 2" columns of the people after it, read into the lead's people.

A sheet says what it knows: a person's cells change those of the person at that place on the
lead, and leave the rest (a note, the people the sheet has no columns for) as they are. So a
file imported twice, or our own export imported back, changes nothing.
"""

import re

from flask_babel import gettext as _

from crm import funnel, parsing
from crm.imports.fields import person_key

# Several phones or emails in one cell: the export joins them with "; ", people write them
# one a line, or emails with commas (a phone may hold a comma: "доб. 12").
PHONE_SEPARATORS = re.compile(r"[;\n]+")
EMAIL_SEPARATORS = re.compile(r"[;,\n]+")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
# A column's field → what it is of a person, as the funnel takes people.
ATTRIBUTES = {
    "contact_name": "name",
    "phone": "phones",
    "email": "emails",
    "job_title": "job_title",
}
COLUMNS = {attribute: name for name, attribute in ATTRIBUTES.items()}
SHOWN = ("name", "job_title", "phones", "emails", "note")


def is_person_column(key):
    return key == "job_title" or key.startswith("people.")


def given(values):
    """{place (0: the main contact): {attribute: value}}: what a row's cells say of each person."""
    found = {}
    for key, value in values.items():
        if not is_person_column(key):
            continue
        if key == "job_title":
            place, name = 0, "job_title"
        else:
            _people, number, name = key.split(".", 2)
            place = int(number) - 1
        text = value if isinstance(value, str) else parsing.text(value)
        attribute = ATTRIBUTES[name]
        if attribute == "phones":
            text = [part.strip() for part in PHONE_SEPARATORS.split(text) if part.strip()]
        elif attribute == "emails":
            text = [part.strip().lower() for part in EMAIL_SEPARATORS.split(text) if part.strip()]
        found.setdefault(place, {})[attribute] = text
    return found


def column_key(place, attribute):
    """The column a person's attribute is read from."""
    if place == 0 and attribute == "job_title":
        return "job_title"
    return person_key(place + 1, COLUMNS.get(attribute, "phone"))


def check(people):
    """Refuse what the funnel would not keep, naming the column (FunnelError's field)."""
    for place, person in people.items():
        for email in person.get("emails", ()):
            if not EMAIL.match(email):
                message = _("“%(value)s” is not an email address.", value=parsing.shown(email))
                raise funnel.FunnelError(message, column_key(place, "emails"))
        try:
            funnel.clean_person(person, place)
        except funnel.FunnelError as error:
            attribute = error.field.split(".")[2] if error.field.count(".") == 2 else "phones"
            raise funnel.FunnelError(error.message, column_key(place, attribute)) from None


def stored(lead):
    """The lead's people as the funnel takes them."""
    return [{name: getattr(person, name) for name in SHOWN} for person in lead.people]


def merged(people, given_people):
    """`people` with each given person's cells put in at its place."""
    people = [dict(person) for person in people]
    for place in sorted(given_people):
        while len(people) <= place:
            people.append({})
        people[place] = {**people[place], **given_people[place]}
    return people


def kept(people):
    """People as the funnel would keep them: checked, the empty ones left out."""
    cleaned = (funnel.clean_person(person, place) for place, person in enumerate(people))
    return [person for person in cleaned if person]


def wanted(lead, given_people):
    """The lead's people once the row's are put in, or None when that changes nothing."""
    before = stored(lead)
    after = merged(before, given_people)
    return None if kept(after) == kept(before) else after


def told(before, after):
    """[column, old, new] of each person who changes, as the dry run lists them: the main
    contact's job title, and each person after it in a few words."""
    before, after = kept(before), kept(after)
    changes = []
    old_title = before[0]["job_title"] if before else None
    new_title = after[0]["job_title"] if after else None
    if old_title != new_title:
        changes.append(["job_title", old_title, new_title])
    for place in range(1, max(len(before), len(after))):
        old = in_words(before[place]) if place < len(before) else None
        new = in_words(after[place]) if place < len(after) else None
        if old != new:
            changes.append([person_key(place + 1, "contact_name"), old, new])
    return changes


def in_words(person):
    parts = [person["name"], person["job_title"], *person["phones"], *person["emails"]]
    return ", ".join(part for part in parts if part)
