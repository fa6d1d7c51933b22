"""The import's bounds: at most 200 columns, 10,000 characters a cell and 100,000 rows under the
header, and an XLSX workbook's parts checked before openpyxl reads them. A file past a bound is
refused at upload, within seconds, with a message naming it, and the upload's process stays
small in memory: each hostile file is built here, streamed to disk (a workbook through zipfile,
a part at a time), and uploaded in a process of its own that reports its peak memory.
"""

import io
import itertools
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.imports import bounds, engine, fields, jobs, reading
from crm.models import Lead
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
# What a worker may take at its peak, serving any upload (its own share of the app included).
PEAK_MB = 300
# What "within seconds" means here, on a busy test machine.
SECONDS = 15
MB = 1024 * 1024

# Files


def csv_file(path, lines):
    """A CSV file written a line at a time."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        for line in lines:
            out.write(line)
    return path


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def content_types(strings=False, styles_declared=False):
    overrides = [
        ("/xl/workbook.xml", f"{SPREADSHEET}.sheet.main+xml"),
        ("/xl/worksheets/sheet1.xml", f"{SPREADSHEET}.worksheet+xml"),
    ]
    if strings:
        overrides.append(("/xl/sharedStrings.xml", f"{SPREADSHEET}.sharedStrings+xml"))
    if styles_declared:
        overrides.append(("/xl/styles.xml", f"{SPREADSHEET}.styles+xml"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in overrides)
        + "</Types>"
    )


ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE}">'
    f'<Relationship Id="rId1" Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{OFFICE}">'
    '<sheets><sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>'
)


def workbook_rels(strings=False):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE}">'
        f'<Relationship Id="rId1" Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
        + (
            f'<Relationship Id="rId2" Type="{OFFICE}/sharedStrings" Target="sharedStrings.xml"/>'
            if strings
            else ""
        )
        + "</Relationships>"
    )


def sheet_xml(rows, head=""):
    """A worksheet part, a piece at a time: `rows` are pieces of its sheetData."""
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{head}<sheetData>'
    yield from rows
    yield "</sheetData></worksheet>"


def strings_xml(items):
    yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'
    yield from items
    yield "</sst>"


def workbook(path, sheet, strings=None, extra=()):
    """An XLSX file of one sheet "Leads", each part streamed into the zip piece by piece (so a
    part of hundreds of MB costs the test no memory); `extra`: more (name, pieces) parts."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", content_types(strings is not None))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels(strings is not None))
        parts = [("xl/worksheets/sheet1.xml", sheet), *extra]
        if strings is not None:
            parts.append(("xl/sharedStrings.xml", strings))
        for name, pieces in parts:
            with archive.open(name, "w") as part:
                for piece in pieces:
                    part.write(piece.encode() if isinstance(piece, str) else piece)
    return path


def text_cell(reference, text):
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row():
    return f'<row r="1">{text_cell("A1", "Title")}{text_cell("B1", "Phone")}</row>'


def repeated(piece, times):
    """`piece` (bytes) `times` times, a megabyte at a time."""
    per_block = max(1, MB // len(piece))
    block = piece * per_block
    whole, rest = divmod(times, per_block)
    yield from itertools.repeat(block, whole)
    yield piece * rest


# The hostile files the import refused too late, after swelling to gigabytes


def csv_of_a_million_columns(folder):
    """10 MB: a header of 1,000,000 columns, and one row."""
    return csv_file(
        folder / "wide.csv",
        [
            *(
                ";".join(f"c{n}" for n in range(start, start + 100_000)) + ";"
                for start in range(0, 1_000_000, 100_000)
            ),
            "\r\nAcme;+7 999\r\n",
        ],
    )


def csv_of_one_endless_line(folder):
    """32 MB of one line, no newline in it: cells of 100,000 characters."""
    cell = "x" * 99_999 + ";"
    return csv_file(folder / "line.csv", ["Title;Phone\r\nAcme;", *([cell * 10] * 32)])


def xlsx_of_one_huge_cell(folder):
    """Some 400 KB, a sheet of one cell that unpacks to 400 MB."""
    cell = repeated(b"A", 400 * MB)
    row = ['<row r="2"><c r="A2" t="inlineStr"><is><t>', *cell, "</t></is></c></row>"]
    return workbook(folder / "cell.xlsx", sheet_xml([header_row(), *row]))


def xlsx_of_huge_shared_strings(folder):
    """Shared strings that unpack to 400 MB: some 24 million of them."""
    items = repeated(b"<si><t>x</t></si>", 400 * MB // 17)
    rows = [header_row(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>']
    return workbook(folder / "strings.xlsx", sheet_xml(rows), strings=strings_xml(items))


def xlsx_of_two_million_cells_in_a_row(folder):
    """A row of 2,000,000 cells of 200 bytes each: 400 MB unpacked."""
    cell = f'<c t="inlineStr"><is><t>{"x" * 170}</t></is></c>'.encode()
    row = ['<row r="2">', *repeated(cell, 2_000_000), "</row>"]
    return workbook(folder / "row.xlsx", sheet_xml([header_row(), *row]))


# Files made to pass a check of packing alone: their parts pack as loosely as XML does


def xlsx_of_two_million_plain_cells(folder):
    """2,000,000 numbered cells in a row: 30 MB unpacked, packed a few times smaller."""
    cells = (
        "".join(f"<c><v>{n}</v></c>" for n in range(start, start + 10_000))
        for start in range(0, 2_000_000, 10_000)
    )
    return workbook(
        folder / "cells.xlsx", sheet_xml([header_row(), '<row r="2">', *cells, "</row>"])
    )


def xlsx_of_one_long_random_cell(folder):
    """A cell of 24 MB of random letters and digits, which barely pack."""
    random_text = (os.urandom(3 * MB // 4).hex() for _ in range(16))
    rows = [header_row(), '<row r="2"><c r="A2" t="inlineStr"><is><t>', *random_text]
    return workbook(folder / "random.xlsx", sheet_xml([*rows, "</t></is></c></row>"]))


def xlsx_of_many_different_strings(folder):
    """500,000 different shared strings."""
    items = (
        "".join(f"<si><t>Компания {n}</t></si>" for n in range(start, start + 10_000))
        for start in range(0, 500_000, 10_000)
    )
    rows = [header_row(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>']
    return workbook(folder / "many.xlsx", sheet_xml(rows), strings=strings_xml(items))


def xlsx_stating_a_million_rows(folder):
    """Three rows, in a sheet that says it spans A1:XFD1048576."""
    rows = [header_row(), f'<row r="2">{text_cell("A2", "Acme")}</row>']
    rows.append(f'<row r="3">{text_cell("A3", "Globex")}</row>')
    return workbook(
        folder / "stated.xlsx", sheet_xml(rows, head='<dimension ref="A1:XFD1048576"/>')
    )


def xlsx_with_a_row_a_million_down(folder):
    """Two rows: the header, and a cell in row 1,048,576."""
    rows = [header_row(), f'<row r="1048576">{text_cell("A1048576", "Acme")}</row>']
    return workbook(folder / "far.xlsx", sheet_xml(rows))


HOSTILE = [
    csv_of_a_million_columns,
    csv_of_one_endless_line,
    xlsx_of_one_huge_cell,
    xlsx_of_huge_shared_strings,
    xlsx_of_two_million_cells_in_a_row,
    xlsx_of_two_million_plain_cells,
    xlsx_of_one_long_random_cell,
    xlsx_of_many_different_strings,
    xlsx_with_a_row_a_million_down,
]


def probe(path):
    """Upload `path` in a process of its own: {"status", "refused", "seconds", "peak_mb"}."""
    done = subprocess.run(  # noqa: S603 (our own program, with a file of the test's)
        [sys.executable, "-m", "tests.import_probe", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("build", HOSTILE, ids=lambda build: build.__name__)
def test_a_hostile_file_is_refused_quickly_in_little_memory(tmp_path, build):
    path = build(tmp_path)
    result = probe(path)
    assert result["status"] == 422, result
    assert result["refused"], result
    assert result["seconds"] < SECONDS, result
    assert result["peak_mb"] < PEAK_MB, result


@pytest.mark.sqlite_only
def test_a_sheet_stating_a_million_rows_is_read_as_the_rows_it_has(app, tmp_path):
    path = xlsx_stating_a_million_rows(tmp_path)
    result = probe(path)
    assert (result["status"], result["refused"]) == (303, None)
    assert result["seconds"] < SECONDS and result["peak_mb"] < PEAK_MB, result
    layout = reading.inspect(path)
    assert (layout.rows, layout.headers) == (3, ["Title", "Phone"])
    rows = itertools.islice(reading.Table(path, layout).rows(), 5)
    assert list(rows) == [(2, ["Acme"]), (3, ["Globex"])]


# At the upload page, on the command line, and in the dry run


def upload(client, content, name="leads.csv"):
    return client.post(
        "/settings/import/",
        data={"kind": "leads", "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def file_error(response):
    """The message under the upload's file field."""
    return re.search(r'<p class="error" id="file-error">(.*?)</p>', response.text, re.S).group(1)


def line_of(cells):
    return ";".join(cells) + "\r\n"


WIDE_SHEET = line_of(f"Column {n}" for n in range(1, 202)) + line_of(["Acme"] * 201)


def test_a_row_past_200_columns_is_refused_on_the_upload_page(logged_in):
    response = upload(logged_in, WIDE_SHEET.encode())
    assert response.status_code == 422
    assert file_error(response) == (
        "Line 1 has more than 200 columns: at most 200 can be imported. Delete the columns you "
        "do not need and try again."
    )
    assert jobs.recent() == []


def test_the_refusal_is_in_the_reader_s_language(client, auth, stages):
    russian = factories.admin(email="petr@example.ru", locale="ru")
    auth.login(russian.email)
    response = upload(client, WIDE_SHEET.encode())
    assert response.status_code == 422
    assert file_error(response) == (
        "В строке 1 больше 200 столбцов, а импортировать можно не больше 200. Удалите "
        "ненужные столбцы и попробуйте снова."
    )


def test_200_columns_and_empty_cells_past_them_are_taken(logged_in):
    padding = [""] * 50
    content = line_of([*(f"Column {n}" for n in range(1, 201)), *padding])
    content += line_of(["Acme", *[""] * 199, *padding]) * 3
    response = upload(logged_in, content.encode())
    assert response.status_code == 303
    job = jobs.get(response.headers["Location"].rstrip("/").split("/")[-2])
    assert len(job.layout.columns) == 200
    page = logged_in.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Column GR: “Column 200”" in page.text


def test_the_command_takes_the_same_bounds(runner, admin, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(WIDE_SHEET, encoding="utf-8")
    result = runner.invoke(args=["import", "leads", str(path)])
    assert result.exit_code == 1
    assert "Line 1 has more than 200 columns: at most 200 can be imported." in result.output
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def rows_of(count, first=1):
    return (line_of([f"Lead {n}", f"+7 999 {n:07d}"]) for n in range(first, first + count))


@pytest.mark.sqlite_only
def test_a_cell_past_10000_characters_is_refused_with_its_line(app, tmp_path):
    long_cell = "Обсудили всё подробно. " * 435  # 10,005 characters
    lines = [line_of(["Title", "Notes"]), *rows_of(4998), line_of(["Acme", long_cell])]
    with pytest.raises(reading.FileProblem) as refused:
        reading.inspect(csv_file(tmp_path / "long.csv", lines))
    assert refused.value.message == (
        "Line 5,000 has a cell of more than 10,000 characters: a cell can hold at most 10,000."
    )
    lines[-1] = line_of(["Acme", long_cell[:10_000]])
    assert reading.inspect(csv_file(tmp_path / "long.csv", lines)).rows == 5000
    # Longer than Python's CSV reader takes a cell to be, too.
    lines[-1] = line_of(["Acme", long_cell * 20])
    with pytest.raises(reading.FileProblem, match="^Line 5,000 has a cell of more than 10,000"):
        reading.inspect(csv_file(tmp_path / "long.csv", lines))


@pytest.mark.sqlite_only
def test_a_record_over_many_lines_is_held_to_the_same_bounds(app, tmp_path):
    # Quoted cells may hold line breaks: a record of a million of them is refused before it
    # is read whole, and a cell of many lines is a cell like any other.
    cells = csv_file(tmp_path / "cells.csv", ["Title;Notes\r\n", *(['"a\nb";'] * 1_000_000)])
    with pytest.raises(reading.FileProblem, match="^Line 2 has more than 200 columns"):
        reading.inspect(cells)
    lines = csv_file(tmp_path / "lines.csv", ['Title;Notes\r\nAcme;"', *(["Сказали.\n"] * 1200)])
    with pytest.raises(reading.FileProblem, match="^Line 2 has a cell of more than 10,000"):
        reading.inspect(lines)


@pytest.mark.sqlite_only
def test_100000_rows_are_taken_and_one_more_refused(app, tmp_path):
    lines = [line_of(["Title", "Phone"]), *rows_of(100_000)]
    path = csv_file(tmp_path / "rows.csv", lines)
    assert reading.inspect(path).rows == 100_001
    with open(path, "a", encoding="utf-8", newline="") as out:
        out.write(line_of(["One more", ""]))
    with pytest.raises(reading.FileProblem) as refused:
        reading.inspect(path)
    assert refused.value.message == (
        "The file has more than 100,000 rows under its header: split it into files of at most "
        "100,000 rows and import them one after another."
    )


def test_a_file_past_the_rows_stops_its_dry_run_and_its_import_saving_nothing(
    admin, tmp_path, monkeypatch
):
    monkeypatch.setattr(bounds, "MAX_ROWS", 50)
    path = csv_file(tmp_path / "rows.csv", [line_of(["Title", "Phone"]), *rows_of(50)])
    layout = reading.inspect(path)
    # The file changed after it was looked at: the reading itself holds to the bound.
    csv_file(path, [line_of(["Title", "Phone"]), *rows_of(51)])
    settings = engine.Settings(kind=fields.LEADS, mapping={"title": 0, "phone": 1})
    for apply in (False, True):
        with pytest.raises(engine.ImportFailed, match="more than 50 rows under its header"):
            engine.run(path, layout, settings, apply=apply, scratch=tmp_path / "scratch")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


# XLSX


@pytest.mark.sqlite_only
def test_a_part_packed_tighter_than_xml_packs_is_refused(app, tmp_path):
    image = ("xl/media/image1.png", repeated(b"\0", 2 * MB))
    path = workbook(tmp_path / "bomb.xlsx", sheet_xml([header_row()]), extra=[image])
    with pytest.raises(reading.FileProblem) as refused:
        reading.inspect(path)
    assert refused.value.message == (
        "This XLSX file unpacks to more than 100 times its size, which no spreadsheet does: "
        "save it again, or as CSV, and try again."
    )


@pytest.mark.sqlite_only
def test_a_zip_listing_more_parts_than_a_workbook_has_is_refused(app, tmp_path):
    path = workbook(tmp_path / "parts.xlsx", sheet_xml([header_row()]))
    with zipfile.ZipFile(path, "a") as archive:
        for n in range(25_000):
            archive.writestr(f"customXml/{n:06d}/{'x' * 60}.xml", b"")
    with pytest.raises(reading.FileProblem, match="This XLSX file cannot be read"):
        reading.inspect(path)


@pytest.mark.sqlite_only
def test_rows_where_openpyxl_would_read_them_whole_are_refused(app, tmp_path):
    rows = [header_row(), f'<row r="2">{text_cell("A2", "Acme")}</row>']
    fine = workbook(tmp_path / "fine.xlsx", sheet_xml(rows))
    assert reading.inspect(fine).headers == ["Title", "Phone"]
    # The styles are read whole: a part of rows cannot be them.
    styles = ("xl/styles.xml", sheet_xml(rows))
    with pytest.raises(reading.FileProblem, match="This XLSX file cannot be read"):
        reading.inspect(workbook(tmp_path / "styles.xlsx", sheet_xml(rows), extra=[styles]))


@pytest.mark.sqlite_only
def test_a_sheet_past_100000_rows_is_refused_at_upload(app, tmp_path):
    rows = (f'<row r="{n}">{text_cell(f"A{n}", f"Lead {n}")}</row>' for n in range(2, 100_003))
    path = workbook(tmp_path / "rows.xlsx", sheet_xml([header_row(), *rows]))
    with pytest.raises(reading.FileProblem, match="^The file has more than 100,000 rows"):
        reading.inspect(path)


@pytest.mark.sqlite_only
def test_xlsx_cells_past_the_bounds_are_refused_with_their_line(app, tmp_path):
    wide = [header_row(), f'<row r="7">{text_cell("A7", "Acme")}{text_cell("GS7", "x")}</row>']
    with pytest.raises(reading.FileProblem, match="^Line 7 has more than 200 columns"):
        reading.inspect(workbook(tmp_path / "wide.xlsx", sheet_xml(wide)))
    long = [header_row(), f'<row r="9">{text_cell("A9", "x" * 10_001)}</row>']
    with pytest.raises(reading.FileProblem, match="^Line 9 has a cell of more than 10,000"):
        reading.inspect(workbook(tmp_path / "long.xlsx", sheet_xml(long)))
    # Cells past the 200th that hold nothing (formatting, say) are no column.
    styled = [header_row(), f'<row r="2">{text_cell("A2", "Acme")}<c r="ZZ2" s="1"/></row>']
    assert reading.inspect(workbook(tmp_path / "styled.xlsx", sheet_xml(styled))).rows == 2


def test_a_long_shared_text_late_in_the_sheet_stops_the_dry_run(admin, tmp_path):
    # The texts a sheet shares are checked as its rows are read: one past the sample stops the
    # dry run, saying where, and nothing is saved.
    rows = [header_row()]
    rows += [f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(2, 1200)]
    rows.append('<row r="1200"><c r="A1200" t="s"><v>1</v></c></row>')
    texts = strings_xml(["<si><t>Acme</t></si>", f"<si><t>{'x' * 10_001}</t></si>"])
    path = workbook(tmp_path / "shared.xlsx", sheet_xml(rows), strings=texts)
    layout = reading.inspect(path)
    settings = engine.Settings(kind=fields.LEADS, mapping={"title": 0})
    with pytest.raises(engine.ImportFailed, match="^Line 1,200 has a cell of more than 10,000"):
        engine.run(path, layout, settings, apply=True, scratch=tmp_path / "scratch")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_a_sheet_past_the_bounds_keeps_the_other_sheets_of_its_workbook(logged_in):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Leads"
    book.active.append(["Title", "Phone"])
    book.active.append(["Acme", "+7 999 123-45-67"])
    wide = book.create_sheet("Everything")
    wide.append([f"Column {n}" for n in range(1, 251)])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(logged_in, buffer.getvalue(), "crm.xlsx")
    assert response.status_code == 303
    columns_url = response.headers["Location"]
    job_id = columns_url.rstrip("/").split("/")[-2]
    response = logged_in.post(f"/settings/import/{job_id}/sheet", data={"sheet": "Everything"})
    assert response.headers["Location"] == columns_url
    page = logged_in.get(columns_url).text
    assert "Line 1 has more than 200 columns: at most 200 can be imported." in page
    assert jobs.get(job_id).layout.sheet == "Leads"
