"""The notifications worker: turns events into inbox items and emails, and sends the emails."""

import sys

from flask import Flask

from services.notifications.app import create_app
from services.notifications.delivery import EmailDispatcher, RetryPolicy, SmtpSettings
from services.notifications.handlers import TOPICS, build_handlers
from services.notifications.messages import MessageRenderer
from shared.worker import serve


def email_dispatcher(app: Flask) -> EmailDispatcher:
    config = app.config
    policy = RetryPolicy(
        max_attempts=int(config["EMAIL_MAX_ATTEMPTS"]),
        base_seconds=float(config["EMAIL_RETRY_BASE_SECONDS"]),
        max_seconds=float(config["EMAIL_RETRY_MAX_SECONDS"]),
    )
    return EmailDispatcher(app.extensions["database"], SmtpSettings.from_config(config), policy, app.extensions["clock"])


def handlers_for(app: Flask):
    return build_handlers(clock=app.extensions["clock"], renderer=MessageRenderer(app.config["INTRANET_URL"]))


if __name__ == "__main__":
    sys.exit(serve(create_app, handlers_for, TOPICS, loops=lambda app: (email_dispatcher(app).run,)))
