"""Malformed events fed to each service's consumer: every one ends on the dead-letter topic (or is
ignored, for a catalog type the service does not handle), the consumer never leaves its loop, and a
valid event behind them still takes effect.

Hypothesis makes the records: raw bytes (invalid UTF-8 too), any JSON, and CloudEvents with a
required attribute missing, a wrong specversion, an unknown type, attributes and data fields of the
wrong type, data missing, and huge strings. The real EventConsumer decodes, validates and dispatches
them to the service's real handlers on its test database, and dead-letters onto the real broker:
record by record through `handle_record` (many examples), then a batch through the broker and the
consumer's own poll loop (fewer).
"""

import json
import threading
from datetime import UTC, datetime

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, strategies as st
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord

from shared.bus.consumer import EventConsumer
from shared.bus.kafka import dead_letter_topic, make_consumer, make_producer
from shared.events import EventDecodeError, EventValidationError, decode, new_event
from shared.metrics import EVENTS_CONSUMED
from tests.integration.helpers import count, issuer_handlers
from tests.integration.pathways_support import handlers as pathways_handlers
from tests.integration.test_notifications_api import handlers as notifications_handlers
from tests.support import produce, read_topic, unique, wait_for

pytestmark = pytest.mark.infra

CLOCK = datetime(2027, 5, 4, 9, tzinfo=UTC)
COMPLETED = "skillstack.academy.assessment.completed.v1"
PERSON = "skillstack.directory.person.upserted.v1"
DEFINED = "skillstack.issuer.credential.defined.v1"
ISSUED = "skillstack.issuer.credential.issued.v1"
REVOKED = "skillstack.issuer.credential.revoked.v1"
REQUESTED = "skillstack.pathways.advancement.requested.v1"
OUTCOMES = ("handled", "duplicate", "ignored", "dead_lettered")
EXAMPLES_PER_SERVICE, BATCH_PER_SERVICE = 80, 30


def valid_data(event_type: str) -> dict:
    """Data a producer would send for one event type, with fresh ids."""
    employee, achievement = unique("emp"), unique("ach")
    credential = {"credential_id": unique("cred"), "employee_id": employee, "achievement_id": achievement,
                  "achievement_name": "SQL Foundations"}
    return {
        COMPLETED: {"attempt_id": unique("attempt"), "employee_id": employee, "email": "ada@example.com",
                    "assessment_id": unique("assessment"), "score": 91.0, "completed_at": CLOCK, "source": "lms"},
        PERSON: {"employee_id": employee, "email": f"{employee}@example.com", "name": "Ada Lovelace", "manager_id": None},
        DEFINED: {"achievement_id": achievement, "version": 1, "name": "SQL", "description": "Joins.", "category": "technical",
                  "assessment_id": unique("assessment"), "min_score": 80, "validity_months": None, "retired": False},
        ISSUED: credential | {"achievement_version": 1, "issued_at": CLOCK, "valid_until": None, "source_event_id": unique("evt")},
        REVOKED: credential | {"revoked_at": CLOCK, "reason": "Issued in error"},
        REQUESTED: {"request_id": unique("request"), "employee_id": employee, "manager_id": unique("boss"),
                    "pathway_id": unique("pathway"), "pathway_name": "Data Analyst", "level": 1, "level_name": "Junior",
                    "requested_at": CLOCK},
    }[event_type]


def envelope(event_type: str) -> dict:
    """A valid CloudEvent of the type as a JSON object, ready to be broken."""
    _event, body = new_event(event_type, valid_data(event_type), source="/tests/fuzz")
    return json.loads(body)


SERVICES = {  # each service's handlers (as its worker builds them), and the event types its topics carry
    "issuer": (lambda app: issuer_handlers(app, CLOCK), (COMPLETED, PERSON)),
    "pathways": (lambda app: pathways_handlers(CLOCK), (DEFINED, ISSUED, REVOKED)),
    "notifications": (lambda app: notifications_handlers(CLOCK), (PERSON, ISSUED, REVOKED, REQUESTED)),
}
VALID_AFTER = {  # the valid event sent after the poison, and the row its handler writes
    "issuer": (PERSON, "people", "employee_id"), "pathways": (DEFINED, "catalog", "achievement_id"),
    "notifications": (PERSON, "recipients", "employee_id"),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
wrong_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2), st.text(max_size=20),
    st.just("x" * 100_000), st.just("<script>alert(1)</script>\u202e\u0000"),
)


@st.composite
def broken_events(draw, event_types: tuple[str, ...]) -> dict:
    """A CloudEvent of one of the types with one thing wrong: an attribute or a data field."""
    document = envelope(draw(st.sampled_from(event_types)))
    breakage = draw(st.sampled_from(["drop attribute", "attribute value", "specversion", "type", "drop data", "data value",
                                     "data field value", "drop data field", "huge text"]))
    if breakage == "drop attribute":
        del document[draw(st.sampled_from(["id", "source", "type", "specversion"]))]
    elif breakage == "attribute value":
        document[draw(st.sampled_from(["id", "source", "type", "time", "subject", "datacontenttype"]))] = draw(wrong_values)
    elif breakage == "specversion":
        document["specversion"] = draw(st.one_of(st.sampled_from(["0.3", "1", "2.0", " 1.0", ""]), wrong_values))
    elif breakage == "type":
        document["type"] = draw(st.one_of(st.text(max_size=60), st.sampled_from(["skillstack.academy.assessment.graded.v9"])))
    elif breakage == "drop data":
        del document["data"]
    elif breakage == "data value":
        document["data"] = draw(json_values)
    else:
        field = draw(st.sampled_from(sorted(document["data"])))
        if breakage == "drop data field":
            del document["data"][field]
        elif breakage == "huge text":
            document["data"][field] = "é" * 20_000
        else:
            document["data"][field] = draw(wrong_values)
    return document


def poison(event_types: tuple[str, ...]):
    """Records that are not a valid event of the types: bytes, JSON, broken CloudEvents."""
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(json.dumps).map(str.encode),
        broken_events(event_types).map(json.dumps).map(str.encode),
    )


def decodes(value: bytes) -> bool:
    """Whether the envelope reads a record as a valid event of the catalog."""
    try:
        decode(value)
    except (EventDecodeError, EventValidationError):
        return False
    return True


def outcome_counts(topic: str) -> dict[str, float]:
    """How many records of the topic the consumer counted under each outcome so far."""
    totals = dict.fromkeys(OUTCOMES, 0.0)
    for metric in EVENTS_CONSUMED.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["topic"] == topic and sample.labels["outcome"] in totals:
                totals[sample.labels["outcome"]] += sample.value
    return totals


@pytest.fixture
def own_topic(kafka_bootstrap):
    """A topic of this test's own, with its dead-letter topic, so what lands there is only its own."""
    topic = unique("fuzz-events")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1) for name in (topic, dead_letter_topic(topic))])
    admin.close()
    return topic


def consumer_of(app, service: str, kafka_bootstrap: str, topic: str) -> EventConsumer:
    """The service's real consumer on its test database and handlers, reading `topic`."""
    group = unique(f"fuzz-{service}")
    build, _types = SERVICES[service]
    return EventConsumer(
        app.extensions["database"], make_consumer(kafka_bootstrap, group, [topic]), make_producer(kafka_bootstrap, group),
        group=group, handlers=build(app), max_attempts=2, base_delay=0,
    )


def assert_valid_event_takes_effect(app, service: str, handle) -> None:
    """A valid event after the poison: handled, and its row written."""
    event_type, table, column = VALID_AFTER[service]
    event, body = new_event(event_type, valid_data(event_type), source="/tests/fuzz")
    handle(body)
    key = event.data[column]
    wait_for(lambda: count(app, table, f"{column} = :key", key=key) == 1, timeout=30, message=f"{event_type} handled")


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_malformed_record_is_dead_lettered_and_the_consumer_carries_on(apps, kafka_bootstrap, own_topic, service):
    app, event_types = apps[service], SERVICES[service][1]
    consumer = consumer_of(app, service, kafka_bootstrap, own_topic)
    stop, key, offsets, dead = threading.Event(), unique("fuzz").encode(), iter(range(10**6)), set()

    def handle(value: bytes) -> str:
        """Feed one record to the consumer; return the outcome it counted."""
        before = outcome_counts(own_topic)
        offset = next(offsets)
        consumer.handle_record(ConsumerRecord(own_topic, 0, -1, offset, 0, 0, key, value, [], None, len(key), len(value), 0), stop)
        after = outcome_counts(own_topic)
        [outcome] = [name for name in OUTCOMES if after[name] != before[name]]
        if outcome == "dead_lettered":
            dead.add(offset)
        return outcome

    @hypothesis.settings(max_examples=EXAMPLES_PER_SERVICE, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @hypothesis.given(value=poison(event_types))
    def fuzz(value):
        outcome = handle(value)
        if not decodes(value):
            assert outcome == "dead_lettered", (outcome, value[:300])
        else:  # broken only in what the envelope tolerates: handled, refused by the handler, or a type not handled
            assert outcome in OUTCOMES

    try:
        fuzz()
        assert_valid_event_takes_effect(app, service, handle)
    finally:
        consumer.consumer.close()
        consumer.producer.close(timeout=5)
    on_dlq = {int(dict(record.headers)["dlq.source.offset"]) for record in read_topic(kafka_bootstrap, dead_letter_topic(own_topic))}
    assert on_dlq == dead and dead
    print(f"\n{service}: {next(offsets) - 1} records fuzzed, {len(dead)} dead-lettered")


@pytest.mark.parametrize("service", list(SERVICES))
def test_a_batch_of_poison_through_the_broker_never_stops_the_poll_loop(apps, kafka_bootstrap, own_topic, service):
    app, event_types = apps[service], SERVICES[service][1]

    @hypothesis.settings(max_examples=1, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(batch=st.lists(poison(event_types).filter(lambda value: not decodes(value) and len(value) < 900_000),
                                     min_size=BATCH_PER_SERVICE, max_size=BATCH_PER_SERVICE))
    def run(batch):
        consumer = consumer_of(app, service, kafka_bootstrap, own_topic)
        stop, crashed = threading.Event(), []
        key = unique("batch").encode()
        produce(kafka_bootstrap, own_topic, [(key, value, []) for value in batch])

        def loop():
            try:
                consumer.run(stop)
            except BaseException as error:  # the worker would crash and restart onto the same record
                crashed.append(error)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            assert_valid_event_takes_effect(app, service, lambda body: produce(kafka_bootstrap, own_topic, [(key, body, [])]))
            wait_for(lambda: len(read_topic(kafka_bootstrap, dead_letter_topic(own_topic))) >= len(batch), timeout=30,
                     message="every poison record dead-lettered")
        finally:
            stop.set()
            thread.join(timeout=30)
            consumer.consumer.close()
            consumer.producer.close(timeout=5)
        assert not crashed and not thread.is_alive()
        dead = read_topic(kafka_bootstrap, dead_letter_topic(own_topic))
        assert sorted(int(dict(record.headers)["dlq.source.offset"]) for record in dead) == list(range(len(batch)))
        assert sorted(record.value for record in dead) == sorted(batch)
        reader = make_consumer(kafka_bootstrap, consumer.group, [])
        assert reader.committed(TopicPartition(own_topic, 0)) == len(batch) + 1  # past the poison and the valid event
        reader.close()

    run()


def test_deeply_nested_json_is_dead_lettered_not_a_crash_loop(apps, kafka_bootstrap, own_topic):
    consumer = consumer_of(apps["issuer"], "issuer", kafka_bootstrap, own_topic)
    value = b"[" * 100_000 + b"]" * 100_000
    try:
        consumer.handle_record(ConsumerRecord(own_topic, 0, -1, 0, 0, 0, b"deep", value, [], None, 4, len(value), 0), threading.Event())
    finally:
        consumer.consumer.close()
        consumer.producer.close(timeout=5)
    [dead] = read_topic(kafka_bootstrap, dead_letter_topic(own_topic))
    assert dict(dead.headers)["dlq.error.class"] == b"EventDecodeError"


def test_a_poison_record_near_the_size_limit_is_still_dead_lettered(apps, kafka_bootstrap, own_topic):
    consumer = consumer_of(apps["issuer"], "issuer", kafka_bootstrap, own_topic)
    consumer.base_delay = 0.5  # retries a second apart, not a busy loop
    value = b"{" + b" " * 1_048_400  # not JSON, and just small enough for a producer to have sent it
    stop = threading.Event()
    threading.Timer(5, stop.set).start()  # the operator gives up on the stuck worker
    try:
        consumer.handle_record(ConsumerRecord(own_topic, 0, -1, 0, 0, 0, b"big", value, [], None, 3, len(value), 0), stop)
    finally:
        consumer.consumer.close()
        consumer.producer.close(timeout=5)
    [dead] = read_topic(kafka_bootstrap, dead_letter_topic(own_topic))
    assert dead.value == value
