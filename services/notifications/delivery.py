"""Sending queued deliveries, retrying with exponential backoff: the part every channel shares.

Sending happens outside the consumer, in a loop per channel (email_delivery.py,
webhook_delivery.py), so a slow or absent mail server or webhook delays its own messages without
ever blocking events or the other channel.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from services.notifications.models import Delivery
from shared.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    base_seconds: float = 2.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after `attempts` failures, capped."""
        return timedelta(seconds=min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds))


class DeliveryFailed(Exception):
    """A send failed. A `permanent` failure is not retried (a webhook that refuses, a mailbox the
    server rejects); a `transient` one (the server down or overloaded) is retried for as long as
    it lasts, so an outage delays messages and never drops them; any other gets
    `RetryPolicy.max_attempts` tries (an address the directory has not told us yet)."""

    def __init__(self, message: str, *, permanent: bool = False, transient: bool = False):
        super().__init__(message)
        self.permanent, self.transient = permanent, transient


@dataclass
class Claim:
    """The deliveries of a batch not yet recorded, and when their lease was last extended."""

    waiting: set[str] = field(default_factory=set)
    renewed_at: datetime | None = None


class Dispatcher:
    """Sends the due deliveries of one channel, recording each outcome; subclasses know how to send."""

    channel: str
    # A claimed batch is another worker's to send only once its lease has passed: if this worker died.
    # While the batch is being sent, the lease of what is left is extended whenever a third of it has
    # passed; a single send is bounded by its timeout (10 s by default), well inside the lease.
    LEASE = timedelta(seconds=60)

    def __init__(self, database: Database, policy: RetryPolicy, clock: Callable[[], datetime]):
        self.database = database
        self.policy = policy
        self.clock = clock
        self.claim = Claim()

    def send_due(self, batch_size: int = 50) -> int:
        """Claim the due deliveries of this channel, try each once; return how many were sent.

        Claiming pushes their next attempt past a lease in the claiming transaction (rows other
        workers hold are skipped), so two workers never send the same message.
        """
        now = self.clock()
        with self.database.transaction() as session:
            due = session.scalars(
                select(Delivery)
                .where(Delivery.channel == self.channel, Delivery.status.in_(("pending", "retrying")), Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for delivery in due:
                delivery.next_attempt_at = now + self.LEASE
            targets = self.targets_of(session, due)
        self.claim = Claim({delivery.id for delivery in due}, now)
        return self.send_batch(due, targets) if due else 0

    def targets_of(self, session, due: list[Delivery]) -> dict:
        raise NotImplementedError

    def send_batch(self, due: list[Delivery], targets: dict) -> int:
        raise NotImplementedError

    def record(self, delivery_id: str, error: Exception | None, attempts: int = 30) -> None:
        """Record an attempt's outcome, waiting out a database outage (about 2 minutes): a message that
        went out must not be forgotten, nor the rest of the batch left to wait out its claim."""
        for attempt in range(1, attempts + 1):
            try:
                self._record(delivery_id, error)
                break
            except (OperationalError, InterfaceError):
                if attempt == attempts:
                    raise
                log.warning("%s delivery %s: recording failed; retrying", self.channel, delivery_id, exc_info=True)
                time.sleep(min(0.2 * 2 ** (attempt - 1), 5.0))
        self.claim.waiting.discard(delivery_id)
        self._keep_claim()

    def _keep_claim(self) -> None:
        """Extend the lease of the batch's unsent deliveries once a third of it has passed."""
        now = self.clock()
        if not self.claim.waiting or now - self.claim.renewed_at < self.LEASE / 3:
            return
        try:
            with self.database.transaction() as session:
                session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(self.claim.waiting), Delivery.status.in_(("pending", "retrying")))
                    .values(next_attempt_at=now + self.LEASE)
                )
            self.claim.renewed_at = now
        except (OperationalError, InterfaceError):  # the lease may lapse: at worst another worker sends some of them too
            log.warning("%s: extending the claim on %d deliveries failed", self.channel, len(self.claim.waiting), exc_info=True)

    def _record(self, delivery_id: str, error: Exception | None) -> None:
        """Mark a delivery sent, or schedule its retry, or give up after the last attempt or a permanent error."""
        now = self.clock()
        with self.database.transaction() as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.attempts += 1
            if error is None:
                delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
                return
            delivery.last_error = f"{type(error).__name__}: {error}"[:2000]
            exhausted = delivery.attempts >= self.policy.max_attempts and not getattr(error, "transient", False)
            if exhausted or getattr(error, "permanent", False):
                delivery.status = "failed"
                log.error("%s delivery %s failed permanently: %s", self.channel, delivery_id, delivery.last_error)
            else:
                delivery.status = "retrying"
                delivery.next_attempt_at = now + self.policy.delay(delivery.attempts)

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """Send due deliveries until stopped."""
        while not stop.is_set():
            try:
                sent = self.send_due()
            except Exception:
                log.warning("%s dispatch failed; retrying", self.channel, exc_info=True)
                sent = 0
            if not sent:
                stop.wait(idle_wait)
