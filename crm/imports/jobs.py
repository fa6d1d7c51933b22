"""Import jobs: an uploaded file and what became of it, kept as files in the instance folder.

Each job is a folder named by a random id: the upload itself, `job.json` (what the file is and
what the user chose), `state.json` (how far the dry run or the import has come, and its
report) and `changes.sqlite3` (what the dry run found the import would do to each lead).
Every worker of the app shares the instance folder, so the worker that runs a job and the one
answering the page's progress poll need not be the same; nothing is kept in memory.

A dry run or an import runs in a thread of the worker that was asked for it (inline when
testing), in its own app context and database session. One job runs one thing at a time: a
lock file says so, and a job whose state has not moved for a while counts as interrupted (its
worker was restarted): an import never committed leaves nothing behind.
"""

import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.extensions import db
from crm.imports import engine
from crm.imports.reading import Layout
from crm.models import utcnow

FOLDER = "imports"
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}\Z")
UPLOAD = "upload"
# Jobs are kept this long, then removed with their upload when the next file comes in.
KEEP = timedelta(days=2)
# A running job whose state has not changed for this long was interrupted.
STALE_SECONDS = 120

NEW = "new"
CHECKING = "checking"
CHECKED = "checked"
IMPORTING = "importing"
DONE = "done"
FAILED = "failed"
RUNNING = (CHECKING, IMPORTING)


def root():
    return Path(current_app.instance_path) / FOLDER


def write_json(path, data):
    """Write aside, then move into place: a reader never sees half a file."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    aside.write_text(json.dumps(data, ensure_ascii=False, default=str))
    os.replace(aside, path)


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class Job:
    id: str
    folder: Path
    meta: dict

    @property
    def upload(self):
        return self.folder / UPLOAD

    @property
    def scratch(self):
        return self.folder / "scratch"

    @property
    def changes(self):
        """The dry run's list of what the import would do to each lead."""
        return self.folder / engine.CHANGES_FILE

    @property
    def kind(self):
        return self.meta["kind"]

    @property
    def filename(self):
        return self.meta.get("filename") or ""

    @property
    def layout(self):
        return Layout.from_dict(self.meta["layout"])

    @layout.setter
    def layout(self, layout):
        self.meta["layout"] = layout.to_dict()

    @property
    def settings(self):
        data = self.meta.get("settings")
        return engine.Settings.from_dict(data) if data else None

    @settings.setter
    def settings(self, settings):
        self.meta["settings"] = settings.to_dict()

    def save(self):
        write_json(self.folder / "job.json", self.meta)

    # State

    @property
    def state(self):
        state = read_json(self.folder / "state.json") or {"status": NEW}
        if state.get("status") in RUNNING and self.stale(state):
            state = {**state, "status": FAILED, "interrupted": True}
        return state

    @staticmethod
    def stale(state):
        return time.time() - state.get("updated", 0) > STALE_SECONDS

    def set_state(self, **state):
        write_json(self.folder / "state.json", {**state, "updated": time.time()})

    @property
    def status(self):
        return self.state["status"]

    @property
    def report(self):
        data = self.state.get("report")
        return engine.Report.from_dict(data) if data else None

    # Running

    def lock(self):
        """Take the job's lock; False when something already runs (and has not gone stale)."""
        path = self.folder / "running"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if self.status in RUNNING:
                return False
            # Left by a worker that stopped halfway.
            path.unlink(missing_ok=True)
            return self.lock()
        os.close(fd)
        return True

    def unlock(self):
        (self.folder / "running").unlink(missing_ok=True)


def new(stream, filename, kind, user, locale, zone):
    """Save an upload as a new job (its layout is worked out by the caller)."""
    forget_old()
    job_id = secrets.token_urlsafe(24)
    folder = root() / job_id
    folder.mkdir(parents=True, mode=0o700)
    job = Job(
        job_id,
        folder,
        {
            "kind": kind,
            "filename": os.path.basename(filename or "")[:200],
            "user_id": user.id if user else None,
            "locale": locale,
            "zone": zone,
            "created": utcnow().isoformat(),
        },
    )
    with open(job.upload, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    return job


def get(job_id):
    """The job with this id, or None."""
    if not job_id or not JOB_ID.match(job_id):
        return None
    folder = root() / job_id
    meta = read_json(folder / "job.json")
    if not meta:
        return None
    return Job(job_id, folder, meta)


def discard(job):
    shutil.rmtree(job.folder, ignore_errors=True)


def recent(limit=10):
    """The latest jobs, newest first."""
    if not root().exists():
        return []
    jobs = [get(folder.name) for folder in root().iterdir() if folder.is_dir()]
    jobs = [job for job in jobs if job is not None]
    jobs.sort(key=lambda job: job.meta.get("created", ""), reverse=True)
    return jobs[:limit]


def forget_old():
    """Remove jobs (and their uploads, which hold people's details) older than KEEP."""
    if not root().exists():
        return
    cutoff = (utcnow() - KEEP).isoformat()
    for folder in root().iterdir():
        job = get(folder.name) if folder.is_dir() else None
        if job is not None and job.meta.get("created", "") < cutoff and job.status not in RUNNING:
            discard(job)


def start(job, apply):
    """Run the dry run (or, with `apply`, the import) of `job`: in a thread of this worker, or
    inline when testing. False when the job is already running something."""
    if not job.lock():
        return False
    if not apply:
        # The list of an earlier dry run no longer says what the import would do.
        job.changes.unlink(missing_ok=True)
    job.set_state(
        status=IMPORTING if apply else CHECKING,
        phase="reading",
        share=0,
        rows=0,
        report=(job.state.get("report") if apply else None),
    )
    app = current_app._get_current_object()
    if app.config.get("IMPORT_IN_BACKGROUND", not app.testing):
        thread = threading.Thread(
            target=work, args=(app, job.id, apply), name=f"import-{job.id[:8]}", daemon=True
        )
        thread.start()
    else:
        # The request's own transaction ends first: on SQLite it may hold the write lock.
        db.session.commit()
        work(app, job.id, apply)
    return True


def work(app, job_id, apply):
    """The dry run or the import, start to end, in an app context and session of its own."""
    with app.app_context():
        job = get(job_id)
        try:
            with force_locale(job.meta.get("locale") or "en"):
                run(job, apply)
        finally:
            db.session.remove()
            job.unlock()


def run(job, apply):
    status = IMPORTING if apply else CHECKING
    checked = job.state.get("report") if apply else None

    def progress(phase, share, rows):
        job.set_state(status=status, phase=phase, share=share, rows=rows, report=checked)

    try:
        report = engine.run(
            job.upload,
            job.layout,
            job.settings,
            apply=apply,
            scratch=job.scratch,
            progress=progress,
            changes=job.changes,
        )
        if apply:
            job.set_state(
                status=IMPORTING, phase="saving", share=1, rows=report.rows, report=checked
            )
            db.session.commit()
            # People's details are not kept once they are in the CRM.
            job.upload.unlink(missing_ok=True)
            job.changes.unlink(missing_ok=True)
        else:
            db.session.rollback()
        job.set_state(status=DONE if apply else CHECKED, report=report.to_dict())
    except engine.ImportFailed as failure:
        db.session.rollback()
        report = failure.report.to_dict() if failure.report else None
        job.set_state(status=FAILED, message=failure.message, report=report, applying=apply)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("Import %s failed", job.id)
        job.set_state(
            status=FAILED,
            message=_("The import stopped on an unexpected error. Nothing was imported."),
            applying=apply,
        )
    finally:
        shutil.rmtree(job.scratch, ignore_errors=True)
