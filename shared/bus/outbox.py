"""The one way to publish an event: write it to the outbox in the caller's transaction."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from shared.bus.tables import outbox
from shared.events import Event, new_event


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
    return event
