"""Helpers shared by the test levels: tokens, polling, free ports, Kafka reads."""

import socket
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition

from shared.auth import issue_token

SECRET = "test-only-token-secret-0123456789abcdef"
T = TypeVar("T")


def unique(prefix: str) -> str:
    """A random id, so tests sharing databases and topics never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bearer(service: str, subject: str, *, roles=(), scopes=(), **claims) -> dict[str, str]:
    """Authorization headers for a caller of one service."""
    return {"Authorization": "Bearer " + issue_token(SECRET, subject=subject, audience=service, roles=roles, scopes=scopes, **claims)}


def wait_for(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, message: str = "") -> T:
    """Poll until `check` returns something truthy; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or check}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_topic(bootstrap: str, topic: str, *, timeout: float = 5.0) -> list:
    """Every record currently in a topic, read without a consumer group."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=int(timeout * 1000))
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    records = []
    deadline = time.monotonic() + timeout
    while any(consumer.position(p) < end[p] for p in partitions) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    consumer.close()
    return records
