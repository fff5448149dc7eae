"""The event catalog and the CloudEvents envelope shared by producers and consumers."""

from shared.events.catalog import CATALOG, TOPICS, EventSpec, spec_for
from shared.events.envelope import (
    Event,
    EventDecodeError,
    EventValidationError,
    decode,
    encode,
    new_event,
)

__all__ = [
    "CATALOG",
    "TOPICS",
    "Event",
    "EventDecodeError",
    "EventSpec",
    "EventValidationError",
    "decode",
    "encode",
    "new_event",
    "spec_for",
]
