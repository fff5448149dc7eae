"""An experiment for the recommendation in bench/RESULTS.md: one database transaction per poll batch.

`BatchedEventConsumer` is shared.bus.consumer.EventConsumer with one change on the happy path:
up to `chunk` records of a poll are handled in ONE transaction, each still inserting its own
`processed_events` row before its handler runs (so per-event idempotency is unchanged: a
redelivered event finds its id and is skipped). If anything in the chunk fails (a poison
record, a handler error, the database), the chunk's transaction is rolled back and its records
go through the unchanged one-record-at-a-time path, with its retries and dead-lettering.
Offsets are committed after the database commit, as before.

It lives in bench/ only to measure the change (`bench/pipeline.py --consumer batched`); the
workers run it through bench/batched_worker.py, which swaps it in before the worker starts.
"""

import logging
import threading

from kafka import OffsetAndMetadata, TopicPartition

from shared.bus.consumer import EventConsumer, Stopping
from shared.bus.tables import processed_events
from shared.db import insert_if_absent
from shared.events import decode

log = logging.getLogger(__name__)


class BatchedEventConsumer(EventConsumer):
    chunk = 100  # records per transaction: bounds the latency a batch adds and the work redone on a failure

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if hasattr(self, "last_activity"):
                import time

                self.last_activity = time.monotonic()
            batch = self.consumer.poll(timeout_ms=500)
            offsets: dict[TopicPartition, OffsetAndMetadata] = {}
            records = [(partition, record) for partition, found in batch.items() for record in found]
            try:
                for start in range(0, len(records), self.chunk):
                    chunk = records[start : start + self.chunk]
                    if not self._handle_chunk([record for _, record in chunk]):
                        for _, record in chunk:  # the unchanged path: retries, dead letters
                            self.handle_record(record, stop)
                    for partition, record in chunk:
                        offsets[partition] = OffsetAndMetadata(record.offset + 1, "", -1)
            except Stopping:
                pass
            finally:
                self._commit(offsets)
            if hasattr(self, "lag"):
                self.lag.refresh()

    def _handle_chunk(self, records) -> bool:
        """Handle every record in one transaction; False (and nothing written) if any of them fails."""
        try:
            events = [decode(record.value) for record in records]
            log.info("handling a chunk of %d records in one transaction", len(records))
            with self.database.transaction() as session:
                for event in events:
                    handler = self.handlers.get(event.type)
                    if handler is None:
                        continue
                    values = {"consumer_group": self.group, "event_id": event.id, "event_type": event.type, "processed_at": self.now()}
                    if insert_if_absent(session, processed_events, values):
                        handler(session, event)
            return True
        except Exception:  # decode errors, handler errors, outages: the per-record path sorts them out
            log.warning("a chunk of %d records failed; handling them one by one", len(records), exc_info=True)
            return False
