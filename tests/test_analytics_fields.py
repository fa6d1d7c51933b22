"""Analytics by the team's own choice fields, proven on a small hand-built history: the
by-field report (one choice and several choices), and the field filter on every report.

A Russian team's fields: Город (one choice: Москва, Казань, Пермь and the retired Самара) and
Направления (several choices: Торговля, Производство, Услуги). Leads created August to
October 2026 (UTC); the right answers are worked out by hand in the comments of `history`.
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import select

from crm import custom_fields, funnel
from crm.analytics import cache
from crm.analytics.catalogue import REPORTS
from crm.extensions import db
from crm.models import CustomField, Lead, Role, utcnow
from tests import factories
from tests.analytics_pages import csv_rows, listed, numbers_of, report_page
from tests.querycount import count_queries
from tests.test_analytics_downloads import workbook_rows

PERIOD = "period=custom&from=2026-08-01&to=2026-10-31"
PAGE = f"/analytics/by-field?{PERIOD}"
LEADS = f"/analytics/by-field/leads?{PERIOD}"
COLD, INTERESTED, REQUESTED, MADE, TASK, TERMS, SIGNING, WON, LOST = range(9)


def at(text):
    return datetime.fromisoformat(text)


def body(page):
    """The rows after the header: option, leads, (bar), won, lost, open, win rate, value."""
    return page.table_rows[1:]


@pytest.fixture
def city(app, stages):
    samara = custom_fields.Option(key="", label="Самара", retired=True)
    return factories.field(
        "Город", "choice", ["Москва", "Казань", "Пермь", samara], filterable=True
    )


@pytest.fixture
def lines(app, stages):
    return factories.field("Направления", "choices", ["Торговля", "Производство", "Услуги"])


@pytest.fixture
def seller(app, stages):
    return factories.user(name="Сэм Продавцов", email="sam@example.com")


@pytest.fixture
def history(app, stages, admin, seller, city, lines):
    s = stages

    def made(path, city=None, lines=None, value=None, **details):
        fields = {"gorod": city, "napravleniya": lines}
        fields = {key: value for key, value in fields.items() if value is not None}
        return factories.lead_with_history(seller, path, fields=fields, value=value, **details)

    created = at("2026-08-05 10:00")
    won_at, lost_at = at("2026-09-01 10:00"), at("2026-09-02 10:00")
    leads = {
        # Москва: 3 leads, 1 won (1,000), 1 lost, 1 open; win rate 50%.
        "M1": made(
            [(s[COLD], created), (s[WON], won_at)],
            city="Москва",
            lines="Торговля; Услуги",
            value=Decimal(1000),
        ),
        "M2": made([(s[COLD], created), (s[LOST], lost_at)], city="moskva", lines="торговля"),
        "M3": made([(s[INTERESTED], created)], city="Москва"),
        # Казань: 2 leads, 1 won (2,500), 1 open; win rate 100%.
        "K1": made(
            [(s[COLD], created), (s[WON], won_at)],
            city="Казань",
            lines=["uslugi"],
            value=Decimal(2500),
        ),
        "K2": made([(s[COLD], created)], city="Казань"),
        # No city: 2 leads, 1 lost, 1 open.
        "N1": made([(s[COLD], created), (s[LOST], lost_at)], lines="Производство, Услуги"),
        "N2": made([(s[COLD], created)], value=Decimal(700)),
        # Left out: archived; created before the period.
        "X1": made([(s[COLD], created)], city="Москва", lines="Торговля"),
        "X2": made([(s[COLD], at("2026-07-20 10:00"))], city="Казань"),
    }
    funnel.archive_lead(leads["X1"], seller)
    db.session.commit()
    return leads


def test_leads_and_outcomes_by_a_choice_field(logged_in, history):
    response = logged_in.get(PAGE)
    page = report_page(logged_in, PAGE)
    # Пермь has no leads and still has its row; the retired Самара, holding none, has none.
    assert body(page) == [
        ["Москва", "3", "", "1", "1", "1", "50%", "1,000"],
        ["Казань", "2", "", "1", "0", "1", "100%", "2,500"],
        ["Пермь", "0", "", "0", "0", "0", "", "0"],
        ["No value", "2", "", "0", "1", "1", "0%", "0"],
        ["Total", "7", "", "2", "2", "3", "50%", "3,500"],
    ]
    assert "the rows add up to more than the total" not in response.text


def test_several_choices_count_a_lead_under_each_option_it_holds(logged_in, history):
    response = logged_in.get(f"{PAGE}&by=napravleniya")
    page = report_page(logged_in, f"{PAGE}&by=napravleniya")
    assert body(page) == [
        ["Торговля", "2", "", "1", "1", "0", "50%", "1,000"],
        ["Производство", "1", "", "0", "1", "0", "0%", "0"],
        ["Услуги", "3", "", "2", "1", "0", "67%", "3,500"],
        ["No value", "3", "", "0", "0", "3", "", "0"],
        # Seven leads, though the rows add up to nine: the page says why.
        ["Total", "7", "", "2", "2", "3", "50%", "3,500"],
    ]
    assert "counts under each of them, so the rows add up to more than the total" in response.text


def test_numbers_link_to_the_leads_behind_them(logged_in, history):
    h = history
    page = report_page(logged_in, f"{PAGE}&by=napravleniya")
    assert page.numbers[(("by", "napravleniya"), ("option", "uslugi"))] == 3
    assert listed(logged_in, LEADS, "by=napravleniya&option=uslugi") == numbers_of(
        h["M1"], h["K1"], h["N1"]
    )
    assert listed(logged_in, LEADS, "by=napravleniya&option=none") == numbers_of(
        h["M3"], h["K2"], h["N2"]
    )
    assert listed(logged_in, LEADS, "by=gorod&option=moskva&outcome=open") == numbers_of(h["M3"])
    assert listed(logged_in, LEADS, "by=gorod&option=none&outcome=lost") == numbers_of(h["N1"])
    for by in ("gorod", "napravleniya"):
        page = report_page(logged_in, f"{PAGE}&by={by}")
        for key, count in page.numbers.items():
            query = "&".join(f"{name}={quote(value)}" for name, value in key)
            assert len(listed(logged_in, LEADS, query)) == count, key


def test_csv_and_xlsx_downloads(logged_in, history, admin):
    url = f"/analytics/by-field/options.%s?{PERIOD}&by=napravleniya"
    header = ["Направления", "Leads", "Leads won", "Leads lost", "Still open", "Win rate (%)"]
    assert csv_rows(logged_in, url % "csv") == [
        [*header, "Won value"],
        ["Торговля", "2", "1", "1", "0", "50.0", "1000.00"],
        ["Производство", "1", "0", "1", "0", "0.0", "0"],
        ["Услуги", "3", "2", "1", "0", "66.7", "3500.00"],
        ["No value", "3", "0", "0", "3", "", "0"],
        ["Total", "7", "2", "2", "3", "50.0", "3500.00"],
    ]
    name, rows = workbook_rows(logged_in, url % "xlsx")
    assert name == "By field"
    assert rows[1][:3] == ["Торговля", 2, 1]
    response = logged_in.get(url % "xlsx")
    assert "by-field-options-2026-08-01-2026-10-31.xlsx" in response.headers["Content-Disposition"]
    # The page's links carry the field and the filters.
    page = logged_in.get(f"{PAGE}&by=napravleniya&f.gorod=kazan").text
    assert "/analytics/by-field/options.xlsx?period=custom" in page
    assert "f.gorod=kazan&amp;by=napravleniya" in page


def test_in_russian(logged_in, history, admin):
    admin.locale = "ru"
    db.session.commit()
    page = report_page(logged_in, PAGE)
    assert [row[0] for row in body(page)] == ["Москва", "Казань", "Пермь", "Нет значения", "Итого"]
    rows = csv_rows(logged_in, f"/analytics/by-field/options.csv?{PERIOD}")
    assert rows[0][:2] == ["Город", "Лиды"]
    assert rows[4][0] == "Нет значения"
    html = logged_in.get(PAGE).text
    assert "Лиды по полю «Город»" in html
    assert "Отчёт по полю" in html


def test_the_selector_offers_the_choice_fields_only(logged_in, history):
    factories.field("ИНН", "text", identifies_client=True)
    html = logged_in.get(PAGE).text
    select_by = re.search(r'<select id="report-by" name="by">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'value="(\w+)"', select_by) == ["gorod", "napravleniya"]
    # A field named by hand that is not a choice field, or no field at all: the first one.
    for query in ("by=inn", "by=nothing", "by=", "by=%00"):
        page = report_page(logged_in, f"{PAGE}&{query}")
        assert body(page)[0][0] == "Москва", query


def test_a_removed_field_is_not_offered(logged_in, history, city):
    row = db.session.get(CustomField, city.id)
    row.removed_at = utcnow()
    db.session.commit()
    page = report_page(logged_in, f"{PAGE}&by=gorod")
    assert body(page)[0][0] == "Торговля"
    assert 'value="gorod"' not in logged_in.get(PAGE).text


def test_renamed_options_show_their_new_names_at_once(logged_in, history, city):
    report_page(logged_in, PAGE)
    row = db.session.get(CustomField, city.id)
    row.options = [
        {**option, "label": "Москва и область"} if option["key"] == "moskva" else option
        for option in row.options
    ]
    db.session.commit()
    # The kept numbers are by option key; their names are the field's own when shown.
    assert body(report_page(logged_in, PAGE))[0][0] == "Москва и область"


def test_a_team_without_choice_fields_is_told_where_to_add_one(client, auth, logged_in, seller):
    html = logged_in.get(PAGE).text
    assert "The team has no choice fields yet" in html
    assert re.search(r'<a href="/settings/[^"]*">Add a choice field in Settings → Fields</a>', html)
    assert 'id="report-field"' not in html
    assert logged_in.get(f"/analytics/by-field/options.csv?{PERIOD}").status_code == 404
    assert logged_in.get(f"{LEADS}&option=none").status_code == 404
    auth.logout()
    auth.login(seller.email)
    html = client.get(PAGE).text
    assert "An administrator adds one in Settings → Fields." in html


def test_no_leads_in_the_period(logged_in, city):
    response = logged_in.get(PAGE)
    assert response.status_code == 200
    assert "No leads were created in the period." in response.text


@pytest.mark.parametrize(
    "query",
    [
        "by=gorod&option=",
        "by=gorod&option=NONE",
        "by=gorod&option=samara%00",
        "by=gorod&option=torgovlya",
        "by=gorod&outcome=closed",
        "by=gorod&option=moskva&outcome=",
    ],
)
def test_args_that_name_no_number_are_404(logged_in, history, query):
    assert logged_in.get(f"{LEADS}&{query}").status_code == 404


# The field filter, on every report.


def test_the_field_filter_narrows_the_funnel(logged_in, stages, history):
    url = f"/analytics/funnel?{PERIOD}"
    everyone = report_page(logged_in, url)
    moscow = report_page(logged_in, f"{url}&f.gorod=moskva")
    kazan_or_moscow = report_page(logged_in, f"{url}&f.gorod=moskva&f.gorod=kazan")
    cold, interested = (f"step-{stages[n].id}" for n in (COLD, INTERESTED))
    # Entered Cold: M1, M2, K1, K2, N1, N2; of them in Moscow M1 and M2. Interested: M3 came
    # in there, and M1 passed it on its way to Won; K1 too, outside Moscow.
    assert everyone.cells[cold]["entered"] == "6"
    assert moscow.cells[cold]["entered"] == "2"
    assert (everyone.cells[interested]["entered"], moscow.cells[interested]["entered"]) == (
        "3",
        "2",
    )
    assert kazan_or_moscow.cells[cold]["entered"] == "4"
    now = f"/analytics/funnel/now.csv?{PERIOD}"
    open_now = {row[0]: row[1] for row in csv_rows(logged_in, f"{now}&f.gorod=moskva")[1:]}
    assert open_now[stages[INTERESTED].name] == "1"
    assert open_now[stages[COLD].name] == "0"
    # The leads behind a number keep to the filter, and so does every link on the page.
    entered = f"/analytics/funnel/leads?{PERIOD}&stage={stages[COLD].id}&outcome=entered"
    assert listed(logged_in, entered, "f.gorod=moskva") == numbers_of(history["M1"], history["M2"])
    html = logged_in.get(f"{url}&f.gorod=moskva").text
    tabs = re.findall(r'<a href="(/analytics/[a-z-]+\?[^"]*)"', html)
    assert tabs and all("f.gorod=moskva" in href for href in tabs)
    assert "· Город: Москва" in html


def test_several_choices_filter_any_of_the_options(logged_in, stages, history):
    h = history
    leads = f"/analytics/sources/leads?{PERIOD}"
    assert listed(logged_in, leads, "f.napravleniya=proizvodstvo") == numbers_of(h["N1"])
    assert listed(
        logged_in, leads, "f.napravleniya=proizvodstvo&f.napravleniya=torgovlya"
    ) == numbers_of(h["M1"], h["M2"], h["N1"])


def add_contacts(history, seller):
    """A contact on each lead this month, and a next step gone by on the open ones."""
    now = utcnow()
    for lead in history.values():
        factories.activity(lead, seller, occurred_at=now - timedelta(days=2))
        if lead.stage.is_open:
            lead.next_step_at = now - timedelta(days=1)
    db.session.commit()


def downloads(client, slug, query):
    """Every table of a report page as CSV rows, by its name."""
    html = client.get(f"/analytics/{slug}?{query}").text
    names = sorted(set(re.findall(rf"/analytics/{slug}/([a-z-]+)\.csv", html)))
    assert names, slug
    return {name: csv_rows(client, f"/analytics/{slug}/{name}.csv?{query}") for name in names}


def test_the_field_filter_counts_every_report_as_if_only_those_leads_were_there(
    logged_in, stages, history, seller
):
    """Each report filtered to Москва gives what it gives with every other lead archived."""
    add_contacts(history, seller)
    query = "period=365&by=napravleniya"
    filtered = {
        report.slug: downloads(logged_in, report.slug, f"{query}&f.gorod=moskva")
        for report in REPORTS
    }
    for lead in db.session.scalars(select(Lead)):
        if (lead.fields or {}).get("gorod") != "moskva":
            lead.archived = True
    db.session.commit()
    for report in REPORTS:
        assert downloads(logged_in, report.slug, query) == filtered[report.slug], report.slug
    assert filtered["sources"]["sources"][-1][:2] == ["Total", "3"]


def test_the_field_filter_is_in_the_form(logged_in, history):
    html = logged_in.get(f"/analytics/sources?{PERIOD}&f.gorod=kazan").text
    assert re.search(r'<option value="gorod" selected>Город</option>', html)
    assert re.search(r'name="f.gorod" value="kazan" checked> Казань', html)
    assert re.search(r'name="f.gorod" value="moskva"> Москва', html)
    # The retired option is not offered, unless it is the one chosen.
    assert "Самара" not in html
    assert "Самара" in logged_in.get(f"/analytics/sources?{PERIOD}&f.gorod=samara").text
    # The CSV separator's reload keeps every option chosen.
    both = logged_in.get(f"/analytics/sources?{PERIOD}&f.gorod=kazan&f.gorod=moskva").text
    form = re.search(r'<form class="csv-separator".*?</form>', both, re.S).group(0)
    assert re.findall(r'name="f.gorod" value="(\w+)"', form) == ["moskva", "kazan"]


def test_choosing_a_field_brings_its_options(hx, admin, history):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    response = hx.get("/analytics/field-filter?f=napravleniya")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "<legend>Направления</legend>" in response.text
    assert re.findall(r'name="f.napravleniya" value="(\w+)"', response.text) == [
        "torgovlya",
        "proizvodstvo",
        "uslugi",
    ]
    assert hx.get("/analytics/field-filter?f=").text.strip() == ""
    assert hx.get("/analytics/field-filter?f=nothing").text.strip() == ""


def test_the_form_choosing_no_field_or_another_drops_the_options_ticked(logged_in, history):
    def total(query):
        rows = csv_rows(logged_in, f"/analytics/sources/sources.csv?{PERIOD}&{query}")
        return rows[-1][1]

    assert total("f.gorod=moskva") == "3"
    assert total("f=gorod&f.gorod=moskva") == "3"
    # "No field filter" chosen, or another field, with Москва still ticked (no JavaScript).
    assert total("f=&f.gorod=moskva") == "7"
    assert total("f=napravleniya&f.gorod=moskva") == "7"
    # The field chosen with nothing ticked yet: every lead, and its options offered.
    assert total("f=gorod") == "7"
    html = logged_in.get(f"/analytics/sources?{PERIOD}&f=napravleniya&f.gorod=moskva").text
    assert 'name="f.napravleniya" value="uslugi">' in html
    assert 'name="f.gorod"' not in html


@pytest.mark.parametrize(
    "query",
    [
        "f.gorod=piter",
        "f.gorod=",
        "f.gorod=%00",
        "f.gorod=Москва",
        "f.nothing=moskva",
        "f.=x",
        "f=%00",
        "f=inn&f.inn=1",
        "f.gorod=moskva&f.gorod=" + "x" * 5000,
        "f.GOROD=moskva",
    ],
)
def test_bad_filter_values_are_ignored(logged_in, history, query):
    factories.field("ИНН", "text", identifies_client=True)
    total = f"/analytics/sources/sources.csv?{PERIOD}&{query}"
    rows = csv_rows(logged_in, total)
    expected = "3" if "f.gorod=moskva" in query else "7"
    assert rows[-1][1] == expected, query
    for report in REPORTS:
        for url in (f"/analytics/{report.slug}?{PERIOD}&{query}",):
            assert logged_in.get(url).status_code == 200, url


def test_the_query_count_does_not_grow_with_the_data(logged_in, stages, admin, city, lines):
    def add(n, owner):
        for i in range(n):
            path = [(stages[COLD], at("2026-08-05 10:00"))]
            if i % 3:
                path.append((stages[WON if i % 3 == 1 else LOST], at("2026-09-05 10:00")))
            choice = ["Москва", "Казань", "Пермь", None][i % 4]
            fields = {"gorod": choice, "napravleniya": ["Торговля", "Услуги"][: i % 3]}
            factories.lead_with_history(owner, path, fields=fields)

    urls = [f"{PAGE}&by=gorod", f"{PAGE}&by=napravleniya&f.gorod=moskva"]
    urls += [f"/analytics/{report.slug}?{PERIOD}&f.napravleniya=uslugi" for report in REPORTS]
    add(2, admin)
    small = []
    for url in urls:
        cache.forget_all()
        small.append(count_queries(logged_in, url))
    for n in range(3):
        add(5, factories.user(role=Role.SALESPERSON, email=f"p{n}@example.com"))
    factories.field("Отрасль", "choice", ["ИТ", "Розница"])
    large = []
    for url in urls:
        cache.forget_all()
        large.append(count_queries(logged_in, url))
    assert small == large
