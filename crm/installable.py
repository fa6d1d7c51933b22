"""The installable app: its web manifest, and the service worker that keeps the static files.

The service worker's code is `crm/static/sw.js`, served at `/sw.js` so that it looks after the
whole site. Before it go the version and the list of the files it keeps, both worked out once
as the app starts: the version is a hash of the static files, so a release that changes one
gives browsers a new worker, which fetches them afresh and drops the old copies.
"""

import hashlib
import json
from pathlib import Path

from flask import current_app, url_for
from flask_babel import gettext as _

SERVICE_WORKER = "sw.js"
# The accent and background of app.css: the phone's bar and splash screen take them.
THEME_COLOUR = "#1d4ed8"
BACKGROUND_COLOUR = "#f6f7f9"
ICONS = [
    ("icons/icon-192.png", "192x192", "image/png", "any"),
    ("icons/icon-512.png", "512x512", "image/png", "any"),
    ("icons/maskable-512.png", "512x512", "image/png", "maskable"),
    ("favicon.svg", "any", "image/svg+xml", "any"),
]


def init_app(app):
    app.extensions["crm.service_worker"] = service_worker_script(app)
    app.jinja_env.globals["theme_colour"] = THEME_COLOUR


def static_files(app):
    """The static files the worker keeps, by path under the static folder (not itself)."""
    folder = Path(app.static_folder)
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.name != SERVICE_WORKER
    )


def service_worker_script(app):
    folder = Path(app.static_folder)
    files = static_files(app)
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    code = (folder / SERVICE_WORKER).read_text(encoding="utf-8")
    digest.update(code.encode())
    shell = {
        "version": digest.hexdigest()[:16],
        "files": [f"{app.static_url_path}/{name}" for name in files],
    }
    return f"self.SHELL = {json.dumps(shell)};\n{code}"


def service_worker():
    """The worker's script, as made at start."""
    return current_app.extensions["crm.service_worker"]


def manifest():
    """The web manifest, in the language of the request."""
    return {
        "name": _("CRM"),
        "short_name": _("CRM"),
        "description": _("Leads, contacts and the sales funnel of your team."),
        "id": url_for("agenda.index"),
        "start_url": url_for("agenda.index"),
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {
                "src": url_for("static", filename=path),
                "sizes": sizes,
                "type": mimetype,
                "purpose": purpose,
            }
            for path, sizes, mimetype, purpose in ICONS
        ],
    }
