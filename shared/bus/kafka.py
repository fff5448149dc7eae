"""Kafka client factories and topic administration, configured the reliable way once."""

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from shared.events import TOPICS


def dead_letter_topic(topic: str) -> str:
    """The dead-letter topic of a topic."""
    return f"{topic}.dlq"


def all_topics() -> list[str]:
    """Every topic Skillstack uses: the catalog's topics and their dead-letter topics."""
    return [name for topic in TOPICS for name in (topic, dead_letter_topic(topic))]


def make_producer(bootstrap_servers: str, client_id: str) -> KafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (acks=all)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap_servers.split(","),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        compression_type="gzip",
        max_block_ms=10_000,
        # Headroom over the broker's 1 MiB records: a dead letter is a record at the limit plus its
        # dlq.* headers. The broker still enforces each topic's own limit on the compressed batch.
        max_request_size=2 * 1024 * 1024,
        # kafka-python's reconnect backoff grows to 30 s (the Java client's stops at 1 s): after an
        # outage the worker would sit that long with the broker back. Same for the consumer.
        reconnect_backoff_max_ms=1_000,
    )


def make_consumer(bootstrap_servers: str, group_id: str, topics: list[str]) -> KafkaConsumer:
    """A consumer that commits offsets only when told to, after the database commit."""
    return KafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers.split(","),
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        # A crashed worker's partitions move to the others once its session expires: 10 s, not
        # the client's 45 s default. Heartbeats run on a background thread, so long batches are fine.
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000,
        reconnect_backoff_max_ms=1_000,
    )


def ensure_topics(bootstrap_servers: str, partitions: int, replication_factor: int = 1) -> list[str]:
    """Create the missing Skillstack topics; return the names created."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers.split(","), client_id="skillstack-admin")
    try:
        missing = sorted(set(all_topics()) - set(admin.list_topics()))
        if missing:
            admin.create_topics(
                {name: {"num_partitions": partitions, "replication_factor": replication_factor} for name in missing},
                wait_for_metadata=True,
            )
        return missing
    finally:
        admin.close()


def check_broker(bootstrap_servers: str, timeout_seconds: float = 2.0) -> None:
    """Raise a KafkaError unless a bootstrap server answers with the cluster's metadata in time."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers.split(","),
        client_id="skillstack-probe",
        request_timeout_ms=int(timeout_seconds * 1000),
        bootstrap_timeout_ms=int(timeout_seconds * 1000),
    )
    admin.close()
