"""The one way to publish an event: write it to the outbox in the caller's transaction.

`COMMITTED` is set whenever a transaction that published commits, so the relay in the same
process sends at once instead of at its next poll of the table.
"""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sqlalchemy_events
from sqlalchemy.orm import Session

from shared.bus.tables import outbox
from shared.events import Event, new_event

COMMITTED = threading.Event()
_PUBLISHED = "skillstack.outbox.published"


def publish(
    session: Session,
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Event:
    """Validate an event and add it to the outbox; the relay sends it once the transaction commits."""
    event, body = new_event(event_type, data, source=source, now=now)
    session.execute(
        outbox.insert().values(
            event_id=event.id,
            topic=event.topic,
            key=event.key,
            type=event.type,
            payload=body.decode(),
            created_at=now(),
            attempts=0,
        )
    )
    session.info[_PUBLISHED] = True
    return event


@sqlalchemy_events.listens_for(Session, "after_commit")
def _wake_the_relay(session: Session) -> None:
    if session.info.pop(_PUBLISHED, False):
        COMMITTED.set()


@sqlalchemy_events.listens_for(Session, "after_rollback")
def _forget_what_was_rolled_back(session: Session) -> None:
    session.info.pop(_PUBLISHED, None)
