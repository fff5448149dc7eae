"""The issuer worker: issues credentials from completions and bulk issuances, keeps the people it names, announces expiries, and relays its outbox."""

import sys

from flask import Flask

from services.issuer.app import create_app
from services.issuer.bulk_issuer import BulkIssuer
from services.issuer.expiry import ExpiryScheduler
from services.issuer.handlers import TOPICS, build_handlers
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


if __name__ == "__main__":
    sys.exit(
        serve(
            create_app,
            lambda app: build_handlers(
                source=app.config["EVENT_SOURCE"],
                clock=app.extensions["clock"],
                issuer=app.extensions["issuer_profile"],
                keys=app.extensions["signing_keys"],
            ),
            TOPICS,
            loops=lambda app: (expiry_scheduler(app).run, bulk_issuer(app).run),
        )
    )
