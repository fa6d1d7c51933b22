"""Tables as CSV files that Excel opens right: UTF-8 with a byte order mark (or Cyrillic comes
out garbled), and text that looks like a formula made inert so a spreadsheet does not run it."""

import csv
import io
import re
from decimal import Decimal
from urllib.parse import quote

from flask import Response, stream_with_context

BOM = "\ufeff"
# A streamed file goes out this many rows at a time: few writes, and memory stays flat.
STREAM_ROWS = 500
# A cell starting with one of these is read by spreadsheets as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ...but a phone number or a negative amount written as text, such as "+7 (999) 123-45-67" or
# "-1 250,50", can run nothing, and a quote in front of it would only be in the way.
PHONE_LIKE = re.compile(r"[+-][\d\s().,-]*\d[\d\s().,-]*")


def cell(value):
    """One value as the file shows it: numbers as numbers, formula-like text quoted with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PHONE_LIKE.fullmatch(text):
        return "'" + text
    return text


def to_text(header, rows):
    """The whole file as text, byte order mark first."""
    return "".join(pieces(header, rows))


def download(filename, header, rows):
    """A response that saves the table as `filename` (which may hold any letters)."""
    response = Response(to_text(header, rows), mimetype="text/csv")
    response.mimetype_params["charset"] = "utf-8"
    response.headers["Content-Disposition"] = attachment(filename)
    return response


def pieces(header, rows):
    """The file as `to_text` writes it, in pieces: any number of rows, never all in memory."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(value) for value in row])
        if count % STREAM_ROWS == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def attachment(filename):
    """The Content-Disposition that saves a download as `filename` (which may hold any letters)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def stream(filename, header, rows):
    """Like `download`, but sent while `rows` (an iterator) is read: for tables of any size.

    Call it inside the request: the rows are read after the view returns, in its context.
    """
    body = stream_with_context(piece.encode() for piece in pieces(header, rows))
    response = Response(body, mimetype="text/csv")
    response.mimetype_params["charset"] = "utf-8"
    response.headers["Content-Disposition"] = attachment(filename)
    return response
