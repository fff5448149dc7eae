"""The CloudEvents 1.0 envelope, in structured JSON mode, and its Kafka record form.

The whole event travels in the record value (`application/cloudevents+json`); the `ce_*`
attributes are mirrored in headers so a consumer or an operator can route and filter
without parsing the body (ADR 0002). Data is validated against the catalog schema both when
an event is created and when it is decoded.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from marshmallow import ValidationError

from shared.events.catalog import CATALOG, spec_for

CONTENT_TYPE = "application/cloudevents+json"
MIRRORED_ATTRIBUTES = ("id", "source", "type", "subject", "time", "specversion")
REQUIRED_ATTRIBUTES = ("id", "source", "type", "specversion")
_FORMAT = JSONFormat()


class EventDecodeError(ValueError):
    """A record is not a CloudEvent we can read (not JSON, not CloudEvents, unknown type)."""


class EventValidationError(ValueError):
    """An event's data does not match its catalog schema."""

    def __init__(self, event_type: str, errors: dict):
        super().__init__(f"{event_type} data is invalid: {json.dumps(errors, sort_keys=True)}")
        self.errors = errors


@dataclass(frozen=True)
class Event:
    """A validated event: envelope attributes plus its data, loaded through the catalog schema."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        return spec_for(self.type).topic

    @property
    def key(self) -> str:
        return str(self.data[spec_for(self.type).key_field])


def _serialize_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Dump data to its JSON form and check it loads back cleanly through the schema."""
    schema = spec_for(event_type).schema()
    dumped = schema.dump(data)
    errors = schema.validate(dumped)
    if errors:
        raise EventValidationError(event_type, errors)
    return dumped


def new_event(
    event_type: str,
    data: dict[str, Any],
    *,
    source: str,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[Event, bytes]:
    """Create a validated event and its structured-mode JSON body."""
    if event_type not in CATALOG:
        raise EventDecodeError(f"unknown event type {event_type!r}")
    spec = spec_for(event_type)
    payload = _serialize_data(event_type, data)
    cloud_event = CloudEvent(
        attributes={
            "id": new_id(),
            "source": source,
            "type": event_type,
            "subject": str(payload[spec.key_field]),
            "time": now(),
            "datacontenttype": "application/json",
        },
        data=payload,
    )
    body = _FORMAT.write(cloud_event)
    return decode(body), body


def decode(body: bytes | str) -> Event:
    """Parse and validate a structured-mode body, raising EventDecodeError or EventValidationError."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError, RecursionError) as error:  # RecursionError: nesting deeper than the parser goes
        raise EventDecodeError(f"not a CloudEvents JSON document: {error}") from error
    if not isinstance(document, dict):
        raise EventDecodeError("not a CloudEvents JSON object")
    # The SDK would invent a missing id or specversion; an invented id defeats deduplication.
    missing = [name for name in REQUIRED_ATTRIBUTES if not document.get(name)]
    if missing:
        raise EventDecodeError(f"not a CloudEvent: missing {', '.join(missing)}")
    if document["specversion"] != "1.0":
        raise EventDecodeError(f"unsupported CloudEvents specversion {document['specversion']!r}")
    try:
        cloud_event = _FORMAT.read(None, body)
    except Exception as error:  # the SDK raises several types for malformed input
        raise EventDecodeError(f"not a CloudEvents JSON document: {error}") from error
    event_type = cloud_event.get_type()
    if event_type not in CATALOG:
        raise EventDecodeError(f"unknown event type {event_type!r}")
    data = cloud_event.get_data()
    if not isinstance(data, dict):
        raise EventValidationError(event_type, {"data": ["must be a JSON object"]})
    try:
        loaded = spec_for(event_type).schema().load(data)
    except ValidationError as error:
        raise EventValidationError(event_type, error.normalized_messages()) from error
    return Event(
        id=cloud_event.get_id(),
        type=event_type,
        source=cloud_event.get_source(),
        subject=cloud_event.get_subject() or "",
        time=cloud_event.get_time() or datetime.now(UTC),
        data=loaded,
    )


def encode(body: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Return the Kafka key and headers for a structured-mode body (attributes mirrored)."""
    document = json.loads(body)
    headers = [("content-type", CONTENT_TYPE.encode())]
    headers += [
        (f"ce_{name}", str(document[name]).encode())
        for name in MIRRORED_ATTRIBUTES
        if document.get(name) is not None
    ]
    key = str(document["data"][spec_for(document["type"]).key_field]).encode()
    return key, headers
