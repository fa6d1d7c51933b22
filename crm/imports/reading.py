"""An uploaded table read row by row, never whole: CSV in whatever encoding and delimiter a
spreadsheet saved it with (UTF-8 with or without a byte order mark, UTF-16, Windows-1251; comma,
semicolon, tab), or a sheet of an XLSX workbook.

`inspect` looks at a file once, at upload: its kind, encoding, delimiter, sheets, header row and
a sample of each column, and that the whole of it is within the import's bounds
(`crm.imports.bounds`). `Table` then gives the rows after the header with their line numbers
(as a spreadsheet numbers its rows: the first row of the file is line 1), and how much of the
file has been read, for the progress bar.
"""

import codecs
import csv
import io
import itertools
import math
import os
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from flask_babel import gettext as _

from crm import parsing
from crm.imports import bounds
from crm.imports.bounds import FileProblem
from crm.imports.team_fields import ValueSample

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
# The header is the first row, within this many, that has at least half as many cells filled as
# the widest row: title lines and empty rows above it are passed over.
HEADER_SEARCH = 20
# Rows looked at to show examples of each column and to tell how its dates are written.
SAMPLE_ROWS = 1000
EXAMPLES = 3
EXAMPLE_LENGTH = 60
# A column reads as notes when one cell in three of its sample has this many words or more.
PROSE_WORDS = 4
PROSE_SHARE = 3
ZIP = b"PK\x03\x04"
OLE = b"\xd0\xcf\x11\xe0"


@dataclass
class Column:
    index: int
    header: str
    examples: list = field(default_factory=list)
    # What the sample's dates with slashes prove: parsing.DAY_FIRST, MONTH_FIRST, "both" (rows
    # disagree), or None; and whether the column has any such date at all.
    date_order: str | None = None
    slashed: bool = False
    # Whether its cells read as sentences (notes), rather than names, numbers or dates.
    prose: bool = False
    # The type of a new field of the team's made from it, as its sample suggests.
    value_type: str | None = None


@dataclass
class Layout:
    """How to read the file, worked out once at upload and kept with the job."""

    format: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list = field(default_factory=list)
    header_line: int = 1
    # The number of the file's last row (0: not known).
    rows: int = 0
    columns: list = field(default_factory=list)

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        data = dict(data)
        data["columns"] = [Column(**column) for column in data.get("columns", [])]
        return cls(**data)

    @property
    def headers(self):
        return [column.header for column in self.columns]


def inspect(path, sheet=None):
    """Work out how to read the file at `path`, find its header and sample its columns; refuse
    it (FileProblem) when it cannot be read or is past a bound."""
    with open(path, "rb") as file:
        head = file.read(8)
    if not head:
        raise FileProblem(_("The file is empty."))
    if head.startswith(OLE):
        raise FileProblem(
            _("Old Excel files (.xls) cannot be read: save the sheet as CSV or XLSX and try again.")
        )
    if head.startswith(ZIP):
        layout = inspect_workbook(path, sheet)
    else:
        layout = Layout(format="csv", encoding=detect_encoding(path))
        layout.delimiter = detect_delimiter(path, layout.encoding)
        rows = csv_records(path, layout)
        try:
            find_header(rows, layout)
            layout.rows = last_line(rows, layout)
        finally:
            rows.close()
    bounds.check_rows(layout.rows, layout.header_line)
    return layout


def last_line(rows, layout):
    """Read the rest of the file, within bounds, to its last line."""
    line = layout.header_line
    for line, _cells in rows:
        bounds.check_rows(line, layout.header_line)
    return max(line, layout.rows)


# CSV


def detect_encoding(path):
    """UTF-8 (with or without its byte order mark), UTF-16 with its mark, else Windows-1251,
    the encoding of every CSV file a Russian Excel saves."""
    with open(path, "rb") as file:
        head = file.read(SAMPLE_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            if not decodes(file, "utf-16"):
                raise FileProblem(
                    _("This does not look like a table saved as CSV: save it as CSV and try again.")
                )
            return "utf-16"
        if head.count(b"\x00") > len(head) // 10:
            raise FileProblem(
                _("This does not look like a table saved as CSV: save it as CSV and try again.")
            )
        # Checked to the end: a file can be plain ASCII for a megabyte and then Cyrillic.
        if not decodes(file, "utf-8"):
            return "cp1251"
    return "utf-8"


def decodes(file, encoding):
    """Whether the whole binary `file` reads as `encoding`."""
    file.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while block := file.read(1 << 20):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def open_text(path, encoding):
    # Windows-1251 leaves a few bytes undefined: shown as "�" rather than refusing the file.
    errors = "replace" if encoding == "cp1251" else "strict"
    return open(path, encoding=encoding, errors=errors, newline="")  # noqa: SIM115


def detect_delimiter(path, encoding):
    """The delimiter that splits the first rows into the same number of cells, the most."""
    with open_text(path, encoding) as file:
        sample = file.read(SAMPLE_BYTES)
        complete = file.read(1) == ""
    if not complete and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    best, best_score = ",", None
    for delimiter in DELIMITERS:
        try:
            widths = [
                len(row)
                for row in list(csv.reader(io.StringIO(sample), delimiter=delimiter))[:50]
                if row
            ]
        except csv.Error:
            continue
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        score = (common > 1, widths.count(common) / len(widths), common)
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


def csv_records(path, layout, progress=None):
    """Every record of a CSV file within bounds as (line, cells); `progress` is told the share
    read."""
    size = os.path.getsize(path) or 1
    raw = open(path, "rb")  # noqa: SIM115 (closed below, after the text wrapper)
    errors = "replace" if layout.encoding == "cp1251" else "strict"
    text = io.TextIOWrapper(raw, encoding=layout.encoding, errors=errors, newline="")
    lines = bounds.Lines(text, layout.delimiter or ",")
    reader = csv.reader(lines, delimiter=layout.delimiter or ",")
    line = 0
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except bounds.RecordTooLong as too_long:
                if too_long.wide:
                    raise bounds.too_many_columns(line + 1) from None
                raise bounds.too_long_a_cell(line + 1) from None
            except csv.Error as error:
                if str(error).startswith("field larger than field limit"):
                    raise bounds.too_long_a_cell(line + 1) from error
                raise FileProblem(
                    _(
                        "Line %(line)d: the file cannot be read from here on (%(reason)s). "
                        "Is a quote mark out of place?",
                        line=line + 1,
                        reason=str(error),
                    )
                ) from error
            except UnicodeDecodeError as error:
                raise FileProblem(
                    _("Line %(line)d: the text is not in the file's encoding.", line=line + 1)
                ) from error
            line += 1
            # A record no longer than a cell may be has no cell too long.
            if lines.record > bounds.MAX_CELL:
                bounds.check_cells(cells, line)
            lines.next_record()
            if progress is not None:
                progress.read(raw.tell() / size)
            yield line, bounds.within_columns(cells, line)
    finally:
        text.close()


# XLSX


def inspect_workbook(path, sheet=None):
    """The layout of an XLSX workbook's sheet (`sheet`, else the first), once every part of
    the workbook is known to be within bounds and the sheet within the import's."""
    with open(path, "rb") as file:
        surveys = survey_workbook(file)
    with workbook_of(path) as book:
        layout = Layout(format="xlsx", sheets=list(book.workbook.sheetnames))
        if not layout.sheets:
            raise bounds.unreadable()
        layout.sheet = sheet if sheet in layout.sheets else layout.sheets[0]
        survey = surveys.get(book.parts.get(layout.sheet)) or bounds.PartSurvey()
        if survey.wide_row:
            raise bounds.too_many_columns(survey.wide_row)
        if survey.long_row:
            raise bounds.too_long_a_cell(survey.long_row)
        layout.rows = survey.rows
        rows = sheet_records(book, layout)
        try:
            find_header(rows, layout)
        finally:
            rows.close()
    return layout


def survey_workbook(file):
    """Check the zip, then every part of it (see `bounds`), before openpyxl reads any."""
    bounds.check_zip_directory(file)
    try:
        archive = zipfile.ZipFile(file)
    except Exception as error:  # noqa: BLE001 (a broken zip raises many kinds)
        raise bounds.unreadable() from error
    with archive:
        bounds.check_parts(archive)
        return bounds.survey_workbook(archive)


@dataclass
class Book:
    workbook: object
    # Sheet name → the part of the zip that holds it.
    parts: dict


@contextmanager
def workbook_of(path):
    """The workbook, read as it is needed rather than loaded whole, its parts' sizes checked
    first (their contents are checked at upload, by `inspect`)."""
    try:
        from openpyxl.reader.excel import ExcelReader
    except ImportError:
        raise FileProblem(
            _("XLSX files cannot be read on this server: save the sheet as CSV and try again.")
        ) from None
    # A file rather than its path: openpyxl would refuse an upload saved without ".xlsx".
    with open(path, "rb") as file:
        bounds.check_zip_directory(file)
        try:
            reader = ExcelReader(file, read_only=True, data_only=True, keep_links=False)
            bounds.check_parts(reader.archive)
            reader.read()
            parts = {sheet.name: rel.target for sheet, rel in reader.parser.find_sheets()}
        except FileProblem:
            raise
        except Exception as error:  # noqa: BLE001 (openpyxl raises many kinds on a broken file)
            raise bounds.unreadable() from error
        try:
            yield Book(reader.wb, parts)
        finally:
            reader.wb.close()


def xlsx_records(path, layout, progress=None):
    with workbook_of(path) as book:
        yield from sheet_records(book, layout, progress)


def sheet_records(book, layout, progress=None):
    """Every row of the layout's sheet within bounds, as (line, cells)."""
    workbook = book.workbook
    sheet = workbook[layout.sheet] if layout.sheet in workbook.sheetnames else workbook.active
    # Its rows as they are: the size a sheet states can be a million rows of 16,384 cells.
    sheet.reset_dimensions()
    total = layout.rows
    try:
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if progress is not None and total:
                progress.read(min(1.0, line / total))
            cells = bounds.within_columns(values, line)
            bounds.check_cells(cells, line)
            yield line, list(cells)
    except FileProblem:
        raise
    except Exception as error:  # noqa: BLE001
        raise bounds.unreadable() from error


# Both


def records(path, layout, progress=None):
    if layout.format == "xlsx":
        return xlsx_records(path, layout, progress)
    return csv_records(path, layout, progress)


def filled(cells):
    return sum(1 for cell in cells if parsing.text(cell) is not None)


def find_header(rows, layout):
    """Find the header row among the first of `rows` and sample the columns under it."""
    first = []
    for line, cells in rows:
        first.append((line, cells))
        if len(first) == HEADER_SEARCH:
            break
    widest = max((filled(cells) for _line, cells in first), default=0)
    if widest == 0:
        raise FileProblem(_("The file has no rows with anything in them."))
    needed = max(min(2, widest), math.ceil(widest / 2))
    line, header = next((line, c) for line, c in first if filled(c) >= needed)
    layout.header_line = line
    last = max(i for i, cell in enumerate(header) if parsing.text(cell) is not None)
    layout.columns = [
        Column(index=i, header=parsing.text(cell) or _("Column %(n)d", n=i + 1))
        for i, cell in enumerate(header[: last + 1])
    ]
    layout.rows = max(layout.rows, first[-1][0])
    sample(layout, (item for item in first if item[0] > line), rows)


def sample(layout, buffered, rest):
    seen = 0
    filled_cells = [0] * len(layout.columns)
    wordy_cells = [0] * len(layout.columns)
    values = [ValueSample() for _column in layout.columns]
    # A row at a time: a thousand rows of long cells would not fit in memory at once.
    for line, cells in itertools.chain(buffered, itertools.islice(rest, SAMPLE_ROWS)):
        layout.rows = max(layout.rows, line)
        seen += 1
        for n, column in enumerate(layout.columns):
            value = cells[column.index] if column.index < len(cells) else None
            if parsing.text(value) is None:
                continue
            filled_cells[n] += 1
            wordy_cells[n] += wordy(value)
            values[n].add(value)
            if len(column.examples) < EXAMPLES:
                example = parsing.text(value)
                if len(example) > EXAMPLE_LENGTH:
                    example = example[: EXAMPLE_LENGTH - 1] + "…"
                column.examples.append(example)
            if parsing.is_slashed(value):
                column.slashed = True
                order = parsing.slash_order(value)
                if order and column.date_order not in (None, order):
                    column.date_order = "both"
                elif order and column.date_order is None:
                    column.date_order = order
        if seen >= SAMPLE_ROWS:
            break
    for column, filled_count, wordy_count, sampled in zip(
        layout.columns, filled_cells, wordy_cells, values, strict=True
    ):
        column.prose = wordy_count > 0 and wordy_count * PROSE_SHARE >= filled_count
        column.value_type = str(sampled.guess(column.header, column.prose))


def wordy(value):
    """A cell of a sentence or more: "Просили перезвонить в пятницу после обеда"."""
    if not isinstance(value, str):
        return False
    words = sum(1 for word in value.split() if any(ch.isalpha() for ch in word))
    return words >= PROSE_WORDS


class Table:
    """The rows under the header, each as (line, cells), with how much has been read."""

    def __init__(self, path, layout):
        self.path = path
        self.layout = layout
        self.share_read = 0.0

    def read(self, share):
        self.share_read = share

    def rows(self):
        rows = records(self.path, self.layout, progress=self)
        header_line = self.layout.header_line
        try:
            for line, cells in rows:
                if line > header_line:
                    bounds.check_rows(line, header_line)
                    yield line, cells
        finally:
            rows.close()
