"""A worker as Prometheus sees it: after some traffic its /metrics shows every series of the bus and
of issuance, and its /healthz follows the consumer loop."""

import urllib.request

from services.issuer.app import create_app as create_issuer
from tests.conftest import service_config
from tests.e2e.conftest import ARTIFACTS, Worker
from tests.operations import fresh_database, scrape, series, start_group_at_end, total, worker_env
from tests.support import bearer, completion_record, free_port, produce, unique, wait_for

COMPLETED = "skillstack.academy.assessment.completed.v1"
ISSUED = "skillstack.issuer.credential.issued.v1"
WORKER_SERIES = {
    "skillstack_events_consumed_total", "skillstack_events_published_total", "skillstack_consumer_lag",
    "skillstack_outbox_backlog", "skillstack_dlq_messages_total", "skillstack_issuance_latency_seconds_count",
    "skillstack_issuance_latency_seconds_bucket",
}


def define_achievement(url: str, kafka_bootstrap: str) -> str:
    """HR defines a credential through the issuer's API (its worker relays the event); its assessment id."""
    app = create_issuer(service_config("issuer", url, kafka_bootstrap))
    assessment = unique("sql-101")
    definition = {"id": unique("sql"), "name": "SQL Foundations", "description": "Joins.", "assessment_id": assessment, "min_score": 80}
    response = app.test_client().post("/api/achievements", json=definition, headers=bearer("issuer", unique("hr"), roles=("hr-admin",)))
    assert response.status_code == 201, response.get_data(as_text=True)
    app.extensions["database"].dispose()
    return assessment


def test_the_issuer_worker_exposes_every_series_after_some_traffic(kafka_bootstrap):
    group, port = unique("issuer-metrics"), free_port()
    start_group_at_end(kafka_bootstrap, group, ["academy.assessments", "directory.people"])
    with fresh_database("issuer") as url:
        assessment = define_achievement(url, kafka_bootstrap)
        env = worker_env("issuer", url, kafka_bootstrap, CONSUMER_GROUP=group, METRICS_PORT=str(port), CONSUMER_LAG_INTERVAL_SECONDS="1")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        worker = Worker("issuer", env, ARTIFACTS / "metrics-issuer-worker.log")
        worker.start()
        try:
            employee = unique("emp")
            passed = completion_record({"attempt_id": unique("attempt"), "employee_id": employee, "email": f"{employee}@example.com",
                                        "assessment_id": assessment, "score": 91, "completed_at": "2027-01-04T09:00:00Z"})
            produce(kafka_bootstrap, "academy.assessments", [passed, passed, (employee.encode(), b"not an event", [])])
            metrics = f"http://127.0.0.1:{port}/metrics"

            def everything_counted():
                try:
                    page = scrape(metrics)
                except OSError:  # the worker is still starting
                    return None
                done = total(page, "skillstack_events_published_total", topic="issuer.credentials", type=ISSUED) >= 1
                caught_up = ("skillstack_consumer_lag", frozenset({("topic", "academy.assessments"), ("partition", "0")})) in page
                done = done and caught_up and total(page, "skillstack_consumer_lag", topic="academy.assessments") == 0
                done = done and ("skillstack_outbox_backlog", frozenset()) in page and total(page, "skillstack_outbox_backlog") == 0
                return page if done and WORKER_SERIES <= series(page) else None

            page = wait_for(everything_counted, timeout=60, interval=0.5, message="every worker series")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert response.status == 200
        finally:
            assert worker.stop() == 0

    consumed = lambda outcome, type=COMPLETED: total(page, "skillstack_events_consumed_total", topic="academy.assessments", type=type, outcome=outcome)
    assert (consumed("handled"), consumed("duplicate"), consumed("dead_lettered", "unknown")) == (1, 1, 1)
    assert total(page, "skillstack_dlq_messages_total", topic="academy.assessments.dlq") == 1
    assert total(page, "skillstack_events_published_total", topic="issuer.catalog") == 1  # HR's definition, relayed
    assert total(page, "skillstack_issuance_latency_seconds_count") == 1
    assert total(page, "skillstack_outbox_backlog") == 0
    assert total(page, "skillstack_consumer_lag", topic="academy.assessments") == 0
