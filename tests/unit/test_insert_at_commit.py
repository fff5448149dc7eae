"""Rows queued with insert_at_commit: inserted together as the transaction commits, never after a rollback, once per key."""

import pytest
from sqlalchemy import Column, MetaData, String, Table, UniqueConstraint, event, select

from shared.db import insert_at_commit

messages = Table(
    "messages", MetaData(),
    Column("id", String(20), primary_key=True),
    Column("event_id", String(20), nullable=False),
    Column("recipient", String(20), nullable=False),
    UniqueConstraint("event_id", "recipient"),
)


@pytest.fixture
def database(database):
    messages.metadata.create_all(database.engine)
    return database


def stored(database) -> list[tuple]:
    with database.transaction() as session:
        return sorted(tuple(row) for row in session.execute(select(messages)))


def test_queued_rows_are_inserted_in_one_statement_as_the_transaction_commits(database):
    statements = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with database.transaction() as session:
        for n in range(3):
            insert_at_commit(session, messages, {"id": f"m{n}", "event_id": f"e{n}", "recipient": "ada"})
        assert session.execute(select(messages)).all() == []  # not before the commit

    assert stored(database) == [("m0", "e0", "ada"), ("m1", "e1", "ada"), ("m2", "e2", "ada")]
    assert len([statement for statement in statements if statement.startswith("INSERT INTO messages")]) == 1


def test_a_row_conflicting_with_one_stored_is_skipped_and_the_others_inserted(database):
    with database.transaction() as session:
        insert_at_commit(session, messages, {"id": "m1", "event_id": "e1", "recipient": "ada"})
    with database.transaction() as session:
        insert_at_commit(session, messages, {"id": "m2", "event_id": "e1", "recipient": "ada"})  # the same message again
        insert_at_commit(session, messages, {"id": "m3", "event_id": "e2", "recipient": "ada"})

    assert stored(database) == [("m1", "e1", "ada"), ("m3", "e2", "ada")]


def test_rows_queued_in_a_rolled_back_transaction_are_never_inserted(database):
    with pytest.raises(RuntimeError):
        with database.transaction() as session:
            insert_at_commit(session, messages, {"id": "m1", "event_id": "e1", "recipient": "ada"})
            raise RuntimeError("the handler failed")

    assert stored(database) == []
