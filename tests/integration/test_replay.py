"""The rebuild: state built event by event equals state rebuilt from scratch by replaying the topics.

Both sides run against real PostgreSQL and the real broker. The projection tables have natural
keys (achievement and credential ids) and take every timestamp from the events, so rows are
compared whole; only `processed_events.processed_at` and the outbox (delivery bookkeeping,
which the replay does not write) legitimately differ, and they are not compared.
"""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.pathways.handlers import TOPICS, build_handlers
from services.pathways.models import Level, LevelRequirement, Pathway, Person
from services.pathways.replay import rebuild_projections
from shared.bus.consumer import EventConsumer
from shared.bus.kafka import make_consumer, make_producer
from shared.db import Database
from shared.events import new_event
from shared.events.envelope import encode
from shared.migrations import upgrade
from tests.conftest import ROOT, _required_env
from tests.support import consumer_lag, produce, unique, wait_for

pytestmark = pytest.mark.infra

SOURCE = "/skillstack/pathways"
CLOCK = datetime(2027, 5, 4, 9, tzinfo=UTC)
DEFINED = "skillstack.issuer.credential.defined.v1"
ISSUED = "skillstack.issuer.credential.issued.v1"
REVOKED = "skillstack.issuer.credential.revoked.v1"
EXPIRED = "skillstack.issuer.credential.expired.v1"


@pytest.fixture
def fresh_database(kafka_bootstrap):
    """Make empty pathways databases migrated to head, as a new deployment would have; drop them after."""
    base = _required_env("SKILLSTACK_TEST_POSTGRES")
    conninfo = make_url(f"{base}/postgres").set(drivername="postgresql").render_as_string(hide_password=False)
    made: list[tuple[str, Database]] = []

    def make() -> Database:
        name = f"test_pathways_replay_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        upgrade(ROOT / "services" / "pathways" / "migrations", f"{base}/{name}")
        made.append((name, Database(f"{base}/{name}")))
        return made[-1][1]

    yield make
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for name, database in made:
            database.dispose()
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- events, as the issuer publishes them --------------------------------------------------------


def defined(achievement_id: str, version: int, name: str, **overrides):
    return DEFINED, {
        "achievement_id": achievement_id, "version": version, "name": name, "description": f"{name}.",
        "assessment_id": unique("assessment"), "min_score": 80, "retired": False,
    } | overrides


def credential(event_type: str, credential_id: str, employee_id: str, achievement_id: str, **fields):
    return event_type, {
        "credential_id": credential_id, "employee_id": employee_id, "achievement_id": achievement_id,
        "achievement_name": "Some credential",
    } | fields


def issued(credential_id, employee_id, achievement_id, *, valid_until=None):
    return credential(
        ISSUED, credential_id, employee_id, achievement_id, achievement_version=1,
        issued_at=CLOCK - timedelta(days=30), valid_until=valid_until, source_event_id=unique("completion"),
    )


def publish(bootstrap: str, topic: str, events: list[tuple[str, dict]]) -> None:
    """Send events onto a topic, keyed as the issuer keys them, and wait for the broker's ack."""
    records = []
    for event_type, data in events:
        _event, body = new_event(event_type, data, source="/skillstack/issuer")
        key, headers = encode(body)
        records.append((key, body, headers))
    produce(bootstrap, topic, records)


# --- incremental processing: the worker's consumer and handlers ---------------------------------


def start_at_the_end(bootstrap: str, group: str) -> None:
    """Commit a new group's offsets at the topics' current ends, so it handles only what comes next."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, number) for topic in TOPICS for number in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        consumer.commit({partition: OffsetAndMetadata(end, "", -1) for partition, end in consumer.end_offsets(partitions).items()})
    finally:
        consumer.close()


def process_incrementally(bootstrap: str, database: Database, group: str) -> None:
    """Run the pathways consumer with its real handlers until the group has caught up."""
    consumer = make_consumer(bootstrap, group, TOPICS)
    dead_letters = make_producer(bootstrap, f"{group}-dlq")
    stop = threading.Event()
    loop = EventConsumer(database, consumer, dead_letters, group=group, handlers=build_handlers(source=SOURCE, clock=lambda: CLOCK))
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: consumer_lag(bootstrap, group, TOPICS) == 0, timeout=30, interval=0.3, message="the consumer to catch up")
    finally:
        stop.set()
        thread.join(timeout=15)
        consumer.close()
        dead_letters.close(timeout=5)
    assert not thread.is_alive()


def snapshot(database: Database, achievements: list[str], credentials: list[str]) -> dict[str, list[dict]]:
    """This test's rows of the two projections, in key order."""
    with database.transaction() as session:
        return {
            "catalog": [dict(row) for row in session.execute(
                text("SELECT * FROM catalog WHERE achievement_id = ANY(:ids) ORDER BY achievement_id"), {"ids": achievements}
            ).mappings()],
            "held_credentials": [dict(row) for row in session.execute(
                text("SELECT * FROM held_credentials WHERE credential_id = ANY(:ids) ORDER BY credential_id"), {"ids": credentials}
            ).mappings()],
        }


def rows(database: Database, sql: str, **params) -> list[dict]:
    with database.transaction() as session:
        return [dict(row) for row in session.execute(text(sql), params).mappings()]


# --- the replay test ------------------------------------------------------------------------------


def test_a_rebuild_from_scratch_ends_in_the_state_incremental_processing_reached(kafka_bootstrap, fresh_database):
    incremental, rebuilt = fresh_database(), fresh_database()
    group = unique("pathways-replay-test")
    start_at_the_end(kafka_bootstrap, group)
    sql, python = unique("sql-foundations"), unique("python-foundations")
    alice, bob = unique("emp"), unique("emp")
    revoked_one, expiring_one, kept_one = unique("credential"), unique("credential"), unique("credential")
    publish(kafka_bootstrap, "issuer.catalog", [
        defined(sql, 1, "SQL Foundations"),
        defined(sql, 2, "SQL Foundations (2027)", category="technical"),
        defined(sql, 1, "SQL Foundations"),  # an older version redelivered late: the projection keeps v2
        defined(python, 1, "Python Foundations", retired=True),
    ])
    publish(kafka_bootstrap, "issuer.credentials", [
        issued(revoked_one, alice, sql),
        issued(expiring_one, alice, python, valid_until=CLOCK - timedelta(days=1)),
        issued(kept_one, bob, sql),
        credential(REVOKED, revoked_one, alice, sql, revoked_at=CLOCK, reason="issued in error"),
        credential(EXPIRED, expiring_one, alice, python, valid_until=CLOCK - timedelta(days=1)),
    ])
    produce(kafka_bootstrap, "issuer.credentials", [(alice.encode(), b"not an event " + alice.encode(), [])])

    process_incrementally(kafka_bootstrap, incremental, group)
    built = snapshot(incremental, [sql, python], [revoked_one, expiring_one, kept_one])
    report = rebuild_projections(rebuilt, kafka_bootstrap, source=SOURCE, clock=lambda: CLOCK)

    assert snapshot(rebuilt, [sql, python], [revoked_one, expiring_one, kept_one]) == built
    assert [(row["achievement_id"], row["version"], row["name"], row["retired"]) for row in built["catalog"]] == sorted(
        [(sql, 2, "SQL Foundations (2027)", False), (python, 1, "Python Foundations", True)]
    )
    assert {row["credential_id"]: row["status"] for row in built["held_credentials"]} == {
        revoked_one: "revoked", expiring_one: "expired", kept_one: "valid",
    }
    catalog, credentials = report.topics["issuer.catalog"], report.topics["issuer.credentials"]
    assert catalog.applied >= 4 and credentials.applied >= 5 and credentials.poison >= 1
    assert report.rows["held_credentials"] >= 3
    assert rows(rebuilt, "SELECT * FROM outbox") == []


def test_a_rebuild_in_place_keeps_decided_requests_and_attained_levels_and_announces_nothing(kafka_bootstrap, fresh_database):
    database = fresh_database()
    group = unique("pathways-replay-test")
    start_at_the_end(kafka_bootstrap, group)
    sql, python = unique("sql-foundations"), unique("python-foundations")
    employee, manager, pathway = unique("emp"), unique("mgr"), unique("data-analyst")
    with database.transaction() as session:
        session.add_all([
            Person(employee_id=manager, email=f"{manager}@example.com", name="Manager", updated_at=CLOCK),
            Person(employee_id=employee, email=f"{employee}@example.com", name="Employee", manager_id=manager, updated_at=CLOCK),
            Pathway(id=pathway, name="Data Analyst", created_at=CLOCK),
        ])
        session.flush()
        session.add_all([
            Level(pathway_id=pathway, number=1, name="Junior", required_achievements=[sql], requires_approval=False),
            Level(pathway_id=pathway, number=2, name="Associate", required_achievements=[python], requires_approval=True),
            LevelRequirement(achievement_id=sql, pathway_id=pathway, level=1),
            LevelRequirement(achievement_id=python, pathway_id=pathway, level=2),
        ])
    publish(kafka_bootstrap, "issuer.catalog", [defined(sql, 1, "SQL Foundations"), defined(python, 1, "Python Foundations")])
    publish(kafka_bootstrap, "issuer.credentials", [issued(unique("credential"), employee, sql), issued(unique("credential"), employee, python)])
    process_incrementally(kafka_bootstrap, database, group)
    [request] = rows(database, "SELECT id, level, status FROM advancement_requests WHERE employee_id = :e", e=employee)
    assert (request["level"], request["status"]) == (2, "open")
    # The manager rejects it (as the decision endpoint records it); replaying the issued event
    # through the progress rule would reopen it, since a rejected request reopens on new evidence.
    with database.transaction() as session:
        session.execute(text("UPDATE advancement_requests SET status = 'rejected', decided_by = :m WHERE id = :id"), {"m": manager, "id": request["id"]})
    progress_sql = {
        "attainments": "SELECT * FROM level_attainments WHERE employee_id = :e ORDER BY pathway_id, level",
        "requests": "SELECT * FROM advancement_requests WHERE employee_id = :e ORDER BY id",
        "outbox": "SELECT * FROM outbox ORDER BY id",
    }
    before = {name: rows(database, sql_text, e=employee) for name, sql_text in progress_sql.items()}
    projections = snapshot(database, [sql, python], [])
    assert [row["level"] for row in before["attainments"]] == [1]

    rebuild_projections(database, kafka_bootstrap, source=SOURCE, clock=lambda: CLOCK)

    assert {name: rows(database, sql_text, e=employee) for name, sql_text in progress_sql.items()} == before
    assert snapshot(database, [sql, python], [])["catalog"] == projections["catalog"]
    assert len(rows(database, "SELECT * FROM held_credentials WHERE employee_id = :e", e=employee)) == 2
