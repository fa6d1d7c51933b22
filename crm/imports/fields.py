"""What a column of each sheet can hold, and the headers that name it in English and Russian.

The founding article's two sheets: "Leads" (a number and whatever identifies the client) and
"Activities" (the lead picked from a list, what was said, the date and the status after it).
Sheets kept by hand name their columns every which way ("Что сказали", "ИТОГ:", "Дата звонка",
"Статус после звонка"), so a header is compared once written plainly, as a whole, then by the
words it starts or ends with.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from flask_babel import lazy_gettext as _l

from crm import parsing

LEADS = "leads"
ACTIVITIES = "activities"
KINDS = (LEADS, ACTIVITIES)
# The field notes go to: what was said in a contact.
NOTES = "body"
# A header known to name something the sheet does not import (a row counter, the next contact
# of a contact log): guessed as "do not import", never by one of its words.
LEFT_OUT = ""


@dataclass(frozen=True)
class Field:
    key: str
    label: object
    # Headers that name this field, compared as `normal_header` writes them.
    headers: tuple = ()
    is_date: bool = False


# What was said in a contact, as contact logs head it.
NOTES_HEADERS = (
    "что сказали",
    "что сказал",
    "что сказал клиент",
    "что ответили",
    "что обсудили",
    "что обсуждали",
    "о чем говорили",
    "о чем договорились",
    "договоренности",
    "содержание",
    "содержание разговора",
    "суть",
    "суть разговора",
    "комментарий",
    "комментарии",
    "коммент",
    "итог",
    "итоги",
    "итог разговора",
    "результат",
    "результаты",
    "результат разговора",
    "описание",
    "заметка",
    "заметки",
    "примечание",
    "примечания",
    "резюме",
    "текст",
    "разговор",
    "what was said",
    "content",
    "notes",
    "note",
    "comment",
    "comments",
    "description",
    "summary",
    "text",
    "outcome",
    "result",
    "details",
    "discussion",
)
# The next contact, in a contact log: the activities sheet has no field for it.
NEXT_CONTACT_HEADERS = (
    "следующий шаг",
    "следующий контакт",
    "следующий звонок",
    "следующая дата",
    "след шаг",
    "след контакт",
    "дата следующего контакта",
    "дата следующего звонка",
    "дата следующего шага",
    "дата след контакта",
    "когда перезвонить",
    "перезвонить",
    "next step",
    "next contact",
    "next call",
    "follow up",
)
# "№ п/п": the row's own number in a list, not a lead's.
ROW_COUNTER_HEADERS = ("№ п п", "номер п п", "п п")
# Columns of our own leads file that the import does not read back (the CRM works them out):
# a file exported and imported again makes no fields of them.
EXPORTED_ONLY_HEADERS = (
    "последний контакт",
    "в архиве",
    "комментарий к отказу",
    "last contact",
    "archived",
    "lost note",
)


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
                "lead no",
                "lead id",
                "номер",
                "номер лида",
                "№ п п",
                "id",
                "id лида",
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
                "контрагент",
                "заказчик",
                "фирма",
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
                "customer",
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
                "лпр",
                "представитель",
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
                "телефоны",
                "тел",
                "мобильный",
                "сотовый",
                "моб",
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
                "электронный адрес",
                "mail",
                "емейл",
                "имейл",
                "емэйл",
                "мейл",
                "email address",
            ),
        ),
        Field("job_title", _l("Job title"), JOB_TITLE_HEADERS),
        *people_fields(),
        Field(
            "source",
            _l("Source"),
            (
                "источник",
                "откуда",
                "откуда пришёл",
                "откуда пришел",
                "откуда узнал",
                "откуда узнали",
                "канал",
                "канал привлечения",
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
                "сотрудник",
                "кто ведет",
                "фио менеджера",
                "имя менеджера",
                "owner",
                "manager",
                "responsible",
                "salesperson",
                "sales rep",
            ),
        ),
        Field(
            "status",
            _l("Status (stage)"),
            ("статус", "этап", "стадия", "состояние", "этап воронки", "status", "stage"),
        ),
        Field("pipeline", _l("Pipeline"), ("воронка", "pipeline", "направление продаж")),
        Field(
            "created_at",
            _l("Date the lead came in"),
            (
                "дата",
                "дата создания",
                "создан",
                "дата обращения",
                "дата первого обращения",
                "дата заявки",
                "дата поступления",
                "дата добавления",
                "когда пришел",
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
                *NEXT_CONTACT_HEADERS,
                "напомнить",
                "next step date",
                "follow up date",
            ),
            is_date=True,
        ),
        Field(
            "next_step_note",
            _l("Next step (what to do)"),
            (
                "что сделать",
                "задача",
                "что дальше",
                "следующее действие",
                "next step note",
                "next action",
                "to do",
            ),
        ),
        Field(
            "lost_reason",
            _l("Why lost"),
            (
                "причина отказа",
                "причина",
                "почему упущен",
                "lost reason",
                "reason",
                "why lost",
            ),
        ),
    )


JOB_TITLE_HEADERS = ("должность", "должность контакта", "позиция", "job title", "position")
# The people after the main contact a sheet can name: "Контакт 2", "Телефон 2" … up to 6,
# as the export writes them. Each is known by the main contact's headers and its number.
PEOPLE_NUMBERS = range(2, 7)
PERSON_HEADERS = {
    "contact_name": ("контакт", "контактное лицо", "фио", "лпр", "contact", "contact person"),
    "phone": ("телефон", "тел", "мобильный", "phone", "telephone", "mobile"),
    "email": ("email", "e mail", "почта", "эл почта", "mail", "емейл"),
    "job_title": JOB_TITLE_HEADERS,
}


def person_key(number, name):
    """The key of a column of the `number`th person (2, 3 …): "people.2.phone"."""
    return f"people.{number}.{name}"


def person_label(number, name):
    labels = {
        "contact_name": _l("Contact %(n)d", n=number),
        "phone": _l("Phone %(n)d", n=number),
        "email": _l("Email %(n)d", n=number),
        "job_title": _l("Job title %(n)d", n=number),
    }
    return labels[name]


def people_fields():
    return tuple(
        Field(
            person_key(number, name),
            person_label(number, name),
            tuple(f"{header} {number}" for header in headers),
        )
        for number in PEOPLE_NUMBERS
        for name, headers in PERSON_HEADERS.items()
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
                "id лида",
                "lead number",
                "lead #",
                "lead no",
                "lead id",
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
                "наименование",
                "компания",
                "организация",
                "контрагент",
                "заказчик",
                "фирма",
                "название лида",
                "project",
                "lead",
                "client",
                "customer",
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
            (
                "email",
                "e mail",
                "почта",
                "эл почта",
                "электронная почта",
                "mail",
                "емейл",
                "имейл",
            ),
        ),
        Field(
            "lead_phone",
            _l("Lead phone"),
            (
                "телефон",
                "телефоны",
                "тел",
                "номер телефона",
                "мобильный",
                "сотовый",
                "phone",
                "telephone",
                "mobile",
                "phone number",
            ),
        ),
        Field(
            "occurred_at",
            _l("Date of the contact"),
            (
                "дата",
                "дата контакта",
                "дата звонка",
                "дата встречи",
                "дата разговора",
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
        Field(NOTES, _l("What was said"), NOTES_HEADERS),
        Field(
            "status",
            _l("Status after"),
            (
                "статус",
                "этап",
                "стадия",
                "состояние",
                "статус после",
                "новый статус",
                "status",
                "stage",
                "status after",
                "new status",
            ),
        ),
        Field(
            "kind",
            _l("Kind of contact"),
            (
                "тип",
                "тип связи",
                "тип контакта",
                "вид связи",
                "вид контакта",
                "вид",
                "канал",
                "способ",
                "способ связи",
                "как связались",
                "kind",
                "type",
                "contact type",
                "activity type",
                "channel",
            ),
        ),
        Field(
            "author",
            _l("Who made the contact"),
            (
                "автор",
                "менеджер",
                "ответственный",
                "сотрудник",
                "исполнитель",
                "продавец",
                "кто",
                "кто звонил",
                "author",
                "by",
                "user",
                "manager",
            ),
        ),
        Field("value", _l("Final value (won deals)"), ("сумма", "сумма сделки", "value", "amount")),
        Field(
            "lost_reason",
            _l("Why lost"),
            ("причина отказа", "причина", "почему упущен", "lost reason", "reason", "why lost"),
        ),
    )


def fields_of(kind):
    return leads_fields() if kind == LEADS else activities_fields()


def field_of(kind, key):
    return next((f for f in fields_of(kind) if f.key == key), None)


# "№ п/п", "E-mail:", "Телефон*", "next_step" all come down to letters, digits, "№" and "#".
PUNCTUATION = re.compile(r"[^\w№#]+|_+")
# Characters inside a word that are not seen: a soft hyphen, joiners, a byte order mark.
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200c\u200d\u2060\ufeff"))
# Latin letters that look like Cyrillic ones, as they slip into a Russian word ("Cтатус").
LOOKALIKES = str.maketrans("aceopxykmthb", "асеорхукмтнв")
CYRILLIC = re.compile(r"[а-я]")
LATIN = re.compile(r"[a-z]")
# The longest header any field is known by, in words: no longer start or end is looked for.
LONGEST = 4


def normal_header(header):
    """A header written plainly: one case, ё as е, no punctuation or invisible characters, one
    space between words, and a Russian word typed with a Latin look-alike letter mended."""
    header = unicodedata.normalize("NFC", header or "").translate(INVISIBLE)
    words = PUNCTUATION.sub(" ", header.casefold().replace("ё", "е")).split()
    return " ".join(mended(word) for word in words)


def mended(word):
    if CYRILLIC.search(word) and LATIN.search(word):
        return word.translate(LOOKALIKES)
    return word


@cache
def known_headers(kind):
    """Normal header → the field it names (LEFT_OUT: one the sheet does not import)."""
    known = {}
    for f in fields_of(kind):
        for name in f.headers:
            known.setdefault(normal_header(name), f.key)
    if kind == ACTIVITIES:
        for name in (*NEXT_CONTACT_HEADERS, *ROW_COUNTER_HEADERS):
            known.setdefault(normal_header(name), LEFT_OUT)
    else:
        for name in EXPORTED_ONLY_HEADERS:
            known.setdefault(normal_header(name), LEFT_OUT)
    return known


def whole(words, known):
    return known.get(" ".join(words))


def start_or_end(words, known):
    """The field named by the longest known start of the header ("Телефон клиента"), else
    its longest known end ("Контактный телефон"). A single word must be longer than two
    letters ("№ договора" is no lead number)."""
    for part in (lambda n: words[:n], lambda n: words[-n:]):
        for n in range(min(len(words) - 1, LONGEST), 0, -1):
            phrase = " ".join(part(n))
            if phrase in known and (n > 1 or len(phrase) > 2):
                return known[phrase]
    return None


# A date field guessed for a column of text means its other half: "Следующий шаг" holding
# "Отправить КП" is what to do, not when.
TEXT_HALF = {"next_step_at": "next_step_note"}


def guess(kind, headers, samples=None):
    """The field each column most likely holds, each field at most once: None when no field
    is known by its header, LEFT_OUT when it is known not to be imported.

    Whole headers are matched first, so "Дата" is the contact's date even when "Дата звонка
    клиенту" comes before it. `samples` (each column's example cells) turn a date field whose
    examples hold no date into its text half."""
    known = known_headers(kind)
    words = [normal_header(header).split() for header in headers]
    guesses = [None] * len(words)
    decided = [False] * len(words)
    taken = set()
    for match in (whole, start_or_end):
        for index, header_words in enumerate(words):
            if decided[index] or not header_words:
                continue
            key = match(header_words, known)
            if key is None:
                continue
            decided[index] = True
            key = textual(key, samples[index] if samples else None)
            if key == LEFT_OUT:
                guesses[index] = LEFT_OUT
            elif key not in taken:
                taken.add(key)
                guesses[index] = key
    return guesses


def textual(key, examples):
    if key in TEXT_HALF and examples and not any(is_date(example) for example in examples):
        return TEXT_HALF[key]
    return key


def is_date(text):
    try:
        parsing.parse_date(text, parsing.DAY_FIRST)
    except parsing.ValueProblem:
        return False
    return True


def names_notes(header):
    """Whether a header names what was said in a contact."""
    words = normal_header(header).split()
    known = known_headers(ACTIVITIES)
    return bool(words) and (whole(words, known) or start_or_end(words, known)) == NOTES


def looks_like_notes(column):
    """Whether a column holds what was said: by its header, or by its sentences."""
    return column.prose or names_notes(column.header)


def notes_left_out(kind, columns, chosen):
    """The columns that look like notes but are not imported (`chosen`: column index → the
    field chosen for it, empty when none), each with whether another column is imported as
    what was said already."""
    notes_taken = NOTES in chosen.values() and kind == ACTIVITIES
    return [
        (column, notes_taken)
        for column in columns
        if not chosen.get(column.index) and looks_like_notes(column)
    ]
