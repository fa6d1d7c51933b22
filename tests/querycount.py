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


def count_queries(client, url):
    """How many statements a successful GET of `url` runs."""
    with counting_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)
