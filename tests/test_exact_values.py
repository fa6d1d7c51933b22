"""Whole values are checked whole: a trailing newline is not a colour, a key or an address; and
on PostgreSQL a connection the server dropped is replaced before a request uses it."""

import pytest
from sqlalchemy import create_engine, func, select, text

from crm import custom_fields, lists
from crm.extensions import db
from crm.models import Stage
from tests import factories


@pytest.mark.parametrize("colour", ["#aabbcc\n", "#aabbcc\r\n", "#aabbcc ", "\n#aabbcc"])
def test_a_colour_with_anything_after_it_is_refused(logged_in, colour):
    before = db.session.scalar(select(func.count()).select_from(Stage))
    answer = logged_in.post(
        "/settings/stages", data={"name": "Qualified", "colour": colour, "kind": "open"}
    )
    assert answer.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Stage)) == before
    with pytest.raises(lists.SettingsError):
        lists.check_stage("Qualified", colour, "open", None, lists.first_pipeline().id)


def test_a_field_key_with_a_newline_is_no_key(app):
    with pytest.raises(ValueError, match="not a field key"):
        custom_fields.stored("gorod\n")


def test_an_option_colour_is_stored_without_what_surrounds_it(app, stages):
    field = factories.field("Город", "choice", ["Москва"])
    saved = custom_fields.update_option(field.id, field.options[0].key, "Москва", "#AABBCC\n")
    assert saved.colour == "#aabbcc"
    with pytest.raises(custom_fields.FieldValueError):
        custom_fields.update_option(field.id, field.options[0].key, "Москва", "#aabbcc\n#")


@pytest.mark.postgresql_only
def test_a_dropped_postgresql_connection_costs_no_request(logged_in, app):
    assert logged_in.get("/leads/").status_code == 200
    # From outside the app's pool, as a restart or a failover would.
    outside = create_engine(db.engine.url)
    with outside.connect() as killer:
        killer.execute(
            text(
                # Waiting (up to 5 s) until each is gone, as after a restart.
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    outside.dispose()
    for _ in range(3):
        assert logged_in.get("/leads/").status_code == 200
