"""The issuer worker: issues credentials from completions, and relays its outbox."""

import sys

from services.issuer.app import create_app
from services.issuer.handlers import TOPICS, build_handlers
from shared.worker import serve

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
        )
    )
