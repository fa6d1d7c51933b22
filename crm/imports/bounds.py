"""How much of a file the import takes, and what it refuses before reading too much of one.

A sheet moving in has some columns, rows by the thousand and cells of a few words or a
conversation. A file past these bounds is refused with a message naming the bound, early and
without holding it in memory: a CSV line is read only up to the longest a row within bounds can
be, and an XLSX workbook, a zip of XML parts, has each part's size and packing checked, then
every part read as a stream of XML events and counted, before openpyxl reads any of it.
"""

import posixpath
import struct
from dataclasses import dataclass, field
from xml.parsers import expat

from flask_babel import format_number
from flask_babel import gettext as _

# The mapping page has a select for each column, and the job keeps each column's examples.
MAX_COLUMNS = 200
# A cell is a detail of a lead or a conversation (8,000 characters at most: funnel.BODY_MAX).
MAX_CELL = 10_000
# Rows under the header: some 11 s per 10,000 rows, all of them in one transaction.
MAX_ROWS = 100_000
# The most characters a CSV record within bounds can take: every cell of the longest, and every
# character a quote doubled.
MAX_RECORD = MAX_COLUMNS * (2 * MAX_CELL + 3)


class FileProblem(ValueError):
    """The file as a whole cannot be read; the message says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def too_many_columns(line):
    return FileProblem(
        _(
            "Line %(line)s has more than %(most)s columns: at most %(most)s can be imported. "
            "Delete the columns you do not need and try again.",
            line=format_number(line),
            most=format_number(MAX_COLUMNS),
        )
    )


def too_long_a_cell(line):
    return FileProblem(
        _(
            "Line %(line)s has a cell of more than %(most)s characters: a cell can hold at "
            "most %(most)s.",
            line=format_number(line),
            most=format_number(MAX_CELL),
        )
    )


def a_cell_too_long():
    return FileProblem(
        _(
            "The file has a cell of more than %(most)s characters: a cell can hold at most "
            "%(most)s.",
            most=format_number(MAX_CELL),
        )
    )


def too_many_rows():
    return FileProblem(
        _(
            "The file has more than %(most)s rows under its header: split it into files of at "
            "most %(most)s rows and import them one after another.",
            most=format_number(MAX_ROWS),
        )
    )


def check_rows(line, header_line):
    """Refuse the row at `line` when it is past the last that can be imported."""
    if line - header_line > MAX_ROWS:
        raise too_many_rows()


def within_columns(cells, line):
    """The row's cells up to the last column that can be imported; a row filled further is
    refused. (A sheet saved as CSV pads every row to its widest, with empty cells.)"""
    if len(cells) <= MAX_COLUMNS:
        return cells
    if any(cell is not None and str(cell).strip() for cell in cells[MAX_COLUMNS:]):
        raise too_many_columns(line)
    return cells[:MAX_COLUMNS]


def check_cells(cells, line):
    """Refuse the row when one of its texts is longer than a cell can be."""
    for cell in cells:
        if isinstance(cell, str) and len(cell) > MAX_CELL:
            raise too_long_a_cell(line)


# CSV


class RecordTooLong(Exception):
    """A CSV record went on past MAX_RECORD characters; `wide` when that is its delimiters'
    doing rather than a cell's."""

    def __init__(self, wide):
        super().__init__()
        self.wide = wide


class Lines:
    """The lines of a text file for csv.reader, each read only up to MAX_RECORD characters,
    and no record allowed more than that in all (its quoted cells may span lines): a file of one
    enormous line, or a record of a million cells, is never read into memory."""

    def __init__(self, text, delimiter):
        self.text = text
        self.delimiter = delimiter
        # The characters and delimiters of the record being read: its reader's caller sets
        # them back to 0 as each record is read.
        self.record = 0
        self.delimiters = 0

    def __iter__(self):
        return self

    def __next__(self):
        line = self.text.readline(MAX_RECORD + 1)
        if not line:
            raise StopIteration
        self.record += len(line)
        # (Of a record over several lines too: quoted cells with line breaks in them.)
        self.delimiters += line.count(self.delimiter)
        if self.record > MAX_RECORD:
            raise RecordTooLong(self.delimiters >= MAX_COLUMNS)
        return line

    def next_record(self):
        self.record = self.delimiters = 0


# XLSX

# Each part unpacked, and all of them together.
MAX_UNPACKED_MB = 256
MAX_UNPACKED = MAX_UNPACKED_MB * 1024 * 1024
# XML packs well, a sheet of repeated cells some 20 times; this is a part made to swell. Parts
# under RATIO_FROM may pack better (a few repeated lines) and hold nothing much.
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024
# The zip's directory of parts: a real workbook lists a few dozen, some 80 bytes each. Python's
# zip reader holds an object of some 500 bytes for each.
MAX_DIRECTORY = 2 * 1024 * 1024
ZIP_END = b"PK\x05\x06"
ZIP64_END_LOCATOR = b"PK\x06\x07"
ZIP_END_SIZE = 22
ZIP_COMMENT_MAX = 0xFFFF
# Different texts of the cells (the shared strings): openpyxl keeps them all in memory, some
# 180 bytes each (70 MB).
MAX_STRINGS = 400_000
# Elements besides rows of cells and shared strings (styles, links, merged cells ...), in all
# parts: openpyxl reads most parts whole, into objects of up to some 750 bytes each (a cell
# format's; 75 MB).
MAX_OTHER_ELEMENTS = 100_000
# What no sheet of Excel's own can pass, checked in every sheet of the workbook: the import's
# own bounds are then checked on the sheet imported, by the survey of its part.
SHEET_COLUMNS = 16_384
SHEET_ROWS = 1_048_576
TEXT_MAX = 32_767
# Elements a row of cells (or a shared string) may have: a few to each cell.
UNIT_ELEMENTS = 4 * SHEET_COLUMNS
# Bytes of XML with no event in them: a tag or a comment this long is being built up whole.
TOKEN_MAX = 1024 * 1024
BLOCK = 64 * 1024

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROW, SHARED_STRING = MAIN + "row", MAIN + "si"
RELATIONSHIP = "http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
OVERRIDE = "http://schemas.openxmlformats.org/package/2006/content-types}Override"
WORKSHEET_TYPES = ("/worksheet", "spreadsheetml.worksheet+xml")
SHARED_STRINGS_TYPES = ("/sharedStrings", "spreadsheetml.sharedStrings+xml")
# Parts openpyxl finds by name and reads whole, whatever the workbook says they are.
NAMED_PARTS = (
    "[Content_Types].xml",
    "xl/workbook.xml",
    "xl/styles.xml",
    "xl/theme/theme1.xml",
    "docProps/core.xml",
    "docProps/custom.xml",
)


def unreadable():
    return FileProblem(_("This XLSX file cannot be read: save it again, or as CSV, and try again."))


def too_big_unpacked():
    return FileProblem(
        _(
            "This XLSX file unpacks to more than %(most)s MB: save the sheet as CSV, or split "
            "it, and try again.",
            most=format_number(MAX_UNPACKED_MB),
        )
    )


def packed_too_tight():
    return FileProblem(
        _(
            "This XLSX file unpacks to more than %(most)s times its size, which no spreadsheet "
            "does: save it again, or as CSV, and try again.",
            most=format_number(MAX_RATIO),
        )
    )


def too_many_strings():
    return FileProblem(
        _(
            "This XLSX file has more than %(most)s different texts in its cells: split it, or "
            "save the sheet as CSV, and try again.",
            most=format_number(MAX_STRINGS),
        )
    )


def too_much_besides_cells():
    return FileProblem(
        _(
            "This XLSX file holds more than %(most)s items besides its cells (formatting, "
            "links, merged cells): save the sheet as CSV and try again.",
            most=format_number(MAX_OTHER_ELEMENTS),
        )
    )


def check_zip_directory(file):
    """Refuse a zip whose directory is longer than a workbook's, before Python's zip reader
    reads it into memory, an object for each part (a 64 MB file can list a million)."""
    file.seek(0, 2)
    size = file.tell()
    tail = b""
    if size >= ZIP_END_SIZE:
        file.seek(size - min(size, ZIP_END_SIZE + ZIP_COMMENT_MAX))
        tail = file.read()
    # Where Python's zip reader finds the end record: at the very end, else after a comment.
    if tail[-ZIP_END_SIZE : -ZIP_END_SIZE + 4] == ZIP_END and tail[-2:] == b"\0\0":
        end = len(tail) - ZIP_END_SIZE
    else:
        end = tail.rfind(ZIP_END)
    if end < 0 or len(tail) - end < ZIP_END_SIZE:
        raise unreadable()
    # A workbook within bounds never needs the 64-bit end record, which can state more.
    if end >= 20 and tail[end - 20 : end - 16] == ZIP64_END_LOCATOR:
        raise unreadable()
    (directory_size,) = struct.unpack("<L", tail[end + 12 : end + 16])
    if directory_size > MAX_DIRECTORY:
        raise unreadable()
    file.seek(0)


def check_parts(archive):
    """Each part's unpacked size, as the zip's directory states it (Python's zip reader never
    unpacks more), and how much tighter it is packed than XML packs."""
    total = 0
    for part in archive.infolist():
        total += part.file_size
        if part.file_size > MAX_UNPACKED or total > MAX_UNPACKED:
            raise too_big_unpacked()
        if part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * part.compress_size:
            raise packed_too_tight()


@dataclass
class PartSurvey:
    """What one part of a workbook holds, as far as the bounds go."""

    # Rows of cells: the last row's number, the first row with a filled cell past
    # MAX_COLUMNS, the first with a text longer than MAX_CELL (0: none).
    rows: int = 0
    wide_row: int = 0
    long_row: int = 0
    strings: int = 0
    # Relationships ((type, target)) of a .rels part; parts named in [Content_Types].xml
    # ((name, content type)).
    links: list = field(default_factory=list)
    declared: list = field(default_factory=list)


class PartScan:
    """One part read as XML, event by event, nothing of it kept: its rows and cells counted,
    the length of each cell's text, the elements besides (counted in `totals`); refused as soon
    as something passes a bound. A part that is not XML stops the scan where the XML parser
    (the one openpyxl uses) stops, and openpyxl would stop there too."""

    def __init__(self, totals):
        self.totals = totals
        self.survey = PartSurvey()
        self.parser = expat.ParserCreate(namespace_separator="}")
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text
        self.depth = 0
        # The row or shared string being read (ROW, SHARED_STRING or None), at what depth, and
        # how many elements it has so far.
        self.unit = None
        self.unit_depth = 0
        self.unit_elements = 0
        self.row = 0
        self.column = 0
        self.cells = 0
        self.in_cell = False
        self.cell_text = 0
        # Characters since the last tag, outside rows and shared strings.
        self.run = 0

    def read(self, source):
        fed = 0
        try:
            while block := source.read(BLOCK):
                self.parser.Parse(block, False)
                fed += len(block)
                if fed - self.parser.CurrentByteIndex > TOKEN_MAX:
                    raise unreadable()
            self.parser.Parse(b"", True)
        except expat.ExpatError:
            pass
        return self.survey

    def start(self, name, attributes):
        self.depth += 1
        self.run = 0
        if self.unit is not None:
            self.unit_elements += 1
            if self.unit_elements > UNIT_ELEMENTS:
                raise unreadable()
            if self.unit == ROW and self.depth == self.unit_depth + 1:
                self.start_cell(attributes.get("r"))
        elif name == ROW:
            self.start_row(attributes.get("r"))
        elif name == SHARED_STRING:
            self.start_string()
        else:
            self.count_other(name, attributes)

    def end(self, _name):
        self.run = 0
        if self.depth == self.unit_depth:
            self.unit, self.unit_depth = None, 0
        elif self.in_cell and self.depth == self.unit_depth + 1:
            self.end_cell()
        self.depth -= 1

    def text(self, data):
        if self.unit == SHARED_STRING or (self.in_cell and self.depth > self.unit_depth + 1):
            self.cell_text += len(data)
            if self.cell_text > TEXT_MAX:
                raise too_long_a_cell(self.row) if self.unit == ROW else a_cell_too_long()
        else:
            self.run += len(data)
            if self.run > TEXT_MAX:
                raise unreadable()

    def begin(self, unit):
        self.unit, self.unit_depth, self.unit_elements = unit, self.depth, 0
        self.cell_text = 0

    def start_row(self, number):
        """A row, numbered as openpyxl numbers it: its `r`, else the one after the last."""
        try:
            self.row = int(float(number)) if number else self.row + 1
        except (ValueError, OverflowError):
            raise unreadable() from None
        if self.row < 1:
            raise unreadable()
        if self.row > SHEET_ROWS:
            raise too_many_rows()
        self.survey.rows = max(self.survey.rows, self.row)
        self.column = self.cells = 0
        self.begin(ROW)

    def start_string(self):
        self.survey.strings += 1
        self.totals.strings += 1
        if self.totals.strings > MAX_STRINGS:
            raise too_many_strings()
        self.begin(SHARED_STRING)

    def start_cell(self, reference):
        """Every element in a row is a cell to openpyxl, in the column its `r` names or else
        the one after the last."""
        self.cells += 1
        self.column = column_of(reference) if reference else self.column + 1
        if not self.column:
            raise unreadable()
        if self.cells > SHEET_COLUMNS or self.column > SHEET_COLUMNS:
            raise too_many_columns(self.row)
        self.in_cell = True
        self.cell_text = 0

    def end_cell(self):
        self.in_cell = False
        if not self.cell_text:
            return
        survey = self.survey
        if self.column > MAX_COLUMNS and not survey.wide_row:
            survey.wide_row = self.row
        if self.cell_text > MAX_CELL and not survey.long_row:
            survey.long_row = self.row

    def count_other(self, name, attributes):
        self.totals.other += 1
        if self.totals.other > MAX_OTHER_ELEMENTS:
            raise too_much_besides_cells()
        if name == RELATIONSHIP and attributes.get("TargetMode") != "External":
            self.survey.links.append((attributes.get("Type", ""), attributes.get("Target", "")))
        elif name == OVERRIDE:
            declared = (attributes.get("PartName", ""), attributes.get("ContentType", ""))
            self.survey.declared.append(declared)


def column_of(reference):
    """The column a cell reference ("AB12") names, from 1; 0 when it names none."""
    letters = reference.rstrip("0123456789")
    if not 0 < len(letters) <= 3 or not letters.isascii() or not letters.isalpha():
        return 0
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


@dataclass
class Totals:
    strings: int = 0
    other: int = 0


def survey_workbook(archive):
    """Every part of the zip scanned (see PartScan): {part name: PartSurvey}. Refused too: a
    part of rows or shared strings that the workbook has openpyxl read as anything else."""
    totals = Totals()
    surveys = {}
    try:
        for part in archive.infolist():
            with archive.open(part) as source:
                surveys[part.filename] = PartScan(totals).read(source)
    except FileProblem:
        raise
    except Exception as error:  # noqa: BLE001 (a broken zip raises many kinds)
        raise unreadable() from error
    check_roles(surveys)
    return surveys


def check_roles(surveys):
    """openpyxl reads a part a row (or a shared string) at a time only as a worksheet (as the
    shared strings); named as anything else, or by a name of its own, it is read whole."""
    roles = {}
    for name, survey in surveys.items():
        if survey.rows and survey.strings:
            raise unreadable()
        if survey.rows or survey.strings:
            roles[name] = WORKSHEET_TYPES if survey.rows else SHARED_STRINGS_TYPES
    if not roles:
        return
    if any(name in NAMED_PARTS or name.endswith(".rels") for name in roles):
        raise unreadable()
    for source, survey in surveys.items():
        named = [(resolved(source, target), kind) for kind, target in survey.links]
        named += [(name.lstrip("/"), kind) for name, kind in survey.declared]
        for name, kind in named:
            if name in roles and ("chartsheet" in kind or not kind.endswith(roles[name])):
                raise unreadable()


def resolved(rels_part, target):
    """The part a relationship of `rels_part` ("xl/_rels/workbook.xml.rels") points to, as
    openpyxl resolves it."""
    if target.startswith("/"):
        return target[1:]
    parent = posixpath.split(posixpath.dirname(rels_part))[0]
    return posixpath.normpath(posixpath.join(parent, target))
