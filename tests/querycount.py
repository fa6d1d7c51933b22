"""Counting the SQL statements a request runs, to show a page's cost does not grow with data."""

from contextlib import contextmanager

from sqlalchemy import event

from crm.extensions import db


@contextmanager
def counting_queries():
    """Collect every statement sent to the database inside the block."""
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
