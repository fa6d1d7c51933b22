"""A trigram index over the leads' search line and phone digits, so a search for any three
letters of a name or any digits of a phone answers without reading all the leads.

SQLite: an FTS5 table with the trigram tokenizer, kept in step with `leads` by triggers.
PostgreSQL: pg_trgm GIN indexes, which `LIKE '%...%'` uses as it is.

Neither can be said in the models, so the DDL lives here: run after `create_all` makes the
leads table, and by migration 0003; the migrations' comparison with the models skips it.
A batch migration that rebuilds `leads` on SQLite drops the triggers: it must call `create`
again afterwards.
"""

from sqlalchemy import DDL, bindparam, event, literal_column, select, table, text

# Trigrams cannot find anything shorter.
TRIGRAM = 3

SQLITE_TABLE = "lead_search"
SQLITE = [
    # External content: the text stays in `leads`, the table holds only the index.
    "CREATE VIRTUAL TABLE lead_search USING fts5("
    "search_text, phone_digits, content='leads', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN "
    "INSERT INTO lead_search(rowid, search_text, phone_digits) "
    "VALUES (new.id, new.search_text, new.phone_digits); END",
    "CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN "
    "INSERT INTO lead_search(lead_search, rowid, search_text, phone_digits) "
    "VALUES ('delete', old.id, old.search_text, old.phone_digits); END",
    "CREATE TRIGGER leads_search_update AFTER UPDATE OF search_text, phone_digits ON leads "
    "BEGIN "
    "INSERT INTO lead_search(lead_search, rowid, search_text, phone_digits) "
    "VALUES ('delete', old.id, old.search_text, old.phone_digits); "
    "INSERT INTO lead_search(rowid, search_text, phone_digits) "
    "VALUES (new.id, new.search_text, new.phone_digits); END",
    # Index what the table already holds (a migration on a database in use).
    "INSERT INTO lead_search(lead_search) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS leads_search_insert",
    "DROP TRIGGER IF EXISTS leads_search_delete",
    "DROP TRIGGER IF EXISTS leads_search_update",
    "DROP TABLE IF EXISTS lead_search",
]

POSTGRESQL_INDEXES = ("ix_leads_search_text_trgm", "ix_leads_phone_digits_trgm")
POSTGRESQL = [
    # pg_trgm is a trusted extension: the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_leads_search_text_trgm ON leads USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX ix_leads_phone_digits_trgm ON leads USING gin (phone_digits gin_trgm_ops)",
]
POSTGRESQL_DROP = [f"DROP INDEX IF EXISTS {name}" for name in POSTGRESQL_INDEXES]


def create(connection):
    for statement in _statements(connection, SQLITE, POSTGRESQL):
        connection.execute(text(statement))


def drop(connection):
    for statement in _statements(connection, SQLITE_DROP, POSTGRESQL_DROP):
        connection.execute(text(statement))


def _statements(connection, sqlite, postgresql):
    return {"sqlite": sqlite, "postgresql": postgresql}.get(connection.dialect.name, [])


def create_with(leads_table):
    """Make `create_all` build the index right after the leads table."""
    for statement in SQLITE:
        event.listen(leads_table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRESQL:
        event.listen(leads_table, "after_create", DDL(statement).execute_if(dialect="postgresql"))


# Indexes on expressions, which the migrations' comparison cannot read back from SQLite.
EXPRESSION_INDEXES = ("ix_leads_board_cards",)
# The indexes of the team's own fields, made and dropped as fields are marked (crm.custom_fields).
FIELD_INDEX_PREFIX = "ix_leads_field_"


def include_name(name, type_, parent_names):
    """For the migrations' comparison with the models: the search index is not in the models,
    and expression indexes cannot be compared."""
    if type_ == "table":
        return not (name == SQLITE_TABLE or name.startswith(SQLITE_TABLE + "_"))
    if type_ == "index":
        indexed_field = name is not None and name.startswith(FIELD_INDEX_PREFIX)
        return name not in POSTGRESQL_INDEXES + EXPRESSION_INDEXES and not indexed_field
    return True


def fts_phrase(word):
    """A word as an FTS5 phrase: in double quotes, its own quotes doubled."""
    return '"' + word.replace('"', '""') + '"'


def finds_by_index(dialect, words):
    """Whether SQLite's trigram table finds what `words` match (a word a trigram long or more);
    PostgreSQL's GIN index serves LIKE itself."""
    return dialect == "sqlite" and any(len(word) >= TRIGRAM for word in words)


def contains_all(dialect, lead_id, column, words):
    """Leads whose `column` (search_text or phone_digits) holds every one of `words`, as a
    condition on `lead_id` through the index; None when the caller's LIKE is as good (always on
    PostgreSQL, whose GIN index serves LIKE, and on SQLite when no word is a trigram long).
    Words shorter than a trigram are left for the caller's LIKE to check.
    """
    if not finds_by_index(dialect, words):
        return None
    long_words = [word for word in words if len(word) >= TRIGRAM]
    query = " AND ".join(f"{column} : {fts_phrase(word)}" for word in long_words)
    found = (
        select(literal_column("rowid"))
        .select_from(table(SQLITE_TABLE))
        .where(
            text(f"{SQLITE_TABLE} MATCH :query").bindparams(bindparam("query", query, unique=True))
        )
    )
    return lead_id.in_(found)


def include_object(object_, name, type_, reflected, compare_to):
    """The same, for the models' side of the comparison."""
    return include_name(name, type_, None)
