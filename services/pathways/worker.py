"""The pathways worker: keeps progress and opens advancement requests, refreshes HR's analytics, and relays its outbox."""

import sys

from services.pathways.analytics import SnapshotRefresher
from services.pathways.app import create_app
from services.pathways.handlers import TOPICS, build_handlers
from shared.worker import serve

if __name__ == "__main__":
    sys.exit(
        serve(
            create_app,
            lambda app: build_handlers(source=app.config["EVENT_SOURCE"], clock=app.extensions["clock"]),
            TOPICS,
            loops=lambda app: (SnapshotRefresher(app.extensions["database"], app.extensions["clock"]).run,),
        )
    )
