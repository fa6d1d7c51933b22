"""The team's own fields where a person reads and enters a lead: the lead page, editing in
place, the new lead form, the duplicate warning and the client's other leads by an identifying
field (ИНН), the history in words, and intake forms filling them."""

import re
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from crm import access, app_settings, clients, custom_fields, funnel
from crm.api.views import duplicates_of
from crm.custom_fields import Option
from crm.extensions import db
from crm.intake import receiving
from crm.models import Activity, CustomField, FieldType, IntakeForm, Lead, LostReason, Stage
from tests import factories
from tests.conftest import fewer_on_postgresql
from tests.querycount import count_queries

INN = "7707083893"
OTHER_INN = "7728168971"
BLUE = "#1d4ed8"
YELLOW = "#facc15"


# Reading a page


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.parent = tag, parent
        self.attrs = {name: "" if value is None else value for name, value in attrs}
        self.children = []

    @property
    def text(self):
        words = "".join(c if isinstance(c, str) else c.text for c in self.children)
        return re.sub(r"\s+", " ", words).strip()

    def walk(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def find_all(self, tag=None, **attrs):
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag)
            and all(
                value in (node.attrs.get(name.rstrip("_")) or "").split()
                if name == "class_"
                else node.attrs.get(name) == value
                for name, value in attrs.items()
            )
        ]

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None


VOID = {"input", "br", "img", "meta", "link", "hr", "col", "area", "base", "source", "wbr"}


class Page(HTMLParser):
    """A page parsed into nodes: what a person sees, found by tag, id or class."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("root", {})
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)

    def by_id(self, element_id):
        return self.root.find(id=element_id)

    def facts(self, within="lead-summary"):
        """{label: what it reads} of the first list of facts in `within`."""
        facts = self.by_id(within).find("dl")
        terms = [n for n in facts.children if isinstance(n, Node) and n.tag in ("dt", "dd")]
        return {dt.text: dd for dt, dd in zip(terms[::2], terms[1::2], strict=True)}

    def label_of(self, element_id):
        label = self.root.find("label", **{"for": element_id})
        return label.text if label else None

    def described_by(self, element_id):
        ids = (self.by_id(element_id).attrs.get("aria-describedby") or "").split()
        return [self.by_id(each).text for each in ids]


# The team's fields


@pytest.fixture
def fields(app, stages):
    """The fields of a Russian team that moved its sheet in."""
    return {
        "inn": factories.field(
            "ИНН", identifies_client=True, help_text="10 or 12 digits, from the contract"
        ),
        "city": factories.field(
            "Город",
            FieldType.CHOICE,
            [
                Option("", "Москва", colour=BLUE),
                Option("", "Казань", colour=YELLOW),
                Option("", "Тверь", retired=True),
            ],
        ),
        "staff": factories.field("Сотрудников", FieldType.NUMBER, on_new_form=False),
        "budget": factories.field("Бюджет", FieldType.MONEY, on_new_form=False),
        "since": factories.field("Клиент с", FieldType.DATE, on_new_form=False),
        "vat": factories.field("С НДС", FieldType.YES_NO, on_new_form=False),
        "tags": factories.field(
            "Теги", FieldType.CHOICES, ["Опт", "Розница", "VIP"], on_new_form=False
        ),
        "site": factories.field("Сайт", FieldType.LINK, on_new_form=False),
        "office": factories.field("Телефон офиса", FieldType.PHONE, on_new_form=False),
        "billing": factories.field("Почта бухгалтерии", FieldType.EMAIL, on_new_form=False),
        "notes": factories.field("Заметки", FieldType.LONG_TEXT, on_new_form=False),
    }


FULL = {
    "inn": INN,
    "gorod": "Москва",
    "sotrudnikov": "1 250 000,5",
    "byudzhet": "1 250 000,50",
    "klient_s": "31.12.2026",
    "s_nds": "да",
    "tegi": "VIP; Опт",
    "sayt": "alfa.ru",
    "telefon_ofisa": "+7 (495) 123-45-67",
    "pochta_bukhgalterii": "Buh@Alfa.RU",
    "zametki": "Первая строка\nВторая строка",
}


def lead_page(client, lead):
    response = client.get(f"/leads/{lead.number}")
    assert response.status_code == 200
    return Page(response.text)


def details_form(lead, **fields):
    """The details form as the page sends it: the lead's details as they are, and `fields`."""
    data = {
        "title": lead.title,
        "contact_name": lead.contact_name or "",
        "phone": lead.phone or "",
        "email": lead.email or "",
        "source": lead.source or "",
        "value": str(lead.value or ""),
        "owner_id": str(lead.owner_id or ""),
        "next_step_when": "",
        "next_step_note": "",
    }
    return data | {f"fields.{key}": value for key, value in fields.items()}


def fresh(lead):
    db.session.expire_all()
    return db.session.get(Lead, lead.id)


# The lead page


def test_each_field_reads_as_its_type_in_the_readers_language(client, auth, fields, admin):
    app_settings.store("currency", "₽")
    olga = factories.user(
        name="Ольга", email="olga@example.com", locale="ru", timezone="Europe/Moscow"
    )
    lead = factories.lead("ООО Альфа", owner=olga, fields=FULL)
    auth.login("olga@example.com")
    response = client.get(f"/leads/{lead.number}")
    page = Page(response.text)
    facts = page.facts()

    assert facts["ИНН"].text == INN
    # Grouped by (narrow) no-break spaces, as Russian writes numbers; read here as spaces.
    assert facts["Сотрудников"].text == "1 250 000,5"
    assert facts["Бюджет"].text == "1 250 000,50 ₽"
    assert facts["Клиент с"].text == "31 дек. 2026 г."
    assert facts["С НДС"].text == "Да"
    city = facts["Город"].find("span", class_="option-chip")
    assert city.text == "Москва" and "chip-c-1d4ed8" in city.attrs["class"]
    assert [chip.text for chip in facts["Теги"].find_all(class_="option-chip")] == ["Опт", "VIP"]
    site = facts["Сайт"].find("a")
    assert site.attrs["href"] == "https://alfa.ru"
    assert site.attrs["rel"] == "noopener noreferrer" and site.attrs["target"] == "_blank"
    assert site.text.startswith("alfa.ru")
    assert facts["Телефон офиса"].find("a").attrs["href"] == "tel:+74951234567"
    assert facts["Почта бухгалтерии"].find("a").attrs["href"] == "mailto:buh@alfa.ru"
    assert facts["Заметки"].find(class_="field-long-text").text == "Первая строка Вторая строка"
    # Every field is filled in: nothing is folded away.
    assert page.root.find("details", class_="lead-empty-fields") is None
    # The chips' colours come from a stylesheet the page links, never from inline styles.
    sheet = [
        n.attrs["href"] for n in page.root.find_all("link") if "option-colours" in n.attrs["href"]
    ]
    assert len(sheet) == 1
    assert "style=" not in response.text.split("<main", 1)[1]

    # The form shows an amount as she types one, and sending it back changes nothing.
    form = Page(client.get(f"/leads/{lead.number}/details").text)
    assert form.by_id("field-byudzhet").attrs["value"] == "1250000,50"
    sent = {
        n.attrs["name"]: n.attrs.get("value", "")
        for n in form.root.find_all("input")
        if n.attrs.get("name") and n.attrs.get("type") not in ("checkbox", "hidden")
    }
    sent |= {
        "fields.gorod": "moskva",
        "fields.s_nds": "yes",
        "fields.tegi": ["", "opt", "vip"],
        "fields.zametki": FULL["zametki"],
        "owner_id": str(olga.id),
    }
    before = fresh(lead).fields
    assert client.post(f"/leads/{lead.number}/details", data=sent).status_code == 303
    assert fresh(lead).fields == before


def test_the_option_colours_are_a_stylesheet_with_readable_text(client, admin, fields):
    response = client.get("/option-colours.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    # White on blue; yellow is light enough for dark text.
    assert ".chip-c-1d4ed8 { --chip-bg: #1d4ed8; --chip-fg: #ffffff; }" in response.text
    assert ".chip-c-facc15 { --chip-bg: #facc15; --chip-fg: #111827; }" in response.text


def test_empty_fields_are_folded_and_removed_ones_not_shown(logged_in, admin, fields):
    lead = factories.lead(owner=admin, fields={"inn": INN, "sotrudnikov": 12})
    row = db.session.scalar(select(CustomField).where(CustomField.key == "sotrudnikov"))
    row.removed_at = datetime(2026, 1, 1)
    db.session.commit()

    page = lead_page(logged_in, lead)
    assert "ИНН" in page.facts()
    assert "Сотрудников" not in page.by_id("lead-summary").text
    folded = page.root.find("details", class_="lead-empty-fields")
    assert folded.find("summary").text == "Show 9 empty fields"
    assert "Город" in folded.text and "ИНН" not in folded.text
    # The value stays on the lead, for exports and the history.
    assert fresh(lead).fields["sotrudnikov"] == 12


def test_a_retired_option_still_reads_and_stays_offered_to_its_lead(logged_in, admin, fields):
    lead = factories.lead(owner=admin)
    # Chosen before the option was retired.
    lead.fields = {"gorod": "tver"}
    other = factories.lead(owner=admin)
    assert lead_page(logged_in, lead).facts()["Город"].text == "Тверь"

    mine = Page(logged_in.get(f"/leads/{lead.number}/details").text)
    offered = [o.text for o in mine.by_id("field-gorod").find_all("option")]
    assert offered == ["—", "Москва", "Казань", "Тверь"]
    assert mine.by_id("field-gorod").find("option", selected="").text == "Тверь"
    theirs = Page(logged_in.get(f"/leads/{other.number}/details").text)
    assert "Тверь" not in theirs.by_id("field-gorod").text

    # Saving the lead's other details keeps it.
    response = logged_in.post(
        f"/leads/{lead.number}/details", data=details_form(lead, gorod="tver", inn=INN)
    )
    assert response.status_code == 303
    assert fresh(lead).fields == {"gorod": "tver", "inn": INN}


# Editing in place


def test_the_details_form_has_an_input_fit_for_each_type(logged_in, admin, fields):
    lead = factories.lead(owner=admin, fields=FULL)
    page = Page(logged_in.get(f"/leads/{lead.number}/details").text)

    def control(key):
        return page.by_id("field-" + key.replace("_", "-"))

    assert (control("inn").tag, control("inn").attrs["value"]) == ("input", INN)
    assert page.label_of("field-inn") == "ИНН"
    assert page.described_by("field-inn") == ["10 or 12 digits, from the contract"]
    for key in ("sotrudnikov", "byudzhet"):
        assert control(key).attrs["type"] == "text" and control(key).attrs["inputmode"] == "decimal"
    assert control("byudzhet").attrs["value"] == "1250000.50"
    assert (control("klient-s").attrs["type"], control("klient-s").attrs["value"]) == (
        "date",
        "2026-12-31",
    )
    assert [o.text for o in control("s-nds").find_all("option")] == ["—", "Yes", "No"]
    assert control("s-nds").find("option", selected="").attrs["value"] == "yes"
    assert control("gorod").tag == "select"
    ticked = page.root.find_all("input", type="checkbox", name="fields.tegi")
    assert [(box.attrs["value"], "checked" in box.attrs) for box in ticked] == [
        ("opt", True),
        ("roznitsa", False),
        ("vip", True),
    ]
    assert page.root.find("legend").text == "Теги"
    assert control("sayt").attrs["type"] == "url"
    assert control("telefon-ofisa").attrs["type"] == "tel"
    assert control("pochta-bukhgalterii").attrs["type"] == "email"
    assert control("zametki").tag == "textarea"
    assert "".join(control("zametki").children) == FULL["zametki"]
    # Every input has a visible label.
    for key in ("inn", "gorod", "sotrudnikov", "klient-s", "s-nds", "zametki"):
        assert page.label_of(control(key).attrs["id"])


def test_fields_are_set_in_place_with_htmx(hx, admin, fields):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    lead = factories.lead("ООО Альфа", owner=admin)
    form = hx.get(f"/leads/{lead.number}/details")
    assert form.status_code == 200 and "<html" not in form.text

    response = hx.post(
        f"/leads/{lead.number}/details",
        data=details_form(
            lead, inn=f" {INN} ", gorod="kazan", sotrudnikov="1 250,5", tegi=["", "vip", "opt"]
        ),
    )
    assert response.status_code == 200 and "<html" not in response.text
    page = Page(response.text)
    assert page.facts()["Город"].text == "Казань"
    assert page.facts()["Сотрудников"].text == "1,250.5"
    # The client's other leads come along, to swap out of band (none yet: hidden).
    assert page.by_id("client-leads").attrs["hx-swap-oob"] == "true"
    assert fresh(lead).fields == {
        "inn": INN,
        "gorod": "kazan",
        "sotrudnikov": 1250.5,
        "tegi": ["opt", "vip"],
    }


def test_unticking_every_choice_and_clearing_a_field_empty_them(logged_in, admin, fields):
    lead = factories.lead(owner=admin, fields={"tegi": ["vip"], "gorod": "moskva", "inn": INN})
    # A plain form sends the hidden empty value alone when no box is ticked.
    response = logged_in.post(
        f"/leads/{lead.number}/details", data=details_form(lead, tegi="", gorod="", inn=INN)
    )
    assert response.status_code == 303
    assert fresh(lead).fields == {"inn": INN}


def test_fields_the_form_did_not_send_are_left_as_they_are(logged_in, admin, fields):
    lead = factories.lead(owner=admin, fields={"inn": INN, "sotrudnikov": 5})
    response = logged_in.post(f"/leads/{lead.number}/details", data=details_form(lead, inn=INN))
    assert response.status_code == 303
    assert fresh(lead).fields == {"inn": INN, "sotrudnikov": 5}


@pytest.mark.parametrize(
    ("key", "typed", "message"),
    [
        ("sotrudnikov", "много", "Сотрудников: “много” is not an amount"),
        ("byudzhet", "-5", "Бюджет: Enter an amount of zero or more."),
        ("klient_s", "31.02.2026", "Клиент с: “31.02.2026” is not a date"),
        ("gorod", "tver", "Город: “tver” is no longer offered."),
        ("sayt", "not a site", "Сайт: Enter a web address such as example.ru."),
        ("pochta_bukhgalterii", "buh at alfa", "“buh at alfa” is not an email address."),
    ],
)
def test_a_value_that_does_not_fit_is_refused_at_its_input(
    logged_in, admin, fields, key, typed, message
):
    lead = factories.lead("ООО Альфа", owner=admin, fields={"inn": INN})
    data = details_form(lead, inn=OTHER_INN, **{key: typed}) | {"title": "ООО Бета"}
    response = logged_in.post(f"/leads/{lead.number}/details", data=data)
    assert response.status_code == 422
    page = Page(response.text)
    control_id = "field-" + key.replace("_", "-")
    error = page.by_id(control_id + "-error")
    assert message in error.text
    assert page.by_id(control_id).attrs["aria-invalid"] == "true"
    assert error.text in page.described_by(control_id)
    # What was typed stays in the form; nothing is saved, the other details neither.
    assert page.by_id(control_id).attrs.get("value", typed) == typed
    lead = fresh(lead)
    assert (lead.title, lead.fields) == ("ООО Альфа", {"inn": INN})


# What each field is usually sent as: valid seven times in eight, anything at all otherwise.
TYPICAL = {
    "inn": ["", INN, OTHER_INN],
    "gorod": ["", "moskva", "kazan", "tver", "Казань"],
    "sotrudnikov": ["", "12", "1 250,5", "-3", "1e3"],
    "byudzhet": ["", "0", "1 250 000,50", "99,99 ₽"],
    "klient_s": ["", "2026-12-31", "31.12.2026"],
    "s_nds": ["", "yes", "no"],
    "sayt": ["", "alfa.ru", "https://alfa.ru/about"],
    "telefon_ofisa": ["", "+7 495 123-45-67"],
    "pochta_bukhgalterii": ["", "buh@alfa.ru"],
    "zametki": ["", "Первая строка\nВторая"],
}
ANY_TEXT = st.text(max_size=80) | st.sampled_from(["\x00", " ", "NaN", "1e400", "—", "да"])


@fewer_on_postgresql(
    settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    ),
    given(data=st.data()),
)
def test_any_values_are_saved_whole_or_refused_whole(logged_in, admin, fields, data):
    lead = db.session.scalar(select(Lead).where(Lead.title == "Случайный")) or factories.lead(
        "Случайный", owner=admin
    )

    def draw(key):
        usual = st.sampled_from(TYPICAL[key])
        return data.draw(st.integers(0, 7).flatmap(lambda n: ANY_TEXT if n == 7 else usual), key)

    sent = {key: draw(key) for key in TYPICAL}
    sent["tegi"] = ["", *data.draw(st.lists(st.sampled_from(["opt", "vip", "x"]), max_size=3))]
    before = fresh(lead).fields

    response = logged_in.post(f"/leads/{lead.number}/details", data=details_form(lead, **sent))

    assert response.status_code in (303, 422)
    hypothesis.event(f"status {response.status_code}")
    if response.status_code == 422:
        assert fresh(lead).fields == before
        assert Page(response.text).root.find("p", class_="error")
    else:
        expected = custom_fields.merged(before, custom_fields.clean_values(sent, current=before))
        assert fresh(lead).fields == expected


def test_every_mistake_is_told_at_once_with_htmx(hx, admin, fields):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    lead = factories.lead(owner=admin)
    data = details_form(lead, sotrudnikov="x", klient_s="вчера") | {"title": ""}
    response = hx.post(f"/leads/{lead.number}/details", data=data)
    assert response.status_code == 422 and "<html" not in response.text
    page = Page(response.text)
    assert page.by_id("field-sotrudnikov-error") and page.by_id("field-klient-s-error")
    assert "This field is required." in response.text
    assert fresh(lead).fields == {}


def test_a_required_field_is_marked_and_cannot_be_emptied(logged_in, admin, fields):
    required = factories.field("Отрасль", FieldType.TEXT, required=True)
    lead = factories.lead(owner=admin, fields={required.key: "Стройка"})
    page = Page(logged_in.get(f"/leads/{lead.number}/details").text)
    assert page.label_of("field-otrasl") == "Отрасль required"
    assert page.by_id("field-otrasl").attrs["aria-required"] == "true"

    response = logged_in.post(f"/leads/{lead.number}/details", data=details_form(lead, otrasl=""))
    assert response.status_code == 422
    assert Page(response.text).by_id("field-otrasl-error").text == (
        "Отрасль: this field is required."
    )
    assert fresh(lead).fields == {"otrasl": "Стройка"}


def test_a_lead_that_came_without_a_required_field_can_still_be_edited(logged_in, admin, fields):
    factories.field("Отрасль", FieldType.TEXT, required=True)
    # An import or a web form's request lets required fields wait.
    lead = funnel.create_lead(admin, title="Пришёл с сайта", ask_required=False)
    db.session.commit()
    response = logged_in.post(
        f"/leads/{lead.number}/details", data=details_form(lead, otrasl="", inn=INN)
    )
    assert response.status_code == 303
    assert fresh(lead).fields == {"inn": INN}


def test_a_refusal_of_the_funnel_lands_next_to_its_input(logged_in, admin, fields, monkeypatch):
    lead = factories.lead(owner=admin)

    def refuse(*args, **kwargs):
        raise funnel.FunnelError("ИНН: already taken by the tax office.", "fields.inn")

    monkeypatch.setattr(funnel, "update_lead", refuse)
    response = logged_in.post(f"/leads/{lead.number}/details", data=details_form(lead, inn=INN))
    assert response.status_code == 422
    assert Page(response.text).by_id("field-inn-error").text == (
        "ИНН: already taken by the tax office."
    )


def test_a_colleague_who_may_only_read_cannot_edit_the_fields(client, auth, admin, fields):
    factories.user(email="sam@example.com")
    lead = factories.lead(owner=admin)
    auth.login("sam@example.com")
    assert (
        client.post(f"/leads/{lead.number}/details", data=details_form(lead, inn=INN)).status_code
        == 403
    )
    assert fresh(lead).fields == {}


# The new lead form


def new_lead(client, **data):
    """The new lead form sent in the funnel's first stage, with `data`."""
    first = db.session.scalar(Stage.in_funnel_order().limit(1))
    return client.post("/leads/new", data={"title": "ООО Бета", "stage_id": str(first.id)} | data)


def test_the_new_lead_form_asks_for_the_fields_marked_for_it(logged_in, fields):
    factories.field("Отрасль", FieldType.TEXT, required=True, on_new_form=True)
    page = Page(logged_in.get("/leads/new").text)
    names = {
        n.attrs["name"]
        for n in page.root.find_all()
        if n.attrs.get("name", "").startswith("fields.")
    }
    assert names == {"fields.inn", "fields.gorod", "fields.otrasl"}
    assert page.label_of("field-otrasl") == "Отрасль required"


def test_a_new_lead_is_saved_with_its_fields(logged_in, stages, fields):
    response = new_lead(
        logged_in, stage_id=str(stages[0].id), **{"fields.inn": INN, "fields.gorod": "Казань"}
    )
    assert response.status_code == 303
    lead = db.session.scalar(select(Lead))
    assert lead.fields == {"inn": INN, "gorod": "kazan"}


def test_the_new_lead_form_enforces_required_fields_and_bad_values(hx, admin, stages, fields):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    factories.field("Отрасль", FieldType.TEXT, required=True, on_new_form=True)
    response = hx.post(
        "/leads/new",
        data={
            "title": "ООО Бета",
            "stage_id": str(stages[0].id),
            "inline": "1",
            "fields.gorod": "Париж",
            "fields.otrasl": " ",
        },
    )
    assert response.status_code == 422 and "<html" not in response.text
    page = Page(response.text)
    assert page.by_id("field-otrasl-error").text == "Отрасль: this field is required."
    assert page.by_id("field-gorod-error").text == "Город: “Париж” is not one of the choices."
    # The required field stays in sight; the fold with the optional one opens on its mistake.
    assert page.root.find("details", class_="lead-more-fields").attrs.get("open") == ""
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0

    response = hx.post(
        "/leads/new",
        data={"title": "ООО Бета", "stage_id": str(stages[0].id), "fields.otrasl": "Стройка"},
    )
    assert response.status_code == 204
    assert db.session.scalar(select(Lead.fields)) == {"otrasl": "Стройка"}


# Duplicates and the client's other leads


def test_the_same_inn_warns_of_the_clients_leads_open_ones_first(logged_in, admin, stages, fields):
    won = factories.lead("Альфа, проект 2025", owner=admin, fields={"inn": INN})
    funnel.move_lead(won, next(s for s in stages if s.kind == "won"), admin)
    still_open = factories.lead("Альфа, сопровождение", owner=admin, fields={"inn": INN})
    stranger = factories.lead("Гамма", owner=admin, fields={"inn": OTHER_INN})

    first = new_lead(logged_in, title="Новый проект", **{"fields.inn": INN})
    assert first.status_code == 200
    page = Page(first.text)
    warning = page.root.find("section", class_="lead-duplicates")
    items = warning.find_all("li")
    assert [item.find("a").attrs["href"] for item in items] == [
        f"/leads/{still_open.number}",
        f"/leads/{won.number}",
    ]
    assert items[0].find(class_="lead-duplicate-why").text == "same ИНН"
    assert f"/leads/{stranger.number}" not in first.text
    assert page.root.find("button", name="confirmed").text == "Save anyway"
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 3

    again = new_lead(logged_in, title="Новый проект", confirmed="1", **{"fields.inn": INN})
    assert again.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 4


def test_a_hidden_colleagues_lead_is_named_without_its_details(client, auth, admin, stages, fields):
    access.set_colleagues_leads(access.ColleaguesLeads.HIDDEN)
    factories.user(name="Sam Seller", email="sam@example.com")
    secret = factories.lead("Секретный клиент", owner=admin, fields={"inn": INN})
    auth.login("sam@example.com")
    response = new_lead(client, title="Новый", stage_id=str(stages[0].id), **{"fields.inn": INN})
    assert f"#{secret.number}" in response.text and "Ada Admin" in response.text
    assert "Секретный клиент" not in response.text
    assert f"/leads/{secret.number}" not in response.text


def test_the_api_warns_of_the_same_inn(admin, stages, fields):
    known = factories.lead("Альфа", owner=admin, fields={"inn": INN})
    new = funnel.create_lead(admin, title="Совсем другое", fields={"inn": INN})
    db.session.flush()
    assert duplicates_of(new) == [known.number]


def test_other_leads_of_the_client_with_their_outcomes(logged_in, admin, stages, fields):
    app_settings.store("currency", "₽")
    seller = factories.user(name="Sam Seller")
    reason = db.session.scalar(select(LostReason).order_by(LostReason.id))
    won_stage = next(s for s in stages if s.kind == "won")
    lost_stage = next(s for s in stages if s.kind == "lost")
    won = factories.lead("Альфа 2024", owner=seller, fields={"inn": INN}, value=Decimal("150000"))
    funnel.move_lead(won, won_stage, admin)
    lost = factories.lead("Альфа 2025", owner=admin, fields={"inn": INN})
    funnel.move_lead(lost, lost_stage, admin, lost_reason=reason)
    archived = factories.lead("Альфа архив", owner=None, fields={"inn": INN})
    funnel.archive_lead(archived, admin)
    db.session.commit()
    this = factories.lead("Альфа 2026", owner=admin, fields={"inn": INN, "gorod": "moskva"})
    factories.lead("Гамма", owner=admin, fields={"inn": OTHER_INN, "gorod": "moskva"})

    section = lead_page(logged_in, this).by_id("client-leads")
    assert section.find("h2").text == "Other leads of this client"
    items = section.find_all("li")
    assert [item.find("a").text for item in items] == [
        f"#{archived.number} Альфа архив",
        f"#{lost.number} Альфа 2025",
        f"#{won.number} Альфа 2024",
    ]
    archived_item, lost_item, won_item = items
    assert "Archived" in archived_item.text and "Open" in archived_item.text
    assert lost_item.find(class_="client-lead-outcome").text == f"Lost: {reason.name}"
    assert won_item.find(class_="client-lead-outcome").text == "Won: 150,000 ₽"
    assert won_item.find(class_="client-lead-owner").text == "Sam Seller"
    assert won_item.find("span", class_="badge").text == won_stage.name
    assert won_item.find(class_="client-lead-why").text == "same ИНН"

    # Each of them lists this one back.
    back = lead_page(logged_in, won).by_id("client-leads")
    assert f"#{this.number} Альфа 2026" in back.text


def test_a_lead_without_an_identifying_value_lists_no_other_leads(logged_in, admin, fields):
    factories.lead(owner=admin, fields={"gorod": "moskva"})
    lead = factories.lead(owner=admin, fields={"gorod": "moskva"})
    section = lead_page(logged_in, lead).by_id("client-leads")
    assert "hidden" in section.attrs and section.find("li") is None


def test_a_salesperson_sees_a_hidden_colleagues_lead_exists(client, auth, admin, fields):
    access.set_colleagues_leads(access.ColleaguesLeads.HIDDEN)
    sam = factories.user(name="Sam Seller", email="sam@example.com")
    secret = factories.lead("Секретный клиент", owner=admin, fields={"inn": INN})
    mine = factories.lead("Мой клиент", owner=sam, fields={"inn": INN})
    auth.login("sam@example.com")
    section = lead_page(client, mine).by_id("client-leads")
    assert f"#{secret.number}" in section.text and "Ada Admin" in section.text
    assert "Секретный клиент" not in section.text
    assert section.find("a") is None


def test_the_team_can_keep_hidden_leads_out_of_the_warning(client, auth, admin, stages, fields):
    access.set_colleagues_leads(access.ColleaguesLeads.HIDDEN)
    access.set_warns_of_hidden_duplicates(False)
    db.session.commit()
    sam = factories.user(name="Sam Seller", email="sam@example.com")
    secret = factories.lead("Секретный клиент", owner=admin, fields={"inn": INN})
    auth.login("sam@example.com")
    # Nothing is told, so the new lead is saved at once.
    saved = new_lead(client, title="Новый", stage_id=str(stages[0].id), **{"fields.inn": INN})
    assert saved.status_code == 303
    mine = db.session.scalar(select(Lead).where(Lead.title == "Новый"))
    section = lead_page(client, mine).by_id("client-leads")
    assert "hidden" in section.attrs and "Ada Admin" not in section.text
    new = funnel.create_lead(sam, title="Ещё один", fields={"inn": INN})
    db.session.flush()
    with client.application.test_request_context():
        from flask_login import login_user

        login_user(sam)
        assert secret.number not in duplicates_of(new)


def test_changing_the_inn_in_place_brings_the_clients_leads(hx, admin, fields):
    hx.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    known = factories.lead("Альфа", owner=admin, fields={"inn": INN})
    lead = factories.lead("Новый", owner=admin)
    response = hx.post(f"/leads/{lead.number}/details", data=details_form(lead, inn=INN))
    section = Page(response.text).by_id("client-leads")
    assert section.attrs["hx-swap-oob"] == "true" and "hidden" not in section.attrs
    assert f"#{known.number} Альфа" in section.text


def test_an_identifying_number_matches_however_it_was_typed(logged_in, admin, stages):
    factories.field("ОГРН", FieldType.NUMBER, identifies_client=True)
    known = factories.lead("Альфа", owner=admin, fields={"ogrn": "1 027 700 132 195"})
    lead = factories.lead("Альфа, проект", owner=admin, fields={"ogrn": 1027700132195})
    factories.lead("Гамма", owner=admin, fields={"ogrn": 1027700132196})
    section = lead_page(logged_in, lead).by_id("client-leads")
    assert [item.find("a").text for item in section.find_all("li")] == [f"#{known.number} Альфа"]
    assert section.find(class_="client-lead-why").text == "same ОГРН"
    warned = new_lead(logged_in, title="Совсем другое", **{"fields.ogrn": "1027700132195"})
    assert f"/leads/{known.number}" in warned.text and f"/leads/{lead.number}" in warned.text


def test_the_clients_leads_are_found_through_the_index(app, admin, fields):
    lead = factories.lead(owner=admin, fields={"inn": INN})
    statement = (
        select(Lead.id)
        .where(clients.sharing_any(clients.identity(lead.fields)))
        .compile(db.engine, compile_kwargs={"literal_binds": True})
    )
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = db.session.scalars(text(f"EXPLAIN {statement}")).all()
    else:
        plan = [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {statement}"))]
    assert any("ix_leads_field_inn" in line for line in plan), plan


def test_the_lead_page_costs_the_same_however_many_leads_the_client_has(
    logged_in, admin, stages, fields
):
    seller = factories.user()
    reason = db.session.scalar(select(LostReason).order_by(LostReason.id))
    lost_stage = next(s for s in stages if s.kind == "lost")
    small = factories.lead(owner=admin, fields={"inn": INN, "gorod": "moskva"})
    factories.lead(owner=admin, fields={"inn": INN})
    big = factories.lead(owner=admin, fields={"inn": OTHER_INN, "gorod": "kazan", "tegi": ["vip"]})
    for n in range(15):
        other = factories.lead(owner=seller if n % 2 else admin, fields={"inn": OTHER_INN})
        if n % 3 == 0:
            funnel.move_lead(other, lost_stage, admin, lost_reason=reason)
    db.session.commit()
    assert count_queries(logged_in, f"/leads/{small.number}") == count_queries(
        logged_in, f"/leads/{big.number}"
    )


def test_the_lead_page_costs_the_same_however_many_fields_the_team_has(logged_in, admin, stages):
    factories.field("ИНН", identifies_client=True)
    lead = factories.lead(owner=admin, fields={"inn": INN})
    few = count_queries(logged_in, f"/leads/{lead.number}")
    for n in range(20):
        if n % 2:
            factories.field(f"Поле {n}", FieldType.CHOICE, ["Да", "Нет"])
        else:
            factories.field(f"Поле {n}", FieldType.TEXT, identifies_client=True)
    many = count_queries(logged_in, f"/leads/{lead.number}")
    assert few == many


# The history


def test_the_history_names_fields_by_their_label_and_values_as_typed(logged_in, admin, fields):
    lead = factories.lead(owner=admin, fields={"gorod": "moskva", "klient_s": "2026-01-31"})
    logged_in.post(
        f"/leads/{lead.number}/details",
        data=details_form(lead, gorod="kazan", klient_s="2026-12-31", s_nds="no"),
    )
    row = db.session.scalar(select(CustomField).where(CustomField.key == "klient_s"))
    row.removed_at = datetime(2026, 6, 1)
    db.session.commit()

    page = Page(logged_in.get(f"/leads/{lead.number}/history").text)
    lines = [line.text for line in page.root.find_all("li", class_="history-line")]
    assert any("Город Москва → Казань" in line for line in lines), lines
    # A removed field keeps its name in the history.
    assert any("Клиент с 31.01.2026 → 31.12.2026" in line for line in lines), lines
    assert any("С НДС — → No" in line for line in lines), lines


# Intake forms


@pytest.fixture
def intake_form(app, stages):
    form = IntakeForm(name="Сайт", token=receiving.new_token(), source="Сайт", allowed_origins="")
    db.session.add(form)
    db.session.commit()
    return form


def send(client, form, **data):
    return client.post(f"/intake/{form.token}", data=data)


def test_posted_names_fill_the_fields_by_key_or_label(client, intake_form, fields):
    response = send(
        client,
        intake_form,
        name="Иван",
        email="ivan@alfa.ru",
        **{"ИНН": INN, "GOROD": "Казань", "Сотрудников": "много", "utm_source": "ya"},
    )
    assert response.status_code == 200
    lead = db.session.scalar(select(Lead))
    assert lead.fields == {"inn": INN, "gorod": "kazan"}
    # What did not fit is kept in the request's text, with the reason.
    body = db.session.scalar(select(Activity.body))
    assert "Сотрудников: много" in body
    assert "Not kept in the lead's fields: Сотрудников: “много” is not an amount" in body
    assert "utm_source: ya" in body


def test_a_request_naming_a_known_inn_goes_to_the_clients_open_lead(
    client, admin, stages, intake_form, fields
):
    won_stage = next(s for s in stages if s.kind == "won")
    still_open = factories.lead("Альфа", owner=admin, fields={"inn": INN})
    newer = factories.lead("Альфа, проект", owner=admin, fields={"inn": INN})
    funnel.move_lead(newer, won_stage, admin)
    db.session.commit()

    response = send(client, intake_form, name="Пётр", email="petr@alfa.ru", inn=INN)
    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 2
    activity = db.session.scalar(select(Activity))
    assert activity.lead_id == still_open.id


def test_the_intake_page_lists_the_names_of_the_fields(logged_in, intake_form, fields):
    page = Page(logged_in.get("/settings/intake-forms").text)
    names = page.by_id("intake-own-fields")
    assert "inn (ИНН)" in names.text and "gorod (Город)" in names.text
