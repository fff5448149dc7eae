"""In-memory stand-ins for the Kafka clients, for unit tests of the bus only."""

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError


@dataclass
class Record:
    """A consumed Kafka record, with the attributes the consumer reads."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: int = 0


@dataclass
class Sent:
    """A record handed to the producer."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @property
    def header_map(self) -> dict[str, bytes]:
        return dict(self.headers)


class Delivery:
    """What `producer.send` returns: acknowledged, or failing on `get` like an unacked send."""

    def __init__(self, error: Exception | None = None):
        self.error = error

    def get(self, timeout=None):
        if self.error is not None:
            raise self.error
        return "acknowledged"


class FakeProducer:
    """Records what is sent; the sends numbered in `failing_sends` (1-based) are never acknowledged."""

    def __init__(self, failing_sends=()):
        self.sent: list[Sent] = []
        self.failing_sends = set(failing_sends)

    def send(self, topic, key=None, value=None, headers=None):
        self.sent.append(Sent(topic, key, value, list(headers or [])))
        if len(self.sent) in self.failing_sends:
            return Delivery(KafkaTimeoutError("no acknowledgement from the broker"))
        return Delivery()

    def flush(self, timeout=None):
        pass


class FakeConsumer:
    """Hands out the given batches, one per poll, then asks the worker to stop."""

    def __init__(self, stop: threading.Event, on_commit: Callable[[], None] = lambda: None):
        self.stop = stop
        self.batches: list[dict] = []
        self.commits: list[dict[tuple[str, int], int]] = []
        self.on_commit = on_commit

    def deliver(self, *records: Record) -> None:
        """Queue one poll's worth of records, grouped by partition as Kafka returns them."""
        batch = defaultdict(list)
        for record in records:
            batch[TopicPartition(record.topic, record.partition)].append(record)
        self.batches.append(dict(batch))

    def poll(self, timeout_ms=0):
        if self.batches:
            return self.batches.pop(0)
        self.stop.set()
        return {}

    def commit(self, offsets):
        self.on_commit()
        self.commits.append({(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()})
