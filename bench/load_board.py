"""An open board in the load test: its columns as drawn, its data version, and the poll that
crm/static/js/board.js sends every few seconds, read and written the way the script does."""

import html
import re
import threading
import time
import urllib.parse

from bench.load_http import attributes

CARD_ID = re.compile(r'<li class="board-card[^"]*" id="card-(\d+)"')
VERSION = re.compile(r'id="board-version"[^>]*data-version="([^"]*)"')
CHANGES_URL = re.compile(r'id="board"[^>]*data-changes-url="([^"]*)"')
# At least this many cards of an unfolded column are asked for (changesUrl in board.js).
CARDS = 25


class Board:
    """An open board in `browser` (a logged-in user on one server)."""

    def __init__(self, browser, index):
        self.browser, self.index, self.server = browser, index, browser.server
        self.columns, self.version, self.changes_url = {}, "", "/board/changes"

    def open(self):
        answer = self.browser.fetch("GET", "/board/")
        if answer.status != 200:
            raise RuntimeError(f"The board answered {answer.status}.")
        self.browser.read_token(answer.body)
        self.columns = read_columns(answer.body)
        self.version = read_version(answer.body) or ""
        self.changes_url = read_changes_url(answer.body)

    def poll_url(self):
        params = [("version", self.version)]
        for stage, column in self.columns.items():
            shown = max(len(column.cards), CARDS) if column.expanded else 0
            params.append(("col", f"{stage}:{shown}:{column.signature}"))
        joiner = "&" if "?" in self.changes_url else "?"
        return self.changes_url + joiner + urllib.parse.urlencode(params)

    def poll(self, moves):
        """Ask what changed and draw it; a page whose columns no longer fit loads afresh."""
        headers = self.browser.htmx_headers("div#board", "span#board-version", "/board/")
        # 204: nothing changed; 200: something did, and the columns that changed come along.
        answer = self.browser.timed(
            "board_poll", "GET", self.poll_url(), {200, 204}, headers=headers, by_status=True
        )
        if answer is None:
            return
        if answer.headers.get("HX-Refresh") == "true":
            self.open()
            return
        if answer.status == 200:
            redrawn = read_columns(answer.body)
            self.columns.update(redrawn)
            self.version = read_version(answer.body) or self.version
            moves.seen_by(self, redrawn)


class Column:
    def __init__(self, signature, expanded, cards):
        self.signature, self.expanded, self.cards = signature, expanded, cards


def read_columns(page):
    """{stage id: Column} for each column drawn in `page` (a whole board or a poll's answer),
    in the page's order."""
    columns = {}
    for chunk in page.split('<section class="board-column')[1:]:
        attrs = attributes(chunk[: chunk.find(">")])
        cards = [int(value) for value in CARD_ID.findall(chunk)]
        columns[int(attrs["data-stage"])] = Column(
            attrs.get("data-signature", ""), attrs.get("data-expanded") == "true", cards
        )
    return columns


def read_version(page):
    found = VERSION.search(page)
    return found.group(1) if found else None


def read_changes_url(page):
    found = CHANGES_URL.search(page)
    return html.unescape(found.group(1)) if found else "/board/changes"


class Moves:
    """The cards moved during the run, and when each board first drew each in its new column.

    A move is noted before it is sent, so a board that polls while its answer is on the way
    still counts; the delay is measured from the answer, when the mover's own board shows it.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.made = []

    def add(self, lead_id, stage_id):
        move = {"lead": lead_id, "stage": stage_id, "done": None, "seen": {}}
        with self.lock:
            self.made.append(move)
        return move

    def done(self, move, answered):
        with self.lock:
            if answered:
                move["done"] = time.monotonic()
            else:
                self.made.remove(move)

    def seen_by(self, board, redrawn):
        """Only the latest move counts: the card back in a column later does not show an
        earlier move that the board missed."""
        now = time.monotonic()
        with self.lock:
            move = self.made[-1] if self.made else None
            column = redrawn.get(move["stage"]) if move else None
            if column is not None and move["lead"] in column.cards:
                move["seen"].setdefault(board.index, now)

    def results(self, boards):
        """Per move, per board: (its server, seconds until it showed the move or None)."""
        return [
            [(board.server, delay(move, board.index)) for board in boards]
            for move in self.made
            if move["done"] is not None
        ]


def delay(move, index):
    seen = move["seen"].get(index)
    return None if seen is None else max(0.0, seen - move["done"])
