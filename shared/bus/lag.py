"""Consumer lag as a metric: per owned partition, the end offset minus the consumer's position.

Refreshed from the consumer's own poll loop (a KafkaConsumer is not thread-safe) every
`interval` seconds; the position equals the committed offset there, as each polled batch is
handled and committed before the next poll.
"""

import logging
import time
from collections.abc import Callable

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from shared.metrics import CONSUMER_LAG, drop_partitions

log = logging.getLogger(__name__)


class LagReporter:
    """Keeps `skillstack_consumer_lag{topic,partition}` up to date for the partitions a consumer owns."""

    def __init__(self, consumer: KafkaConsumer, *, interval: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.consumer = consumer
        self.interval = interval
        self.clock = clock
        self.checked_at = clock()  # the first refresh comes one interval after start, once partitions are assigned
        self.reported: set[tuple[str, int]] = set()

    def refresh(self) -> None:
        """Recompute the lag if the interval has passed; a broker hiccup only delays the update."""
        if self.clock() - self.checked_at < self.interval:
            return
        self.checked_at = self.clock()
        owned = list(self.consumer.assignment())
        try:
            ends = self.consumer.end_offsets(owned, timeout_ms=1000) if owned else {}  # never hold up the poll loop
            positions = {partition: self.consumer.position(partition, timeout_ms=1000) for partition in ends}
        except KafkaError as error:  # IllegalStateError too: a rebalance took a partition meanwhile
            log.info("consumer lag not refreshed: %r", error)
            return
        lags = {partition: max(ends[partition] - position, 0) for partition, position in positions.items() if position is not None}
        for partition, lag in lags.items():
            CONSUMER_LAG.labels(partition.topic, str(partition.partition)).set(lag)
        current = {(partition.topic, partition.partition) for partition in lags}
        drop_partitions(current, self.reported)
        self.reported = current
