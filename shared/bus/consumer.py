"""The idempotent consumer: handle each event once, retry transient faults, dead-letter poison.

Handling an event and recording its id in `processed_events` happen in one database
transaction; offsets are committed to Kafka only after that commit, so a crash at any point
leads to redelivery, and redelivery is harmless.
"""

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from sqlalchemy import exc as sql_errors
from sqlalchemy.orm import Session

from shared.bus.kafka import dead_letter_topic
from shared.bus.tables import processed_events
from shared.db import Database, insert_if_absent
from shared.events import Event, EventDecodeError, EventValidationError, decode

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

    def run(self, stop: threading.Event) -> None:
        """Poll, handle and commit until stopped; a stop mid-retry leaves that record uncommitted."""
        while not stop.is_set():
            batch = self.consumer.poll(timeout_ms=500)
            offsets: dict[TopicPartition, OffsetAndMetadata] = {}
            try:
                for partition, records in batch.items():
                    for record in records:
                        self.handle_record(record, stop)
                        offsets[partition] = OffsetAndMetadata(record.offset + 1, "", -1)
            except Stopping:
                pass
            finally:
                self._commit(offsets)

    def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        """Commit handled offsets; a failure only means those events will be seen again."""
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError):
            log.warning("offset commit failed; events will be redelivered and skipped", exc_info=True)

    def handle_record(self, record, stop: threading.Event) -> None:
        """Handle one record: decode, dispatch once, and dead-letter it if it is poison."""
        try:
            event = decode(record.value)
        except (EventDecodeError, EventValidationError) as error:
            self._dead_letter(record, error, stop)
            return
        handler = self.handlers.get(event.type)
        if handler is None:
            return  # a topic carries event types this service has no interest in
        failures = outages = 0
        while True:
            try:
                self._apply(handler, event)
                return
            except TRANSIENT_ERRORS as error:
                outages += 1
                delay = self._delay(outages)
                log.warning("transient failure on event %s; retrying in %.1fs: %r", event.id, delay, error)
            except Exception as error:  # a handler rejecting the event, or a bug: bounded retries
                failures += 1
                if failures >= self.max_attempts:
                    log.error("event %s failed %d times; dead-lettering", event.id, failures, exc_info=True)
                    self._dead_letter(record, error, stop)
                    return
                delay = self._delay(failures)
            if stop.wait(delay):
                raise Stopping()

    def _delay(self, attempt: int) -> float:
        """Exponential backoff: base, 2×base, 4×base… capped at max_delay."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)

    def _apply(self, handler: Handler, event: Event) -> None:
        """Run the handler and record the event id in one transaction, unless already processed."""
        with self.database.transaction() as session:
            first_time = insert_if_absent(
                session,
                processed_events,
                {
                    "consumer_group": self.group,
                    "event_id": event.id,
                    "event_type": event.type,
                    "processed_at": self.now(),
                },
            )
            if first_time:
                handler(session, event)

    def _dead_letter(self, record, error: Exception, stop: threading.Event) -> None:
        """Send the record, untouched, to `<topic>.dlq` with the error in headers; retry until acked."""
        headers = list(record.headers or []) + [
            ("dlq.error", str(error)[:4000].encode()),
            ("dlq.error.class", type(error).__name__.encode()),
            ("dlq.source.topic", record.topic.encode()),
            ("dlq.source.partition", str(record.partition).encode()),
            ("dlq.source.offset", str(record.offset).encode()),
            ("dlq.consumer.group", self.group.encode()),
            ("dlq.time", self.now().isoformat().encode()),
        ]
        attempt = 0
        while True:
            try:
                self.producer.send(
                    dead_letter_topic(record.topic), key=record.key, value=record.value, headers=headers
                ).get(timeout=30)
                log.warning("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, error)
                return
            except KafkaError:
                attempt += 1
                log.warning("dead-letter send failed; retrying", exc_info=True)
                if stop.wait(self._delay(attempt)):
                    raise Stopping()
