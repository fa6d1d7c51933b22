"""The import's readers: dates, amounts and lead numbers as people type them, files as
spreadsheets save them, and the headers that say what each column holds."""

import codecs
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm import parsing
from crm.imports import fields
from crm.imports.reading import FileProblem, Table, inspect
from crm.parsing import DAY_FIRST, MONTH_FIRST, ValueProblem

# Dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("27.11.2026", datetime(2026, 11, 27)),
        ("27.11.2026 14:30", datetime(2026, 11, 27, 14, 30)),
        ("27.11.2026 14:30:15", datetime(2026, 11, 27, 14, 30, 15)),
        ("7.1.2026", datetime(2026, 1, 7)),
        ("27.11.26", datetime(2026, 11, 27)),
        ("27.11.2026 г.", datetime(2026, 11, 27)),
        ("2026-11-27", datetime(2026, 11, 27)),
        ("2026-11-27 14:30", datetime(2026, 11, 27, 14, 30)),
        ("2026-11-27T14:30:00", datetime(2026, 11, 27, 14, 30)),
        ("2026/11/27", datetime(2026, 11, 27)),
        ("11/27/2026", datetime(2026, 11, 27)),
        ("27/11/2026", datetime(2026, 11, 27)),
        ("11/27/2026 2:30 PM", datetime(2026, 11, 27, 14, 30)),
        ("11/27/2026 12:05 am", datetime(2026, 11, 27, 0, 5)),
        ("  27.11.2026  ", datetime(2026, 11, 27)),
    ],
)
def test_dates_people_write(text, expected):
    assert parsing.parse_date(text) == expected


def test_a_date_with_its_zone_keeps_it():
    moment = parsing.parse_date("2026-11-27T14:30:00+03:00")
    assert moment.astimezone(UTC) == datetime(2026, 11, 27, 11, 30, tzinfo=UTC)
    assert parsing.parse_date("2026-11-27T14:30Z").tzinfo == timezone(timedelta(0))


def test_spreadsheet_dates_are_taken_as_they_are():
    assert parsing.parse_date(datetime(2026, 11, 27, 9)) == datetime(2026, 11, 27, 9)
    assert parsing.parse_date(date(2026, 11, 27)) == datetime(2026, 11, 27)


def test_a_date_that_reads_either_way_asks_which_comes_first():
    with pytest.raises(parsing.AmbiguousDate, match="either way"):
        parsing.parse_date("03/04/2026")
    assert parsing.parse_date("03/04/2026", DAY_FIRST) == datetime(2026, 4, 3)
    assert parsing.parse_date("03/04/2026", MONTH_FIRST) == datetime(2026, 3, 4)
    # The same day and month read alike either way.
    assert parsing.parse_date("04/04/2026") == datetime(2026, 4, 4)
    # A day over 12 settles it whatever was said.
    assert parsing.parse_date("27/11/2026", MONTH_FIRST) == datetime(2026, 11, 27)


def test_slashed_dates_tell_their_order():
    assert parsing.slash_order("27/11/2026") == DAY_FIRST
    assert parsing.slash_order("11/27/2026") == MONTH_FIRST
    assert parsing.slash_order("03/04/2026") is None
    assert parsing.slash_order("27.11.2026") is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "32.01.2026",
        "29.02.2025",
        "2026-13-01",
        "27.11",
        "46353",
        "1.1.1850",
        "27.11.2026 25:00",
        "11/27/2026 13:00 PM",
        "=TODAY()",
        "2026-11-27T10:00+25:00",
    ],
)
def test_what_is_not_a_date_says_so(text):
    with pytest.raises(ValueProblem) as problem:
        parsing.parse_date(text)
    assert problem.value.message


# Amounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 250 000,50", "1250000.50"),
        ("1\u00a0250\u00a0000,50", "1250000.50"),
        ("1\u202f250\u202f000,50", "1250000.50"),
        ("1250000,5", "1250000.5"),
        ("1,250,000.50", "1250000.50"),
        ("1.250.000,50", "1250000.50"),
        ("1'250'000.50", "1250000.50"),
        ("1250000.50", "1250000.50"),
        ("1,250", "1250"),
        ("0,125", "0.125"),
        ("12,5", "12.5"),
        ("1 250 000 ₽", "1250000"),
        ("1 250 000 руб.", "1250000"),
        ("$1,250.00", "1250.00"),
        ("€ 99", "99"),
        ("1.25E+06", "1.25E+6"),
        ("-500", "-500"),
        ("0", "0"),
    ],
)
def test_amounts_people_write(text, expected):
    assert parsing.parse_number(text) == Decimal(expected)


def test_spreadsheet_numbers_are_taken_as_they_are():
    assert parsing.parse_number(1250) == Decimal(1250)
    assert parsing.parse_number(1250.5) == Decimal("1250.5")
    with pytest.raises(ValueProblem):
        parsing.parse_number(float("nan"))


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "1.2.3",
        "12 яблок 5",
        "1,2,3,4.5.6",
        "--5",
        "=SUM(A1:A3)",
        "1e999999",
        "9" * 40,
        "1.25.000",
        ",",
        ".",
        # Long runs of non-digits: once these took a minute each, as the pattern backtracked.
        "<" * 50_000,
        "руб." * 30,
    ],
    ids=lambda text: text[:20],
)
def test_what_is_not_an_amount_says_so(text):
    with pytest.raises(ValueProblem) as problem:
        parsing.parse_number(text)
    assert "is not an amount" in problem.value.message


def test_lead_numbers():
    assert parsing.parse_lead_number("12") == 12
    assert parsing.parse_lead_number("#12") == 12
    assert parsing.parse_lead_number("№ 12") == 12
    assert parsing.parse_lead_number("12.0") == 12
    assert parsing.parse_lead_number(12.0) == 12
    for bad in ("A-12", "0", "-3", "99999999999", "1.5"):
        with pytest.raises(ValueProblem):
            parsing.parse_lead_number(bad)


def test_text_cells():
    assert parsing.text("  Acme  ") == "Acme"
    assert parsing.text("—") is None
    assert parsing.text(" - ") is None
    assert parsing.text("-5") == "-5"
    # Our CSV export's escape of a formula-like cell comes off again.
    assert parsing.text('\'=HYPERLINK("x")') == '=HYPERLINK("x")'
    assert parsing.text("'quoted") == "'quoted"
    assert parsing.text(79991234567.0) == "79991234567"
    assert parsing.text("a\x00b") == "ab"


# Whatever a cell holds, the parsers answer with a value or a clear message, never a crash.

cells = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 .,/-:'₽$€+−eEТПMmAaPpZ\u00a0\u202f"),
    st.from_regex(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}( \d{1,2}:\d{2}( [AP]M)?)?", fullmatch=True),
    st.from_regex(r"[\d ]{1,15}[.,]?\d{0,4}", fullmatch=True),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.datetimes(),
    st.dates(),
)


@given(cells, st.sampled_from([None, DAY_FIRST, MONTH_FIRST]))
def test_parse_date_never_fails_unclearly(value, order):
    try:
        result = parsing.parse_date(value, order)
    except ValueProblem as problem:
        assert problem.message
    else:
        assert isinstance(result, datetime)
        assert parsing.FIRST_YEAR <= result.year <= parsing.LAST_YEAR


@given(cells)
def test_parse_number_never_fails_unclearly(value):
    try:
        result = parsing.parse_number(value)
    except ValueProblem as problem:
        assert problem.message
    else:
        assert isinstance(result, Decimal)
        assert result.is_finite()


@given(cells)
def test_parse_lead_number_never_fails_unclearly(value):
    try:
        result = parsing.parse_lead_number(value)
    except ValueProblem as problem:
        assert problem.message
    else:
        assert 1 <= result <= parsing.LEAD_NUMBER_MAX


@given(st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2))
def test_amounts_written_the_russian_way_read_back(value):
    whole, cents = f"{value:.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", "\u00a0")
    assert parsing.parse_number(f"{grouped},{cents}") == value


# Files


def write(tmp_path, content, encoding="utf-8", name="sheet.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


RUSSIAN = "Название;Телефон;Сумма\nООО Ромашка;+7 999 123-45-67;1 250 000,50\nИП Ёлкин;;\n"


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1251", "cp1251"), ("utf-16", "utf-16")],
)
def test_encodings_are_recognised(tmp_path, encoding, detected):
    layout = inspect(write(tmp_path, RUSSIAN, encoding))
    assert layout.encoding == detected
    assert layout.headers == ["Название", "Телефон", "Сумма"]
    rows = list(Table(tmp_path / "sheet.csv", layout).rows())
    assert rows[0] == (2, ["ООО Ромашка", "+7 999 123-45-67", "1 250 000,50"])
    assert rows[1][1][0] == "ИП Ёлкин"


def test_cyrillic_after_a_long_ascii_start_is_still_windows_1251(tmp_path):
    content = "Title\n" + "plain\n" * 20000 + "Ромашка\n"
    assert inspect(write(tmp_path, content, "cp1251")).encoding == "cp1251"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    rows = [["Title", "Amount", "Note"], ["Acme", "1,5", "a; b, c"], ["Beta", "2,5", "x"]]
    lines = []
    for row in rows:
        lines.append(
            delimiter.join(
                f'"{cell}"' if delimiter in cell or "," in cell or ";" in cell else cell
                for cell in row
            )
        )
    layout = inspect(write(tmp_path, "\r\n".join(lines) + "\r\n"))
    assert layout.delimiter == delimiter
    assert layout.headers == ["Title", "Amount", "Note"]


def test_the_header_is_found_under_a_title_and_empty_lines(tmp_path):
    content = "Список лидов;;;\n;;;\n№;Название;Телефон;Email\n1;Acme;123;a@b.c\n"
    layout = inspect(write(tmp_path, content))
    assert layout.header_line == 3
    assert layout.headers == ["№", "Название", "Телефон", "Email"]
    assert list(Table(tmp_path / "sheet.csv", layout).rows()) == [
        (4, ["1", "Acme", "123", "a@b.c"])
    ]


def test_a_column_without_a_header_gets_a_name(tmp_path):
    layout = inspect(write(tmp_path, "Title,,Phone\nAcme,x,1\n"))
    assert layout.headers == ["Title", "Column 2", "Phone"]


def test_the_sample_shows_examples_and_the_date_order(tmp_path):
    content = "Date,Other\n27/11/2026,a\n03/04/2026,b\n,c\n"
    layout = inspect(write(tmp_path, content))
    date_column = layout.columns[0]
    assert date_column.examples == ["27/11/2026", "03/04/2026"]
    assert (date_column.slashed, date_column.date_order) == (True, DAY_FIRST)
    assert layout.columns[1].slashed is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        (b"\x00\x01\x02\x00" * 100, "does not look like a table"),
        (b",,,\n\n,,\n", "no rows"),
        (b"PK\x03\x04 broken zip", "XLSX"),
    ],
)
def test_files_that_cannot_be_read_say_why(tmp_path, content, message):
    with pytest.raises(FileProblem, match=message):
        inspect(write(tmp_path, content))


def test_a_runaway_quote_stops_with_the_line(tmp_path):
    content = 'Title,Note\nAcme,"never closed\n' + "more,text\n" * 20000
    with pytest.raises(FileProblem, match="Line 2"):
        layout = inspect(write(tmp_path, content))
        list(Table(tmp_path / "sheet.csv", layout).rows())


def test_windows_1251_bytes_it_lacks_do_not_stop_the_file(tmp_path):
    # 0x98 means nothing in Windows-1251.
    path = write(tmp_path, "Название\n".encode("cp1251") + b"\xc0\x98\xc1\n")
    layout = inspect(path)
    assert layout.encoding == "cp1251"
    assert list(Table(path, layout).rows()) == [(2, ["А\ufffdБ"])]


def test_xlsx_sheets_are_read(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Лиды"
    sheet.append(["№", "Название", "Телефон", "Дата", "Сумма"])
    sheet.append([1, "Acme", 79991234567, datetime(2026, 11, 27, 14, 30), 1250000.5])
    other = workbook.create_sheet("Активности")
    other.append(["Проект", "Дата"])
    other.append(["Acme", datetime(2026, 11, 28)])
    path = tmp_path / "book.xlsx"
    workbook.save(path)

    layout = inspect(path)
    assert (layout.format, layout.sheets, layout.sheet) == ("xlsx", ["Лиды", "Активности"], "Лиды")
    assert layout.headers == ["№", "Название", "Телефон", "Дата", "Сумма"]
    rows = list(Table(path, layout).rows())
    assert rows == [(2, [1, "Acme", 79991234567, datetime(2026, 11, 27, 14, 30), 1250000.5])]
    assert inspect(path, sheet="Активности").headers == ["Проект", "Дата"]


# Headers


def test_russian_headers_of_the_founding_sheets_are_guessed():
    leads = ["№", "Название", "Контакт", "Телефон", "E-mail", "Источник", "Сумма", "Дата"]
    assert fields.guess(fields.LEADS, leads) == [
        "number",
        "title",
        "contact_name",
        "phone",
        "email",
        "source",
        "value",
        "created_at",
    ]
    activities = ["Проект", "Содержание", "Дата", "Статус", "Тип связи"]
    assert fields.guess(fields.ACTIVITIES, activities) == [
        "lead_title",
        "body",
        "occurred_at",
        "status",
        "kind",
    ]


def test_english_headers_are_guessed_and_each_field_taken_once():
    headers = ["Company", "Contact Person", "Phone number", "Email:", "Stage", "Name", "Whatever"]
    assert fields.guess(fields.LEADS, headers) == [
        "title",
        "contact_name",
        "phone",
        "email",
        "status",
        None,
        None,
    ]
    assert fields.guess(fields.ACTIVITIES, ["Lead", "Date of contact", "Notes", "Type"]) == [
        "lead_title",
        "occurred_at",
        "body",
        "kind",
    ]


def test_a_first_word_is_enough():
    assert fields.guess(fields.LEADS, ["Телефон клиента", "Дата заявки"]) == ["phone", "created_at"]


def test_bom_alone_is_not_a_header(tmp_path):
    path = write(tmp_path, codecs.BOM_UTF8 + b"Title\nAcme\n")
    assert inspect(path).headers == ["Title"]


A, L = fields.ACTIVITIES, fields.LEADS


@pytest.mark.parametrize(
    ("kind", "header", "key"),
    [
        # What was said, as a contact log heads it, however it is written.
        (A, "Что сказали", "body"),
        (A, "ЧТО СКАЗАЛИ?", "body"),
        (A, "  что   сказали  ", "body"),
        (A, "Что\u00a0сказали", "body"),
        (A, "Что\nсказали", "body"),
        (A, "Что_сказали", "body"),
        (A, "Что сказал клиент", "body"),
        (A, "О чём говорили", "body"),
        (A, "О чем говорили", "body"),
        (A, "О ЧЁМ ГОВОРИЛИ:", "body"),
        (A, "Содержание", "body"),
        (A, "Содержание разговора", "body"),
        (A, "Краткое содержание", "body"),
        (A, "Комментарий", "body"),
        (A, "Комментарии", "body"),
        (A, "Комментарий менеджера", "body"),
        (A, "Итог", "body"),
        (A, "Итог:", "body"),
        (A, "Итог звонка", "body"),
        (A, "Итоги", "body"),
        (A, "Результат", "body"),
        (A, "Результат (кратко)", "body"),
        (A, "Результат звонка", "body"),
        (A, "Заметки", "body"),
        (A, "Примечание", "body"),
        (A, "What was said", "body"),
        (A, "Notes", "body"),
        (A, "Outcome", "body"),
        # The date of the contact.
        (A, "Дата", "occurred_at"),
        (A, "Дата звонка", "occurred_at"),
        (A, "Дата и время", "occurred_at"),
        (A, "Дата/время", "occurred_at"),
        (A, "Когда", "occurred_at"),
        (A, "Date of contact", "occurred_at"),
        # The status after it.
        (A, "Статус", "status"),
        (A, "Статус после звонка", "status"),
        (A, "Новый статус", "status"),
        (A, "Этап", "status"),
        (A, "Cтатус", "status"),  # its "C" is Latin
        (A, "Status after", "status"),
        # The kind of contact.
        (A, "Тип", "kind"),
        (A, "Тип связи", "kind"),
        (A, "Вид контакта", "kind"),
        (A, "Способ связи", "kind"),
        (A, "Канал", "kind"),
        (A, "Type", "kind"),
        # The lead, by number or name.
        (A, "№ лида", "lead_number"),
        (A, "Номер лида", "lead_number"),
        (A, "Лид №", "lead_number"),
        (A, "Lead #", "lead_number"),
        (A, "Клиент", "lead_title"),
        (A, "Компания", "lead_title"),
        (A, "Название компании", "lead_title"),
        (A, "Контрагент", "lead_title"),
        (A, "Lead", "lead_title"),
        (A, "Телефон клиента", "lead_phone"),
        (A, "E-mail", "lead_email"),
        # Who made it.
        (A, "Менеджер", "author"),
        (A, "Кто звонил", "author"),
        # What the activities sheet is known not to import: a row counter, the next contact.
        (A, "№ п/п", fields.LEFT_OUT),
        (A, "Дата следующего контакта", fields.LEFT_OUT),
        (A, "Следующий шаг", fields.LEFT_OUT),
        (A, "Перезвонить", fields.LEFT_OUT),
        # The leads sheet.
        (L, "№", "number"),
        (L, "№ п/п", "number"),
        (L, "Номер лида", "number"),
        (L, "Название", "title"),
        (L, "Наименование", "title"),
        (L, "Клиент", "title"),
        (L, "ФИО", "contact_name"),
        (L, "Контактное лицо", "contact_name"),
        (L, "ЛПР", "contact_name"),
        (L, "Контактный телефон", "phone"),
        (L, "Тел.", "phone"),
        (L, "Эл. почта", "email"),
        (L, "Источник", "source"),
        (L, "Откуда узнали", "source"),
        (L, "Сумма, руб.", "value"),
        (L, "Бюджет", "value"),
        (L, "Ответственный менеджер", "owner"),
        (L, "ФИО менеджера", "owner"),
        (L, "Статус", "status"),
        (L, "Этап воронки", "status"),
        (L, "Дата", "created_at"),
        (L, "Дата обращения", "created_at"),
        (L, "Дата следующего контакта", "next_step_at"),
        (L, "След. контакт", "next_step_at"),
        (L, "Следующий шаг", "next_step_at"),
        (L, "Что сделать", "next_step_note"),
        (L, "Причина отказа", "lost_reason"),
        (L, "Company", "title"),
        (L, "Next step", "next_step_at"),
        # A lead has no notes: left for the mapping page to warn about.
        (L, "Комментарий", None),
        # Too short, or naming something else.
        (L, "ИНН", None),
        (L, "№ договора", None),
        (L, "", None),
    ],
)
def test_headers_people_write(kind, header, key):
    assert fields.guess(kind, [header]) == [key]


def test_a_whole_header_comes_before_a_word_of_one():
    """The date of the contact is "Дата", whichever column comes first."""
    headers = ["Дата звонка клиенту", "Что сказали", "Дата"]
    assert fields.guess(A, headers) == [None, "body", "occurred_at"]
    headers = ["Дата следующего контакта", "Дата"]
    assert fields.guess(A, headers) == [fields.LEFT_OUT, "occurred_at"]
    assert fields.guess(L, headers) == ["next_step_at", "created_at"]


def test_one_column_of_notes_is_what_was_said_the_others_are_left():
    headers = ["Клиент", "Дата", "Что сказали", "Итог", "Комментарий"]
    assert fields.guess(A, headers) == ["lead_title", "occurred_at", "body", None, None]


def test_a_next_step_of_words_is_what_to_do_not_when():
    assert fields.guess(L, ["Следующий шаг"], [["Отправить КП", "Позвонить"]]) == ["next_step_note"]
    assert fields.guess(L, ["Следующий шаг"], [["01.02.2026", "05.02.2026"]]) == ["next_step_at"]
    # Empty in the sample: the header is all there is to go by.
    assert fields.guess(L, ["Следующий шаг"], [[]]) == ["next_step_at"]


@pytest.mark.parametrize(
    ("header", "notes"),
    [
        ("Что сказали", True),
        ("итог:", True),
        ("Комментарий менеджера", True),
        ("Notes", True),
        ("Телефон", False),
        ("Разное", False),
        ("", False),
    ],
)
def test_headers_that_name_notes(header, notes):
    assert fields.names_notes(header) is notes


KNOWN = sorted(
    {(kind, name) for kind in fields.KINDS for f in fields.fields_of(kind) for name in f.headers}
)


def dressed(header, case, before, after, spaces):
    """A header as a hand-kept sheet may write it: another case, ё for е, spaces and marks."""
    header = {"upper": header.upper(), "title": header.title(), "same": header}[case]
    header = header.replace("е", "ё").replace(" ", " " * spaces)
    return f"{before}{header}{after}"


@given(
    st.sampled_from(KNOWN),
    st.sampled_from(["upper", "title", "same"]),
    st.sampled_from(["", " ", "\t", "«", "\u00a0"]),
    st.sampled_from(["", ":", "*", "?", ".", " ", "»", " \r\n", "\u200b"]),
    st.integers(1, 3),
)
def test_a_known_header_is_known_however_it_is_written(known, case, before, after, spaces):
    kind, header = known
    assert fields.guess(kind, [dressed(header, case, before, after, spaces)]) == fields.guess(
        kind, [header]
    )


headers = st.lists(
    st.one_of(
        st.text(),
        st.sampled_from([name for _kind, name in KNOWN]),
        st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяabcex №#:_-.\u00ad\u200b\u0308 "),
    ),
    max_size=30,
)


@given(st.sampled_from(fields.KINDS), headers, st.data())
def test_guessing_any_headers_never_fails(kind, written, data):
    samples = data.draw(st.lists(st.lists(st.text(), max_size=3), min_size=len(written)))
    guesses = fields.guess(kind, written, samples[: len(written)])
    keys = {f.key for f in fields.fields_of(kind)}
    assert len(guesses) == len(written)
    chosen = [key for key in guesses if key]
    assert set(chosen) <= keys
    assert len(chosen) == len(set(chosen))


@given(st.text())
def test_a_plain_header_is_written_plainly_once(header):
    plain = fields.normal_header(header)
    assert fields.normal_header(plain) == plain
    assert plain == plain.strip() and "  " not in plain


def test_a_very_long_header_is_read_quickly():
    header = "Что сказали " + "очень " * 50_000
    assert fields.guess(A, [header, "Дата"]) == ["body", "occurred_at"]
