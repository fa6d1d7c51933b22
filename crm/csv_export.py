"""Tables as CSV files that Excel opens right: UTF-8 with a byte order mark (or Cyrillic comes
out garbled), the separator and decimal mark of the reader's Excel, and text that looks like a
formula made inert so a spreadsheet does not run it.

Excel splits a CSV file at its system's list separator: a semicolon where decimals are written
with a comma (Russian and most European settings), a comma where they are written with a point.
A file has one or the other: with semicolons, amounts are written with a decimal comma, so that
such an Excel reads them as numbers; with commas, with a decimal point.
"""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Response, request, stream_with_context

from crm.i18n import user_locale

BOM = "\ufeff"
# A streamed file goes out this many rows at a time: few writes, and memory stays flat.
STREAM_ROWS = 500
# A cell starting with one of these is read by spreadsheets as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ...but a phone number or a negative amount written as text, such as "+7 (999) 123-45-67" or
# "-1 250,50", can run nothing, and a quote in front of it would only be in the way; nor can
# a person's phones joined with "; " ("+7 999 111-22-33; 8 495 123-45-67").
PHONE = r"[\d\s().,-]*\d[\d\s().,-]*"
PHONE_LIKE = re.compile(rf"[+-]{PHONE}(?:; ?\+?{PHONE})*")
# The separators a download may be asked for (`sep=` in its address), by name.
SEPARATORS = {"semicolon": ";", "comma": ","}
# The one Excel expects with each language's usual regional settings; comma elsewhere.
LANGUAGE_SEPARATORS = {"ru": "semicolon"}
DEFAULT_SEPARATOR = "comma"
# Dates and times as the files have always written them, which Excel reads in any language.
MOMENT_FORMAT = "%Y-%m-%d %H:%M"


def separator_name(asked, language):
    """The separator `asked` for when it is one (semicolon or comma), else `language`'s."""
    if asked in SEPARATORS:
        return asked
    return LANGUAGE_SEPARATORS.get(language, DEFAULT_SEPARATOR)


def chosen_separator():
    """The name of the separator of this request's CSV files: `sep` in the address, or the one
    of the viewer's language (an unknown `sep` is ignored, as a mistyped filter is)."""
    return separator_name(request.args.get("sep"), user_locale().language)


def request_separator():
    """The separator character of this request's CSV files."""
    return SEPARATORS[chosen_separator()]


def cell(value, decimal_comma=False):
    """One value as the file shows it: numbers as numbers (with a decimal comma if asked),
    moments as "2026-11-27 14:30", formula-like text quoted with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return str(value).replace(".", ",") if decimal_comma else str(value)
    if isinstance(value, datetime):
        return value.strftime(MOMENT_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PHONE_LIKE.fullmatch(text):
        return "'" + text
    return text


def to_text(header, rows, separator=","):
    """The whole file as text, byte order mark first."""
    return "".join(pieces(header, rows, separator))


def download(filename, header, rows, separator=","):
    """A response that saves the table as `filename` (which may hold any letters)."""
    response = Response(to_text(header, rows, separator), mimetype="text/csv")
    response.mimetype_params["charset"] = "utf-8"
    response.headers["Content-Disposition"] = attachment(filename)
    return response


def pieces(header, rows, separator=","):
    """The file as `to_text` writes it, in pieces: any number of rows, never all in memory."""
    decimal_comma = separator == ";"
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(value, decimal_comma) for value in row])
        if count % STREAM_ROWS == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def attachment(filename):
    """The Content-Disposition that saves a download as `filename` (which may hold any letters)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def stream(filename, header, rows, separator=","):
    """Like `download`, but sent while `rows` (an iterator) is read: for tables of any size.

    Call it inside the request: the rows are read after the view returns, in its context.
    """
    body = stream_with_context(piece.encode() for piece in pieces(header, rows, separator))
    response = Response(body, mimetype="text/csv")
    response.mimetype_params["charset"] = "utf-8"
    response.headers["Content-Disposition"] = attachment(filename)
    return response


def init_app(app):
    # The pages write the chosen separator into their CSV links and their choice of it.
    app.add_template_global(chosen_separator, "csv_separator")
