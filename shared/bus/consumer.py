"""The idempotent consumer: handle each event once, retry transient faults, dead-letter poison.

Handling an event and recording its id in `processed_events` happen in one database
transaction; offsets are committed to Kafka only after that commit, so a crash at any point
leads to redelivery, and redelivery is harmless.

The records of a poll are handled up to `chunk` at a time in ONE transaction, each event still
recording its own id before its handler runs: fewer round trips and commits under load, the same
once-only effect. Should anything in a chunk fail (poison, a handler error, an outage), the
chunk is rolled back whole and its records go one at a time through the path that retries and
dead-letters.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError, MessageSizeTooLargeError
from sqlalchemy import exc as sql_errors
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.bus.kafka import dead_letter_topic
from shared.bus.lag import LagReporter
from shared.bus.tables import processed_events
from shared.db import Database, insert_if_absent
from shared.events import CATALOG, Event, EventDecodeError, EventValidationError, decode
from shared.logs import log_context
from shared.metrics import DLQ_MESSAGES, EVENTS_CONSUMED

log = logging.getLogger(__name__)

Handler = Callable[[Session, Event], None]

# Faults of the infrastructure, not of the event: retried for as long as it takes.
TRANSIENT_ERRORS = (
    sql_errors.OperationalError,
    sql_errors.InterfaceError,
    sql_errors.DisconnectionError,
    KafkaError,
    ConnectionError,
    TimeoutError,
)


class Stopping(Exception):
    """The worker was asked to stop while an event was still being retried."""


class EventConsumer:
    """Consumes topics for one consumer group and dispatches events to handlers by type."""

    def __init__(
        self,
        database: Database,
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        *,
        group: str,
        handlers: Mapping[str, Handler],
        max_attempts: int = 3,
        base_delay: float = 0.2,
        max_delay: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        lag_interval: float = 10.0,
        chunk: int = 100,
    ):
        self.database = database
        self.consumer = consumer
        self.producer = producer
        self.group = group
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.now = now
        self.lag = LagReporter(consumer, interval=lag_interval)
        self.chunk = chunk  # records per transaction: bounds the latency a chunk adds and the work redone after a failure
        self.last_activity = time.monotonic()  # the worker's liveness: the loop polled or retried lately

    def run(self, stop: threading.Event) -> None:
        """Poll, handle and commit until stopped; a stop mid-retry leaves that record uncommitted."""
        outages = 0
        while not stop.is_set():
            self.last_activity = time.monotonic()
            try:
                batch = self.consumer.poll(timeout_ms=500)
            except KafkaError as error:  # the broker is away (e.g. no coordinator): wait, never crash the worker
                outages += 1
                log.warning("poll failed; retrying: %r", error)
                stop.wait(self._delay(outages))
                continue
            outages = 0
            offsets: dict[TopicPartition, OffsetAndMetadata] = {}
            records = [record for found in batch.values() for record in found]
            try:
                for start in range(0, len(records), self.chunk):
                    chunk = records[start : start + self.chunk]
                    together = len(chunk) > 1 and self._handle_together(chunk)
                    for record in chunk:
                        if not together:
                            self.handle_record(record, stop)
                        offsets[TopicPartition(record.topic, record.partition)] = OffsetAndMetadata(record.offset + 1, "", -1)
            except Stopping:
                pass
            finally:
                self._commit(offsets)
            self.lag.refresh()

    def _handle_together(self, records: list) -> bool:
        """Handle records in one transaction; False, with nothing written, if any of them fails."""
        try:
            events = [decode(record.value) for record in records]
        except (EventDecodeError, EventValidationError):
            return False  # poison among them: the one-at-a-time path dead-letters it
        outcomes = []
        try:
            with self.database.transaction() as session:
                for record, event in zip(records, events):
                    handler = self.handlers.get(event.type)
                    if handler is None:
                        outcomes.append("ignored")
                        continue
                    first_time = insert_if_absent(session, processed_events, self._processed(event))
                    if first_time:
                        with log_context(topic=record.topic, event_id=event.id, event_type=event.type):
                            handler(session, event)
                    outcomes.append("handled" if first_time else "duplicate")
        except Exception as error:  # handler errors, outages: sorted out one record at a time
            log.info("a chunk of %d records failed (%r); handling them one at a time", len(records), error)
            return False
        for record, event, outcome in zip(records, events, outcomes):
            self._count(record, event.type, outcome)
        return True

    def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        """Commit handled offsets; a failure only means those events will be seen again."""
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError):
            log.warning("offset commit failed; events will be redelivered and skipped", exc_info=True)

    def handle_record(self, record, stop: threading.Event) -> None:
        """Handle one record: decode, dispatch once, and dead-letter it if it is poison.

        Every log line written meanwhile names the topic, event id and type."""
        try:
            event = decode(record.value)
        except (EventDecodeError, EventValidationError) as error:
            headers = dict(record.headers or [])
            with log_context(topic=record.topic, event_id=_header_text(headers, "ce_id"), event_type=_header_text(headers, "ce_type")):
                self._dead_letter(record, error, stop)
            return
        with log_context(topic=record.topic, event_id=event.id, event_type=event.type):
            self._dispatch(record, event, stop)

    def _dispatch(self, record, event: Event, stop: threading.Event) -> None:
        """Run the event's handler once, retrying failures, dead-lettering it after `max_attempts`."""
        handler = self.handlers.get(event.type)
        if handler is None:
            self._count(record, event.type, "ignored")  # a topic carries types this service has no interest in
            return
        failures = outages = 0
        while True:
            self.last_activity = time.monotonic()
            try:
                first_time = self._apply(handler, event)
                self._count(record, event.type, "handled" if first_time else "duplicate")
                return
            except TRANSIENT_ERRORS as error:
                outages += 1
                delay = self._delay(outages)
                log.warning("transient failure on event %s; retrying in %.1fs: %r", event.id, delay, error)
            except Exception as error:  # a handler rejecting the event, or a bug: bounded retries
                failures += 1
                if failures >= self.max_attempts:
                    log.error("event %s failed %d times; dead-lettering", event.id, failures, exc_info=True)
                    self._dead_letter(record, error, stop, event.type)
                    return
                delay = self._delay(failures)
            self._count(record, event.type, "retried")
            if stop.wait(delay):
                raise Stopping()

    def _delay(self, attempt: int) -> float:
        """Exponential backoff: base, 2×base, 4×base… capped at max_delay."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)

    def _count(self, record, event_type: str | None, outcome: str) -> None:
        """Count a record by topic, type (`unknown` for types outside the catalog) and outcome."""
        EVENTS_CONSUMED.labels(record.topic, event_type if event_type in CATALOG else "unknown", outcome).inc()

    def _apply(self, handler: Handler, event: Event) -> bool:
        """Run the handler and record the event id in one transaction, unless already processed; True if it ran."""
        with self.database.transaction() as session:
            first_time = insert_if_absent(session, processed_events, self._processed(event))
            if first_time:
                handler(session, event)
        return first_time

    def _processed(self, event: Event) -> dict:
        """The `processed_events` row that says this group handled the event."""
        return {"consumer_group": self.group, "event_id": event.id, "event_type": event.type, "processed_at": self.now()}

    def _dead_letter(self, record, error: Exception, stop: threading.Event, event_type: str | None = None) -> None:
        """Send the record, untouched, to `<topic>.dlq` with the error in headers, once: retry until acked,
        then note it in processed_events, so that a redelivery (an offset commit lost in a rebalance, a
        crash before the batch's commit) is not dead-lettered again."""
        letter = {"consumer_group": self.group, "event_id": _dead_letter_id(record), "event_type": "dead-letter"}
        if self._until_done(lambda: self._noted(letter), stop):
            log.info("%s[%d]@%d was dead-lettered before; skipped", record.topic, record.partition, record.offset)
            return
        self._send_dead_letter(record, error, stop, event_type)
        self._until_done(lambda: self._note(letter), stop)

    def _until_done(self, action: Callable[[], bool | None], stop: threading.Event) -> bool | None:
        """Run a database action, retrying while the database is unavailable, until done or stopped."""
        outages = 0
        while True:
            try:
                return action()
            except TRANSIENT_ERRORS as error:
                outages += 1
                log.warning("dead-letter bookkeeping failed; retrying: %r", error)
                if stop.wait(self._delay(outages)):
                    raise Stopping()

    def _noted(self, letter: dict) -> bool:
        """Whether this group dead-lettered the record before."""
        with self.database.transaction() as session:
            return session.scalar(select(processed_events.c.event_id).where(
                processed_events.c.consumer_group == letter["consumer_group"], processed_events.c.event_id == letter["event_id"]
            )) is not None

    def _note(self, letter: dict) -> None:
        """Record that this group dead-lettered the record."""
        with self.database.transaction() as session:
            insert_if_absent(session, processed_events, letter | {"processed_at": self.now()})

    def _send_dead_letter(self, record, error: Exception, stop: threading.Event, event_type: str | None) -> None:
        """Send the record with the error in headers; retry until acked."""
        headers = list(record.headers or []) + [
            ("dlq.error", str(error)[:4000].encode()),
            ("dlq.error.class", type(error).__name__.encode()),
            ("dlq.source.topic", record.topic.encode()),
            ("dlq.source.partition", str(record.partition).encode()),
            ("dlq.source.offset", str(record.offset).encode()),
            ("dlq.consumer.group", self.group.encode()),
            ("dlq.time", self.now().isoformat().encode()),
        ]
        attempt, value = 0, record.value
        if record.key is None and value is None:  # the Java client sends such records; kafka-python cannot
            value, headers = b"", headers + [("dlq.value.null", b"true")]
        while True:
            try:
                self.producer.send(dead_letter_topic(record.topic), key=record.key, value=value, headers=headers).get(timeout=30)
                log.warning("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, error)
                self._count(record, event_type or _header_text(dict(record.headers or []), "ce_type"), "dead_lettered")
                DLQ_MESSAGES.labels(dead_letter_topic(record.topic)).inc()
                return
            except MessageSizeTooLargeError:
                # Too big to keep even on the dead-letter topic: keep a note of it, so the partition moves on.
                value = json.dumps({"dlq.dropped_value_bytes": len(record.value or b""),
                                    "dlq.dropped_value_sha256": hashlib.sha256(record.value or b"").hexdigest()}).encode()
                headers = [header for header in headers if header[0] != "dlq.value.dropped"] + [("dlq.value.dropped", b"true")]
                log.error("dead letter %s[%d]@%d too large to keep whole; keeping a note", record.topic, record.partition, record.offset)
            except KafkaError:
                attempt += 1
                log.warning("dead-letter send failed; retrying", exc_info=True)
                if stop.wait(self._delay(attempt)):
                    raise Stopping()


def _dead_letter_id(record) -> str:
    """A dead letter's id in processed_events: where it came from (and when, should a topic be recreated)."""
    source = f"{record.topic}/{record.partition}/{record.offset}/{record.timestamp}"
    return "dlq:" + hashlib.sha256(source.encode()).hexdigest()


def _header_text(headers: dict, name: str) -> str | None:
    """A header's value as text, or None when absent or not UTF-8."""
    value = headers.get(name)
    try:
        return value.decode() if isinstance(value, bytes) else value
    except UnicodeDecodeError:
        return None
