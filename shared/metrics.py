"""Prometheus metrics: the series every process exposes on `/metrics`, and how they are served.

One process per container: each web process and each worker keeps its own counters in
prometheus_client's default registry, and Prometheus scrapes every process (docs/operations.md).
A web process run by gunicorn with several workers needs `PROMETHEUS_MULTIPROC_DIR` (an empty
directory per container start); `/metrics` then adds up every worker's files.

Series that mean something in workers only (the outbox backlog, issuance latency) are created
unregistered and registered by the worker that maintains them, so a web process never shows a
zero that nobody updates.
"""

import os
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
    multiprocess,
)
from prometheus_client.registry import Collector
from sqlalchemy import event as sqlalchemy_events
from sqlalchemy.orm import Session

# --- web processes -------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "skillstack_http_requests_total", "HTTP requests answered, by route rule (not raw path) and status",
    ["service", "method", "endpoint", "status"],
)
HTTP_LATENCY = Histogram(
    "skillstack_http_request_duration_seconds", "Time to answer an HTTP request, by route rule and status",
    ["service", "method", "endpoint", "status"],
)

# --- workers -------------------------------------------------------------------------------
EVENTS_CONSUMED = Counter(
    "skillstack_events_consumed_total",
    "Events taken from Kafka by the consumer, by outcome: handled, duplicate (already processed), "
    "ignored (a type this service does not handle), retried (one failed attempt), dead_lettered",
    ["topic", "type", "outcome"],
)
EVENTS_PUBLISHED = Counter(
    "skillstack_events_published_total", "Outbox events the relay sent and the broker acknowledged", ["topic", "type"]
)
DLQ_MESSAGES = Counter(
    "skillstack_dlq_messages_total", "Records this consumer sent to a dead-letter topic, by dead-letter topic", ["topic"]
)
CONSUMER_LAG = Gauge(
    "skillstack_consumer_lag",
    "Records not yet consumed on a partition this consumer owns: end offset minus position",
    ["topic", "partition"],
)
OUTBOX_BACKLOG = Gauge(
    "skillstack_outbox_backlog", "Outbox rows committed but not yet sent to Kafka", registry=None
)
ISSUANCE_LATENCY = Histogram(
    "skillstack_issuance_latency_seconds",
    "From an assessment completion event's time to the credential it caused being issued",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
    registry=None,
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # 404s and 405s: one series, however many paths scanners try


def register(*collectors: Collector) -> None:
    """Add collectors to the default registry once (a second call is a no-op)."""
    for collector in collectors:
        try:
            REGISTRY.register(collector)
        except ValueError:  # already registered in this process
            pass


def observe_after_commit(session: Session, histogram: Histogram, values: Iterable[float]) -> None:
    """Observe values once the session's transaction commits: a rolled-back attempt is not counted."""
    pending = [max(value, 0.0) for value in values]  # a producer's clock ahead of ours is not negative latency

    def observe(_session: Session) -> None:
        for value in pending:
            histogram.observe(value)

    sqlalchemy_events.listen(session, "after_commit", observe, once=True)


def observe_request(service: str, method: str, rule: str | None, status: int, seconds: float) -> None:
    """Count one answered HTTP request and its latency."""
    labels = (service, method if method in METHODS else "OTHER", rule or UNMATCHED, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_LATENCY.labels(*labels).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """This process's metrics in the Prometheus text format, or every gunicorn worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every few seconds would drown the worker's log
        pass


def worker_endpoints(alive: Callable[[], bool]):
    """A WSGI app with `/metrics` and `/healthz` (200 while `alive()`, else 503) for a worker."""
    metrics = make_wsgi_app()

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            ok = alive()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"status": "ok"}' if ok else b'{"status": "stalled"}']
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /healthz\n"]

    return app


def serve_worker_endpoints(host: str, port: int, alive: Callable[[], bool]) -> WSGIServer:
    """Serve a worker's `/metrics` and `/healthz` on a background thread; the caller shuts it down."""
    server = make_server(host, port, worker_endpoints(alive), server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server


def drop_partitions(current: Iterable[tuple[str, int]], previous: Iterable[tuple[str, int]]) -> None:
    """Forget the lag of partitions this consumer no longer owns (another member reports them now)."""
    for topic, partition in set(previous) - set(current):
        try:
            CONSUMER_LAG.remove(topic, str(partition))
        except KeyError:
            pass
