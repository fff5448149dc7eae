"""Helpers of the operations tests (issue 10): throwaway databases, worker environments, metrics.

The operations tests run workers in consumer groups and relays of their own, so they work on
databases of their own: a relay or a replay on the session's databases would change what the
other tests see.
"""

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from shared.bus.tables import delivery_metadata
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import ROOT
from tests.support import auth_config, issuer_signing_keys


def _admin_conninfo() -> str:
    base = os.environ["SKILLSTACK_TEST_POSTGRES"]
    return make_url(f"{base}/postgres").set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database(service: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database migrated for `service` (or with the delivery tables only); its URL."""
    name = f"test_ops_{service or 'bus'}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{os.environ['SKILLSTACK_TEST_POSTGRES']}/{name}"
    try:
        if service:
            upgrade(ROOT / "services" / service / "migrations", url)
        else:
            database = Database(url)
            delivery_metadata.create_all(database.engine)
            database.dispose()
        yield url
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_env(service: str, database_url: str, kafka_bootstrap: str, **settings: str) -> dict[str, str]:
    """The environment of a worker process: its database, Kafka, and `SKILLSTACK_<SERVICE>_<name>` settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SKILLSTACK_")}
    prefix = f"SKILLSTACK_{service.upper()}_"
    env |= {f"SKILLSTACK_{name}": value for name, value in auth_config().items() if isinstance(value, str)}
    env |= {
        "SKILLSTACK_ISSUER_SIGNING_KEYS": json.dumps(issuer_signing_keys()),
        "SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        prefix + "DATABASE_URL": database_url,
        "SKILLSTACK_METRICS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    return env | {prefix + name: value for name, value in settings.items()}


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """A /metrics page as {(sample name, labels): value}."""
    with urllib.request.urlopen(url, timeout=5) as response:
        page = response.read().decode()
    return parse_metrics(page)


def parse_metrics(page: str) -> dict[tuple[str, frozenset], float]:
    """Prometheus text as {(sample name, labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def total(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """The sum of a series' samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items() if sample == name and wanted <= sample_labels)


def series(samples: dict[tuple[str, frozenset], float]) -> set[str]:
    """The sample names on a page."""
    return {name for name, _labels in samples}


def start_group_at_end(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit a new consumer group's offsets at the topics' ends, so its workers see only what comes next."""
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    partitions = [TopicPartition(topic, number) for topic in topics for number in consumer.partitions_for_topic(topic) or ()]
    ends = consumer.end_offsets(partitions)
    consumer.assign(partitions)
    consumer.commit({partition: OffsetAndMetadata(end, "", -1) for partition, end in ends.items()})
    consumer.close()


def group_assignment(bootstrap: str, group: str) -> dict[str, set[tuple[str, int]]]:
    """Each member of a consumer group and the partitions assigned to it, as the broker describes the group."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    if description.get("group_state") != "Stable":
        return {}
    return {
        member["member_id"]: {(topic["topic"], partition) for topic in member["member_assignment"]["assigned_partitions"] for partition in topic["partitions"]}
        for member in description["members"]
    }


def own_topic(bootstrap: str, prefix: str, *, partitions: int = 1, dead_letters: bool = True) -> str:
    """Create a topic of a test's own (and its dead-letter topic), where no other test reads or writes; its name."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    from shared.bus.kafka import dead_letter_topic
    from tests.support import unique

    topic = unique(prefix)
    names = (topic, dead_letter_topic(topic)) if dead_letters else (topic,)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names])
    admin.close()
    return topic
