"""What a column of each sheet can hold, and the headers that name it in English and Russian.

The founding article's two sheets: "Leads" (a number and whatever identifies the client) and
"Activities" (the lead picked from a list, what was said, the date and the status after it).
"""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

LEADS = "leads"
ACTIVITIES = "activities"
KINDS = (LEADS, ACTIVITIES)


@dataclass(frozen=True)
class Field:
    key: str
    label: object
    # Headers that name this field, compared once lower-cased and stripped of punctuation.
    headers: tuple = ()
    is_date: bool = False


def leads_fields():
    return (
        Field(
            "number",
            _l("Lead number"),
            (
                "№",
                "no",
                "n",
                "#",
                "number",
                "lead number",
                "номер",
                "номер лида",
                "№ п п",
                "id",
                "лид №",
                "№ лида",
            ),
        ),
        Field(
            "title",
            _l("Title"),
            (
                "название",
                "наименование",
                "компания",
                "организация",
                "клиент",
                "проект",
                "лид",
                "title",
                "name",
                "company",
                "lead",
                "project",
                "organization",
                "organisation",
                "client",
                "account",
                "сделка",
                "deal",
                "название лида",
            ),
        ),
        Field(
            "contact_name",
            _l("Contact person"),
            (
                "контакт",
                "контактное лицо",
                "фио",
                "имя",
                "контакты",
                "contact",
                "contact name",
                "contact person",
                "person",
                "full name",
            ),
        ),
        Field(
            "phone",
            _l("Phone"),
            (
                "телефон",
                "тел",
                "мобильный",
                "номер телефона",
                "phone",
                "telephone",
                "mobile",
                "tel",
                "phone number",
            ),
        ),
        Field(
            "email",
            _l("Email"),
            (
                "email",
                "e mail",
                "почта",
                "эл почта",
                "электронная почта",
                "mail",
                "емейл",
                "имейл",
                "email address",
            ),
        ),
        Field(
            "source",
            _l("Source"),
            (
                "источник",
                "откуда",
                "откуда пришёл",
                "откуда пришел",
                "канал",
                "source",
                "channel",
                "lead source",
            ),
        ),
        Field(
            "value",
            _l("Value"),
            (
                "сумма",
                "бюджет",
                "стоимость",
                "цена",
                "сумма сделки",
                "value",
                "amount",
                "budget",
                "deal value",
                "price",
            ),
        ),
        Field(
            "owner",
            _l("Owner"),
            (
                "ответственный",
                "менеджер",
                "продавец",
                "owner",
                "manager",
                "responsible",
                "salesperson",
                "sales rep",
            ),
        ),
        Field("status", _l("Status (stage)"), ("статус", "этап", "стадия", "status", "stage")),
        Field(
            "created_at",
            _l("Date the lead came in"),
            (
                "дата",
                "дата создания",
                "создан",
                "дата обращения",
                "дата заявки",
                "date",
                "created",
                "created at",
                "date created",
            ),
            is_date=True,
        ),
        Field(
            "next_step_at",
            _l("Next step (date)"),
            (
                "следующий шаг",
                "следующий контакт",
                "дата следующего контакта",
                "перезвонить",
                "next step",
                "next contact",
                "follow up",
                "next call",
            ),
            is_date=True,
        ),
        Field(
            "next_step_note",
            _l("Next step (what to do)"),
            ("что сделать", "задача", "next step note", "to do"),
        ),
        Field(
            "lost_reason",
            _l("Why lost"),
            ("причина отказа", "причина", "почему упущен", "lost reason", "reason", "why lost"),
        ),
    )


def activities_fields():
    return (
        Field(
            "lead_number",
            _l("Lead number"),
            (
                "№ лида",
                "номер лида",
                "лид №",
                "lead number",
                "lead #",
                "lead no",
                "№",
                "number",
                "#",
            ),
        ),
        Field(
            "lead_title",
            _l("Lead title"),
            (
                "проект",
                "лид",
                "клиент",
                "название",
                "компания",
                "project",
                "lead",
                "client",
                "company",
                "title",
                "name",
                "deal",
                "сделка",
            ),
        ),
        Field(
            "lead_email",
            _l("Lead email"),
            ("email", "e mail", "почта", "эл почта", "электронная почта", "mail"),
        ),
        Field("lead_phone", _l("Lead phone"), ("телефон", "тел", "phone", "telephone", "mobile")),
        Field(
            "occurred_at",
            _l("Date of the contact"),
            (
                "дата",
                "дата контакта",
                "когда",
                "дата и время",
                "date",
                "when",
                "occurred",
                "date of contact",
                "contact date",
            ),
            is_date=True,
        ),
        Field(
            "body",
            _l("What was said"),
            (
                "содержание",
                "описание",
                "комментарий",
                "заметка",
                "суть",
                "о чём говорили",
                "о чем говорили",
                "содержание разговора",
                "content",
                "notes",
                "note",
                "comment",
                "description",
                "summary",
                "text",
            ),
        ),
        Field(
            "status",
            _l("Status after"),
            ("статус", "этап", "стадия", "статус после", "status", "stage", "status after"),
        ),
        Field(
            "kind",
            _l("Kind of contact"),
            (
                "тип",
                "тип связи",
                "тип контакта",
                "вид связи",
                "вид",
                "канал",
                "kind",
                "type",
                "contact type",
                "channel",
            ),
        ),
        Field(
            "author",
            _l("Who made the contact"),
            ("автор", "менеджер", "ответственный", "кто", "author", "by", "user", "manager"),
        ),
        Field("value", _l("Final value (won deals)"), ("сумма", "value", "amount")),
        Field(
            "lost_reason",
            _l("Why lost"),
            ("причина отказа", "причина", "lost reason", "reason", "why lost"),
        ),
    )


def fields_of(kind):
    return leads_fields() if kind == LEADS else activities_fields()


def field_of(kind, key):
    return next((f for f in fields_of(kind) if f.key == key), None)


# "№ п/п", "E-mail:", "Телефон*" all come down to letters, digits, "№" and "#".
PUNCTUATION = re.compile(r"[^\w№#]+")


def normal_header(header):
    return PUNCTUATION.sub(" ", (header or "").casefold().replace("ё", "е")).strip()


def guess(kind, headers):
    """The field each column most likely holds (None: not imported), each field at most once."""
    by_header = {}
    for f in fields_of(kind):
        for name in f.headers:
            by_header.setdefault(normal_header(name), f.key)
    taken, guesses = set(), []
    for header in headers:
        normal = normal_header(header)
        key = by_header.get(normal)
        if key is None:
            # "Телефон клиента", "Дата звонка": the first word often says it.
            key = next(
                (
                    by_header[word]
                    for word in (normal.split()[:1] or [])
                    if word in by_header and len(word) > 2
                ),
                None,
            )
        if key in taken:
            key = None
        if key:
            taken.add(key)
        guesses.append(key)
    return guesses
