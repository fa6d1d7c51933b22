"""Tables as CSV files that Excel opens right: UTF-8 with a byte order mark (or Cyrillic comes
out garbled), and text that looks like a formula made inert so a spreadsheet does not run it."""

import csv
import io
from decimal import Decimal
from urllib.parse import quote

from flask import Response

BOM = "\ufeff"
# A cell starting with one of these is read by spreadsheets as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """One value as the file shows it: numbers as numbers, formula-like text quoted with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def to_text(header, rows):
    """The whole file as text, byte order mark first."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


def download(filename, header, rows):
    """A response that saves the table as `filename` (which may hold any letters)."""
    response = Response(to_text(header, rows), mimetype="text/csv")
    response.mimetype_params["charset"] = "utf-8"
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response
