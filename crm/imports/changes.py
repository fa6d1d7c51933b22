"""What a dry run says the import will do to each lead: the leads it makes, the details it
changes (from what to what), the stages it moves them through and the contacts it adds.

A file of 10,000 leads has 10,000 of these: the report (kept as JSON with the job and read at
every poll) holds the first SHOWN, and all of them go to a small SQLite file of the job's, a
page of them to a row, so that showing a page reads one row. The file is written aside and
moved into place when the dry run is done, so a page never reads half of one.
"""

import json
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

# Changes shown with the dry run's counts; the rest are a link away.
SHOWN = 50
# Leads on a page of "see all".
PAGE = 100
# A lead moved through more stages than this is shown by the first and the last ones.
STAGES_SHOWN = 8


@dataclass
class LeadChange:
    """What the import does to one lead. Stages are {"id", "name"}; a stage the import
    creates has no id yet. Fields are [key, old, new], as `shown_value` writes them."""

    number: int | None
    title: str
    new: bool = False
    fields: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    contacts: int = 0

    def to_dict(self):
        # Not dataclasses.asdict, which copies every list and dict deeply: a dry run of
        # 10,000 leads spent a second in it.
        return dict(vars(self))

    @classmethod
    def from_dict(cls, data):
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})


def stage_of(stage):
    return {"id": stage.id if isinstance(stage.id, int) else None, "name": stage.name}


def shortened(stages):
    """A long way through the funnel: where it starts, a gap (None), and where it ends."""
    if len(stages) <= STAGES_SHOWN:
        return stages
    return [stages[0], None, *stages[-(STAGES_SHOWN - 2) :]]


class ChangeList:
    """The changes a dry run finds, in the order it finds them: the first SHOWN kept at hand,
    every one written to `path` (when given), a page of them at a time."""

    def __init__(self, path=None):
        self.first = []
        self.total = 0
        self.path = Path(path) if path else None
        self.page = []
        self.database = None
        if self.path is not None:
            self.aside = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            self.aside.unlink(missing_ok=True)
            self.database = sqlite3.connect(self.aside)
            self.database.execute("CREATE TABLE pages (number INTEGER PRIMARY KEY, changes TEXT)")
            self.database.execute("CREATE TABLE total (changes INTEGER)")

    def add(self, change):
        data = change.to_dict()
        if len(self.first) < SHOWN:
            self.first.append(data)
        self.total += 1
        if self.database is not None:
            self.page.append(data)
            if len(self.page) == PAGE:
                self.write_page()

    def write_page(self):
        number = -(-self.total // PAGE)
        self.database.execute(
            "INSERT INTO pages VALUES (?, ?)", (number, json.dumps(self.page, ensure_ascii=False))
        )
        self.page = []

    def finish(self):
        """Put the file in place: the dry run is complete."""
        if self.database is None:
            return
        if self.page:
            self.write_page()
        self.database.execute("INSERT INTO total VALUES (?)", (self.total,))
        self.database.commit()
        self.database.close()
        self.database = None
        os.replace(self.aside, self.path)

    def discard(self):
        """The dry run stopped: no file, not even half of one."""
        if self.database is None:
            return
        self.database.close()
        self.database = None
        self.aside.unlink(missing_ok=True)


def page(path, number):
    """The changes on page `number` (from 1) of the file at `path`, and how many there are in
    all; None when there is no such file."""
    path = Path(path)
    if not path.exists():
        return None
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as database:
        total = database.execute("SELECT changes FROM total").fetchone()[0]
        row = database.execute("SELECT changes FROM pages WHERE number = ?", (number,)).fetchone()
    listed = json.loads(row[0]) if row else []
    return [LeadChange.from_dict(change) for change in listed], total
