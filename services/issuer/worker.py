"""The issuer worker: issues credentials from completions and bulk issuances, keeps the people it names, announces expiries, and relays its outbox."""

import sys

from flask import Flask
from sqlalchemy.orm import Session

from services.issuer.app import create_app
from services.issuer.bulk_issuer import BulkIssuer
from services.issuer.expiry import ExpiryScheduler
from services.issuer.handlers import TOPICS, build_handlers
from services.issuer.models import Credential
from shared.events import Event
from shared.metrics import ISSUANCE_LATENCY, observe_after_commit, register
from shared.worker import serve


def expiry_scheduler(app: Flask) -> ExpiryScheduler:
    """The loop announcing expiries, bound to this app's database, clock and settings."""
    config = app.config
    return ExpiryScheduler(
        app.extensions["database"],
        app.extensions["clock"],
        notice_days=int(config["EXPIRY_NOTICE_DAYS"]),
        source=config["EVENT_SOURCE"],
        interval_seconds=float(config["EXPIRY_CHECK_SECONDS"]),
        batch_size=int(config["EXPIRY_BATCH_SIZE"]),
    )


def bulk_issuer(app: Flask) -> BulkIssuer:
    """The loop issuing started bulk issuances, bound to this app's database, clock, profile, keys and settings."""
    config = app.config
    return BulkIssuer(
        app.extensions["database"],
        app.extensions["clock"],
        source=config["EVENT_SOURCE"],
        issuer=app.extensions["issuer_profile"],
        keys=app.extensions["signing_keys"],
        interval_seconds=float(config["BULK_ISSUANCE_CHECK_SECONDS"]),
        batch_size=int(config["BULK_ISSUANCE_BATCH_SIZE"]),
    )


def record_issuance_latency(session: Session, event: Event, issued: list[Credential]) -> None:
    """Observe, once committed, the time from the completion event to each credential it caused."""
    observe_after_commit(session, ISSUANCE_LATENCY, [(credential.issued_at - event.time).total_seconds() for credential in issued])


if __name__ == "__main__":
    register(ISSUANCE_LATENCY)
    sys.exit(
        serve(
            create_app,
            lambda app: build_handlers(
                source=app.config["EVENT_SOURCE"],
                clock=app.extensions["clock"],
                issuer=app.extensions["issuer_profile"],
                keys=app.extensions["signing_keys"],
                on_issued=record_issuance_latency,
            ),
            TOPICS,
            loops=lambda app: (expiry_scheduler(app).run, bulk_issuer(app).run),
        )
    )
