"""Health probes of a web process: `/healthz` (liveness) and `/readyz` (readiness).

Liveness says only that the process answers, so a restart is never triggered by a database or
broker outage that a restart cannot fix. Readiness checks the database on every call and the
Kafka bootstrap servers at most once per `READYZ_CACHE_SECONDS`, so frequent probes from
several replicas do not hammer the broker. `READYZ_CHECKS_KAFKA=false` leaves Kafka out: the
outbox lets a web process serve while the broker is down (docs/operations.md).
"""

import threading
import time
from collections.abc import Callable

from flask import Blueprint, Flask, current_app
from sqlalchemy import text

from shared.bus.kafka import check_broker
from shared.errors import DomainError

bp = Blueprint("health", __name__)


class NotReady(DomainError):
    """A dependency this process needs to serve does not answer."""

    status = 503
    title = "Service Unavailable"


class CachedProbe:
    """A dependency check whose outcome (None for healthy, else why not) is reused for `ttl` seconds."""

    def __init__(self, probe: Callable[[], None], ttl: float, clock: Callable[[], float] = time.monotonic):
        self.probe = probe
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._outcome: str | None = None

    def __call__(self) -> str | None:
        with self._lock:  # concurrent probes wait for one check instead of each making their own
            if self.clock() - self._checked_at >= self.ttl:
                self._outcome = _failure(self.probe)
                self._checked_at = self.clock()
            return self._outcome


def _failure(probe: Callable[[], None]) -> str | None:
    """None if the probe passes, else the class of what it raised (never its message: it may name hosts)."""
    try:
        probe()
    except Exception as error:  # any failure means not ready
        return error.__class__.__name__
    return None


def init_health(app: Flask) -> None:
    """Mount the probes, with the Kafka check cached per app."""
    app.config.setdefault("READYZ_CHECKS_KAFKA", True)
    app.config.setdefault("READYZ_CACHE_SECONDS", 5)
    servers = app.config["KAFKA_BOOTSTRAP_SERVERS"]
    app.extensions["kafka_probe"] = CachedProbe(lambda: check_broker(servers), float(app.config["READYZ_CACHE_SECONDS"]))
    app.register_blueprint(bp)


def _database_probe() -> None:
    with current_app.extensions["database"].transaction() as session:
        session.execute(text("SELECT 1"))


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers, and a Kafka bootstrap server does (cached)."""
    checks = {"database": _failure(_database_probe)}
    if current_app.config["READYZ_CHECKS_KAFKA"]:
        checks["kafka"] = current_app.extensions["kafka_probe"]()
    failed = {name: outcome for name, outcome in checks.items() if outcome}
    report = {name: outcome or "ok" for name, outcome in checks.items()}
    if failed:
        detail = "; ".join(f"{name}: {outcome}" for name, outcome in failed.items())
        raise NotReady(detail, errors=report)
    return {"status": "ready", "checks": report}
