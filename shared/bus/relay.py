"""The outbox relay: sends committed outbox rows to Kafka in order and marks them sent.

A batch is read, sent, acknowledged and marked in one database transaction. On PostgreSQL that
transaction first takes a transaction-level advisory lock (`pg_try_advisory_xact_lock`), so
when two workers of one service run, only one relay publishes at a time and a key's events
keep their order; the other skips the batch and tries again shortly (a standby that takes
over when the first stops). SQLite (the one-process local run) needs no lock.

Between batches the relay sleeps until a transaction of its own process publishes (the
consumer's, `outbox.COMMITTED`) or `idle_wait` passes (events published by the web processes).
"""

import logging
import threading
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from kafka import KafkaProducer
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from shared.bus.outbox import COMMITTED
from shared.bus.tables import outbox
from shared.db import Database
from shared.events.envelope import encode
from shared.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = logging.getLogger(__name__)

# Advisory locks belong to one database, and each service has its own: one key serves them all.
RELAY_LOCK_KEY = zlib.crc32(b"skillstack.outbox.relay")


def take_relay_lock(session: Session) -> bool:
    """Whether this transaction may publish the outbox: the advisory lock on PostgreSQL, always on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY}))


class OutboxRelay:
    """Publishes a service's outbox; a second relay of the same outbox waits for the lock."""

    def __init__(
        self,
        database: Database,
        producer: KafkaProducer,
        *,
        batch_size: int = 500,
        send_timeout: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        backlog_interval: float = 5.0,
    ):
        self.database = database
        self.producer = producer
        self.batch_size = batch_size
        self.send_timeout = send_timeout
        self.now = now
        self.backlog_interval = backlog_interval
        self.backlog_checked_at = float("-inf")
        self.standing_by = False

    def relay_once(self) -> int:
        """Send one batch of unpublished rows; return how many were acknowledged and marked."""
        with self.database.transaction() as session:
            if not self._lead(session):
                return 0
            rows = session.execute(
                select(outbox.c.id, outbox.c.topic, outbox.c.type, outbox.c.payload)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            ).all()
            if not rows:
                return 0
            acknowledged, failure = self._send(rows)
            self._mark(session, [row.id for row in acknowledged], failure)
        for row in acknowledged:
            EVENTS_PUBLISHED.labels(row.topic, row.type).inc()
        if failure:
            raise failure[1]
        return len(acknowledged)

    def _lead(self, session: Session) -> bool:
        """Take the relay lock for this batch, saying so in the log whenever leadership changes."""
        leading = take_relay_lock(session)
        if leading == self.standing_by:
            log.info("outbox relay: %s", "publishing" if leading else "another relay holds the outbox lock; standing by")
        self.standing_by = not leading
        return leading

    def _send(self, rows) -> tuple[list, tuple[int, Exception] | None]:
        """Send rows in order and wait for acks; return the acknowledged prefix and the first failure."""
        futures = []
        for row in rows:
            body = row.payload.encode()
            key, headers = encode(body)
            futures.append(self.producer.send(row.topic, key=key, value=body, headers=headers))
        self.producer.flush(timeout=self.send_timeout)
        acknowledged = []
        for row, future in zip(rows, futures):
            try:
                future.get(timeout=self.send_timeout)
            except Exception as error:  # any send failure stops the batch here, keeping order
                return acknowledged, (row.id, error)
            acknowledged.append(row)
        return acknowledged, None

    def _mark(self, session: Session, acknowledged: list[int], failure: tuple[int, Exception] | None) -> None:
        """Mark acknowledged rows sent, and count the attempt on the row that failed."""
        if acknowledged:
            session.execute(update(outbox).where(outbox.c.id.in_(acknowledged)).values(published_at=self.now()))
        if failure:
            session.execute(
                update(outbox)
                .where(outbox.c.id == failure[0])
                .values(attempts=outbox.c.attempts + 1, last_error=repr(failure[1])[:2000])
            )

    def report_backlog(self) -> None:
        """Refresh `skillstack_outbox_backlog` (unsent rows) if the interval has passed."""
        if time.monotonic() - self.backlog_checked_at < self.backlog_interval:
            return
        self.backlog_checked_at = time.monotonic()
        with self.database.transaction() as session:
            OUTBOX_BACKLOG.set(session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))))

    def run(self, stop: threading.Event, idle_wait: float = 0.1, max_backoff: float = 10.0) -> None:
        """Relay until stopped, backing off while Kafka or the database is unavailable."""
        backoff = idle_wait
        while not stop.is_set():
            COMMITTED.clear()  # before reading: a commit from now on wakes the wait below
            try:
                self.report_backlog()
                sent = self.relay_once()
                backoff = idle_wait
            except Exception:
                log.warning("outbox relay failed; retrying in %.1fs", backoff, exc_info=True)
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            if not sent:
                COMMITTED.wait(idle_wait)
