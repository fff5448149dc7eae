"""A service's worker process: the event consumer, the outbox relay and any periodic loops.

Every loop runs until SIGTERM or SIGINT; a loop that crashes stops the whole worker, so the
supervisor restarts it, rather than leaving a half-working process behind.

A worker serves `/metrics` and `/healthz` on `SKILLSTACK_METRICS_HOST`:`SKILLSTACK_METRICS_PORT`
(127.0.0.1:9100; port 0 turns it off; containers bind 0.0.0.0). `/healthz` answers 503 once the
consumer loop has not polled, handled or retried for `WORKER_LIVENESS_SECONDS` (60). The
consumer lag gauge is refreshed every `CONSUMER_LAG_INTERVAL_SECONDS` (10). The consumer handles up to
`CONSUMER_CHUNK` (100) records of a poll in one transaction.
"""

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping

from flask import Flask

from shared.bus.consumer import EventConsumer, Handler
from shared.bus.kafka import make_consumer, make_producer
from shared.bus.relay import OutboxRelay
from shared.logs import configure_logging
from shared.metrics import OUTBOX_BACKLOG, register, serve_worker_endpoints

log = logging.getLogger(__name__)

Loop = Callable[[threading.Event], None]


def run_worker(
    app: Flask,
    *,
    topics: list[str],
    handlers: Mapping[str, Handler],
    loops: tuple[Loop, ...] = (),
) -> int:
    """Run the consumer in this thread and the relay and other loops beside it; return the exit code."""
    config = app.config
    name = config["SERVICE_NAME"]
    database = app.extensions["database"]
    stop = threading.Event()
    failed = threading.Event()

    def request_stop(signum, _frame):
        log.info("%s worker: signal %d, stopping", name, signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    producer = make_producer(config["KAFKA_BOOTSTRAP_SERVERS"], f"{name}-worker")
    consumer = make_consumer(config["KAFKA_BOOTSTRAP_SERVERS"], config.get("CONSUMER_GROUP", name), topics)

    def guarded(loop: Loop) -> Callable[[], None]:
        def run() -> None:
            try:
                loop(stop)
            except Exception:
                log.exception("%s worker: %s crashed", name, getattr(loop, "__qualname__", loop))
                failed.set()
                stop.set()

        return run

    relay = OutboxRelay(database, producer)
    event_consumer = EventConsumer(
        database, consumer, producer, group=config.get("CONSUMER_GROUP", name), handlers=handlers,
        lag_interval=float(config.get("CONSUMER_LAG_INTERVAL_SECONDS", 10)), chunk=int(config.get("CONSUMER_CHUNK", 100)),
    )
    endpoints = serve_endpoints(config, lambda: time.monotonic() - event_consumer.last_activity < float(config.get("WORKER_LIVENESS_SECONDS", 60)))
    threads = [threading.Thread(target=guarded(loop), daemon=True) for loop in (relay.run, *loops)]
    for thread in threads:
        thread.start()
    log.info("%s worker: consuming %s", name, ", ".join(topics))
    guarded(event_consumer.run)()
    for thread in threads:
        thread.join(timeout=30)
    if endpoints is not None:
        endpoints.shutdown()
    consumer.close()
    producer.close(timeout=10)
    database.dispose()
    log.info("%s worker: stopped", name)
    return 1 if failed.is_set() else 0


def serve_endpoints(config, alive: Callable[[], bool]):
    """Start the worker's `/metrics` and `/healthz` server, unless its port is 0; None if not serving."""
    register(OUTBOX_BACKLOG)  # the relay keeps it; web processes have no relay and do not show it
    host, port = str(config.get("METRICS_HOST", "127.0.0.1")), int(config.get("METRICS_PORT", 9100))
    if port == 0:
        return None
    try:
        server = serve_worker_endpoints(host, port, alive)
    except OSError as error:  # several workers on one host share the default port: keep consuming
        log.error("metrics: cannot listen on %s:%d (%s); set SKILLSTACK_<SERVICE>_METRICS_PORT", host, port, error)
        return None
    log.info("metrics: serving /metrics and /healthz on %s:%d", host, server.server_port)
    return server


def serve(
    create_app: Callable[[], Flask],
    handlers_for: Callable[[Flask], Mapping[str, Handler]],
    topics: list[str],
    loops: Callable[[Flask], tuple[Loop, ...]] = lambda app: (),
) -> int:
    """A service worker's main: create the app, bind handlers and loops to it, run until stopped."""
    configure_logging("worker")  # until the app names the service; create_app configures it again
    app = create_app()
    return run_worker(app, topics=topics, handlers=handlers_for(app), loops=loops(app))
