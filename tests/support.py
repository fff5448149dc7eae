"""Helpers shared by the test levels: tokens, polling, free ports, Kafka reads."""

import socket
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from joserfc import jwt
from joserfc.jwk import RSAKey
from kafka import KafkaConsumer, TopicPartition

TEST_ISSUER = "https://idp.test/realms/skillstack"
ROLE_GROUPS = {"hr-admin": "hr-admins", "assessor": "assessors"}
# The test identity provider's signing key, and an impostor's key with the same `kid`.
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-signing-key"})
IMPOSTOR_KEY = RSAKey.generate_key(2048, parameters={"kid": "test-signing-key"})
T = TypeVar("T")


def unique(prefix: str) -> str:
    """A random id, so tests sharing databases and topics never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def issuer_signing_keys() -> dict:
    """The issuer's test signing keys: one Ed25519 key, made once per test session."""
    global _ISSUER_KEYS
    if _ISSUER_KEYS is None:
        from datetime import UTC, datetime

        from services.issuer.signing import generate_signing_key

        _ISSUER_KEYS = {"keys": [generate_signing_key(datetime.now(UTC))]}
    return _ISSUER_KEYS


_ISSUER_KEYS = None


def auth_config() -> dict:
    """What a service needs to trust the test identity provider's tokens."""
    return {
        "SECRET_KEY": "test-session-signing-key",
        "OIDC_ISSUER": TEST_ISSUER,
        "OIDC_JWKS": {"keys": [SIGNING_KEY.as_dict(private=False)]},
        "OIDC_CLIENT_SECRET": "test-client-secret",
    }


def make_token(service: str, subject: str, *, roles=(), scopes=(), lifetime: int = 300, key=SIGNING_KEY, issuer=TEST_ISSUER, **claims) -> str:
    """An access token as the IdP would issue it: RS256, `kid`, audience, groups, employee id."""
    now = int(time.time())
    body = {
        "iss": issuer, "sub": f"idp-{subject}", "aud": service, "iat": now, "nbf": now, "exp": now + lifetime,
        "employee_id": subject, "groups": [ROLE_GROUPS[role] for role in roles], "scope": " ".join(scopes),
    } | claims
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, body, key)


def bearer(service: str, subject: str, *, roles=(), scopes=(), **claims) -> dict[str, str]:
    """Authorization headers for a caller of one service."""
    return {"Authorization": "Bearer " + make_token(service, subject, roles=roles, scopes=scopes, **claims)}


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


def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None, list]]) -> None:
    """Send raw (key, value, headers) records and wait for the broker's acknowledgement."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    futures = [producer.send(topic, key=key, value=value, headers=headers) for key, value, headers in records]
    producer.flush(timeout=30)
    for future in futures:
        future.get(timeout=30)
    producer.close()


def completion_record(completion: dict, *, event_id: str | None = None) -> tuple[bytes, bytes, list]:
    """A completion as an LMS publishing straight onto `academy.assessments` would send it."""
    from shared.events import new_event
    from shared.events.envelope import encode

    options = {"new_id": (lambda: event_id)} if event_id else {}
    _event, body = new_event(
        "skillstack.academy.assessment.completed.v1", completion | {"completed_at": _as_datetime(completion["completed_at"])},
        source="/tests/lms", **options,
    )
    key, headers = encode(body)
    return key, body, headers


def _as_datetime(value):
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value


def consumer_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Messages in `topics` that `group` has not committed yet."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    committed = admin.list_group_offsets({group: None})[group]
    admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    ends = consumer.end_offsets(partitions)
    consumer.close()
    return sum(end - max(committed[tp].offset, 0) if tp in committed else end for tp, end in ends.items())
