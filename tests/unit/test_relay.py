"""The outbox relay: committed events reach Kafka in order, exactly the committed ones, and a failure resumes in place."""

import threading
import time
from datetime import UTC, datetime

import pytest
from kafka.errors import KafkaTimeoutError
from sqlalchemy import select

from shared.bus.outbox import COMMITTED, publish
from shared.bus.relay import OutboxRelay
from shared.bus.tables import outbox
from shared.events import decode
from tests.unit.fakes import FakeProducer

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
RELAYED_AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
EMPLOYEES = ("emp-1", "emp-2", "emp-3")


def publish_people(database, *employee_ids: str) -> list[str]:
    """Publish one directory event per employee in one committed transaction; return the event ids."""
    with database.transaction() as session:
        return [
            publish(
                session,
                PERSON_UPSERTED,
                {"employee_id": employee_id, "email": f"{employee_id}@example.com", "name": f"Person {employee_id}"},
                source="urn:skillstack:pathways",
            ).id
            for employee_id in employee_ids
        ]


def outbox_rows(database) -> list:
    with database.transaction() as session:
        return session.execute(select(outbox).order_by(outbox.c.id)).all()


def relay(database, producer) -> OutboxRelay:
    return OutboxRelay(database, producer, now=lambda: RELAYED_AT)


def sent_employees(producer, start=0) -> list[str]:
    return [sent.key.decode() for sent in producer.sent[start:]]


def test_committed_events_are_sent_in_order_keyed_by_employee_and_marked(database):
    event_ids = publish_people(database, *EMPLOYEES)
    producer = FakeProducer()

    assert relay(database, producer).relay_once() == 3

    assert sent_employees(producer) == list(EMPLOYEES)
    for sent, event_id, employee_id in zip(producer.sent, event_ids, EMPLOYEES):
        event = decode(sent.value)
        assert (sent.topic, event.id) == ("directory.people", event_id)
        headers = sent.header_map
        assert headers["ce_id"] == event_id.encode()
        assert headers["ce_type"] == PERSON_UPSERTED.encode()
        assert headers["ce_subject"] == employee_id.encode()
        assert headers["content-type"] == b"application/cloudevents+json"
    assert [row.published_at.replace(tzinfo=None) for row in outbox_rows(database)] == [RELAYED_AT.replace(tzinfo=None)] * 3


def test_a_relayed_outbox_has_nothing_more_to_send(database):
    publish_people(database, "emp-1")
    producer = FakeProducer()
    outbox_relay = relay(database, producer)
    outbox_relay.relay_once()

    assert outbox_relay.relay_once() == 0
    assert len(producer.sent) == 1


def test_a_failed_send_marks_only_what_came_before_and_the_next_run_resumes_there(database):
    publish_people(database, *EMPLOYEES)
    producer = FakeProducer(failing_sends={2})
    outbox_relay = relay(database, producer)

    with pytest.raises(KafkaTimeoutError):
        outbox_relay.relay_once()

    first, second, third = outbox_rows(database)
    assert first.published_at is not None
    assert (second.published_at, second.attempts) == (None, 1)
    assert "no acknowledgement from the broker" in second.last_error
    assert (third.published_at, third.attempts, third.last_error) == (None, 0, None)

    sent_before = len(producer.sent)
    assert outbox_relay.relay_once() == 2

    assert sent_employees(producer, sent_before) == ["emp-2", "emp-3"]
    assert all(row.published_at is not None for row in outbox_rows(database))


def test_an_event_published_in_a_rolled_back_transaction_is_never_sent(database):
    with pytest.raises(RuntimeError):
        with database.transaction() as session:
            publish(
                session,
                PERSON_UPSERTED,
                {"employee_id": "emp-9", "email": "emp-9@example.com", "name": "Never Hired"},
                source="urn:skillstack:pathways",
            )
            raise RuntimeError("the import failed after the event was written")
    producer = FakeProducer()

    assert relay(database, producer).relay_once() == 0

    assert producer.sent == []
    assert outbox_rows(database) == []


def test_a_commit_that_published_wakes_the_relay_of_its_process_at_once(database):
    producer = FakeProducer()
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay(database, producer).run, args=(stop,), kwargs={"idle_wait": 600})
    relay_thread.start()
    try:
        time.sleep(0.3)  # the relay found the outbox empty and sleeps for up to 600 s
        publish_people(database, "emp-7")
        deadline = time.monotonic() + 10
        while not producer.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sent_employees(producer) == ["emp-7"]  # long before the 600 s poll
    finally:
        stop.set()
        COMMITTED.set()
        relay_thread.join(timeout=5)


def test_only_a_committed_publication_wakes_the_relay(database):
    COMMITTED.clear()
    with pytest.raises(RuntimeError):
        with database.transaction() as session:
            publish(session, PERSON_UPSERTED, {"employee_id": "emp-9", "email": "emp-9@example.com", "name": "Never Hired"},
                    source="urn:skillstack:pathways")
            raise RuntimeError("rolled back")
    with database.transaction() as session:
        session.execute(select(outbox.c.id))
    assert not COMMITTED.is_set()

    publish_people(database, "emp-10")

    assert COMMITTED.is_set()
