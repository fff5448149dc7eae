"""The delivery machinery against real servers: outbox relay and consumer on Kafka, email dispatch over SMTP."""

import email
import json
import threading
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.notifications.delivery import Dispatcher, RetryPolicy
from services.notifications.email_delivery import EmailDispatcher, SmtpSettings
from services.notifications.handlers import build_handlers as notification_handlers
from services.notifications.models import Delivery
from shared.bus.consumer import EventConsumer
from shared.bus.kafka import make_consumer, make_producer
from shared.bus.outbox import publish
from shared.bus.relay import OutboxRelay
from shared.events import new_event
from shared.events.envelope import encode
from tests.integration.helpers import handle, rows
from tests.integration.test_notifications_api import choose, messenger
from tests.support import free_port, read_topic, unique, wait_for

pytestmark = pytest.mark.infra

ISSUED = "skillstack.issuer.credential.issued.v1"
COMPLETED = "skillstack.academy.assessment.completed.v1"
PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
ASSESSMENTS = "academy.assessments"


def issued_data(employee_id: str, *, at: datetime) -> dict:
    return {
        "credential_id": unique("credential"),
        "employee_id": employee_id,
        "achievement_id": unique("sql-foundations"),
        "achievement_version": 1,
        "achievement_name": "SQL Foundations",
        "issued_at": at,
        "valid_until": None,
        "source_event_id": unique("completion"),
    }


# --- the outbox relay ---------------------------------------------------------------------------


def test_the_relay_publishes_a_committed_outbox_row_as_a_cloudevent_keyed_by_employee(apps, kafka_bootstrap):
    database = apps["issuer"].extensions["database"]
    employee = unique("emp")
    with database.transaction() as session:
        event = publish(session, ISSUED, issued_data(employee, at=datetime.now(UTC)), source="/skillstack/issuer")
    producer = make_producer(kafka_bootstrap, "integration-relay")
    try:
        relay = OutboxRelay(database, producer)
        wait_for(
            lambda: relay.relay_once() == 0 and published_at(apps["issuer"], event.id),
            timeout=20,
            message="the outbox row to be relayed",
        )
    finally:
        producer.close(timeout=5)

    [record] = wait_for(
        lambda: [r for r in read_topic(kafka_bootstrap, "issuer.credentials") if r.key == employee.encode()],
        timeout=20,
        message="the relayed record",
    )

    headers = {name: value.decode() for name, value in record.headers}
    assert headers["content-type"] == "application/cloudevents+json"
    assert {name: headers[f"ce_{name}"] for name in ("id", "type", "source", "subject", "specversion")} == {
        "id": event.id,
        "type": ISSUED,
        "source": "/skillstack/issuer",
        "subject": employee,
        "specversion": "1.0",
    }
    assert datetime.fromisoformat(headers["ce_time"].replace("Z", "+00:00")) == event.time
    body = json.loads(record.value)
    assert (body["id"], body["type"], body["data"]["employee_id"]) == (event.id, ISSUED, employee)
    assert body["data"]["credential_id"] == event.data["credential_id"]


def published_at(app, event_id: str):
    [row] = rows(app, "SELECT published_at FROM outbox WHERE event_id = :id", id=event_id)
    return row["published_at"]


# --- the idempotent consumer ----------------------------------------------------------------------


def completion_data(employee: str, marker: str, **overrides) -> dict:
    return {
        "attempt_id": f"{marker}-attempt",
        "employee_id": employee,
        "email": None,
        "assessment_id": "sql-101",
        "score": 86.0,
        "completed_at": datetime(2027, 1, 30, tzinfo=UTC),
        "source": "lms",
    } | overrides


def cloud_event(event_id: str, event_type: str, data: dict) -> bytes:
    """A structured-mode CloudEvent written by hand, to carry what our own encoder refuses."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "/tests/integration",
            "type": event_type,
            "time": "2027-01-30T00:00:00Z",
            "datacontenttype": "application/json",
            "data": data,
        }
    ).encode()


def produce(bootstrap: str, key: str, values: dict[str, bytes], headers: dict[str, list]) -> dict:
    """Send records with one key (so one partition, in order); return each one's metadata by name."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        return {
            name: producer.send(ASSESSMENTS, key=key.encode(), value=value, headers=headers.get(name, [])).get(timeout=20)
            for name, value in values.items()
        }
    finally:
        producer.close(timeout=5)


def consume_until(bootstrap: str, database, group: str, handlers: dict, done) -> None:
    """Run an EventConsumer for a consumer group in a thread until `done()` holds, then stop it."""
    consumer = make_consumer(bootstrap, group, [ASSESSMENTS])
    dead_letters = make_producer(bootstrap, "integration-consumer")
    stop = threading.Event()
    loop = EventConsumer(database, consumer, dead_letters, group=group, handlers=handlers)
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(done, timeout=30, message="the consumer to handle the valid event")
    finally:
        stop.set()
        thread.join(timeout=15)
        consumer.close()
        dead_letters.close(timeout=5)
    assert not thread.is_alive()


def committed_offset(bootstrap: str, group: str, partition: TopicPartition) -> int | None:
    reader = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return reader.committed(partition)
    finally:
        reader.close()


def test_the_consumer_dead_letters_poison_handles_the_valid_event_once_and_commits_past_all(apps, kafka_bootstrap):
    employee, marker, group = unique("emp"), unique("poison"), unique("integration-consumer")
    valid, valid_body = new_event(COMPLETED, completion_data(employee, marker), source="/tests/integration")
    invalid_data = {key: str(value) for key, value in completion_data(employee, marker).items()} | {"score": 150}
    values = {
        "not json": b"this is not JSON " + marker.encode(),
        "invalid data": cloud_event(f"{marker}-invalid", COMPLETED, invalid_data),
        "unknown type": cloud_event(f"{marker}-unknown", "skillstack.academy.assessment.graded.v1", {"note": marker}),
        "valid": valid_body,
    }
    sent = produce(kafka_bootstrap, employee, values, {"valid": encode(valid_body)[1]})
    handled: list[str] = []

    consume_until(
        kafka_bootstrap,
        apps["issuer"].extensions["database"],
        group,
        {COMPLETED: lambda _session, event: handled.append(event.id)},
        lambda: valid.id in handled,
    )

    assert handled.count(valid.id) == 1
    processed = "SELECT event_type FROM processed_events WHERE consumer_group = :g AND event_id = :id"
    assert rows(apps["issuer"], processed, g=group, id=valid.id) == [{"event_type": COMPLETED}]
    dead = {
        record.value: {name: value.decode() for name, value in record.headers}
        for record in read_topic(kafka_bootstrap, f"{ASSESSMENTS}.dlq")
        if marker.encode() in record.value
    }
    poison = ("not json", "invalid data", "unknown type")
    assert set(dead) == {values[name] for name in poison}
    errors = {name: dead[values[name]] for name in poison}
    assert "not a CloudEvents JSON document" in errors["not json"]["dlq.error"]
    assert "score" in errors["invalid data"]["dlq.error"]
    assert errors["invalid data"]["dlq.error.class"] == "EventValidationError"
    assert "unknown event type" in errors["unknown type"]["dlq.error"]
    for name, headers in errors.items():
        source = (headers["dlq.source.topic"], int(headers["dlq.source.partition"]), int(headers["dlq.source.offset"]))
        assert source == (ASSESSMENTS, sent[name].partition, sent[name].offset)
        assert headers["dlq.consumer.group"] == group
    [partition] = {TopicPartition(ASSESSMENTS, metadata.partition) for metadata in sent.values()}
    assert committed_offset(kafka_bootstrap, group, partition) > max(metadata.offset for metadata in sent.values())


# --- email dispatch over SMTP ---------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_emails_wait_for_the_mail_server_then_arrive_exactly_once(apps):
    notifications = apps["notifications"]
    database = notifications.extensions["database"]
    # A clock of its own, long ago, so only this test's emails are due for its dispatcher.
    clock = datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)
    handlers = notification_handlers(clock=lambda: clock, messenger=messenger())
    employee, manager = unique("ada"), unique("boss")
    for person, name, boss in ((manager, "Charles Babbage", None), (employee, "Ada Lovelace", manager)):
        person_data = {"employee_id": person, "email": f"{person}@example.com", "name": name, "manager_id": boss}
        handle(notifications, handlers, PERSON_UPSERTED, person_data)
    choose(notifications, manager, "report-earned-credential", "email", "immediate")
    event = handle(notifications, handlers, ISSUED, issued_data(employee, at=clock))

    def deliveries() -> list[dict]:
        query = "SELECT * FROM deliveries WHERE event_id = :e ORDER BY recipient_id"
        return rows(notifications, query, e=event.id)

    assert [row["status"] for row in deliveries()] == ["pending", "pending"]
    port = free_port()
    smtp = SmtpSettings(host="127.0.0.1", port=port, sender="skillstack@test", timeout=5)
    dispatcher = EmailDispatcher(database, smtp, RetryPolicy(max_attempts=5, base_seconds=0.0), lambda: clock)

    assert dispatcher.send_due() == 0

    for row in deliveries():
        assert (row["status"], row["attempts"], row["sent_at"]) == ("retrying", 1, None)
        assert row["last_error"]
    mailbox = Mailbox()
    server = Controller(mailbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        assert dispatcher.send_due() == 2
        assert dispatcher.send_due() == 0
    finally:
        server.stop()

    by_recipient = {row["recipient_id"]: row for row in deliveries()}
    assert {(row["status"], row["attempts"], row["last_error"]) for row in by_recipient.values()} == {("sent", 2, None)}
    assert sorted(recipients for recipients, _ in mailbox.messages) == sorted(
        [[f"{employee}@example.com"], [f"{manager}@example.com"]]
    )
    for recipients, content in mailbox.messages:
        message = email.message_from_bytes(content, policy=policy.default)
        person = recipients[0].split("@")[0]
        assert message["To"].addresses[0].addr_spec == recipients[0]
        assert message["From"] == "skillstack@test"
        assert message["Message-ID"] == f"<{by_recipient[person]['id']}@skillstack>"
        assert message["Subject"] == by_recipient[person]["subject"]
        assert message.get_content_type() == "multipart/alternative"
        parts = {part.get_content_type(): part.get_content().replace("\r\n", "\n") for part in message.iter_parts()}
        assert set(parts) == {"text/plain", "text/html"}
        assert parts["text/plain"].strip() == by_recipient[person]["text_body"].strip()
        assert "SQL Foundations" in parts["text/html"]


class SlowChannel(Dispatcher):
    """A channel whose every send takes 25 s of its clock, noting the lease each delivery holds as it goes out."""

    channel = "email"

    def __init__(self, database, start: datetime):
        super().__init__(database, RetryPolicy(), lambda: self.now)
        self.now, self.leases = start, []

    def targets_of(self, session, due):
        return {}

    def send_batch(self, due, targets):
        for delivery in due:
            with self.database.transaction() as session:
                self.leases.append(session.get(Delivery, delivery.id).next_attempt_at)
            self.now += timedelta(seconds=25)
            self.record(delivery.id, None)
        return len(due)


def test_a_batch_keeps_its_claim_while_it_is_sent_and_a_dead_workers_claim_lapses_after_a_minute(apps):
    database = apps["notifications"].extensions["database"]
    start = datetime(1999, 1, 1, tzinfo=UTC)  # a clock of its own: only this test's deliveries are due for it
    ids = [unique("delivery") for _ in range(5)]
    with database.transaction() as session:
        for delivery_id in ids:
            session.add(Delivery(
                id=delivery_id, recipient_id=unique("emp"), event_id=unique("evt"), channel="email", kind="credential-issued",
                subject="s", text_body="t", html_body="h", status="pending", attempts=0, next_attempt_at=start, created_at=start,
            ))
    dispatcher = SlowChannel(database, start)

    assert dispatcher.send_due(batch_size=4) == 4

    # each send found its delivery's claim extended while the ones before it went out: no lease ever lapsed
    assert dispatcher.leases == [start + timedelta(seconds=25 * sent) + Dispatcher.LEASE for sent in range(4)]
    dead = SlowChannel(database, start)
    dead.send_batch = lambda due, targets: 0  # claims the last one and dies before sending it
    assert dead.send_due() == 0
    taker = SlowChannel(database, start + Dispatcher.LEASE - timedelta(seconds=1))
    assert taker.send_due() == 0
    taker.now = start + Dispatcher.LEASE
    assert taker.send_due() == 1
    with database.transaction() as session:
        assert {session.get(Delivery, delivery_id).status for delivery_id in ids} == {"sent"}
