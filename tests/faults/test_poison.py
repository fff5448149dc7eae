"""Poison messages mixed into the stream of completions: each lands once on `academy.assessments.dlq`
with its error, and the partition moves on. The broker's limit (`message.max.bytes`, 1048588 bytes
by default) applies to the compressed batch: an uncompressed record of 1.2 MB is refused at the door,
a gzip-compressed one of 3 MB is taken and must be dead-lettered. A record with neither key nor value
(which only other clients than kafka-python can send) and a poison record read again by its consumer
group are tested on a consumer of its own."""

import os
import random
import subprocess
import threading
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.errors import MessageSizeTooLargeError

from shared.bus.consumer import EventConsumer
from shared.bus.kafka import dead_letter_topic, make_consumer, make_producer
from tests.e2e.test_dlq_cli import PERSON_UPSERTED, person, running_consumer  # noqa: F401  (a consumer on a topic of its own)
from tests.faults.run import FaultRun
from tests.faults.stream import ASSESSMENTS, MARKER
from tests.support import consumer_lag, produce, read_topic, unique, wait_for

ERROR_CLASSES = {
    "not-json": "EventDecodeError", "binary": "EventDecodeError", "not-a-cloudevent": "EventDecodeError",
    "unknown-type": "EventDecodeError", "tombstone": "EventDecodeError",
    "wrong-schema": "EventValidationError", "large-invalid": "EventValidationError", "huge-invalid": "EventValidationError",
    "overlong-id": "DataError",  # valid, but no handler transaction can record it: dead-lettered after 3 attempts
}


def dead_letters(bootstrap: str, topic: str, markers: set[str]) -> dict[str, list]:
    """The dead letters carrying these markers, by marker."""
    found = {marker: [] for marker in markers}
    for record in read_topic(bootstrap, dead_letter_topic(topic)):
        marker = dict(record.headers or []).get(MARKER, b"").decode()
        if marker in found:
            found[marker].append(record)
    return found


@pytest.mark.timeout(240)
def test_poison_messages_in_the_stream_are_dead_lettered_once_and_the_rest_is_handled(platform, service_databases):
    run = FaultRun("poison messages mixed in", platform, service_databases, employees=20, seed=6)
    sent = {send.marker: kind for kind, send in zip(ERROR_CLASSES, run.stream.add_poison(*ERROR_CLASSES))}
    run.stream.start(over=10)
    # Over the broker's limit: refused at the door, so never consumed (and never dead-lettered).
    producer = KafkaProducer(bootstrap_servers=platform.kafka_bootstrap, acks="all", max_request_size=4_000_000)
    with pytest.raises(MessageSizeTooLargeError):
        producer.send(ASSESSMENTS, key=b"too-large", value=random.Random(6).randbytes(1_200_000)).get(timeout=60)
    producer.close()
    run.stream.join()
    run.finish(note="1 record of 1.2 MB refused by the broker (MESSAGE_TOO_LARGE)")

    for marker, [record] in dead_letters(platform.kafka_bootstrap, ASSESSMENTS, set(sent)).items():
        headers = {name: value.decode() for name, value in record.headers if name.startswith("dlq.")}
        assert headers["dlq.error.class"] == ERROR_CLASSES[sent[marker]], (sent[marker], headers)
        assert headers["dlq.source.topic"] == ASSESSMENTS and headers["dlq.consumer.group"] == "issuer"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # that crash, in the consumer's thread
@pytest.mark.timeout(180)
def test_a_record_without_key_or_value_is_dead_lettered_and_the_consumer_goes_on(running_consumer, kafka_bootstrap):  # noqa: F811
    topic, directory, _database, _group = running_consumer
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else "java"
    libraries = Path(os.environ.get("KAFKA_HOME", Path(__file__).parents[2] / ".local" / "test-kafka")) / "libs" / "*"

    marker = unique("poison")
    subprocess.run(
        [java, "-cp", str(libraries), str(Path(__file__).with_name("NullRecord.java")), kafka_bootstrap, topic, marker],
        check=True, capture_output=True, timeout=120,
    )
    healthy, record = person("Ada Lovelace")
    produce(kafka_bootstrap, topic, [record])  # behind the poison, on the topic's one partition
    wait_for(lambda: healthy in directory.welcomed, timeout=20, message="the event behind the poison handled")
    [letter] = wait_for(lambda: dead_letters(kafka_bootstrap, topic, {marker})[marker], timeout=30, message="the dead letter")
    assert letter.key is None and not letter.value


@pytest.mark.timeout(120)
def test_a_poison_record_delivered_again_is_not_dead_lettered_again(running_consumer, kafka_bootstrap):  # noqa: F811
    topic, directory, database, group = running_consumer
    marker = unique("poison")
    healthy, record = person("Ada Lovelace")
    produce(kafka_bootstrap, topic, [(b"lms", b"not json", [(MARKER, marker.encode())]), record])
    wait_for(lambda: healthy in directory.welcomed, timeout=30, message="the event behind the poison handled")
    # The same consumer group reads the partition again from the start, as after its offsets were lost.
    offsets_lost = unique("offsets-lost")
    again, producer, stop = make_consumer(kafka_bootstrap, offsets_lost, [topic]), make_producer(kafka_bootstrap, group), threading.Event()
    consumer = EventConsumer(database, again, producer, group=group, handlers={PERSON_UPSERTED: directory.welcome})
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: consumer_lag(kafka_bootstrap, offsets_lost, [topic]) == 0, timeout=60, interval=0.5, message="the partition read again")
    finally:
        stop.set()
        thread.join(timeout=30)
        again.close()
        producer.close(timeout=5)
    assert directory.welcomed.count(healthy) == 1  # the valid event was skipped: processed_events knows it
    assert len(dead_letters(kafka_bootstrap, topic, {marker})[marker]) == 1
