"""The lead register: list, search, filters, sort, keyset pages, and the new lead form."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm import funnel
from crm.extensions import db
from crm.leads import queries
from crm.models import AppSetting, Lead, StageChange, utcnow
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.querycount import count_queries

# Reading the HTML


class ListPage(HTMLParser):
    """The parts of the list page the tests look at: rows by cell, sort headers, links."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.rows = []
        self.headers = {}
        self.links = []
        self._cell = None
        self._header = None
        self._row = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and (attrs.get("id") or "").startswith("lead-"):
            self._row = {"id": attrs["id"], "class": attrs.get("class") or "", "cells": {}}
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = attrs["class"].removeprefix("col-")
            self._row["cells"][self._cell] = {"text": "", "html": []}
        elif tag == "th":
            self._header = attrs.get("class", "").removeprefix("col-")
            self.headers[self._header] = {"aria-sort": attrs.get("aria-sort"), "href": None}
        elif tag == "a":
            self.links.append(attrs)
            if self._header and self.headers[self._header]["href"] is None:
                self.headers[self._header]["href"] = attrs.get("href")
        if self._cell is not None:
            self._row["cells"][self._cell]["html"].append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "th":
            self._header = None

    def handle_data(self, data):
        if self._cell is not None:
            self._row["cells"][self._cell]["text"] += data

    def cell(self, row, column):
        return " ".join(row["cells"][column]["text"].split())

    def column(self, column):
        return [self.cell(row, column) for row in self.rows]

    @property
    def numbers(self):
        return [int(n.removeprefix("#")) for n in self.column("number")]

    def link(self, text_or_rel):
        return next((a["href"] for a in self.links if a.get("rel") == text_or_rel), None)


def list_page(client, url="/leads/"):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return ListPage(response.get_data(as_text=True))


def numbers(client, url):
    return list_page(client, url).numbers


MINUTE = timedelta(minutes=1)

# Building data quickly: straight through the funnel service, one commit.


def make_lead(title="Lead", stage=None, owner=None, **details):
    lead = funnel.create_lead(owner, stage=stage, title=title, **details)
    db.session.commit()
    return lead


def make_leads(count, stages, owner, with_activity=True):
    made = []
    for n in range(count):
        lead = funnel.create_lead(
            owner,
            stage=stages[n % 3],
            title=f"Company {n}",
            contact_name=f"Person {n}",
            phone=f"+7 900 000 {n:04d}",
            email=f"person{n}@example.com",
            value=Decimal(n * 10),
        )
        if with_activity:
            funnel.log_activity(
                lead,
                owner,
                factories.kind("call"),
                f"Call number {n}\nDetails",
                occurred_at=utcnow() - timedelta(hours=n + 1),
                no_next_step=True,
            )
        # Planned after the contact, so that some steps are overdue, some today, some later.
        funnel.plan_next_step(lead, owner, utcnow() + timedelta(days=n % 5 - 2), None)
        made.append(lead)
    db.session.commit()
    return made


def lead_count():
    return db.session.scalar(select(func.count()).select_from(Lead))


# The list


def test_list_needs_login(client, admin):
    response = client.get("/leads/")
    assert response.status_code in (302, 303)
    assert "/login" in response.location


def test_list_shows_every_column_and_the_last_contact_hint(logged_in, admin, stages):
    lead = make_lead(
        "Acme",
        stage=stages[2],
        owner=admin,
        contact_name="Ivan Petrov",
        phone="+7 (999) 123-45-67",
        email="ivan@acme.test",
        value=Decimal("1500.50"),
        next_step_at=utcnow() - timedelta(days=3),
        next_step_note="Send the estimate",
    )
    # Logged by itself (as a request from a form is), so the step it leaves stays overdue.
    factories.activity(
        lead, body="Asked for a quote by Friday\nSecond line stays hidden", kind_code="call"
    )

    page = list_page(logged_in)

    [row] = page.rows
    assert page.cell(row, "number") == f"#{lead.number}"
    assert ("a", {"href": f"/leads/{lead.number}"}) in row["cells"]["number"]["html"]
    assert page.cell(row, "title") == "Acme"
    assert "Ivan Petrov" in page.cell(row, "contact")
    assert "+7 (999) 123-45-67" in page.cell(row, "contact")
    [stage_badge] = [a for a in row["cells"]["stage"]["html"] if "badge" in a[1].get("class", "")]
    assert stage_badge[1]["class"] == f"badge stage-{stages[2].id}"
    assert stage_badge[1]["id"] == f"lead-{lead.id}-stage"
    assert page.cell(row, "stage") == stages[2].name
    assert page.cell(row, "owner") == admin.name
    assert page.cell(row, "value") == "1,500.50"
    next_step_classes = [attrs.get("class") for _tag, attrs in row["cells"]["next_step"]["html"]]
    assert "next-step next-step-overdue" in next_step_classes
    assert "Send the estimate" in page.cell(row, "next_step")
    hint = page.cell(row, "last_contact")
    assert hint.startswith("Call · ")
    assert "ago" in hint
    assert "Asked for a quote by Friday" in hint
    assert "Second line" not in hint


def test_next_step_colour_cues(logged_in, admin, stages):
    make_lead("Later", stage=stages[0], next_step_at=utcnow() + timedelta(days=3))
    make_lead("Nothing planned", stage=stages[0])
    page = list_page(logged_in, "/leads/?sort=title")
    classes = {
        page.cell(row, "title"): [a.get("class") for _t, a in row["cells"]["next_step"]["html"]]
        for row in page.rows
    }
    assert "next-step next-step-later" in classes["Later"]
    assert "next-step next-step-none" in classes["Nothing planned"]


def test_value_header_names_the_app_currency(logged_in, stages):
    make_lead("Acme", stage=stages[0], value=Decimal(10))
    assert "Value (" not in logged_in.get("/leads/").get_data(as_text=True)
    db.session.add(AppSetting(key="currency", value="RUB"))
    db.session.commit()
    assert "Value (RUB)" in logged_in.get("/leads/").get_data(as_text=True)


def test_archived_leads_are_hidden_unless_asked_for(logged_in, admin, stages):
    kept = make_lead("Kept", stage=stages[0])
    gone = make_lead("Gone", stage=stages[0])
    funnel.archive_lead(gone, admin)
    db.session.commit()

    assert numbers(logged_in, "/leads/") == [kept.number]
    page = list_page(logged_in, "/leads/?archived=1")
    assert page.numbers == [gone.number, kept.number]
    assert "archived" in page.rows[0]["class"]


def test_empty_list_invites_the_first_lead(logged_in):
    html = logged_in.get("/leads/").get_data(as_text=True)
    assert "No leads yet" in html
    assert 'href="/leads/new"' in html


def test_hint_is_empty_for_a_lead_never_contacted(logged_in, stages):
    make_lead("Quiet", stage=stages[0])
    page = list_page(logged_in)
    assert page.cell(page.rows[0], "last_contact") == "No contact yet"


def test_deleted_activity_leaves_the_hint(logged_in, admin, stages):
    lead = make_lead("Acme", stage=stages[0])
    factories.activity(lead, admin, body="Older call", occurred_at=utcnow() - timedelta(days=2))
    newer = factories.activity(lead, admin, body="Newer call")
    funnel.delete_activity(newer, admin)
    db.session.commit()
    page = list_page(logged_in)
    assert "Older call" in page.cell(page.rows[0], "last_contact")


# Search


@pytest.mark.parametrize("typed", ["ромашка", "РОМАШКА", "Ромашка", "ооо ром", "ромашка ооо"])
def test_search_is_case_insensitive_for_cyrillic(logged_in, stages, typed):
    found = make_lead("ООО Ромашка", stage=stages[0])
    make_lead("Лютик", stage=stages[0])
    assert numbers(logged_in, f"/leads/?q={typed}") == [found.number]


def test_search_by_contact_and_email(logged_in, stages):
    found = make_lead("Acme", stage=stages[0], contact_name="Пётр Иванов", email="Boss@Acme.test")
    make_lead("Other", stage=stages[0], contact_name="Someone", email="x@y.test")
    assert numbers(logged_in, "/leads/?q=пётр") == [found.number]
    assert numbers(logged_in, "/leads/?q=boss@acme") == [found.number]
    assert numbers(logged_in, "/leads/?q=BOSS@ACME.TEST") == [found.number]


@pytest.mark.parametrize("typed", ["+7 (999) 123-45-67", "89991234567", "123-45-67", "999 123"])
def test_search_by_phone_on_digits(logged_in, stages, typed):
    found = make_lead("Acme", stage=stages[0], phone="8 999 123 45 67")
    make_lead("Other", stage=stages[0], phone="+1 555 000 1111")
    assert numbers(logged_in, f"/leads/?q={typed.replace('+', '%2B')}") == [found.number]


def test_search_by_number(logged_in, stages):
    leads = [make_lead(f"Lead {n}", stage=stages[0]) for n in range(12)]
    wanted = leads[10]
    assert wanted.number in numbers(logged_in, f"/leads/?q=%23{wanted.number}")
    assert wanted.number in numbers(logged_in, f"/leads/?q={wanted.number}")
    assert numbers(logged_in, "/leads/?q=%23999999") == []


def test_search_escapes_like_wildcards(logged_in, stages):
    discount = make_lead("50% discount", stage=stages[0])
    make_lead("Plain", stage=stages[0])
    make_lead("a_b", stage=stages[0])
    assert numbers(logged_in, "/leads/?q=%25") == [discount.number]
    assert numbers(logged_in, "/leads/?q=_") == [discount.number + 2]


def test_search_follows_edits_and_archiving(logged_in, admin, stages):
    lead = make_lead("Old Name Ltd", stage=stages[0], phone="+7 900 555 1234")
    funnel.update_lead(lead, admin, title="Fresh Title Ltd", phone="+7 900 777 4321")
    db.session.commit()
    assert numbers(logged_in, "/leads/?q=fresh") == [lead.number]
    assert numbers(logged_in, "/leads/?q=old name") == []
    assert numbers(logged_in, "/leads/?q=7774321") == [lead.number]
    assert numbers(logged_in, "/leads/?q=5551234") == []


@pytest.mark.parametrize(
    "typed, found",
    [
        ("ив ромашка", True),  # a word too short for the index, checked all the same
        ("ив", True),
        ("ромашка зз", False),
        ("ма", True),
    ],
)
def test_search_with_short_words(logged_in, stages, typed, found):
    lead = make_lead("Ромашка", stage=stages[0], contact_name="Иван")
    make_lead("Лютик", stage=stages[0])
    assert numbers(logged_in, f"/leads/?q={typed}") == ([lead.number] if found else [])


@pytest.mark.parametrize("typed", ['"quoted"', "a*b", "NEAR(x y)", "x AND y", "col : v", "^ab"])
def test_search_treats_query_syntax_as_text(logged_in, stages, typed):
    lead = make_lead(f"Odd {typed} title", stage=stages[0])
    make_lead("Plain", stage=stages[0])
    assert numbers(logged_in, f"/leads/?{urlencode({'q': typed})}") == [lead.number]


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=" + "x" * 5000,
        "q=%23" + "9" * 40,
        "stage=x&stage=99999999999",
        "owner=-1",
        "owner=99999999999",
        "sort=nope&dir=sideways",
        "after=abc&key=x",
        "after=1&key=%00",
        "sort=next_step&after=5&key=not-a-date",
        "sort=value&after=5&key=NaN",
        "sort=number&after=1",
        "sort=stage&after=99999999999&key=1",
        "sort=value&after=5&key=1e999",
    ],
)
def test_tampered_list_urls_never_fail(logged_in, stages, query):
    make_lead("Acme", stage=stages[0])
    assert logged_in.get(f"/leads/?{query}").status_code == 200


# Filters


def test_filter_by_several_stages(logged_in, stages):
    cold = make_lead("Cold one", stage=stages[0])
    warm = make_lead("Warm one", stage=stages[1])
    make_lead("Third", stage=stages[2])
    url = f"/leads/?stage={stages[0].id}&stage={stages[1].id}"
    assert numbers(logged_in, url) == [warm.number, cold.number]
    html = logged_in.get(url).get_data(as_text=True)
    assert f'name="stage" value="{stages[0].id}" checked' in html


def test_filter_by_owner(logged_in, admin, stages):
    colleague = factories.user(name="Bob")
    mine = make_lead("Mine", stage=stages[0], owner=admin)
    theirs = make_lead("Theirs", stage=stages[0], owner=colleague)
    nobodys = make_lead("Nobody's", stage=stages[0])

    assert numbers(logged_in, "/leads/?owner=me") == [mine.number]
    assert numbers(logged_in, f"/leads/?owner={colleague.id}") == [theirs.number]
    assert numbers(logged_in, "/leads/?owner=none") == [nobodys.number]
    assert numbers(logged_in, "/leads/?owner=") == [nobodys.number, theirs.number, mine.number]


def test_filter_overdue(logged_in, admin, stages):
    overdue = make_lead("Overdue", stage=stages[0], next_step_at=utcnow() - timedelta(days=2))
    make_lead("Today", stage=stages[0], next_step_at=utcnow())
    make_lead("Later", stage=stages[0], next_step_at=utcnow() + timedelta(days=2))
    make_lead("None", stage=stages[0])
    assert numbers(logged_in, "/leads/?overdue=1") == [overdue.number]


def test_overdue_means_before_today_in_the_users_zone(logged_in, admin, stages):
    # Fourteen hours ahead of UTC, "today" starts at 10:00 UTC the day before.
    zone = ZoneInfo("Pacific/Kiritimati")
    admin.timezone = zone.key
    local_midnight = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start_of_today = local_midnight.astimezone(UTC).replace(tzinfo=None)
    yesterday = make_lead("Yesterday", stage=stages[0], next_step_at=start_of_today - MINUTE)
    make_lead("Early today", stage=stages[0], next_step_at=start_of_today + MINUTE)
    assert numbers(logged_in, "/leads/?overdue=1") == [yesterday.number]


def test_filter_no_next_step_keeps_to_open_stages(logged_in, admin, stages):
    won, lost = stages[-2], stages[-1]
    open_lead = make_lead("Open, nothing planned", stage=stages[0])
    make_lead("Planned", stage=stages[0], next_step_at=utcnow() + timedelta(days=1))
    make_lead("Won", stage=won, value=Decimal(5))
    make_lead("Lost", stage=lost)
    assert numbers(logged_in, "/leads/?no_next_step=1") == [open_lead.number]


def test_filters_combine_with_search(logged_in, admin, stages):
    make_lead("Acme north", stage=stages[0], owner=admin)
    south = make_lead("Acme south", stage=stages[1], owner=admin)
    make_lead("Other", stage=stages[1], owner=admin)
    assert numbers(logged_in, f"/leads/?q=acme&stage={stages[1].id}&owner=me") == [south.number]


def test_filters_show_on_the_toggle_and_survive_in_links(logged_in, stages):
    make_lead("Acme", stage=stages[0], next_step_at=utcnow() - timedelta(days=3))
    page = list_page(logged_in, f"/leads/?q=acme&stage={stages[0].id}&overdue=1")
    href = page.headers["title"]["href"]
    query = parse_qs(urlsplit(href).query)
    assert query["q"] == ["acme"]
    assert query["stage"] == [str(stages[0].id)]
    assert query["overdue"] == ["1"]
    assert query["sort"] == ["title"]


# Sort


SORT_KEYS = {
    "number": lambda lead: lead.number,
    "title": lambda lead: lead.title,
    "contact": lambda lead: lead.contact_name,
    "stage": lambda lead: lead.stage.position,
    "owner": lambda lead: lead.owner.name if lead.owner else None,
    "value": lambda lead: lead.value,
    "next_step": lambda lead: lead.next_step_at,
    "last_contact": lambda lead: lead.last_activity_at,
}


def expected_order(leads, column, descending):
    """Sorted by `column` with empty values last either way, ties broken by id."""
    key = SORT_KEYS[column]
    present = [lead for lead in leads if key(lead) is not None]
    missing = [lead for lead in leads if key(lead) is None]
    present.sort(key=lambda lead: (key(lead), lead.id), reverse=descending)
    missing.sort(key=lambda lead: lead.id, reverse=descending)
    return [lead.number for lead in present + missing]


@pytest.fixture
def varied_leads(admin, stages):
    """Leads with ties and gaps in every sortable column."""
    bob = factories.user(name="Bob")
    owners = [admin, bob, None]
    leads = []
    for n in range(23):
        lead = funnel.create_lead(
            owners[n % 3],
            stage=stages[n % 4],
            title=f"Company {n % 7:02d}",
            contact_name=None if n % 5 == 0 else f"Contact {n % 6}",
            value=None if n % 4 == 0 else Decimal(n % 3 * 100),
            next_step_at=None if n % 3 == 0 else datetime(2030, 1, 1 + n % 4, 9),
        )
        if n % 2:
            funnel.log_activity(
                lead,
                admin,
                factories.kind("call"),
                "Hello",
                occurred_at=datetime(2025, 1, 1 + n % 3, 9),
                # The step planned stays; a lead without one is said to have none.
                no_next_step=lead.next_step_at is None,
            )
        leads.append(lead)
    db.session.commit()
    return leads


@pytest.mark.parametrize("column", list(SORT_KEYS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sort_by_any_column(logged_in, varied_leads, column, direction):
    page = list_page(logged_in, f"/leads/?sort={column}&dir={direction}")
    assert page.numbers == expected_order(varied_leads, column, direction == "desc")
    assert page.headers[column]["aria-sort"] == (
        "descending" if direction == "desc" else "ascending"
    )
    others = [name for name in SORT_KEYS if name != column]
    assert all(page.headers[name]["aria-sort"] is None for name in others)


def test_sort_links_toggle_the_direction(logged_in, stages):
    make_lead("Acme", stage=stages[0])
    page = list_page(logged_in, "/leads/")
    # Newest first by default; the number header turns it round.
    assert page.headers["number"]["aria-sort"] == "descending"
    assert parse_qs(urlsplit(page.headers["number"]["href"]).query) == {"dir": ["asc"]}
    assert parse_qs(urlsplit(page.headers["title"]["href"]).query) == {"sort": ["title"]}
    page = list_page(logged_in, "/leads/?sort=title")
    assert parse_qs(urlsplit(page.headers["title"]["href"]).query) == {
        "sort": ["title"],
        "dir": ["desc"],
    }


# Pages


def walk_pages(client, url):
    """Follow the "Next page" links from `url`; returns the numbers seen, page by page."""
    pages = []
    while url:
        page = list_page(client, url)
        pages.append(page.numbers)
        url = page.link("next")
        assert len(pages) < 100
    return pages


@pytest.mark.parametrize("column", list(SORT_KEYS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_keyset_pages_neither_repeat_nor_skip(
    logged_in, varied_leads, monkeypatch, column, direction
):
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    pages = walk_pages(logged_in, f"/leads/?sort={column}&dir={direction}")
    assert all(len(page) == 4 for page in pages[:-1])
    seen = [number for page in pages for number in page]
    assert seen == expected_order(varied_leads, column, direction == "desc")


@pytest.mark.parametrize("column", ["number", "title", "owner", "next_step"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_search_pages_alike_with_few_matches_or_many(
    logged_in, admin, varied_leads, monkeypatch, column, direction
):
    """A search with few matches is read from them, one with many walks the list in order:
    both give the same leads in the same order, page after page, with the same count."""
    varied_leads[4].archived = True
    db.session.commit()
    url = f"/leads/?q=company&owner=me&sort={column}&dir={direction}"
    monkeypatch.setattr(queries, "PAGE_SIZE", 3)
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    assert (queries.few_found_ids("company") is not None) == sqlite
    few = walk_pages(logged_in, url)
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    assert queries.few_found_ids("company") is None
    many = walk_pages(logged_in, url)
    assert few == many
    mine = [lead for lead in varied_leads if lead.owner_id == admin.id and not lead.archived]
    assert [number for page in few for number in page] == expected_order(
        mine, column, direction == "desc"
    )


def test_pages_hold_fifty_leads_and_keep_the_filters(logged_in, admin, stages):
    make_leads(55, stages, admin, with_activity=False)
    page = list_page(logged_in, "/leads/?q=company&owner=me")
    assert len(page.rows) == 50
    next_url = page.link("next")
    query = parse_qs(urlsplit(next_url).query)
    assert query["q"] == ["company"]
    assert query["owner"] == ["me"]
    assert "after" in query
    second = list_page(logged_in, next_url)
    assert len(second.rows) == 5
    assert second.link("next") is None
    assert "Back to the first page" in logged_in.get(next_url).get_data(as_text=True)


def test_count_is_capped(logged_in, admin, stages, monkeypatch):
    make_leads(7, stages, admin, with_activity=False)
    assert "7 leads" in logged_in.get("/leads/").get_data(as_text=True)
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    assert queries.lead_page(queries.LeadFilters(), size=2).count == 6
    assert "More than 5 leads" in logged_in.get("/leads/").get_data(as_text=True)


# htmx


@pytest.fixture
def hx_in(hx, admin):
    """The htmx client, logged in as the administrator."""
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    return hx


def test_htmx_gets_only_the_rows(logged_in, hx_in, stages):
    make_lead("Acme", stage=stages[0])
    full = logged_in.get("/leads/?q=acme")
    partial = hx_in.get("/leads/?q=acme")
    assert "<html" in full.get_data(as_text=True)
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200
    assert "<html" not in body
    assert 'id="lead-search"' not in body
    assert "<table" in body and "Acme" in body
    assert "HX-Request" in partial.headers["Vary"]
    # The sort rides along with the search form, from inside the swapped region.
    sorted_rows = hx_in.get("/leads/?sort=title").get_data(as_text=True)
    assert 'name="sort" value="title" form="lead-filters"' in sorted_rows


def test_search_box_is_wired_for_search_as_you_type(logged_in, stages):
    html = logged_in.get("/leads/?q=abc").get_data(as_text=True)
    search = re.search(r"<input type=\"search\"[^>]*>", html, re.S).group(0)
    assert 'name="q"' in search and 'value="abc"' in search
    assert 'hx-get="/leads/"' in search
    assert 'hx-trigger="input changed delay:300ms, search"' in search
    assert 'hx-target="#lead-rows"' in search
    assert 'hx-push-url="true"' in search
    assert '<label for="lead-search">' in html
    assert 'id="lead-rows"' in html


def test_list_queries_do_not_grow_with_the_leads(app, logged_in, admin, stages):
    search = "/leads/?sort=last_contact&q=company"
    make_leads(10, stages, admin)
    small = count_queries(logged_in, "/leads/")
    small_search = count_queries(logged_in, search)
    make_leads(190, stages, admin)
    big = count_queries(logged_in, "/leads/")
    assert small == big
    assert count_queries(logged_in, search) == small_search
    # On SQLite a search reads its matches first, when they are few.
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    assert small_search == big + sqlite


def test_list_queries_do_not_grow_with_pages(logged_in, admin, stages, monkeypatch):
    make_leads(30, stages, admin)
    monkeypatch.setattr(queries, "PAGE_SIZE", 10)
    first = list_page(logged_in, "/leads/")
    assert count_queries(logged_in, first.link("next")) == count_queries(logged_in, "/leads/")


# The new lead form


def new_lead(client, **fields):
    data = {"title": "Acme"} | fields
    return client.post("/leads/new", data={k: v for k, v in data.items() if v is not None})


def test_new_lead_page(logged_in, admin, stages):
    page = logged_in.get("/leads/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html
    assert '<label for="title">Title</label>' in html
    assert f'<option selected value="{stages[0].id}">' in html
    assert f'<option selected value="{admin.id}">' in html
    # Won and lost stages are not where a lead starts.
    assert f'value="{stages[-1].id}"' not in html
    # On its own page every field shows; nothing is folded away.
    assert "lead-more-fields" not in html


def test_the_list_folds_in_the_new_lead_form(logged_in, hx_in, stages):
    listing = logged_in.get("/leads/").get_data(as_text=True)
    details = re.search(r'<details class="card new-lead"[^>]*>', listing).group(0)
    assert 'hx-get="/leads/new"' in details
    assert 'hx-trigger="toggle once"' in details
    # Without JavaScript, the disclosure offers the form's own page.
    assert '<a href="/leads/new">' in listing
    inline = hx_in.get("/leads/new")
    body = inline.get_data(as_text=True)
    assert inline.status_code == 200
    assert "<html" not in body
    assert 'hx-post="/leads/new"' in body
    assert 'name="inline" value="1"' in body
    assert '<details class="lead-more-fields">' in body


def test_create_a_lead(logged_in, admin, stages):
    colleague = factories.user(name="Bob")
    response = new_lead(
        logged_in,
        title="  ООО Ромашка ",
        contact_name="Иван",
        phone="+7 (999) 123-45-67",
        email="Ivan@Romashka.RU",
        source="Website",
        value="1500.5",
        owner_id=str(colleague.id),
        stage_id=str(stages[1].id),
        next_step_when="06.05.2030 10:30",
        next_step_note="Call back",
    )
    assert response.status_code == 303
    lead = db.session.scalar(select(Lead))
    assert response.location == f"/leads/{lead.number}"
    assert lead.title == "ООО Ромашка"
    assert lead.phone == "+7 (999) 123-45-67"
    assert lead.phone_digits == "79991234567"
    assert lead.email == "ivan@romashka.ru"
    assert lead.value == Decimal("1500.50")
    assert lead.owner_id == colleague.id
    assert lead.stage_id == stages[1].id
    assert lead.created_by_id == admin.id
    # The admin's zone is UTC unless set.
    assert lead.next_step_at == datetime(2030, 5, 6, 10, 30)
    assert lead.next_step_note == "Call back"
    change = db.session.scalar(select(StageChange).where(StageChange.lead_id == lead.id))
    assert change.to_stage_id == stages[1].id
    with logged_in.session_transaction() as session:
        assert ("success", f"Lead #{lead.number} created.") in session["_flashes"]


def test_defaults_are_the_user_and_the_first_stage(logged_in, admin, stages):
    # The inline form may leave owner and stage out altogether.
    response = logged_in.post("/leads/new", data={"title": "Quick"})
    assert response.status_code == 303
    lead = db.session.scalar(select(Lead))
    assert lead.owner_id == admin.id
    assert lead.stage_id == stages[0].id
    assert lead.value is None


def test_new_lead_with_nobody_as_owner(logged_in, stages):
    assert new_lead(logged_in, owner_id="", stage_id=str(stages[0].id)).status_code == 303
    assert db.session.scalar(select(Lead)).owner_id is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"title": "   "}, "This field is required."),
        ({"title": "x" * 201}, "Field cannot be longer than 200 characters."),
        ({"email": "not an email"}, "Invalid email address."),
        ({"value": "-1"}, "Number must be between"),
        ({"value": "abc"}, "Not a valid decimal value."),
        ({"value": "NaN"}, "Enter an amount of zero or more."),
        ({"value": "sNaN"}, "Enter an amount of zero or more."),
        ({"value": "-Infinity"}, "Enter an amount of zero or more."),
        ({"value": "1e30"}, "Number must be between"),
        ({"owner_id": "999999"}, "Not a valid choice."),
        ({"owner_id": "bob"}, "Not a valid choice."),
        ({"stage_id": "999999"}, "Not a valid choice."),
        ({"stage_id": "99999999999999999999"}, "Not a valid choice."),
        ({"next_step_when": "30.02.2030"}, "Not understood."),
        ({"next_step_when": "2020-05-06"}, "That moment has passed"),
        ({"next_step_note": "x" * 501}, "Field cannot be longer than 500 characters."),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(logged_in, admin, stages, fields, message):
    response = new_lead(logged_in, **({"stage_id": str(stages[0].id)} | fields))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert lead_count() == 0


def test_a_won_or_lost_stage_is_refused(logged_in, stages):
    for stage in stages[-2:]:
        response = new_lead(logged_in, stage_id=str(stage.id))
        assert response.status_code == 422
    assert lead_count() == 0


def test_htmx_errors_come_back_as_the_form(hx_in, stages):
    response = hx_in.post("/leads/new", data={"title": "", "inline": "1"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert body.lstrip().startswith("<form")
    assert "This field is required." in body
    # Still the inline form: the optional fields stay folded away.
    assert '<details class="lead-more-fields">' in body
    assert lead_count() == 0


def test_without_javascript_the_inline_form_falls_back_to_the_page(logged_in, stages):
    response = logged_in.post("/leads/new", data={"title": "", "inline": "1"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" in body
    assert "This field is required." in body
    assert '<details class="lead-more-fields"' not in body


def test_htmx_save_redirects_to_the_lead_page(hx_in, stages):
    response = hx_in.post("/leads/new", data={"title": "Acme", "inline": "1"})
    assert response.status_code == 204
    lead = db.session.scalar(select(Lead))
    assert response.headers["HX-Redirect"] == f"/leads/{lead.number}"


# Duplicates


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ({"email": "boss@acme.ru"}, {"email": "BOSS@Acme.Ru", "title": "Totally new"}),
        ({"phone": "8 999 123 45 67"}, {"phone": "+7 (999) 123-45-67", "title": "Totally new"}),
        ({"title": "ООО «Ромашка»"}, {"title": "ромашка"}),
        ({"title": "Ромашка"}, {"title": "ИП Ромашка Плюс"}),
        ({"title": "Acme Trading LLC"}, {"title": "acme trading, ltd."}),
        ({"title": "Acme Trading Company Ltd"}, {"title": "Acme"}),
    ],
)
def test_possible_duplicates_are_shown_then_saved_anyway(logged_in, stages, existing, typed):
    original = make_lead(**({"title": "Acme Corp", "stage": stages[0]} | existing))

    first = new_lead(logged_in, **typed)
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "Possible duplicates" in html
    assert f'href="/leads/{original.number}"' in html
    assert 'name="confirmed" value="1"' in html
    assert lead_count() == 1

    again = new_lead(logged_in, confirmed="1", **typed)
    assert again.status_code == 303
    assert lead_count() == 2


def test_archived_leads_count_as_duplicates(logged_in, admin, stages):
    original = make_lead("Acme", stage=stages[0], email="a@acme.ru")
    funnel.archive_lead(original, admin)
    db.session.commit()
    html = new_lead(logged_in, title="New", email="A@acme.ru").get_data(as_text=True)
    assert f'href="/leads/{original.number}"' in html
    assert "Archived" in html


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("Ромашка", "Ромашкин двор"),
        ("Ok", "Booking"),
        ("ООО", "ООО Лютик"),
        ("Acme", "Beta"),
    ],
)
def test_unrelated_titles_are_not_duplicates(logged_in, stages, existing, typed):
    make_lead(existing, stage=stages[0])
    response = new_lead(logged_in, title=typed)
    assert response.status_code == 303


def test_short_phones_do_not_match_by_chance(logged_in, stages):
    make_lead("Acme", stage=stages[0], phone="+7 999 000 00 01")
    assert new_lead(logged_in, title="Other", phone="01").status_code == 303


def test_similar_titles():
    assert queries.similar_titles("ООО «Ромашка»", "ромашка")
    assert queries.similar_titles("Ромашка-Плюс", "ромашка плюс")
    assert queries.similar_titles("Acme, Inc.", "ACME")
    assert not queries.similar_titles("ООО", "ИП")
    assert not queries.similar_titles("Ромашка", "Ромашкин")


# Random input


field_text = st.text(max_size=300) | st.sampled_from(["", " ", "NaN", "-0", "1e400", "\x00"])


@fewer_on_postgresql(
    settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(data=st.data()),
)
def test_random_input_never_fails_or_saves_without_a_title(logged_in, admin, stages, data):
    # Valid values seven times in eight, so that saving is tried, not only refusing.
    def draw(name, *valid, random=field_text):
        usually_valid = st.sampled_from(valid)
        choice = st.integers(0, 7).flatmap(lambda n: random if n == 7 else usually_valid)
        return data.draw(choice, name)

    fields = {name: data.draw(field_text, name) for name in ("contact_name", "phone", "source")}
    fields["title"] = data.draw(st.text(min_size=1, max_size=250) | field_text, "title")
    fields["email"] = draw("email", "", "someone@example.com")
    fields["value"] = draw("value", "", "10", "0.5", random=field_text | st.decimals().map(str))
    fields["owner_id"] = draw("owner_id", "", str(admin.id))
    fields["stage_id"] = draw("stage_id", str(stages[0].id))
    fields["next_step_when"] = draw(
        "next_step_when", "", "+3", "завтра 9:30", random=st.dates().map(date.isoformat)
    )
    fields["next_step_note"] = draw("next_step_note", "", "Call back")
    fields["confirmed"] = data.draw(st.sampled_from(["", "1"]), label="confirmed")
    before = lead_count()

    response = logged_in.post("/leads/new", data=fields)

    assert response.status_code in (200, 303, 422)
    hypothesis.event(f"status {response.status_code}")
    saved = lead_count() - before
    if response.status_code == 303:
        assert saved == 1
        lead = db.session.scalar(select(Lead).order_by(Lead.id.desc()))
        assert lead.title
        assert lead.title == fields["title"].replace("\x00", "").strip()
    else:
        assert saved == 0
