"""Writes that are safe to retry: a request sent again with the same key is carried out once.

A form that creates something (a logged contact, a new lead, an intake request) carries a key
made when the form is drawn; an API client sends an `Idempotency-Key` header. The first request
with a key runs as usual, except that its commits are held until its answer is ready
(`crm.extensions.HoldingSession`): the answer is then stored in the same transaction as what
the request saved. So the two are never apart. A crash before the commit leaves neither, and a
retry does the work; a crash after leaves both, and a retry gets the first answer back and
saves nothing more. Answers are kept 24 hours in the database, so every worker on every server
knows them.

Only answers that saved something and said so (below 400) are kept: a form refused for a
mistake is corrected and sent again with the same key, and must then be carried out.
"""

import hashlib
import re
import secrets
import zlib
from datetime import timedelta
from functools import wraps

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from crm.extensions import COMMIT_ASKED, HELD, db
from crm.models import IdempotentAnswer, utcnow

HEADER = "Idempotency-Key"
FIELD = "idempotency_key"
KEPT = timedelta(hours=24)
PRUNE_EVERY = timedelta(minutes=1)
# In app.extensions: when this worker last let old answers go.
PRUNED = "crm.idempotency_pruned"
# Printable ASCII, as HTTP headers carry it; a UUID or any client's random string fits.
KEY_FORMAT = re.compile(r"[\x21-\x7e]{1,80}")
REPLAYED = "Idempotent-Replayed"
# The answer's own headers are stored; these belong to the connection or to the one browser.
NOT_STORED = frozenset({"content-length", "set-cookie", "date", "x-request-id"})


def new_key():
    """A key for a form as it is drawn."""
    return secrets.token_urlsafe(18)


class KeyProblem(ValueError):
    """A key that cannot be one."""


def sent_key():
    """The request's key: the header, or the form's field; None without one."""
    key = request.headers.get(HEADER)
    if key is None and request.mimetype in ("application/x-www-form-urlencoded", ""):
        # A page's form drawn without one (an old tab) sends it empty: no key, as before.
        key = request.form.get(FIELD) or None
    if key is None:
        return None
    if not KEY_FORMAT.fullmatch(key):
        raise KeyProblem(_("An idempotency key is 1 to 80 visible characters."))
    return key


def sender():
    """Whose keys these are: a key is one person's (or one public form's), not everyone's."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"public:{request.path}"[:200]


def request_digest():
    """What the request asks, so that a key sent again with a different request is told."""
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in sorted(request.form.items(multi=True)):
            if name not in (FIELD, "csrf_token"):
                digest.update(f"{name}={value}\n".encode())
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def idempotent(refuse):
    """Carry out the view once per key. `refuse(status, message)` is the view's own way of
    answering an error (JSON in the API, a page elsewhere)."""

    def decorator(view):
        @wraps(view)
        def carried_out_once(*args, **kwargs):
            try:
                key = sent_key() if request.method not in ("GET", "HEAD") else None
                digest = request_digest() if key is not None else None
            except KeyProblem as problem:
                return refuse(400, str(problem))
            except HTTPException:
                # The body cannot be read (too large, malformed): the view says so itself.
                key = None
            if key is None:
                return view(*args, **kwargs)
            whose = sender()
            stored = stored_answer(whose, key)
            if stored is not None:
                return replay(stored, digest, refuse)
            response = run_holding_commits(view, args, kwargs)
            if not db.session.info.pop(COMMIT_ASKED, False):
                return response
            if response.status_code < 400 and not response.is_streamed:
                remember(whose, key, digest, response)
            try:
                db.session.commit()
            except IntegrityError:
                # The same key sent twice at once: the other request saved first.
                db.session.rollback()
                stored = stored_answer(whose, key)
                if stored is None:
                    raise
                return replay(stored, digest, refuse)
            return response

        return carried_out_once

    return decorator


def run_holding_commits(view, args, kwargs):
    info = db.session.info
    info[HELD] = True
    info.pop(COMMIT_ASKED, None)
    try:
        return current_app.make_response(view(*args, **kwargs))
    except BaseException:
        info.pop(COMMIT_ASKED, None)
        raise
    finally:
        info.pop(HELD, None)


def stored_answer(whose, key):
    """The answer kept for this sender and key; one older than a day is let go, and its key
    is then free again."""
    stored = db.session.scalar(
        select(IdempotentAnswer).where(
            IdempotentAnswer.sender == whose, IdempotentAnswer.key == key
        )
    )
    if stored is not None and stored.created_at < utcnow() - KEPT:
        db.session.delete(stored)
        # Gone before this request's own answer is stored under the same key.
        db.session.flush()
        return None
    return stored


def let_old_answers_go():
    """Answers older than a day are let go as new ones come, so the table stays small: at most
    once a minute in each worker, not a statement with every write."""
    now = utcnow()
    last = current_app.extensions.get(PRUNED)
    if last is not None and now - last < PRUNE_EVERY:
        return
    current_app.extensions[PRUNED] = now
    db.session.execute(delete(IdempotentAnswer).where(IdempotentAnswer.created_at < now - KEPT))


def remember(whose, key, digest, response):
    let_old_answers_go()
    db.session.add(
        IdempotentAnswer(
            sender=whose,
            key=key,
            request_hash=digest,
            status=response.status_code,
            headers=[
                [name, value]
                for name, value in response.headers.items()
                if name.lower() not in NOT_STORED
            ],
            # A lead page's answer is the timeline afresh, ~25 KB of HTML: a sixth of it kept.
            body=zlib.compress(response.get_data(), 1),
        )
    )


def replay(stored, digest, refuse):
    """The first answer again; a key sent with another request is refused, saving nothing."""
    if not secrets.compare_digest(stored.request_hash, digest):
        return refuse(
            422,
            _(
                "This idempotency key was sent before with a different request. Send a new "
                "key for a new request."
            ),
        )
    response = current_app.response_class(zlib.decompress(stored.body), status=stored.status)
    response.headers.clear()
    for name, value in stored.headers:
        response.headers.add(name, value)
    response.headers[REPLAYED] = "true"
    return response
