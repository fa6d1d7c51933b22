"""The team's own fields in the import: a sheet's columns of its own (ИНН, Город, Сайт) become
fields with every value kept, typed after what they hold; rows find their client by a field that
identifies it; and the export gives the values back."""

import csv
import io
from datetime import date, datetime
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm import custom_fields, funnel, parsing
from crm.extensions import db
from crm.imports import engine, fields, jobs, reading, team_fields
from crm.imports.forms import column_guesses
from crm.models import CustomField, FieldType, Lead, LostReason, StageKind
from tests import factories
from tests.test_import import ImportPage, job_of, lead_by_title, sheet, upload

CITIES = ["Москва", "Санкт-Петербург", "Казань", "Нижний Новгород", "Владивосток"]
ROWS = 60


def clients_sheet(rows=ROWS):
    """A Russian team's sheet of clients with columns of its own: a tax number (one starting
    with 0, as those of the Republic of Adygea do), a city of a few, a website."""
    table = [["Название", "Телефон", "ИНН", "Город", "Сайт"]]
    for n in range(1, rows + 1):
        table.append(
            [
                f"ООО «Клиент {n}»",
                f"+7 (999) {n:03d}-{n % 100:02d}-{n % 89:02d}",
                "0105012345" if n == 1 else f"77{n:08d}",
                CITIES[n % len(CITIES)],
                f"https://klient{n}.ru" if n % 2 else f"klient{n}.ru",
            ]
        )
    return table


def stored_site(written):
    return written if "://" in written else f"https://{written}"


@pytest.fixture
def russian(app):
    factories.funnel("ru")
    return factories.admin(
        name="Пётр", email="petr@example.ru", locale="ru", timezone="Europe/Moscow"
    )


class MappingPage(HTMLParser):
    """The mapping page's selects: each column's name → (chosen value, the option's text)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.selected = {}
        self._select = None
        self._option = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self._option = [attrs.get("value"), ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            self.selected[self._select] = tuple(self._option)
            self._option = None
        elif tag == "select":
            self._select = None


def table_rows(html, table_id):
    """The cells of each body row of the table with this id, as text."""

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.rows, self.inside, self.cell = [], False, None

        def handle_starttag(self, tag, attrs):
            if tag == "table" and dict(attrs).get("id") == table_id:
                self.inside = True
            elif self.inside and tag == "tr":
                self.rows.append([])
            elif self.inside and tag == "td":
                self.cell = []

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

        def handle_endtag(self, tag):
            if tag == "td" and self.cell is not None:
                self.rows[-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "table":
                self.inside = False

    parser = Rows()
    parser.feed(html)
    return [row for row in parser.rows if row]


def leads_count():
    return db.session.scalar(select(func.count()).select_from(Lead))


def fields_by_key():
    return {row.key: row for row in db.session.scalars(select(CustomField))}


# The sheet moving in, through the pages


def test_a_windows_1251_sheet_moves_in_with_its_own_columns_and_the_export_gives_them_back(
    client, auth, russian
):
    auth.login(russian.email)
    table = clients_sheet()
    content = "".join(";".join(row) + "\r\n" for row in table).encode("cp1251")
    response = upload(client, content, "Клиенты.csv")
    columns_url = response.headers["Location"]
    job_id = job_of(response)

    # Each column the lead has no field for is offered as a new field, of the type its values
    # suggest: the tax numbers stay text (no leading zero lost), five cities a choice.
    page = client.get(columns_url).text
    selected = MappingPage(page).selected
    assert selected["column_0"][0] == "title" and selected["column_1"][0] == "phone"
    assert selected["column_2"] == ("new:text", "Новое поле: Текст")
    assert selected["column_3"] == ("new:choice", "Новое поле: Выбор из списка")
    assert selected["column_4"] == ("new:link", "Новое поле: Ссылка")
    form = {name: value for name, (value, _text) in selected.items()}
    response = client.post(columns_url, data=form | {"lost_reason_id": "", "won_value": ""})
    assert response.status_code == 303
    assert fields_by_key() == {}

    # The dry run names the fields it will make, and each lead's values.
    page = client.get(f"/settings/import/{job_id}").text
    assert table_rows(page, "import-new-fields") == [
        ["ИНН", "Текст", "—"],
        ["Город", "Выбор из списка", "5 вариантов"],
        ["Сайт", "Ссылка", "—"],
    ]
    first = ImportPage(page).changes()[0]
    assert first[0] == "#1 ООО «Клиент 1»"
    assert ("ИНН", "— → 0105012345") in first[1]
    assert ("Город", "— → Санкт-Петербург") in first[1]
    assert ("Сайт", "— → https://klient1.ru") in first[1]
    assert leads_count() == 0 and fields_by_key() == {}

    response = client.post(f"/settings/import/{job_id}/import", data={})
    page = client.get(f"/settings/import/{job_id}").text
    assert "Созданные поля" in page
    made = fields_by_key()
    assert {key: (row.label, row.type) for key, row in made.items()} == {
        "inn": ("ИНН", FieldType.TEXT),
        "gorod": ("Город", FieldType.CHOICE),
        "sayt": ("Сайт", FieldType.LINK),
    }
    assert sorted(option["label"] for option in made["gorod"].options) == sorted(CITIES)

    # Every value kept.
    city_keys = {option["label"]: option["key"] for option in made["gorod"].options}
    for title, _phone, inn, city, site in table[1:]:
        lead = lead_by_title(title)
        assert lead.fields == {"inn": inn, "gorod": city_keys[city], "sayt": stored_site(site)}

    # The export, as a Russian Excel opens it: semicolons, a column per field, labels as headers.
    response = client.get("/export/leads.csv")
    text = response.data.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert header[-3:] == ["ИНН", "Город", "Сайт"]
    exported = {row[header.index("Название")]: row[-3:] for row in rows}
    assert exported == {
        title: [inn, city, stored_site(site)] for title, _phone, inn, city, site in table[1:]
    }

    # Importing the same sheet again finds the fields by their labels and changes nothing.
    response = upload(client, content, "Клиенты.csv")
    selected = MappingPage(client.get(response.headers["Location"]).text).selected
    assert [selected[f"column_{n}"][0] for n in (2, 3, 4)] == [
        "fields.inn",
        "fields.gorod",
        "fields.sayt",
    ]
    client.post(
        response.headers["Location"],
        data={name: value for name, (value, _text) in selected.items()},
    )
    report = jobs.get(job_of(response)).report
    assert (report.created, report.updated, report.skipped) == (0, 0, ROWS)
    assert report.new_fields == []


# The engine


def run(path, mapping, new_fields=(), apply=False, tmp_path=None, **chosen):
    layout = reading.inspect(path)
    settings = engine.Settings(kind="leads", mapping=mapping, new_fields=list(new_fields), **chosen)
    report = engine.run(path, layout, settings, apply=apply, scratch=tmp_path / "scratch")
    if apply:
        db.session.commit()
    else:
        db.session.rollback()
    return report


def guessed_settings(path, team=()):
    """The mapping as the page guesses it: standard fields, the team's, and new fields."""
    layout = reading.inspect(path)
    chosen = column_guesses(fields.LEADS, layout, team)
    mapping = {
        value: index for index, value in enumerate(chosen) if value and not value.startswith("new:")
    }
    new = [
        {"column": index, "label": layout.columns[index].header, "type": value[4:]}
        for index, value in enumerate(chosen)
        if value.startswith("new:")
    ]
    return mapping, new


def test_an_xlsx_sheet_moves_in_with_its_typed_cells(admin, stages, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet_ = workbook.active
    sheet_.append(["Название", "Email", "ИНН", "Город", "Сайт", "Сотрудников", "Первая встреча"])
    for n in range(1, ROWS + 1):
        # Excel keeps a tax number typed in as a number.
        sheet_.append(
            [
                f"Клиент {n}",
                f"client{n}@example.ru",
                7700000000 + n,
                CITIES[n % 5],
                f"klient{n}.ru",
                n * 10,
                datetime(2026, 1, n % 28 + 1),
            ]
        )
    path = tmp_path / "clients.xlsx"
    workbook.save(path)

    mapping, new = guessed_settings(path)
    assert [(item["label"], item["type"]) for item in new] == [
        ("ИНН", "text"),
        ("Город", "choice"),
        ("Сайт", "link"),
        ("Сотрудников", "number"),
        ("Первая встреча", "date"),
    ]
    report = run(path, mapping, new, apply=True, tmp_path=tmp_path, owner_id=admin.id)
    assert (report.created, report.failed) == (ROWS, 0)
    lead = lead_by_title("Клиент 3")
    assert lead.fields["inn"] == "7700000003"
    assert lead.fields["sotrudnikov"] == 30
    assert lead.fields["pervaya_vstrecha"] == "2026-01-04"
    assert lead.fields["sayt"] == "https://klient3.ru"

    # Again: the same values, nothing changes.
    mapping, new = guessed_settings(path, custom_fields.active_fields())
    assert new == []
    report = run(path, mapping, apply=True, tmp_path=tmp_path)
    assert (report.created, report.updated, report.skipped) == (0, 0, ROWS)


def test_a_bad_cell_is_the_row_s_problem_and_nothing_is_half_saved(admin, stages, tmp_path):
    path = sheet(
        tmp_path,
        [
            ["Название", "Сотрудников", "Дата встречи"],
            ["Acme", "120", "01.02.2026"],
            ["Beta", "много", "03.02.2026"],
            ["Gamma", "15", "32.01.2026"],
        ],
    )
    new = [
        {"column": 1, "label": "Сотрудников", "type": "number"},
        {"column": 2, "label": "Дата встречи", "type": "date"},
    ]
    report = run(path, {"title": 0}, new, tmp_path=tmp_path)
    assert report.errors == [
        [3, "“Сотрудников”: “много” is not an amount: write it like 1 250 000,50 or 1250000.50."],
        [
            4,
            "“Дата встречи”: “32.01.2026” is not a date: write it like 27.11.2026, "
            "27.11.2026 14:30 or 2026-11-27.",
        ],
    ]
    with pytest.raises(engine.ImportFailed) as stopped:
        run(path, {"title": 0}, new, apply=True, tmp_path=tmp_path)
    assert "Line 3" in stopped.value.message
    assert leads_count() == 0
    assert fields_by_key() == {}

    # A value an existing field cannot hold: the field's own check, named by the column.
    factories.field("Сайт", "link")
    path = sheet(tmp_path, [["Название", "Сайт"], ["Acme", "not a site"]], name="b.csv")
    report = run(path, {"title": 0, "fields.sayt": 1}, tmp_path=tmp_path)
    assert report.errors == [[2, "“Сайт”: Enter a web address such as example.ru."]]

    # Skipped when asked: the rest goes in, with its fields.
    report = run(
        tmp_path / "sheet.csv", {"title": 0}, new, apply=True, tmp_path=tmp_path, skip_errors=True
    )
    assert (report.created, report.failed) == (1, 2)
    assert lead_by_title("Acme").fields == {"sotrudnikov": 120, "data_vstrechi": "2026-02-01"}


def test_a_choice_with_too_many_values_stops_the_check_and_an_empty_column_makes_no_field(
    admin, stages, tmp_path
):
    rows = [["Название", "Код", "Пусто"]] + [[f"Lead {n}", f"K{n}", ""] for n in range(250)]
    path = sheet(tmp_path, rows)
    with pytest.raises(engine.ImportFailed) as stopped:
        run(
            path, {"title": 0}, [{"column": 1, "label": "Код", "type": "choice"}], tmp_path=tmp_path
        )
    assert stopped.value.message == (
        "Column “Код” has more than 200 different values, or values too long for a choice: "
        "import it as text."
    )
    new = [
        {"column": 1, "label": "Код", "type": "text"},
        {"column": 2, "label": "Пусто", "type": "text"},
    ]
    report = run(path, {"title": 0}, new, apply=True, tmp_path=tmp_path)
    assert [(item["label"], item["key"]) for item in report.new_fields] == [
        ("Код", "kod"),
        ("Пусто", None),
    ]
    assert list(fields_by_key()) == ["kod"]


def test_a_row_finds_its_client_by_an_identifying_field(admin, stages, tmp_path):
    factories.field("ИНН", "text", identifies_client=True)
    lost = next(stage for stage in stages if stage.kind == StageKind.LOST)
    reason = db.session.scalar(select(LostReason))
    # One client with an old lost lead and an open one; another with only closed ones.
    made = {}
    for title, inn in (
        ("Ромашка 2019", "7701000001"),
        ("Ромашка 2025", "7701000001"),
        ("Лютик 2020", "7702000002"),
        ("Лютик 2024", "7702000002"),
    ):
        made[title] = factories.lead(title=title, owner=admin, fields={"inn": inn})
    for title in ("Ромашка 2019", "Лютик 2020", "Лютик 2024"):
        funnel.move_lead(made[title], lost, admin, lost_reason=reason)
    db.session.commit()
    ids = {title: lead.id for title, lead in made.items()}

    path = sheet(
        tmp_path,
        [
            ["Название", "ИНН", "Источник"],
            ["ООО Ромашка", "7701000001", "Выставка"],
            ["ООО Лютик", "7702000002", "Звонок"],
            ["ООО Новый", "7703000003", "Реклама"],
            # The same client again, in the same file: the lead just made.
            ["ООО Новый", "7703000003", ""],
        ],
    )
    mapping = {"title": 0, "fields.inn": 1, "source": 2}
    report = run(path, mapping, tmp_path=tmp_path)
    assert (report.created, report.updated) == (1, 3)
    report = run(path, mapping, apply=True, tmp_path=tmp_path, owner_id=admin.id)
    assert (report.created, report.updated) == (1, 3)
    db.session.expire_all()
    sources = {title: db.session.get(Lead, id_).source for title, id_ in ids.items()}
    # The client's open lead; for a client with none open, the newest.
    assert sources == {
        "Ромашка 2019": None,
        "Ромашка 2025": "Выставка",
        "Лютик 2020": None,
        "Лютик 2024": "Звонок",
    }
    new = db.session.scalars(select(Lead).where(Lead.fields["inn"].as_string() == "7703000003"))
    assert [(lead.title, lead.source) for lead in new] == [("ООО Новый", "Реклама")]
    # Again: all found, nothing changes.
    report = run(path, mapping, tmp_path=tmp_path)
    assert (report.created, report.updated, report.skipped) == (0, 0, 4)


def test_an_existing_field_is_read_and_changes_are_listed_from_what_to_what(
    admin, stages, tmp_path
):
    factories.field("Город", "choice", ["Москва", "Казань"])
    acme = factories.lead(
        title="Acme", owner=admin, email="acme@example.com", fields={"gorod": "Москва"}
    ).id
    path = sheet(
        tmp_path,
        [
            ["Название", "Email", "Город"],
            ["Acme", "acme@example.com", "казань"],
            ["Beta", "", "Москва"],
        ],
    )
    mapping, new = guessed_settings(path, custom_fields.active_fields())
    assert (mapping, new) == ({"title": 0, "email": 1, "fields.gorod": 2}, [])
    report = run(path, mapping, tmp_path=tmp_path)
    assert [(c["title"], c["fields"]) for c in report.lead_changes] == [
        ("Acme", [["fields.gorod", "Москва", "Казань"]]),
        ("Beta", [["fields.gorod", None, "Москва"]]),
    ]
    run(path, mapping, apply=True, tmp_path=tmp_path, owner_id=admin.id)
    db.session.expire_all()
    assert db.session.get(Lead, acme).fields == {"gorod": "kazan"}


# What a column becomes


def test_russian_headers_of_a_team_s_own_become_fields_not_standard_ones():
    headers = ["Название", "ИНН", "Город", "Сайт", "Отрасль", "Бюджет", "Откуда узнали"]
    assert fields.guess(fields.LEADS, headers) == [
        "title",
        None,
        None,
        None,
        None,
        # The deal's value and where the lead came from, as amoCRM's teams call them.
        "value",
        "source",
    ]
    # With the lead's own columns there too, they are the team's.
    headers += ["Сумма", "Источник"]
    guessed = fields.guess(fields.LEADS, ["Сумма", "Источник", *headers[:-2]])
    assert guessed == ["value", "source", "title", None, None, None, None, None, None]
    # Columns of our own export that the import does not read back make no fields.
    assert fields.guess(fields.LEADS, ["Последний контакт", "В архиве", "Archived"]) == [
        "",
        "",
        "",
    ]


@pytest.mark.parametrize(
    ("values", "header", "type_"),
    [
        (["7707083893", "500100732259"], "ИНН", FieldType.TEXT),
        (["0012", "0457"], "Код", FieldType.TEXT),
        ([7707083893, 7707083894], "", FieldType.TEXT),
        (["31.12.2026", "2026-01-15", datetime(2026, 3, 1)], "", FieldType.DATE),
        (["10", "250", "1 000", "12,5"], "", FieldType.NUMBER),
        (["1 250 ₽", "300 руб."], "", FieldType.MONEY),
        (["+7 999 123-45-67", "8 (912) 000-11-22"], "", FieldType.PHONE),
        (["89991234567", "89120001122"], "Телефон 2", FieldType.PHONE),
        (["ivan@example.ru", "Anna@Mail.RU"], "", FieldType.EMAIL),
        (["example.ru", "https://Site.COM/path", "сайт.рф"], "", FieldType.LINK),
        (["да", "нет", "Да"], "", FieldType.YES_NO),
        (["x", "y"], "", FieldType.TEXT),
        (["И.Петров", "А.Сидоров"], "", FieldType.TEXT),
        (CITIES * 10, "", FieldType.CHOICE),
        (CITIES * 9, "", FieldType.TEXT),
        (["Обсудили сроки и бюджет, ждут КП к пятнице"], "", FieldType.LONG_TEXT),
        (["a" * 501], "", FieldType.LONG_TEXT),
        ([], "", FieldType.TEXT),
    ],
)
def test_a_new_field_s_type_is_guessed_from_its_values(app, values, header, type_):
    sample = team_fields.ValueSample()
    for value in values:
        sample.add(value)
    prose = any(reading.wordy(value) for value in values)
    assert sample.guess(header, prose) == type_


KINDS_OF_CELLS = (
    st.dates(date(1950, 1, 1), date(2090, 12, 31)).map(lambda d: d.strftime("%d.%m.%Y")),
    st.integers(-(10**12), 10**12).map(str),
    st.decimals(-(10**9), 10**9, places=2).map(lambda d: str(d).replace(".", ",")),
    st.from_regex(r"\+7 9\d\d \d\d\d-\d\d-\d\d", fullmatch=True),
    st.from_regex(r"[a-z]{1,10}@[a-z]{1,10}\.(ru|com)", fullmatch=True),
    st.from_regex(r"(https://)?[a-z]{1,10}\.(ru|рф|com)(/[a-z]{0,5})?", fullmatch=True),
    st.sampled_from(["да", "нет", "Да", "yes", "no", "-", "", "0", "1"]),
    st.sampled_from(CITIES),
    st.text(max_size=600),
)
# Mostly columns of one kind of value, as a sheet's are; sometimes a mixture.
COLUMNS = st.one_of(
    *(st.lists(cells, max_size=70) for cells in KINDS_OF_CELLS),
    st.lists(st.one_of(*KINDS_OF_CELLS), max_size=70),
)


@pytest.mark.sqlite_only
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=COLUMNS)
def test_a_guessed_type_holds_every_value_it_was_guessed_from(app, column):
    """Whatever a column holds, the field made of it takes each of its values: a guess never
    makes an import's rows fail."""
    sample = team_fields.ValueSample()
    new = team_fields.NewField(0, "Поле", FieldType.TEXT)
    for value in column:
        sample.add(value)
    new.type = sample.guess("Поле", any(reading.wordy(value) for value in column))
    for value in column:
        new.add(value)
    (field,) = team_fields.planned([new], ())
    for value in column:
        if parsing.text(value) is None:
            continue
        if field.has_options:
            value = " ".join(value.split())
        custom_fields.clean_value(field, value)


def test_dates_of_a_new_field_that_read_either_way_are_asked_about(admin, stages, tmp_path):
    path = sheet(
        tmp_path, [["Название", "Встреча"], ["Acme", "03/04/2026"], ["Beta", "05/06/2026"]]
    )
    new = [{"column": 1, "label": "Встреча", "type": "date"}]
    report = run(path, {"title": 0}, new, tmp_path=tmp_path)
    assert report.date_order_needed and report.has_questions
    run(path, {"title": 0}, new, apply=True, tmp_path=tmp_path, date_order="month-first")
    assert lead_by_title("Acme").fields == {"vstrecha": "2026-03-04"}


def test_the_mapping_page_reads_a_field_of_the_team_s_from_one_column_only(logged_in, admin):
    factories.field("ИНН", "text")
    response = upload(logged_in, "Название;ИНН;ИНН клиента\r\nAcme;1;1\r\n".encode())
    columns_url = response.headers["Location"]
    selected = MappingPage(logged_in.get(columns_url).text).selected
    assert [selected[f"column_{n}"][0] for n in range(3)] == ["title", "fields.inn", "new:text"]
    response = logged_in.post(
        columns_url, data={"column_0": "title", "column_1": "fields.inn", "column_2": "fields.inn"}
    )
    assert response.status_code == 422
    assert "“ИНН” is chosen for another column too." in response.text
    # A new field's dates that read either way are asked about before the check.
    response = upload(logged_in, b"Title,Met\r\nAcme,03/04/2026\r\n")
    response = logged_in.post(
        response.headers["Location"], data={"column_0": "title", "column_1": "new:date"}
    )
    assert response.status_code == 422
    assert "Say whether the day or the month comes first in these dates." in response.text


def test_a_team_has_at_most_a_hundred_fields(admin, stages, tmp_path, monkeypatch):
    monkeypatch.setattr(custom_fields, "FIELDS_MAX", 2)
    factories.field("Есть", "text")
    path = sheet(tmp_path, [["Название", "Один", "Два"], ["Acme", "1", "2"]])
    new = [
        {"column": 1, "label": "Один", "type": "text"},
        {"column": 2, "label": "Два", "type": "text"},
    ]
    with pytest.raises(engine.ImportFailed) as stopped:
        run(path, {"title": 0}, new, tmp_path=tmp_path)
    assert stopped.value.message == "A team can have at most 2 fields."


def test_a_field_removed_since_the_mapping_stops_the_check(admin, stages, tmp_path):
    factories.field("Город", "text")
    path = sheet(tmp_path, [["Название", "Город"], ["Acme", "Казань"]])
    row = db.session.scalar(select(CustomField).where(CustomField.key == "gorod"))
    row.removed_at = datetime(2026, 1, 1)
    db.session.commit()
    custom_fields.forget()
    for mapping in ({"title": 0, "fields.gorod": 1}, {"title": 0, "fields.nope": 1}):
        with pytest.raises(engine.ImportFailed) as stopped:
            run(path, mapping, tmp_path=tmp_path)
        assert stopped.value.message == (
            "Column “Город” is mapped to a field that is no longer there: choose the columns again."
        )
