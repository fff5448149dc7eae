"""The outbox relay: sends committed outbox rows to Kafka in order and marks them sent."""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from kafka import KafkaProducer
from sqlalchemy import select, update

from shared.bus.tables import outbox
from shared.db import Database
from shared.events.envelope import encode

log = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes a service's outbox. Run one per service so each key's events keep their order."""

    def __init__(
        self,
        database: Database,
        producer: KafkaProducer,
        *,
        batch_size: int = 500,
        send_timeout: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.database = database
        self.producer = producer
        self.batch_size = batch_size
        self.send_timeout = send_timeout
        self.now = now

    def relay_once(self) -> int:
        """Send one batch of unpublished rows; return how many were acknowledged and marked."""
        with self.database.transaction() as session:
            rows = session.execute(
                select(outbox.c.id, outbox.c.topic, outbox.c.payload)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            ).all()
        if not rows:
            return 0
        futures = []
        for row in rows:
            body = row.payload.encode()
            key, headers = encode(body)
            futures.append(self.producer.send(row.topic, key=key, value=body, headers=headers))
        self.producer.flush(timeout=self.send_timeout)
        acknowledged, failure = [], None
        for row, future in zip(rows, futures):
            try:
                future.get(timeout=self.send_timeout)
            except Exception as error:  # any send failure stops the batch here, keeping order
                failure = (row.id, error)
                break
            acknowledged.append(row.id)
        with self.database.transaction() as session:
            if acknowledged:
                session.execute(
                    update(outbox).where(outbox.c.id.in_(acknowledged)).values(published_at=self.now())
                )
            if failure:
                session.execute(
                    update(outbox)
                    .where(outbox.c.id == failure[0])
                    .values(attempts=outbox.c.attempts + 1, last_error=repr(failure[1])[:2000])
                )
        if failure:
            raise failure[1]
        return len(acknowledged)

    def run(self, stop: threading.Event, idle_wait: float = 0.1, max_backoff: float = 10.0) -> None:
        """Relay until stopped, backing off while Kafka or the database is unavailable."""
        backoff = idle_wait
        while not stop.is_set():
            try:
                sent = self.relay_once()
                backoff = idle_wait
            except Exception:
                log.warning("outbox relay failed; retrying in %.1fs", backoff, exc_info=True)
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            if not sent:
                stop.wait(idle_wait)
