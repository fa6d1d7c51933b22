"""Counting the SQL statements a request runs, to show a page's cost does not grow with data."""

from contextlib import contextmanager

from flask import current_app
from sqlalchemy import event

from crm import kept_settings
from crm.extensions import db


@contextmanager
def counting_queries(forget_kept=True):
    """Collect every statement sent to the database inside the block. The pick lists a worker
    keeps are first dropped, unless said, so every count is of a worker that reads them (what
    keeping them saves is counted in test_kept_settings)."""
    if forget_kept:
        kept_settings.forget(current_app)
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def count_queries(client, url, status=200):
    """How many statements a GET of `url` answered with `status` runs."""
    with counting_queries() as statements:
        response = client.get(url)
    assert response.status_code == status
    return len(statements)
