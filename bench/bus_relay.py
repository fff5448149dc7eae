"""The bus ceiling: a minimal consume-and-produce relay with no database.

It uses the services' own Kafka client factories (shared.bus.kafka: the same consumer group
settings, idempotent producer with acks=all, linger and compression) and the consumer's
commit discipline (commit a poll batch's offsets after its sends are acknowledged), so what it
measures is what the bus alone can carry on this machine.

Run by bench/pipeline.py as a subprocess:
    python bench/bus_relay.py --bootstrap HOST:PORT --source IN --target OUT --count N --ready FILE --result FILE
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kafka import OffsetAndMetadata  # noqa: E402

from shared.bus.kafka import make_consumer, make_producer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()

    consumer = make_consumer(args.bootstrap, "bench-bus-ceiling", [args.source])
    producer = make_producer(args.bootstrap, "bench-bus-ceiling")
    while not consumer.assignment():
        consumer.poll(timeout_ms=100)
    args.ready.write_text("ready")
    relayed, first_received = 0, None
    while relayed < args.count:
        batch = consumer.poll(timeout_ms=500)
        if not batch:
            continue
        first_received = first_received or time.time()
        futures, offsets = [], {}
        for partition, records in batch.items():
            for record in records:
                futures.append(producer.send(args.target, key=record.key, value=record.value, headers=record.headers))
            offsets[partition] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
        consumer.commit(offsets)
        relayed += len(futures)
    last_acknowledged = time.time()
    peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    cpu = sum(os.times()[:2])
    args.result.write_text(json.dumps({
        "relayed": relayed, "first_received": first_received, "last_acknowledged": last_acknowledged,
        "peak_memory_mb": peak_kb / 1024, "cpu_seconds": cpu,
    }))
    consumer.close()
    producer.close(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
