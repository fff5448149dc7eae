"""Status list entries: drawn at random, never twice, a new list once the current one is half full."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session

from services.issuer import status_lists
from services.issuer.models import Credential
from services.issuer.status_lists import allocate_entry


@pytest.fixture
def session(monkeypatch):
    monkeypatch.setattr(status_lists, "LIST_SIZE", 16)  # half full at 8
    monkeypatch.setattr(status_lists, "RECOUNT_EVERY", 3)
    engine = create_engine("sqlite://")
    Credential.__table__.create(engine)  # no foreign keys enforced: the achievement rows do not matter here
    with Session(engine) as session:
        yield session


def issue(session, number) -> tuple[int, int]:
    entry = allocate_entry(session)
    session.execute(insert(Credential).values(
        id=f"cred-{number}", employee_id="emp-1", achievement_id="ach", achievement_version=1, attempt_id=f"att-{number}",
        issued_at=datetime(2026, 1, 1, tzinfo=UTC), source_event_id=f"evt-{number}", status_list=entry[0], status_index=entry[1],
    ))
    return entry


def test_entries_fill_a_list_to_half_then_the_next_one_without_repeats(session):
    entries = [issue(session, number) for number in range(20)]

    assert len(set(entries)) == 20
    assert [number for number, _ in entries] == [1] * 8 + [2] * 8 + [3] * 4


def test_a_process_that_counts_later_continues_where_the_lists_stand(session):
    for number in range(10):
        issue(session, number)
    status_lists._usage.clear()  # another process, starting now

    assert allocate_entry(session)[0] == 2

