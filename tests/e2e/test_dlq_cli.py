"""An operator's dead-letter routine on the real broker: a poison message lands on the DLQ,
`skillstack dlq list` shows why, and after the fix `skillstack dlq redrive` brings it back to be
handled, exactly once."""

import json
import subprocess
import sys
import threading

import pytest
from sqlalchemy import select

from shared.bus.consumer import EventConsumer
from shared.bus.kafka import dead_letter_topic, make_consumer, make_producer
from shared.bus.tables import processed_events
from shared.db import Database
from shared.events import new_event
from shared.events.envelope import encode
from tests.conftest import ROOT
from tests.operations import fresh_database, own_topic
from tests.support import produce, unique, wait_for

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"


def skillstack(kafka_bootstrap: str, *arguments: str) -> tuple[int, list[dict], str]:
    """Run the `skillstack` command; its exit code, JSON output lines and standard error."""
    done = subprocess.run([sys.executable, "-m", "shared.cli", *arguments, "--bootstrap-servers", kafka_bootstrap],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")], done.stderr


class Directory:
    """A consumer whose handler has a bug for people named "Poison" until it is fixed."""

    def __init__(self):
        self.fixed = False
        self.welcomed: list[str] = []

    def welcome(self, session, event):
        if event.data["name"] == "Poison" and not self.fixed:
            raise ValueError(f"cannot welcome {event.data['employee_id']}: no mailbox")
        self.welcomed.append(event.id)


def person(name: str) -> tuple[str, tuple[bytes, bytes, list]]:
    employee = unique("emp")
    event, body = new_event(PERSON_UPSERTED, {"employee_id": employee, "email": f"{employee}@example.com", "name": name}, source="/tests/dlq")
    key, headers = encode(body)
    return event.id, (key, body, headers)


@pytest.fixture
def running_consumer(kafka_bootstrap):
    """A consumer of a topic of this test's own (and its dead-letter topic) on a database of its own."""
    topic = own_topic(kafka_bootstrap, "test-ops-dlq")
    directory, stop = Directory(), threading.Event()
    with fresh_database() as url:
        database = Database(url)
        group = unique("dlq-test")
        consumer, producer = make_consumer(kafka_bootstrap, group, [topic]), make_producer(kafka_bootstrap, group)
        events = EventConsumer(database, consumer, producer, group=group, handlers={PERSON_UPSERTED: directory.welcome}, base_delay=0.01)
        thread = threading.Thread(target=events.run, args=(stop,))
        thread.start()
        yield topic, directory, database, group
        stop.set()
        thread.join(timeout=30)
        consumer.close()
        producer.close(timeout=5)
        database.dispose()


def test_a_dead_letter_is_listed_then_redriven_once_after_the_fix(running_consumer, kafka_bootstrap):
    topic, directory, database, group = running_consumer
    dlq = dead_letter_topic(topic)
    first_poison, first = person("Poison")
    healthy, ok = person("Ada Lovelace")
    second_poison, second = person("Poison")
    produce(kafka_bootstrap, topic, [first, ok, second])
    wait_for(lambda: healthy in directory.welcomed, timeout=60, message="the healthy event handled")

    def listed():
        code, lines, _ = skillstack(kafka_bootstrap, "dlq", "list", dlq)
        return lines if code == 0 and len(lines) == 2 else None

    lines = wait_for(listed, timeout=30, interval=0.5, message="two dead letters")
    assert [line["event_id"] for line in lines] == [first_poison, second_poison]
    assert all(line["redriven"] is False and line["type"] == PERSON_UPSERTED for line in lines)
    assert lines[0]["headers"]["dlq.error.class"] == "ValueError"
    assert "no mailbox" in lines[0]["headers"]["dlq.error"] and lines[0]["headers"]["dlq.source.topic"] == topic
    assert lines[0]["key"] == first[0].decode()

    directory.fixed = True  # the fix is deployed
    code, redriven, _ = skillstack(kafka_bootstrap, "dlq", "redrive", dlq, "--event-id", first_poison)
    assert code == 0 and [(line["event_id"], line["to"]) for line in redriven] == [(first_poison, topic)]
    wait_for(lambda: first_poison in directory.welcomed, timeout=30, message="the first re-driven event handled")
    assert [line["redriven"] for line in skillstack(kafka_bootstrap, "dlq", "list", dlq)[1]] == [True, False]

    code, redriven, _ = skillstack(kafka_bootstrap, "dlq", "redrive", dlq, "--all")
    assert code == 0 and [line["event_id"] for line in redriven] == [second_poison]  # the first one is past the cursor
    wait_for(lambda: second_poison in directory.welcomed, timeout=30, message="the second re-driven event handled")
    code, redriven, _ = skillstack(kafka_bootstrap, "dlq", "redrive", dlq, "--all")
    assert code == 0 and redriven == []  # each dead letter is re-driven once
    code, _, error = skillstack(kafka_bootstrap, "dlq", "redrive", dlq, "--event-id", first_poison)
    assert code == 1 and first_poison in error

    assert sorted(directory.welcomed) == sorted([healthy, first_poison, second_poison])  # each handled once
    with database.transaction() as session:
        processed = session.scalars(select(processed_events.c.event_id).where(
            processed_events.c.consumer_group == group, processed_events.c.event_type != "dead-letter"
        )).all()
    assert sorted(processed) == sorted([healthy, first_poison, second_poison])
