"""A service's worker process: the event consumer, the outbox relay and any periodic loops.

Every loop runs until SIGTERM or SIGINT; a loop that crashes stops the whole worker, so the
supervisor restarts it, rather than leaving a half-working process behind.
"""

import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping

from flask import Flask

from shared.bus.consumer import EventConsumer, Handler
from shared.bus.kafka import make_consumer, make_producer
from shared.bus.relay import OutboxRelay

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
    threads = [threading.Thread(target=guarded(loop), daemon=True) for loop in (relay.run, *loops)]
    for thread in threads:
        thread.start()
    log.info("%s worker: consuming %s", name, ", ".join(topics))
    guarded(EventConsumer(database, consumer, producer, group=config.get("CONSUMER_GROUP", name), handlers=handlers).run)()
    for thread in threads:
        thread.join(timeout=30)
    consumer.close()
    producer.close(timeout=10)
    database.dispose()
    log.info("%s worker: stopped", name)
    return 1 if failed.is_set() else 0


def serve(
    create_app: Callable[[], Flask],
    handlers_for: Callable[[Flask], Mapping[str, Handler]],
    topics: list[str],
    loops: Callable[[Flask], tuple[Loop, ...]] = lambda app: (),
) -> int:
    """A service worker's main: create the app, bind handlers and loops to it, run until stopped."""
    configure_logging()
    app = create_app()
    return run_worker(app, topics=topics, handlers=handlers_for(app), loops=loops(app))


def configure_logging() -> None:
    """Plain timestamped logs on stderr; structured logging comes with operations (issue 10)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
