"""Reading the analytics pages in tests: their tables, the numbers linked to the leads behind
them, the lists those links open and the CSV downloads.

A number is named by its link's own arguments, without the filters every link of a page
carries (period, owner, source, field): (("month", "2026-08"), ("outcome", "won")).
"""

import codecs
import csv
import io
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

# The URL parameters of the filters, left out when naming the number a link is for; so are
# the field filter's ("f", and "f." and a field's key).
FILTER_ARGS = {"period", "from", "to", "owner", "source", "f"}
LEAD_LINK = re.compile(r'href="/leads/(\d+)"')


def link_key(href):
    """The number a link to the leads behind it is for: its arguments but the filters', sorted."""
    query = urlsplit(href).query
    return tuple(
        sorted(
            (k, v) for k, v in parse_qsl(query) if k not in FILTER_ARGS and not k.startswith("f.")
        )
    )


def has_class(attrs, name):
    return name in (attrs.get("class") or "").split()


class ReportPage(HTMLParser):
    """A report page as a test reads it.

    - `rows`: {row id: [cell texts]} of the table rows with an id, header cells included;
    - `cells`: {row id: {name: text}} of their cells named by data-outcome or data-column;
    - `table_rows`: every table row, as a list of cell texts, in page order;
    - `tables`: {label: [rows]} of the tables labelled by aria-labelledby;
    - `links`: {link_key: text} of every number linked to the leads behind it (a bar's link,
      which opens the same list as the number beside it, is in `bars` instead, in order);
    - `largest`: the link keys of the numbers marked as the largest (strong.worst-mark);
    - `worst`: the id of the row marked as the worst (class is-worst).

    Cell texts have their white space collapsed, hidden words for screen readers included.
    """

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.rows = {}
        self.cells = {}
        self.table_rows = []
        self.tables = {}
        self.links = {}
        self.bars = []
        self.largest = []
        self.worst = None
        self._table = None
        self._row = None
        self._row_id = None
        self._cell = None
        self._cell_name = None
        self._link = None
        self._strong = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            label = attrs.get("aria-labelledby")
            self._table = self.tables.setdefault(label, []) if label else None
        elif tag == "tr":
            self._row = []
            self._row_id = attrs.get("id")
            self.table_rows.append(self._row)
            if self._table is not None:
                self._table.append(self._row)
            if self._row_id:
                assert self._row_id not in self.rows, f"two rows with the id {self._row_id}"
                self.rows[self._row_id] = self._row
                self.cells[self._row_id] = {}
                if has_class(attrs, "is-worst"):
                    self.worst = self._row_id
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
            self._cell_name = attrs.get("data-outcome") or attrs.get("data-column")
        elif tag == "strong" and has_class(attrs, "worst-mark"):
            self._strong = True
        elif tag == "a" and "/leads?" in (attrs.get("href") or ""):
            if has_class(attrs, "hbar-link"):
                self.bars.append(link_key(attrs["href"]))
            else:
                self._link = [link_key(attrs["href"]), ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            text = " ".join(self._cell.split())
            self._row.append(text)
            if self._row_id and self._cell_name:
                self.cells[self._row_id][self._cell_name] = text
            self._cell = self._cell_name = None
        elif tag == "tr":
            self._row = self._row_id = None
        elif tag == "table":
            self._table = None
        elif tag == "strong":
            self._strong = False
        elif tag == "a" and self._link:
            key, text = self._link
            self.links[key] = " ".join(text.split())
            if self._strong:
                self.largest.append(key)
            self._link = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._link:
            self._link[1] += data

    @property
    def numbers(self):
        """{link_key: count} of the linked numbers, read as whole numbers (1,234 is 1234)."""
        return {key: int(text.replace(",", "")) for key, text in self.links.items()}


def report_page(client, url):
    """The page at `url`, which must answer 200, read as a ReportPage. The answer is closed
    once read, as a server closes it after sending (which runs what waits for that)."""
    with client.get(url) as response:
        assert response.status_code == 200, response.text[:500]
        return ReportPage(response.text)


def listed(client, url, query=""):
    """The numbers of the leads listed behind a number: the page at `url`, with the arguments
    `query` added, which must answer 200."""
    if query:
        url = f"{url}&{query}" if "?" in url else f"{url}?{query}"
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return {int(number) for number in LEAD_LINK.findall(response.text)}


def numbers_of(*leads):
    """The numbers of `leads`, to compare with what `listed` finds."""
    return {lead.number for lead in leads}


def csv_rows(client, url):
    """The rows of the CSV download at `url`, which must answer 200 with a CSV file in UTF-8
    behind a byte order mark (so Excel reads it right), separated by commas or (in Russian)
    semicolons."""
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "text/csv"
    assert response.data.startswith(codecs.BOM_UTF8)
    text = response.data.decode("utf-8-sig")
    header = text.split("\r\n", 1)[0]
    separator = ";" if header.count(";") > header.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=separator))
