"""Tables as XLSX workbooks: numbers, amounts, dates and text in cells of their own type (so
Excel sorts and sums them in any language), a bold header row that stays in view, columns
wide enough to read.

openpyxl's write-only mode writes each row to disk as it is read, and the finished file is
sent from a temporary file a piece at a time: memory stays flat whatever the size of the
table. A sheet holds at most Excel's million rows; a longer table goes on in another sheet.
"""

import re
import tempfile
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from crm.csv_export import attachment

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel's limits: 1,048,576 rows a sheet (the header is one of them); a sheet's name is at most
# 31 characters, none of them []:*?/\.
ROWS_PER_SHEET = 1_048_575
SHEET_NAME_LENGTH = 31
NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
# Control characters (other than tab and line breaks) are not allowed in the file's XML.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Number formats are stored in Excel's own notation; each Excel shows them in its language
# (the date as 2026-11-27, the amount as 1 250 000,50 with Russian settings).
MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
DAY_FORMAT = "yyyy-mm-dd"
AMOUNT_FORMAT = "#,##0.00"
HEADER_FONT = Font(bold=True)
# Column widths, in characters, are fitted to the header and this many first rows.
FITTED_ROWS = 100
NARROWEST, WIDEST = 8, 60
SEND_BYTES = 64 * 1024


def download(filename, sheet_title, header, rows):
    """A response that saves the table as the workbook `filename`, its sheet named
    `sheet_title`; the file is written before it is sent, from disk, with memory kept flat."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response)
    try:
        write_workbook(out, sheet_title, header, rows)
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    response = Response(file_pieces(out), mimetype=MIMETYPE, direct_passthrough=True)
    # Also when the body is never read, as for a HEAD request.
    response.call_on_close(out.close)
    response.content_length = size
    response.headers["Content-Disposition"] = attachment(filename)
    return response


def file_pieces(out):
    with out:
        while piece := out.read(SEND_BYTES):
            yield piece


def write_workbook(out, sheet_title, header, rows):
    """Write the table to the binary file `out` as an XLSX workbook, a row at a time."""
    workbook = Workbook(write_only=True)
    rows = iter(rows)
    first_rows = list(islice(rows, FITTED_ROWS))
    widths = column_widths(header, first_rows)
    rows = chain(first_rows, rows)
    part = 1
    while True:
        sheet = new_sheet(workbook, sheet_name(sheet_title, part), header, widths)
        if append_rows(sheet, islice(rows, ROWS_PER_SHEET)) < ROWS_PER_SHEET:
            break
        following = next(rows, None)
        if following is None:
            break
        rows = chain([following], rows)
        part += 1
    workbook.save(out)


def new_sheet(workbook, name, header, widths):
    """A sheet with the header row, which stays in view as the rows scroll."""
    sheet = workbook.create_sheet(name)
    # A write-only sheet takes its layout before its first row.
    sheet.freeze_panes = "A2"
    for number, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.append([header_cell(sheet, name) for name in header])
    return sheet


def append_rows(sheet, rows):
    """Write `rows` to the sheet; how many there were."""
    count = 0
    for row in rows:
        sheet.append([typed_cell(sheet, value) for value in row])
        count += 1
    return count


def header_cell(sheet, name):
    cell = as_text(WriteOnlyCell(sheet, value=CONTROL_CHARACTERS.sub("", str(name))))
    cell.font = HEADER_FONT
    return cell


def typed_cell(sheet, value):
    """One value as a cell of its type: a moment or a day as a date, a Decimal as an amount,
    other numbers and booleans as they are, anything else as text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return formatted_cell(sheet, value, MOMENT_FORMAT)
    if isinstance(value, date):
        return formatted_cell(sheet, value, DAY_FORMAT)
    if isinstance(value, Decimal):
        return formatted_cell(sheet, value, AMOUNT_FORMAT)
    return text_cell(sheet, str(value))


def formatted_cell(sheet, value, number_format):
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def text_cell(sheet, text):
    """Text as a text cell, whatever it looks like."""
    text = CONTROL_CHARACTERS.sub("", text)
    if not text.startswith(("=", "#")):
        return text
    return as_text(WriteOnlyCell(sheet, value=text))


def as_text(cell):
    # openpyxl would store "=..." as a formula and "#N/A" as an error: as typed, it is text,
    # which Excel shows and never runs.
    cell.data_type = "s"
    return cell


def column_widths(header, first_rows):
    """A width for each column: its header's or its widest value's among `first_rows`."""
    widths = [shown_length(name) for name in header]
    for row in first_rows:
        for number, value in enumerate(row[: len(widths)]):
            widths[number] = max(widths[number], shown_length(value))
    return [min(max(width + 2, NARROWEST), WIDEST) for width in widths]


def shown_length(value):
    """About how many characters wide the value shows in its cell."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len("2026-11-27 14:30")
    if isinstance(value, Decimal):
        return len(f"{value:,.2f}")
    return max(len(line) for line in str(value).splitlines() or [""])


def sheet_name(title, part=1):
    """`title` as a sheet's name Excel accepts; the second sheet of a table is "Title (2)"."""
    suffix = f" ({part})" if part > 1 else ""
    allowed = NOT_IN_SHEET_NAMES.sub(" ", CONTROL_CHARACTERS.sub("", str(title)))
    name = " ".join(allowed.split()).strip("'")
    return (name or "Sheet")[: SHEET_NAME_LENGTH - len(suffix)] + suffix
