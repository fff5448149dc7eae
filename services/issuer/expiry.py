"""Expiry: announce, once per credential, that it will expire soon and that it has expired.

A credential is marked announced in the same transaction that writes the event to the
outbox, so the announcement happens exactly once however often the worker restarts or
crashes: either both the mark and the event are committed, or neither is. On PostgreSQL the
due rows are locked with SKIP LOCKED, so two workers never announce the same credential.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.issuer.models import Achievement, Credential
from shared.bus.outbox import publish
from shared.db import Database

log = logging.getLogger(__name__)

CREDENTIAL_EXPIRING = "skillstack.issuer.credential.expiring.v1"
CREDENTIAL_EXPIRED = "skillstack.issuer.credential.expired.v1"


def _due(session: Session, announced_at, window, limit: int) -> list[tuple[Credential, str]]:
    """Unrevoked credentials not yet announced whose `valid_until` lies in the window, earliest first, locked."""
    if limit <= 0:
        return []
    return list(
        session.execute(
            select(Credential, Achievement.name)
            .join(Achievement, Achievement.id == Credential.achievement_id)
            .where(announced_at.is_(None), Credential.revoked_at.is_(None), *window)
            .order_by(Credential.valid_until, Credential.id)
            .limit(limit)
            # Only the credentials are locked: achievements stay free for HR and for other workers.
            .with_for_update(skip_locked=True, of=Credential)
        ).all()
    )


def announce_expiries(session: Session, *, now: datetime, notice_days: int, source: str, batch_size: int) -> int:
    """Announce up to `batch_size` due expiries (expired first, then expiring); return how many were announced."""
    expired = _due(session, Credential.expired_announced_at, (Credential.valid_until <= now,), batch_size)
    # A credential already past its date gets only `expired`: the notice would come too late.
    expiring = _due(
        session,
        Credential.expiring_announced_at,
        (Credential.valid_until > now, Credential.valid_until <= now + timedelta(days=notice_days)),
        batch_size - len(expired),
    )
    for event_type, marked, due in (
        (CREDENTIAL_EXPIRED, "expired_announced_at", expired),
        (CREDENTIAL_EXPIRING, "expiring_announced_at", expiring),
    ):
        for credential, achievement_name in due:
            setattr(credential, marked, now)
            publish(
                session,
                event_type,
                {
                    "credential_id": credential.id,
                    "employee_id": credential.employee_id,
                    "achievement_id": credential.achievement_id,
                    "achievement_name": achievement_name,
                    "valid_until": credential.valid_until,
                },
                source=source,
                now=lambda: now,
            )
    return len(expired) + len(expiring)


class ExpiryScheduler:
    """Announces due expiries in the worker, every `interval_seconds`, one batch per transaction."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime],
        *,
        notice_days: int,
        source: str,
        interval_seconds: float,
        batch_size: int = 100,
    ):
        self.database = database
        self.clock = clock
        self.notice_days = notice_days
        self.source = source
        self.interval_seconds = interval_seconds
        self.batch_size = batch_size

    def announce_due(self, stop: threading.Event | None = None) -> int:
        """Announce every due expiry, batch after batch, until none is left; return how many."""
        total = 0
        while stop is None or not stop.is_set():
            with self.database.transaction() as session:
                announced = announce_expiries(
                    session, now=self.clock(), notice_days=self.notice_days, source=self.source, batch_size=self.batch_size
                )
            total += announced
            if announced < self.batch_size:
                break
        return total

    def run(self, stop: threading.Event) -> None:
        """Announce due expiries until stopped."""
        while not stop.is_set():
            try:
                announced = self.announce_due(stop)
                if announced:
                    log.info("announced %d credential expiries", announced)
            except Exception:
                log.warning("expiry announcement failed; retrying", exc_info=True)
            stop.wait(self.interval_seconds)
