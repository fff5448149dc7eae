"""`skillstack dlq list|redrive <topic>.dlq`: read dead letters, and send them back once fixed.

A re-drive publishes the original record (key, value, headers minus `dlq.*`) onto the topic it
came from (`dlq.source.topic`), waits for the broker's acknowledgements, then commits the
dead-letter topic's offsets for the consumer group `skillstack-dlq-redrive`: that offset is the
re-drive cursor, so `--all` sends each message once. A selective re-drive (`--event-id`) moves
the cursor only past a leading run of re-driven messages; a later `--all` sends a selected one
again, which is harmless: consumers skip an event id they have handled (ADR 0003).
"""

import json
import sys
import time
from collections.abc import Iterator

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from shared.bus.kafka import make_producer
from shared.cli.options import add_bootstrap_servers

REDRIVE_GROUP = "skillstack-dlq-redrive"
STALL_SECONDS = 30.0


def add_command(commands) -> None:
    dlq = commands.add_parser("dlq", help="list or re-drive the messages of a dead-letter topic")
    actions = dlq.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="print each dead letter as a JSON line")
    listing.add_argument("topic", help="a dead-letter topic, e.g. academy.assessments.dlq")
    listing.add_argument("--limit", type=int, default=100, help="at most this many messages, oldest first (100)")
    add_bootstrap_servers(listing)
    listing.set_defaults(run=list_command)
    redrive = actions.add_parser("redrive", help="re-publish dead letters onto their source topic, once")
    redrive.add_argument("topic", help="a dead-letter topic, e.g. academy.assessments.dlq")
    chosen = redrive.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--event-id", action="append", dest="event_ids", metavar="ID", help="re-drive this event (repeatable)")
    chosen.add_argument("--all", action="store_true", help="re-drive every message not re-driven yet")
    add_bootstrap_servers(redrive)
    redrive.set_defaults(run=redrive_command)


def _reader(bootstrap_servers: str, topic: str) -> KafkaConsumer:
    """A consumer of the dead-letter topic that reads the re-drive group's offsets but never joins it."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers.split(","), group_id=REDRIVE_GROUP, client_id=REDRIVE_GROUP,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )
    partitions = [TopicPartition(topic, number) for number in sorted(consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        consumer.close()
        raise SystemExit(f"skillstack: no topic {topic}")
    consumer.assign(partitions)
    return consumer


def _cursors(consumer: KafkaConsumer) -> dict[TopicPartition, int]:
    """Per partition, the first offset not re-driven yet (0 when nothing was)."""
    return {partition: consumer.committed(partition) or 0 for partition in consumer.assignment()}


def _records(consumer: KafkaConsumer, start: dict[TopicPartition, int]) -> Iterator:
    """The records from `start` up to the end offsets taken now, each partition in order."""
    end = consumer.end_offsets(list(start))
    for partition, offset in start.items():
        consumer.seek(partition, offset)
    remaining = {partition for partition in start if start[partition] < end[partition]}
    last_progress = time.monotonic()
    while remaining:
        batch = consumer.poll(timeout_ms=500)
        for partition, records in sorted(batch.items()):
            yield from (record for record in records if record.offset < end[partition])
        remaining = {partition for partition in remaining if consumer.position(partition) < end[partition]}
        if batch:
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > STALL_SECONDS:
            raise SystemExit(f"skillstack: no progress reading {next(iter(start)).topic} for {STALL_SECONDS:.0f}s")


def _text(value: bytes | None) -> str | None:
    return value.decode(errors="replace") if value is not None else None


def describe(record) -> dict:
    """What an operator needs to decide on a dead letter: where, which event, and why it failed."""
    headers = {name: _text(value) for name, value in record.headers or []}
    event_id, event_type = headers.get("ce_id"), headers.get("ce_type")
    if event_id is None:  # a producer that mirrors no ce_* headers: look in the body
        try:
            body = json.loads(record.value)
            event_id, event_type = body.get("id"), body.get("type")
        except (TypeError, ValueError, AttributeError):
            pass
    return {
        "partition": record.partition, "offset": record.offset, "key": _text(record.key),
        "event_id": event_id, "type": event_type,
        "headers": {name: value for name, value in headers.items() if name.startswith("dlq.")},
    }


def list_command(arguments) -> int:
    """Print the oldest `--limit` dead letters, each with whether it was re-driven already."""
    consumer = _reader(arguments.bootstrap_servers, arguments.topic)
    try:
        cursors = _cursors(consumer)
        shown = 0
        for record in _records(consumer, dict.fromkeys(consumer.assignment(), 0)):
            if shown >= arguments.limit:
                break
            redriven = record.offset < cursors[TopicPartition(record.topic, record.partition)]
            print(json.dumps(describe(record) | {"redriven": redriven}))
            shown += 1
    finally:
        consumer.close()
    return 0


def redrive_command(arguments) -> int:
    """Re-publish the chosen dead letters onto their source topic, then move the re-drive cursor."""
    wanted = None if arguments.all else set(arguments.event_ids)
    consumer = _reader(arguments.bootstrap_servers, arguments.topic)
    producer = make_producer(arguments.bootstrap_servers, REDRIVE_GROUP)
    try:
        sent, cursor = _redrive(consumer, producer, wanted)
        consumer.commit({partition: OffsetAndMetadata(offset, "", -1) for partition, offset in cursor.items()})
    finally:
        producer.close(timeout=10)
        consumer.close()
    for line in sent:
        print(json.dumps(line))
    missing = sorted((wanted or set()) - {line["event_id"] for line in sent})
    if missing:
        print(f"skillstack: not found after the re-drive cursor: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def _redrive(consumer: KafkaConsumer, producer, wanted: set[str] | None) -> tuple[list[dict], dict[TopicPartition, int]]:
    """Send the wanted records and wait for every ack; return what was sent and the new cursor."""
    start = _cursors(consumer)
    cursor, held, sends = {}, set(), []
    for record in _records(consumer, start):
        partition, described = TopicPartition(record.topic, record.partition), describe(record)
        source = described["headers"].get("dlq.source.topic")
        if source is None or (wanted is not None and described["event_id"] not in wanted):
            held.add(partition)  # the cursor stops before a message left on the dead-letter topic
            continue
        headers = [(name, value) for name, value in record.headers or [] if not name.startswith("dlq.")]
        sends.append((described | {"to": source}, producer.send(source, key=record.key, value=record.value, headers=headers)))
        if partition not in held:
            cursor[partition] = record.offset + 1
    producer.flush(timeout=30)
    for _line, future in sends:
        future.get(timeout=30)  # a failure raises before any cursor moves: re-driving again is harmless
    return [line | {"redriven": True} for line, _future in sends], cursor
