"""The idempotent consumer: each event's effect happens once, poison goes to the DLQ, offsets follow the database."""

import threading

import pytest
from kafka.errors import CoordinatorNotAvailableError, KafkaConnectionError
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy import event as sqlalchemy_events
from sqlalchemy.exc import OperationalError

from shared.bus.consumer import EventConsumer
from shared.bus.tables import processed_events
from shared.events import new_event
from tests.unit.fakes import FakeConsumer, FakeProducer, Record

TOPIC = "directory.people"
GROUP = "notifications"
PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"

welcomes = Table(
    "welcomes",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", String(200), nullable=False),
    Column("event_id", String(200), nullable=False),
)


def person_upserted(event_id="evt-1", employee_id="emp-1042") -> bytes:
    """The body of a directory event, as the pathways service publishes it."""
    data = {"employee_id": employee_id, "email": f"{employee_id}@example.com", "name": "Ada Lovelace"}
    return new_event(PERSON_UPSERTED, data, source="urn:skillstack:pathways", new_id=lambda: event_id)[1]


def record(value, offset=0, partition=0) -> Record:
    return Record(TOPIC, partition, offset, value, key=b"emp-1042", headers=[("traceparent", b"00-abc-01")])


class Welcomer:
    """A handler that writes a welcome row, then raises the next of `failures` if any remain."""

    def __init__(self, *failures: Exception):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self, session, event):
        self.calls += 1
        session.execute(welcomes.insert().values(employee_id=event.data["employee_id"], event_id=event.id))
        if self.failures:
            raise self.failures.pop(0)


class Worker:
    """An EventConsumer wired to fake Kafka clients and a real SQLite database."""

    def __init__(self, database, handler, *, handlers=None):
        welcomes.metadata.create_all(database.engine)
        self.database = database
        self.stop = threading.Event()
        self.kafka = FakeConsumer(self.stop)
        self.producer = FakeProducer()
        self.consumer = EventConsumer(
            database, self.kafka, self.producer, group=GROUP,
            handlers={PERSON_UPSERTED: handler} if handlers is None else handlers,
            max_attempts=3, base_delay=0,
        )

    def run(self, *records: Record) -> None:
        self.kafka.deliver(*records)
        self.consumer.run(self.stop)

    def welcomed(self) -> list[tuple[str, str]]:
        with self.database.transaction() as session:
            return [tuple(row) for row in session.execute(select(welcomes.c.employee_id, welcomes.c.event_id))]

    def processed(self) -> list[str]:
        with self.database.transaction() as session:
            return list(session.scalars(select(processed_events.c.event_id).where(
                processed_events.c.consumer_group == GROUP, processed_events.c.event_type != "dead-letter"
            )))


def database_down() -> OperationalError:
    return OperationalError("INSERT INTO welcomes", {}, ConnectionError("server closed the connection"))


@pytest.fixture
def welcomer():
    return Welcomer()


@pytest.fixture
def worker(database, welcomer):
    return Worker(database, welcomer)


def test_an_event_is_handled_and_its_id_recorded(worker):
    worker.run(record(person_upserted("evt-1")))

    assert worker.welcomed() == [("emp-1042", "evt-1")]
    assert worker.processed() == ["evt-1"]
    assert worker.kafka.commits == [{(TOPIC, 0): 1}]


def test_a_poll_failing_while_the_broker_is_away_is_retried_not_a_crash(worker):
    polls = worker.kafka.poll
    failures = iter([KafkaConnectionError("111 ECONNREFUSED"), CoordinatorNotAvailableError()])

    def poll(timeout_ms=0):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return polls(timeout_ms)

    worker.kafka.poll = poll
    worker.run(record(person_upserted("evt-9")))

    assert worker.welcomed() == [("emp-1042", "evt-9")]


def test_an_event_delivered_twice_takes_effect_once(worker, welcomer):
    worker.run(record(person_upserted("evt-1"), offset=0), record(person_upserted("evt-1"), offset=1))

    assert welcomer.calls == 1
    assert worker.welcomed() == [("emp-1042", "evt-1")]
    assert worker.kafka.commits == [{(TOPIC, 0): 2}]


def test_a_record_that_is_not_json_is_dead_lettered_and_the_next_one_handled(worker):
    worker.run(record(b"<html>oops</html>", offset=7), record(person_upserted("evt-2"), offset=8))

    [dead] = worker.producer.sent
    assert (dead.topic, dead.key, dead.value) == (f"{TOPIC}.dlq", b"emp-1042", b"<html>oops</html>")
    headers = dead.header_map
    assert headers["traceparent"] == b"00-abc-01"
    assert headers["dlq.error.class"] == b"EventDecodeError"
    assert b"not a CloudEvents JSON document" in headers["dlq.error"]
    assert (headers["dlq.source.topic"], headers["dlq.source.partition"], headers["dlq.source.offset"]) == (TOPIC.encode(), b"0", b"7")
    assert headers["dlq.consumer.group"] == GROUP.encode()
    assert worker.welcomed() == [("emp-1042", "evt-2")]
    assert worker.kafka.commits == [{(TOPIC, 0): 9}]


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered_with_nothing_written(database):
    welcomer = Welcomer(*[ValueError("employee emp-1042 has no mailbox")] * 10)
    worker = Worker(database, welcomer)

    worker.run(record(person_upserted("evt-3"), offset=4))

    assert welcomer.calls == 3
    [dead] = worker.producer.sent
    assert dead.header_map["dlq.error.class"] == b"ValueError"
    assert dead.header_map["dlq.error"] == b"employee emp-1042 has no mailbox"
    assert worker.welcomed() == [] and worker.processed() == []
    assert worker.kafka.commits == [{(TOPIC, 0): 5}]


def test_a_database_outage_is_retried_until_it_passes_without_dead_lettering(database):
    welcomer = Welcomer(database_down(), database_down())
    worker = Worker(database, welcomer)

    worker.run(record(person_upserted("evt-4")))

    assert welcomer.calls == 3
    assert worker.producer.sent == []
    assert worker.welcomed() == [("emp-1042", "evt-4")]


def test_offsets_committed_are_each_partitions_next_offset_after_the_database_commit(worker):
    committed_rows = []
    worker.kafka.on_commit = lambda: committed_rows.append(len(worker.welcomed()))

    worker.run(
        record(person_upserted("evt-5"), offset=5, partition=0),
        record(person_upserted("evt-6", "emp-2"), offset=6, partition=0),
        record(person_upserted("evt-7", "emp-3"), offset=41, partition=2),
    )

    assert worker.kafka.commits == [{(TOPIC, 0): 7, (TOPIC, 2): 42}]
    assert committed_rows == [3]  # every effect was already durable when Kafka heard of it


def test_an_event_type_without_a_handler_is_skipped_and_committed(database, welcomer):
    worker = Worker(database, welcomer, handlers={})

    worker.run(record(person_upserted("evt-8"), offset=3))

    assert welcomer.calls == 0
    assert worker.producer.sent == []
    assert worker.kafka.commits == [{(TOPIC, 0): 4}]


def test_stopping_during_an_outage_leaves_that_record_uncommitted(database):
    welcomer = Welcomer()
    worker = Worker(database, welcomer)

    def outage_then_stop(session, event):
        if event.id == "evt-10":
            worker.stop.set()  # the operator stops the worker while the database is down
            raise database_down()
        welcomer(session, event)

    worker.consumer.handlers = {PERSON_UPSERTED: outage_then_stop}
    worker.run(record(person_upserted("evt-9"), offset=0), record(person_upserted("evt-10"), offset=1))

    assert worker.welcomed() == [("emp-1042", "evt-9")]
    assert worker.kafka.commits == [{(TOPIC, 0): 1}]  # evt-10 will be delivered again after restart
    assert worker.producer.sent == []


def count_commits(database) -> list[int]:
    """A list that grows by one at each database commit."""
    commits = []
    sqlalchemy_events.listen(database.engine, "commit", lambda connection: commits.append(1))
    return commits


def test_the_records_of_a_poll_are_handled_in_one_transaction_each_recording_its_id(worker, welcomer):
    commits = count_commits(worker.database)

    worker.run(*(record(person_upserted(f"evt-{n}", f"emp-{n}"), offset=n) for n in range(5)))

    assert len(commits) == 1
    assert sorted(worker.processed()) == [f"evt-{n}" for n in range(5)]
    assert sorted(worker.welcomed()) == sorted((f"emp-{n}", f"evt-{n}") for n in range(5))
    assert worker.kafka.commits == [{(TOPIC, 0): 5}]


def test_a_chunk_is_at_most_chunk_records_per_transaction(worker):
    worker.consumer.chunk = 2
    commits = count_commits(worker.database)

    worker.run(*(record(person_upserted(f"evt-{n}", f"emp-{n}"), offset=n) for n in range(5)))

    assert len(commits) == 3  # 2 + 2 + 1
    assert len(worker.processed()) == 5


def test_poison_in_a_chunk_is_dead_lettered_alone_and_the_others_take_effect_once(worker, welcomer):
    worker.run(
        record(person_upserted("evt-1", "emp-1"), offset=0),
        record(b"<html>oops</html>", offset=1),
        record(person_upserted("evt-2", "emp-2"), offset=2),
    )

    assert [sent.value for sent in worker.producer.sent] == [b"<html>oops</html>"]
    assert sorted(worker.welcomed()) == [("emp-1", "evt-1"), ("emp-2", "evt-2")]
    assert worker.kafka.commits == [{(TOPIC, 0): 3}]


def test_a_handler_failing_in_a_chunk_rolls_the_chunk_back_and_each_event_still_takes_effect_once(database):
    failing = ValueError("emp-2 has no mailbox")

    def welcome_unless_emp_2(session, event):
        Welcomer()(session, event)
        if event.data["employee_id"] == "emp-2":
            raise failing

    worker = Worker(database, welcome_unless_emp_2)
    worker.run(*(record(person_upserted(f"evt-{n}", f"emp-{n}"), offset=n) for n in range(1, 4)))

    assert sorted(worker.welcomed()) == [("emp-1", "evt-1"), ("emp-3", "evt-3")]  # the chunk's first try left nothing behind
    assert sorted(worker.processed()) == ["evt-1", "evt-3"]
    [dead] = worker.producer.sent
    assert dead.header_map["dlq.error"] == b"emp-2 has no mailbox"
    assert worker.kafka.commits == [{(TOPIC, 0): 4}]
