"""The team's own fields in the lead list: columns to pick, filters and sorts by any field marked
filterable, all in the address; the search reading text fields."""

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.leads import queries
from crm.models import FieldType
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.querycount import count_queries

CITIES = ["Москва", "Казань", "Тверь"]


class FieldList(HTMLParser):
    """The list as the tests read it: lead numbers, the field columns and their cells, links."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.numbers = []
        self.headers = {}
        self.cells = []
        self.links = []
        self._cell = None
        self._header = None
        self._numbered = True
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and (attrs.get("id") or "").startswith("lead-"):
            self.cells.append({})
            self._numbered = False
        elif tag == "td" and attrs.get("class") == "col-field":
            self._cell = attrs["data-field"]
            self.cells[-1][self._cell] = ""
        elif tag == "th" and attrs.get("class") == "col-field":
            self._header = attrs["data-field"]
            self.headers[self._header] = {"aria-sort": attrs.get("aria-sort"), "href": None}
        elif tag == "a":
            self.links.append(attrs)
            if self._header and self.headers[self._header]["href"] is None:
                self.headers[self._header]["href"] = attrs.get("href")
            # A row's first link is to its lead.
            if not self._numbered:
                self.numbers.append(int(attrs["href"].rsplit("/", 1)[1]))
                self._numbered = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "th":
            self._header = None

    def handle_data(self, data):
        if self._cell is not None:
            self.cells[-1][self._cell] += data

    def column(self, key):
        return [" ".join(row.get(key, "").split()) for row in self.cells]

    @property
    def next_url(self):
        return next((a["href"] for a in self.links if a.get("rel") == "next"), None)

    @property
    def problems(self):
        found = re.search(r'<div class="filter-problems"[^>]*>(.*?)</div>', self.html, re.S)
        return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


def listed(client, url="/leads/"):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return FieldList(response.get_data(as_text=True))


def numbers(client, url):
    return listed(client, url).numbers


@pytest.fixture
def fields(app, stages):
    """The team's fields of a Russian sales team, all filterable, some offered as columns."""
    return {
        "city": factories.field(
            "Город", FieldType.CHOICE, CITIES, filterable=True, in_list=True, on_card=True
        ),
        "tags": factories.field(
            "Теги", FieldType.CHOICES, ["Опт", "Розница", "VIP"], filterable=True
        ),
        "staff": factories.field("Сотрудников", FieldType.NUMBER, filterable=True, in_list=True),
        "budget": factories.field("Бюджет", FieldType.MONEY, filterable=True),
        "since": factories.field("Клиент с", FieldType.DATE, filterable=True, in_list=True),
        "vat": factories.field("С НДС", FieldType.YES_NO, filterable=True),
        "name": factories.field("Юрлицо", FieldType.TEXT, filterable=True),
        "note": factories.field("Заметка", FieldType.TEXT),
    }


@pytest.fixture
def clients(fields, admin):
    """Four leads with their fields filled in differently: {title: lead}."""
    values = {
        "Альфа": {
            "gorod": "Москва",
            "tegi": "Опт; VIP",
            "sotrudnikov": "120",
            "byudzhet": "1 500 000",
            "klient_s": "15.03.2024",
            "s_nds": "да",
            "yurlitso": "ООО «Ёлка-Палка»",
        },
        "Бета": {
            "gorod": "Казань",
            "tegi": "Розница",
            "sotrudnikov": "8",
            "byudzhet": "90 000,50",
            "klient_s": "01.02.2026",
            "s_nds": "нет",
            "yurlitso": "ИП Петров 100%",
        },
        "Гамма": {"gorod": "Тверь", "sotrudnikov": "45", "zametka": "ёлка"},
        "Дельта": {},
    }
    return {
        title: factories.lead(title, owner=admin, fields=filled) for title, filled in values.items()
    }


def of(clients, *titles):
    return sorted(clients[title].number for title in titles)


# Columns


def test_the_fields_offered_in_the_list_are_its_columns_by_default(logged_in, clients):
    page = listed(logged_in)
    assert list(page.headers) == ["gorod", "sotrudnikov", "klient_s"]
    by_number = dict(zip(page.numbers, page.cells, strict=True))
    alfa = by_number[clients["Альфа"].number]
    # Each as its type reads to the viewer: a date as their language writes dates.
    assert alfa == {"gorod": "Москва", "sotrudnikov": "120", "klient_s": "Mar 15, 2024"}
    # An empty value is an empty cell, which a phone's card leaves out.
    assert by_number[clients["Дельта"].number] == dict.fromkeys(page.headers, "")


def test_the_person_picks_the_columns_in_the_address(logged_in, clients):
    page = listed(logged_in, "/leads/?col=klient_s&col=gorod")
    # In the team's order, whatever the order in the address.
    assert list(page.headers) == ["gorod", "klient_s"]
    # Only the fields offered in the list: an unknown or unoffered key is no column.
    assert list(listed(logged_in, "/leads/?col=tegi&col=nope&col=gorod").headers) == ["gorod"]
    # `col=` alone: none of them.
    assert listed(logged_in, "/leads/?col=").headers == {}


def test_the_columns_control_offers_the_fields_and_keeps_the_choice(logged_in, clients):
    html = logged_in.get("/leads/?col=gorod").get_data(as_text=True)
    control = re.search(r'<details class="lead-columns">.*?</details>', html, re.S).group(0)
    boxes = re.findall(r'<input type="checkbox" name="col" value="([a-z_]+)"( checked)?>', control)
    assert boxes == [("gorod", " checked"), ("sotrudnikov", ""), ("klient_s", "")]
    assert '<input type="hidden" name="col" value="">' in control
    # The sort links and the pager carry the choice along.
    query = parse_qs(
        urlsplit(listed(logged_in, "/leads/?col=gorod").headers["gorod"]["href"]).query
    )
    assert query["col"] == ["gorod"]


def test_no_fields_no_columns_control(logged_in, stages):
    factories.lead("Plain")
    html = logged_in.get("/leads/").get_data(as_text=True)
    assert "lead-columns" not in html and "field-filters" not in html


# Filters, one type at a time


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("f.gorod=kazan", ["Бета"]),
        # Several choices: any of them.
        ("f.gorod=moskva&f.gorod=kazan", ["Альфа", "Бета"]),
        # A hand-written address may name an option by its label, in any case.
        ("f.gorod=тверь", ["Гамма"]),
        # A several-choices field: leads holding any of the options named.
        ("f.tegi=vip", ["Альфа"]),
        ("f.tegi=vip&f.tegi=roznitsa", ["Альфа", "Бета"]),
        # Ranges: either end, or both, the ends included.
        ("f.sotrudnikov.min=45", ["Альфа", "Гамма"]),
        ("f.sotrudnikov.max=45", ["Бета", "Гамма"]),
        ("f.sotrudnikov.min=8&f.sotrudnikov.max=45", ["Бета", "Гамма"]),
        ("f.byudzhet.min=90000.5", ["Альфа", "Бета"]),
        ("f.byudzhet.min=" + "90 000,51", ["Альфа"]),
        ("f.klient_s.min=2025-01-01", ["Бета"]),
        ("f.klient_s.max=15.03.2024", ["Альфа"]),
        # Yes/no.
        ("f.s_nds=1", ["Альфа"]),
        ("f.s_nds=0", ["Бета"]),
        # Text that holds what was typed, in any case, Cyrillic included.
        ("f.yurlitso=ёлка-палка", ["Альфа"]),
        ("f.yurlitso=ЁЛКА", ["Альфа"]),
        ("f.yurlitso=петров", ["Бета"]),
        # LIKE's wildcards are text like any other.
        ("f.yurlitso=100%25", ["Бета"]),
        ("f.yurlitso=_", []),
        # Filters combine with each other and with the search.
        ("f.gorod=moskva&f.gorod=kazan&f.s_nds=0", ["Бета"]),
        ("f.gorod=moskva&f.gorod=kazan&q=альфа", ["Альфа"]),
    ],
)
def test_filter_by_each_type_of_field(logged_in, clients, query, titles):
    page = listed(logged_in, "/leads/?" + query.replace(" ", "+"))
    assert sorted(page.numbers) == of(clients, *titles)
    assert page.problems == ""


def test_a_retired_option_still_filters_the_leads_that_hold_it(logged_in, clients, fields):
    from crm import custom_fields
    from crm.extensions import db
    from crm.models import CustomField

    row = db.session.get(CustomField, fields["city"].id)
    row.options = [dict(o, retired=o["key"] == "tver") for o in row.options]
    db.session.commit()
    custom_fields.forget()
    assert numbers(logged_in, "/leads/?f.gorod=tver") == of(clients, "Гамма")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("f.sotrudnikov.min=abc", "Сотрудников: “abc” is not an amount"),
        ("f.klient_s.min=31.02.2026", "Клиент с:"),
        ("f.byudzhet.max=-5", "Бюджет: Enter an amount of zero or more."),
        ("f.s_nds=может", "С НДС: Answer yes or no."),
        ("f.gorod=paris", "Город: “paris” is not one of the choices."),
        ("f.nope=1", "“f.nope” names no field to filter by"),
        # A field the team does not filter by is no filter either.
        ("f.zametka=ёлка", "“f.zametka” names no field to filter by"),
        ("f.gorod.min=1", "“f.gorod.min” names no field to filter by"),
    ],
)
def test_a_filter_that_cannot_be_read_is_left_out_and_said(logged_in, clients, query, says):
    page = listed(logged_in, "/leads/?" + query)
    assert says in page.problems
    assert sorted(page.numbers) == of(clients, "Альфа", "Бета", "Гамма", "Дельта")


def test_a_bad_end_leaves_the_good_filters_in_force(logged_in, clients):
    page = listed(logged_in, "/leads/?f.sotrudnikov.min=abc&f.gorod=moskva&f.gorod=paris")
    assert page.numbers == of(clients, "Альфа")
    assert "abc" in page.problems and "paris" in page.problems


@pytest.mark.parametrize(
    "query",
    [
        "f.gorod=%00",
        "f.gorod=" + "x" * 5000,
        "f.yurlitso=%00",
        "f.yurlitso=" + "я" * 5000,
        "f.sotrudnikov.min=1e999",
        "f.sotrudnikov.min=NaN",
        "f.sotrudnikov.max=" + "9" * 40,
        "f.klient_s.min=9999-99-99",
        "f.=1",
        "f..min=1",
        "f.gorod." + "x" * 300 + "=1",
        "sort=f.nope",
        "sort=f.zametka",
        "sort=f.tegi",
        "sort=f.sotrudnikov&after=5&key=abc",
        "sort=f.sotrudnikov&after=5&key=1e999",
        "sort=f.klient_s&after=5&key=not-a-date",
        "sort=f.gorod&after=5&key=x",
        "sort=f.gorod&after=5&key=99999999999",
    ],
)
def test_tampered_field_addresses_never_fail(logged_in, clients, query):
    assert logged_in.get(f"/leads/?{query}").status_code == 200


@fewer_on_postgresql(
    settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    ),
    given(
        name=st.sampled_from(
            ["f.gorod", "f.tegi", "f.sotrudnikov.min", "f.byudzhet.max", "f.klient_s.min"]
            + ["f.s_nds", "f.yurlitso", "sort"]
        ),
        value=st.text(max_size=30),
    ),
)
def test_any_filter_value_is_read_or_said_never_a_failure(logged_in, clients, name, value):
    response = logged_in.get("/leads/?" + urlencode({name: value}))
    assert response.status_code == 200


def test_the_filter_count_counts_the_field_filters(logged_in, clients):
    html = logged_in.get("/leads/?f.gorod=moskva&f.gorod=kazan&f.s_nds=1&overdue=1").get_data(
        as_text=True
    )
    assert '<span class="filter-count">(3)</span>' in html
    # A filter left out is not counted.
    html = logged_in.get("/leads/?f.sotrudnikov.min=abc").get_data(as_text=True)
    assert "filter-count" not in html


def test_the_filter_controls_show_what_is_in_force(logged_in, clients):
    html = logged_in.get(
        "/leads/?f.gorod=kazan&f.sotrudnikov.min=abc&f.klient_s.max=2026-01-01&f.s_nds=0"
        "&f.yurlitso=ёлка"
    ).get_data(as_text=True)
    filters = re.search(
        r'<div class="lead-filter-row field-filters">.*?</fieldset>\s*</details>', html, re.S
    ).group(0)
    assert re.search(r"<legend>Город</legend>", filters)
    assert 'name="f.gorod" value="kazan" checked' in filters
    assert 'name="f.gorod" value="moskva">' in filters
    # Several choices too; a field not filterable has no control.
    assert 'name="f.tegi" value="vip"' in filters
    assert "f.zametka" not in filters
    # What was typed is shown back, a slip included, so it can be corrected.
    assert 'name="f.sotrudnikov.min" value="abc"' in filters
    assert (
        'type="date" id="lead-filter-klient_s-max" name="f.klient_s.max" value="2026-01-01"'
        in filters
    )
    assert '<option value="0" selected>No</option>' in filters
    assert 'name="f.yurlitso" value="ёлка"' in filters
    for label in ("Сотрудников", "Юрлицо contains"):
        assert label in filters


# The address, there and back


def test_every_link_of_the_list_keeps_the_filters_and_columns(logged_in, clients, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 1)
    query = "f.gorod=moskva&f.gorod=kazan&f.sotrudnikov.min=5&col=gorod&sort=f.sotrudnikov"
    page = listed(logged_in, "/leads/?" + query)
    expected = {
        "f.gorod": ["moskva", "kazan"],
        "f.sotrudnikov.min": ["5"],
        "col": ["gorod"],
        "sort": ["f.sotrudnikov"],
    }
    next_query = parse_qs(urlsplit(page.next_url).query)
    assert {name: next_query[name] for name in expected} == expected
    header = parse_qs(urlsplit(page.headers["gorod"]["href"]).query)
    assert header["sort"] == ["f.gorod"]
    assert {name: header[name] for name in ("f.gorod", "f.sotrudnikov.min", "col")} == {
        name: expected[name] for name in ("f.gorod", "f.sotrudnikov.min", "col")
    }
    # Followed, the links show the same list.
    assert numbers(logged_in, page.next_url) == of(clients, "Бета")


def test_the_export_of_the_list_keeps_its_field_filters(logged_in, clients):
    csv = logged_in.get("/export/leads.csv?f.gorod=kazan&sort=f.sotrudnikov").get_data(as_text=True)
    assert "Бета" in csv and "Альфа" not in csv


def test_reassigning_the_list_keeps_to_its_field_filters(logged_in, clients, admin):
    from crm.extensions import db
    from crm.models import Lead

    bob = factories.user(name="Bob")
    html = logged_in.get("/leads/?f.gorod=moskva&f.gorod=kazan").text
    action = re.search(r'action="(/leads/reassign[^"]*)"', html).group(1)
    assert parse_qs(urlsplit(action.replace("&amp;", "&")).query)["f.gorod"] == [
        "moskva",
        "kazan",
    ]
    response = logged_in.post(
        action.replace("&amp;", "&"), data={"owner_id": bob.id, "expected": "2"}
    )
    assert response.status_code == 303
    owned = {lead.title: lead.owner_id for lead in db.session.query(Lead)}
    assert owned == {"Альфа": bob.id, "Бета": bob.id, "Гамма": admin.id, "Дельта": admin.id}


# Sorting by a field, page after page


@pytest.fixture
def many(fields, admin):
    """Leads with ties and gaps in every sortable field."""
    made = []
    for n in range(17):
        values = {}
        if n % 4:
            values["gorod"] = CITIES[n % 3]
        if n % 5:
            values["sotrudnikov"] = str(n % 6 * 10 + (0.5 if n % 7 == 0 else 0))
        if n % 3:
            values["klient_s"] = f"0{1 + n % 4}.01.2025"
        if n % 6:
            values["s_nds"] = "да" if n % 2 else "нет"
        if n % 2:
            values["yurlitso"] = f"Юрлицо {n % 4}"
        if n % 3 != 1:
            values["tegi"] = TAGS_HELD[n % len(TAGS_HELD)]
        made.append(factories.lead(f"Lead {n}", owner=admin, fields=values))
    return made


CITY_ORDER = {"moskva": 0, "kazan": 1, "tver": 2}
TAGS_HELD = ("VIP", "Розница; VIP", "Опт; Розница", "Розница", "VIP; Опт")
TAG_ORDER = {"opt": 0, "roznitsa": 1, "vip": 2}
FIELD_SORT_KEYS = {
    "gorod": lambda values: CITY_ORDER.get(values.get("gorod")),
    # Several choices: by the earliest option held.
    "tegi": lambda values: TAG_ORDER[values["tegi"][0]] if values.get("tegi") else None,
    "sotrudnikov": lambda values: values.get("sotrudnikov"),
    "klient_s": lambda values: values.get("klient_s"),
    "s_nds": lambda values: values.get("s_nds"),
    "yurlitso": lambda values: values.get("yurlitso"),
}


def expected_order(leads, key, descending):
    """By the field, empty values last either way, ties broken by id."""
    value = FIELD_SORT_KEYS[key]
    present = [lead for lead in leads if value(lead.fields) is not None]
    missing = [lead for lead in leads if value(lead.fields) is None]
    present.sort(key=lambda lead: (value(lead.fields), lead.id), reverse=descending)
    missing.sort(key=lambda lead: lead.id, reverse=descending)
    return [lead.number for lead in present + missing]


def walk(client, url):
    pages = []
    while url:
        page = listed(client, url)
        pages.append(page.numbers)
        url = page.next_url
        assert len(pages) < 50
    return pages


@pytest.mark.parametrize("key", list(FIELD_SORT_KEYS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sort_by_a_field_pages_neither_repeat_nor_skip(
    logged_in, many, monkeypatch, key, direction
):
    monkeypatch.setattr(queries, "PAGE_SIZE", 3)
    pages = walk(logged_in, f"/leads/?sort=f.{key}&dir={direction}&col=gorod")
    assert all(len(page) == 3 for page in pages[:-1])
    seen = [number for page in pages for number in page]
    assert seen == expected_order(many, key, direction == "desc")


def test_the_sorted_field_column_says_so(logged_in, many):
    page = listed(logged_in, "/leads/?sort=f.sotrudnikov")
    # Numbers start with the largest, as the value column does.
    assert page.headers["sotrudnikov"]["aria-sort"] == "descending"
    assert page.headers["gorod"]["aria-sort"] is None
    toggled = parse_qs(urlsplit(page.headers["sotrudnikov"]["href"]).query)
    assert toggled["dir"] == ["asc"]


def test_long_text_sorts_as_text(logged_in, stages, monkeypatch):
    factories.field("Комментарий", FieldType.LONG_TEXT, filterable=True, in_list=True)
    for text in ("Вторая\nстрока", "Альфа", None, "Бета"):
        factories.lead(fields={"kommentariy": text} if text else {})
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    url = "/leads/?sort=f.kommentariy&dir=asc&col=kommentariy"
    first = listed(logged_in, url)
    assert first.column("kommentariy") == ["Альфа", "Бета"]
    assert listed(logged_in, first.next_url).column("kommentariy")[0].startswith("Вторая")


def test_a_field_not_filterable_is_a_column_without_a_sort(logged_in, stages):
    factories.field("Заметка", FieldType.TEXT, in_list=True)
    factories.lead("Acme", fields={"zametka": "Позвонить"})
    page = listed(logged_in)
    assert page.headers == {"zametka": {"aria-sort": None, "href": None}}
    assert page.column("zametka") == ["Позвонить"]


# The search


def test_the_search_finds_text_fields(logged_in, clients):
    # Text, not filterable or not: the funnel puts their values into the search line.
    assert numbers(logged_in, "/leads/?q=палка") == of(clients, "Альфа")
    assert sorted(numbers(logged_in, "/leads/?q=ЁЛКА")) == of(clients, "Альфа", "Гамма")


# Cost


def test_the_list_costs_the_same_with_more_fields_and_leads(logged_in, admin, stages):
    factories.field("Город", FieldType.CHOICE, CITIES, filterable=True, in_list=True)
    factories.lead("First", owner=admin, fields={"gorod": "Москва"})
    url = "/leads/?f.gorod=moskva&f.gorod=kazan&sort=f.gorod"
    few = count_queries(logged_in, url)
    for n in range(6):
        factories.field(f"Поле {n}", FieldType.NUMBER, filterable=True, in_list=True)
    for n in range(30):
        factories.lead(
            f"Lead {n}",
            owner=admin,
            fields={"gorod": CITIES[n % 3], **{f"pole_{m}": str(n) for m in range(6)}},
        )
    more_url = url + "".join(f"&f.pole_{m}.min=1" for m in range(6))
    assert count_queries(logged_in, more_url) == few
    page = listed(logged_in, more_url)
    assert len(page.headers) == 7 and len(page.numbers) == 19
    assert page.column("pole_5")[0] == "3"


# The board


HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def board_cards(html):
    """{lead number: the text of its card's fields line, or None}."""
    found = {}
    for card in re.findall(r'<li class="board-card.*?</li>', html, re.S):
        number = int(re.search(r'href="/leads/(\d+)"', card).group(1))
        line = re.search(r'<p class="card-fields">(.*?)</p>', card, re.S)
        found[number] = " ".join(re.sub(r"<[^>]+>", " ", line.group(1)).split()) if line else None
    return found


def test_a_card_shows_the_fields_marked_for_cards(logged_in, fields, admin):
    factories.field("Сайт", FieldType.LINK, on_card=True)
    alfa = factories.lead("Альфа", owner=admin, fields={"gorod": "Москва", "sayt": "alfa.ru"})
    beta = factories.lead("Бета", owner=admin, fields={"sotrudnikov": "8"})
    plain = factories.lead("Без полей", owner=admin)
    cards = board_cards(logged_in.get("/board/").text)
    # A link reads as its site, and says it opens elsewhere.
    assert cards[alfa.number] == "Город: Москва Сайт: alfa.ru (opens in a new tab)"
    # Only the fields marked for cards, and only those the lead has.
    assert cards[beta.number] is None
    assert cards[plain.number] is None


def changes_url(html):
    """The poll's address as board.js makes it: the page's own, with the filters in it."""
    base = re.search(r'data-changes-url="([^"]*)"', html).group(1).replace("&amp;", "&")
    version = re.search(r'id="board-version" hidden data-version="(\d+)"', html).group(1)
    shown = re.findall(
        r'id="column-(\d+)"\s+data-stage="\d+" data-kind="\w+" data-signature="([^"]*)"\s+'
        r'data-expanded="(\w+)"',
        html,
    )
    params = [("version", version)] + [
        ("col", f"{stage}:{25 if expanded == 'true' else 0}:{signature}")
        for stage, signature, expanded in shown
    ]
    return base + ("&" if "?" in base else "?") + urlencode(params)


def test_the_board_filters_by_choice_fields(logged_in, clients, stages):
    html = logged_in.get("/board/?f.gorod=moskva&f.gorod=kazan").text
    assert sorted(board_cards(html)) == of(clients, "Альфа", "Бета")
    assert 'class="column-count">2 leads<' in html
    # The filter form: the choice fields marked filterable, and no other kind.
    form = re.search(r'<form id="board-filters".*?</form>', html, re.S).group(0)
    assert 'name="f.gorod" value="moskva" checked' in form
    assert 'name="f.gorod" value="tver">' in form
    assert 'name="f.tegi" value="vip"' in form
    assert "f.sotrudnikov" not in form and "f.s_nds" not in form
    assert "Filters (1)" in html
    # Several choices too.
    html = logged_in.get("/board/?f.tegi=vip").text
    assert sorted(board_cards(html)) == of(clients, "Альфа")
    # Every address the board asks of itself keeps the filter.
    changes = re.search(r'data-changes-url="([^"]*)"', html).group(1)
    assert changes == "/board/changes?f.tegi=vip"
    column = logged_in.get(f"/board/columns/{stages[0].id}?cards=50&f.tegi=vip").text
    assert sorted(board_cards(column)) == of(clients, "Альфа")


def test_the_board_says_what_it_cannot_filter_by(logged_in, clients):
    html = logged_in.get("/board/?f.gorod=paris&f.sotrudnikov.min=5").text
    assert "Город: “paris” is not one of the choices." in html
    assert "“f.sotrudnikov.min” names no field to filter by" in html
    assert len(board_cards(html)) == 4


def test_the_live_poll_keeps_to_the_filter(logged_in, clients, stages, admin):
    from crm import funnel
    from crm.extensions import db

    html = logged_in.get("/board/?f.gorod=kazan").text
    # A Moscow lead moves: the filtered board has nothing to redraw.
    funnel.move_lead(clients["Альфа"], stages[1], admin)
    db.session.commit()
    response = logged_in.get(changes_url(html), headers=HTMX)
    assert response.status_code == 200
    assert '<hx-partial hx-target="#column-' not in response.text
    html = html.replace(
        re.search(r'data-version="\d+"', html).group(0),
        re.search(r'data-version="\d+"', response.text).group(0),
    )
    # A Kazan lead moves: both its columns are redrawn, with Kazan's cards only.
    funnel.move_lead(clients["Бета"], stages[1], admin)
    db.session.commit()
    response = logged_in.get(changes_url(html), headers=HTMX)
    targets = re.findall(r'<hx-partial hx-target="#column-(\d+)"', response.text)
    assert sorted(map(int, targets)) == sorted([stages[0].id, stages[1].id])
    assert sorted(board_cards(response.text)) == of(clients, "Бета")


def test_the_board_costs_the_same_with_fields_and_more_leads(logged_in, fields, admin, stages):
    factories.lead("First", owner=admin, fields={"gorod": "Москва", "tegi": "VIP"})
    url = "/board/?f.gorod=moskva&f.gorod=kazan&f.tegi=vip"
    few = count_queries(logged_in, url)
    for n in range(4):
        factories.field(f"Поле {n}", FieldType.CHOICE, ["Да", "Нет"], filterable=True, on_card=True)
    for n in range(40):
        factories.lead(
            f"Lead {n}",
            owner=admin,
            stage=stages[n % 4],
            fields={"gorod": CITIES[n % 3], "tegi": "VIP", **{f"pole_{m}": "Да" for m in range(4)}},
        )
    more_url = url + "".join(f"&f.pole_{m}=da" for m in range(4))
    assert count_queries(logged_in, more_url) == few
    assert len(board_cards(logged_in.get(more_url).text)) == 27


# The agenda


def agenda_rows(html):
    return sorted({int(n) for n in re.findall(r'href="/leads/(\d+)">#', html)})


def test_the_agenda_filters_by_choice_fields(logged_in, clients):
    html = logged_in.get("/agenda/?f.gorod=moskva&f.gorod=tver").text
    assert agenda_rows(html) == of(clients, "Альфа", "Гамма")
    assert '<span class="count" id="count-unplanned">2</span>' in html
    form = re.search(r'<form class="agenda-owner".*?</form>', html, re.S).group(0)
    assert 'name="f.gorod" value="tver" checked' in form
    assert "f.sotrudnikov" not in form
    # The links to the calendar and the missed contacts do not carry it: they do not filter.
    assert 'href="/agenda/calendar"' in html


def test_the_agenda_filter_survives_its_redraws(logged_in, clients, admin):
    from crm.agenda import queries as agenda_queries

    for n in range(agenda_queries.ROWS):
        factories.lead(f"Lead {n}", owner=admin, fields={"gorod": "Москва"})
    html = logged_in.get("/agenda/?f.gorod=moskva&f.gorod=tver", headers=HTMX).text
    # "Show more" asks for the next rows of the same filtered section.
    more = re.search(r'hx-get="(/agenda/sections/unplanned[^"]*)"', html).group(1)
    more = more.replace("&amp;", "&")
    assert parse_qs(urlsplit(more).query)["f.gorod"] == ["moskva", "tver"]
    assert len(agenda_rows(logged_in.get(more).text)) == 2
    # A row's actions answer with the sections drawn again, the filter kept.
    action = re.search(r'hx-post="(/agenda/leads/\d+/reschedule[^"]*)"', html).group(1)
    action = action.replace("&amp;", "&")
    assert parse_qs(urlsplit(action).query)["f.gorod"] == ["moskva", "tver"]
    lead_id = int(re.search(r"/leads/(\d+)/", action).group(1))
    redrawn = logged_in.post(action, data={"days": "1"}, headers=HTMX).text
    assert "moved to" in redrawn
    assert clients["Бета"].number not in agenda_rows(redrawn)
    assert lead_id in {clients[title].id for title in ("Альфа", "Гамма")}
    log = (
        re.search(r'hx-get="(/agenda/leads/\d+/log[^"]*)"', redrawn).group(1).replace("&amp;", "&")
    )
    assert parse_qs(urlsplit(log).query)["f.gorod"] == ["moskva", "tver"]


def test_the_agenda_costs_the_same_with_a_filter_and_more_leads(logged_in, fields, admin):
    factories.lead("First", owner=admin, fields={"gorod": "Москва", "tegi": "VIP"})
    url = "/agenda/?f.gorod=moskva&f.tegi=vip"
    few = count_queries(logged_in, url)
    for n in range(30):
        factories.lead(f"Lead {n}", owner=admin, fields={"gorod": CITIES[n % 3], "tegi": "VIP"})
    assert count_queries(logged_in, url) == few
