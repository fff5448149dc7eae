"""Scaling out: two pathways workers in one consumer group share the partitions, and every event
is handled exactly once between them."""

import time
from datetime import UTC, datetime

from shared.events import new_event
from shared.events.envelope import encode
from tests.e2e.conftest import ARTIFACTS, Worker
from tests.e2e.test_exactly_once import count
from tests.operations import fresh_database, group_assignment, scrape, start_group_at_end, total, worker_env
from tests.support import free_port, produce, unique, wait_for

TOPICS = ["issuer.catalog", "issuer.credentials"]  # what a pathways worker consumes
ISSUED = "skillstack.issuer.credential.issued.v1"
EVENTS = 240


def credential_issued(employee_id: str) -> tuple[bytes, bytes, list]:
    """An issued credential as the issuer's relay publishes it."""
    _event, body = new_event(ISSUED, {
        "credential_id": unique("cred"), "employee_id": employee_id, "achievement_id": "sql-foundations",
        "achievement_version": 1, "achievement_name": "SQL Foundations", "issued_at": datetime.now(UTC),
        "valid_until": None, "source_event_id": unique("completion"),
    }, source="/skillstack/issuer")
    key, headers = encode(body)
    return key, body, headers


def both_members_assigned(bootstrap: str, group: str) -> dict[str, set] | None:
    members = group_assignment(bootstrap, group)
    return members if len(members) == 2 and all(members.values()) else None


def test_two_workers_in_one_group_split_the_partitions_and_handle_each_event_once(kafka_bootstrap):
    group = unique("pathways-scaled")
    start_group_at_end(kafka_bootstrap, group, TOPICS)  # only this test's events, not the topics' history
    with fresh_database("pathways") as url:
        ports = [free_port(), free_port()]
        workers = [
            Worker("pathways", worker_env("pathways", url, kafka_bootstrap, CONSUMER_GROUP=group, METRICS_PORT=str(port)),
                   ARTIFACTS / f"scaled-pathways-{number}.log")
            for number, port in enumerate(ports, start=1)
        ]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for worker in workers:
            worker.start()
        try:
            wait_for(lambda: both_members_assigned(kafka_bootstrap, group), timeout=60, interval=0.5, message="two members with partitions")
            employees = [unique("emp") for _ in range(60)]
            produce(kafka_bootstrap, "issuer.credentials", [credential_issued(employees[n % len(employees)]) for n in range(EVENTS)])

            held = lambda: count(url, "SELECT count(*) FROM held_credentials")
            wait_for(lambda: held() == EVENTS, timeout=90, interval=0.5, message="every credential held")
            time.sleep(1)  # a late duplicate would show in the rows by now
            members = both_members_assigned(kafka_bootstrap, group)
            pages = [scrape(f"http://127.0.0.1:{port}/metrics") for port in ports]
        finally:
            exit_codes = [worker.stop() for worker in workers]

        everything = {(topic, number) for topic in TOPICS for number in range(3)}
        first, second = members.values()
        assert first and second and not first & second and first | second == everything  # split, each partition once
        assert held() == EVENTS
        assert count(url, "SELECT count(DISTINCT credential_id) FROM held_credentials") == EVENTS
        assert count(url, "SELECT count(*) FROM processed_events WHERE consumer_group = :g", g=group) == EVENTS
        handled = [total(page, "skillstack_events_consumed_total", topic="issuer.credentials", type=ISSUED, outcome="handled") for page in pages]
        assert all(count > 0 for count in handled) and sum(handled) == EVENTS  # both worked, nothing twice
        assert exit_codes == [0, 0]
