"""Two workers of one service: only one relay publishes the outbox at a time, so each event is
sent once and one key's events keep their order (PostgreSQL advisory lock)."""

import threading
from collections import defaultdict

import pytest
from sqlalchemy import func, select, text, update

from shared.bus.kafka import make_producer
from shared.bus.outbox import publish
from shared.bus.relay import RELAY_LOCK_KEY, OutboxRelay
from shared.bus.tables import outbox
from shared.db import Database
from shared.events import decode
from tests.operations import fresh_database, own_topic
from tests.support import read_topic, unique, wait_for

pytestmark = pytest.mark.infra
PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"


@pytest.fixture
def relayed(kafka_bootstrap):
    """A throwaway outbox database, and a topic of its own that its relays publish to."""
    topic = own_topic(kafka_bootstrap, "test-ops-relay", partitions=3, dead_letters=False)
    with fresh_database() as url:
        database = Database(url)
        yield database, topic
        database.dispose()


def publish_people(database: Database, topic: str, employees: list[str], rounds: int) -> list[str]:
    """Publish `rounds` upserts per employee, one small transaction each, interleaved; the event ids in order."""
    event_ids = []
    for round_number in range(rounds):
        for employee in employees:
            with database.transaction() as session:
                data = {"employee_id": employee, "email": f"{employee}@example.com", "name": f"Version {round_number}"}
                event_ids.append(publish(session, PERSON_UPSERTED, data, source="/tests/relay").id)
    with database.transaction() as session:  # onto this test's own topic, where no other test's consumer reads
        session.execute(update(outbox).values(topic=topic))
    return event_ids


def unsent(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))


def test_a_relay_stands_by_while_another_holds_the_outbox_lock(relayed, kafka_bootstrap):
    database, topic = relayed
    publish_people(database, topic, [unique("emp")], rounds=3)
    producer = make_producer(kafka_bootstrap, "test-standby-relay")
    standby = OutboxRelay(database, producer)
    try:
        with database.transaction() as session:  # the other worker's relay, mid-batch
            assert session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY})
            assert standby.relay_once() == 0
            assert standby.standing_by and unsent(database) == 3
        assert standby.relay_once() == 3  # the lock is free again: the standby takes over
        assert not standby.standing_by and unsent(database) == 0
    finally:
        producer.close(timeout=5)


def test_two_relays_running_together_send_each_event_once_in_order_per_key(relayed, kafka_bootstrap):
    database, topic = relayed
    employees = [unique("emp") for _ in range(6)]
    published = publish_people(database, topic, employees, rounds=40)
    stop = threading.Event()
    producers = [make_producer(kafka_bootstrap, f"test-relay-{number}") for number in (1, 2)]
    relays = [OutboxRelay(database, producer, batch_size=7) for producer in producers]  # small batches: many turns
    threads = [threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_wait": 0.01}) for relay in relays]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: unsent(database) == 0, timeout=60, message="the outbox to be relayed")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        for producer in producers:
            producer.close(timeout=5)

    records = wait_for(lambda: (found := read_topic(kafka_bootstrap, topic)) and len(found) >= len(published) and found,
                       timeout=30, message="every relayed record")
    by_key = defaultdict(list)
    for record in sorted(records, key=lambda record: (record.partition, record.offset)):
        by_key[record.key.decode()].append(decode(record.value).id)
    assert sorted(event_id for ids in by_key.values() for event_id in ids) == sorted(published)  # each once
    for number, employee in enumerate(employees):  # published round by round: every len(employees)-th id is theirs
        assert by_key[employee] == published[number::len(employees)]
