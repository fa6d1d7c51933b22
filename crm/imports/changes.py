"""What a dry run says the import will do to each lead: the leads it makes, the details it
changes (from what to what), the stages it moves them through and the contacts it adds.

A file of 10,000 leads has 10,000 of these: the report (kept as JSON with the job and read at
every poll) holds the first SHOWN, and all of them go to a small SQLite file of the job's,
read a page at a time. The file is written aside and moved into place when the dry run is
done, so a page never reads half of one.
"""

import json
import os
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Changes shown with the dry run's counts; the rest are a link away.
SHOWN = 50
# Leads on a page of "see all".
PAGE = 100
# Changes written to the file together.
BATCH = 500
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
    every one written to `path` (when given)."""

    def __init__(self, path=None):
        self.first = []
        self.total = 0
        self.path = Path(path) if path else None
        self.pending = []
        self.database = None
        if self.path is not None:
            self.aside = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            self.aside.unlink(missing_ok=True)
            self.database = sqlite3.connect(self.aside)
            self.database.execute(
                "CREATE TABLE changes (position INTEGER PRIMARY KEY, change TEXT)"
            )

    def add(self, change):
        if len(self.first) < SHOWN:
            self.first.append(asdict(change))
        if self.database is not None:
            self.pending.append((self.total, json.dumps(asdict(change), ensure_ascii=False)))
            if len(self.pending) >= BATCH:
                self.write()
        self.total += 1

    def write(self):
        self.database.executemany("INSERT INTO changes VALUES (?, ?)", self.pending)
        self.pending = []

    def finish(self):
        """Put the file in place: the dry run is complete."""
        if self.database is None:
            return
        self.write()
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
    start = (number - 1) * PAGE
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as database:
        total = database.execute("SELECT count(*) FROM changes").fetchone()[0]
        rows = database.execute(
            "SELECT change FROM changes WHERE position >= ? AND position < ? ORDER BY position",
            (start, start + PAGE),
        ).fetchall()
    return [LeadChange.from_dict(json.loads(row[0])) for row in rows], total
