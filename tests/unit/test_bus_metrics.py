"""What the bus tells Prometheus: each consumed record's outcome, relayed events, the outbox backlog,
consumer lag, dead letters, and a worker's /metrics and /healthz."""

import io
import threading

from kafka import TopicPartition
from prometheus_client import REGISTRY

from shared.bus.lag import LagReporter
from shared.bus.relay import OutboxRelay
from shared.metrics import ISSUANCE_LATENCY, OUTBOX_BACKLOG, observe_after_commit, register, worker_endpoints
from tests.unit.fakes import FakeProducer
from tests.unit.test_consumer import PERSON_UPSERTED, TOPIC, Welcomer, Worker, database_down, person_upserted, record
from tests.unit.test_relay import publish_people


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def consumed(outcome: str, event_type: str = PERSON_UPSERTED) -> float:
    return value("skillstack_events_consumed_total", topic=TOPIC, type=event_type, outcome=outcome)


def test_each_record_is_counted_by_outcome(database):
    before = {outcome: consumed(outcome) for outcome in ("handled", "duplicate", "retried", "dead_lettered")}
    unknown_before = consumed("dead_lettered", "unknown")
    dlq_before = value("skillstack_dlq_messages_total", topic=f"{TOPIC}.dlq")
    welcomer = Welcomer(database_down(), ValueError("no mailbox"))

    def welcome_all_but_evt_2(session, event):
        if event.id == "evt-2":
            raise ValueError("emp-1042 has no mailbox")
        welcomer(session, event)

    worker = Worker(database, welcome_all_but_evt_2)

    worker.run(
        record(person_upserted("evt-1"), offset=0),  # an outage, a rejection, then handled: two retries
        record(person_upserted("evt-1"), offset=1),  # the same event again
        record(person_upserted("evt-2"), offset=2),  # rejected three times: two retries, then dead-lettered
        record(b"not json", offset=3),  # poison of no known type
    )

    after = {outcome: consumed(outcome) - before[outcome] for outcome in before}
    assert after == {"handled": 1, "duplicate": 1, "retried": 4, "dead_lettered": 1}
    assert consumed("dead_lettered", "unknown") - unknown_before == 1
    assert value("skillstack_dlq_messages_total", topic=f"{TOPIC}.dlq") - dlq_before == 2


def test_relayed_events_are_counted_and_the_backlog_reported(database):
    register(OUTBOX_BACKLOG)
    before = value("skillstack_events_published_total", topic="directory.people", type=PERSON_UPSERTED)
    publish_people(database, "emp-1", "emp-2", "emp-3")
    relay = OutboxRelay(database, FakeProducer(failing_sends={3}), backlog_interval=0)

    relay.report_backlog()
    assert value("skillstack_outbox_backlog") == 3
    try:
        relay.relay_once()
    except Exception:  # the third send is never acknowledged
        pass
    relay.report_backlog()

    assert value("skillstack_events_published_total", topic="directory.people", type=PERSON_UPSERTED) - before == 2
    assert value("skillstack_outbox_backlog") == 1


class LaggingConsumer:
    """The consumer calls the lag reporter makes: owned partitions, their end offsets and positions."""

    def __init__(self, ends: dict[TopicPartition, int], positions: dict[TopicPartition, int]):
        self.ends, self.positions = ends, positions

    def assignment(self):
        return set(self.positions)

    def end_offsets(self, partitions, timeout_ms=None):
        return {partition: self.ends[partition] for partition in partitions}

    def position(self, partition, timeout_ms=None):
        return self.positions[partition]


def test_consumer_lag_is_end_minus_position_for_owned_partitions_only():
    first, second = TopicPartition("issuer.credentials", 0), TopicPartition("issuer.credentials", 1)
    now = [0.0]
    consumer = LaggingConsumer({first: 120, second: 40}, {first: 100, second: 40})
    reporter = LagReporter(consumer, interval=10, clock=lambda: now[0])

    reporter.refresh()  # too early: nothing measured yet
    assert REGISTRY.get_sample_value("skillstack_consumer_lag", {"topic": "issuer.credentials", "partition": "0"}) is None
    now[0] = 10
    reporter.refresh()
    assert value("skillstack_consumer_lag", topic="issuer.credentials", partition="0") == 20
    assert value("skillstack_consumer_lag", topic="issuer.credentials", partition="1") == 0

    consumer.positions = {first: 120}  # a rebalance gave partition 1 to another member
    now[0] = 20
    reporter.refresh()
    assert value("skillstack_consumer_lag", topic="issuer.credentials", partition="0") == 0
    assert REGISTRY.get_sample_value("skillstack_consumer_lag", {"topic": "issuer.credentials", "partition": "1"}) is None


def test_a_latency_is_observed_when_its_transaction_commits_and_never_when_it_rolls_back(database):
    register(ISSUANCE_LATENCY)
    before = value("skillstack_issuance_latency_seconds_count")
    with database.transaction() as session:
        observe_after_commit(session, ISSUANCE_LATENCY, [1.5, 2.5])
    try:
        with database.transaction() as session:
            observe_after_commit(session, ISSUANCE_LATENCY, [9.0])
            raise RuntimeError("the handler failed after issuing")
    except RuntimeError:
        pass

    assert value("skillstack_issuance_latency_seconds_count") - before == 2


def call(app, path: str) -> tuple[str, bytes]:
    answer = {}
    body = app({"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO(), "QUERY_STRING": ""},
               lambda status, headers: answer.setdefault("status", status))
    return answer["status"], b"".join(body)


def test_a_worker_serves_metrics_and_a_liveness_that_follows_its_consumer_loop():
    alive = threading.Event()
    app = worker_endpoints(alive.is_set)

    assert call(app, "/healthz")[0].startswith("503")
    alive.set()
    assert call(app, "/healthz") == ("200 OK", b'{"status": "ok"}')
    status, page = call(app, "/metrics")
    assert status.startswith("200") and b"# TYPE skillstack_events_consumed_total counter" in page
    assert call(app, "/anything")[0].startswith("404")
