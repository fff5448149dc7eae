"""The notifications worker: turns events into messages, sends emails and webhook posts, and
composes the daily digests."""

import logging
import sys
import threading

from flask import Flask

from services.notifications.app import create_app
from services.notifications.config import listed
from services.notifications.delivery import RetryPolicy
from services.notifications.email_delivery import EmailDispatcher, SmtpSettings
from services.notifications.webhook_delivery import WebhookDispatcher
from services.notifications.digests import send_digests, send_stuck_requests
from services.notifications.handlers import TOPICS, build_handlers
from services.notifications.messages import MessageRenderer
from services.notifications.notify import Messenger
from shared.worker import serve

log = logging.getLogger(__name__)


def messenger_for(app: Flask) -> Messenger:
    config = app.config
    return Messenger(
        MessageRenderer(config["INTRANET_URL"]),
        config["SECRET_KEY"],
        default_locale=config["DEFAULT_LOCALE"],
        default_time_zone=config["DEFAULT_TIME_ZONE"],
    )


def retry_policy(app: Flask) -> RetryPolicy:
    config = app.config
    return RetryPolicy(
        max_attempts=int(config["DELIVERY_MAX_ATTEMPTS"]),
        base_seconds=float(config["DELIVERY_RETRY_BASE_SECONDS"]),
        max_seconds=float(config["DELIVERY_RETRY_MAX_SECONDS"]),
    )


def email_dispatcher(app: Flask) -> EmailDispatcher:
    database, clock = app.extensions["database"], app.extensions["clock"]
    return EmailDispatcher(database, SmtpSettings.from_config(app.config), retry_policy(app), clock, messenger_for(app).unsubscribe_url)


def webhook_dispatcher(app: Flask) -> WebhookDispatcher:
    return WebhookDispatcher(app.extensions["database"], retry_policy(app), app.extensions["clock"], float(app.config["WEBHOOK_TIMEOUT"]))


def daily_messages(app: Flask):
    """The loop that composes digests and HR's list of waiting requests when their hour comes."""
    config, database, clock, messenger = app.config, app.extensions["database"], app.extensions["clock"], messenger_for(app)
    hour = int(config["DIGEST_HOUR"])

    def run(stop: threading.Event) -> None:
        while not stop.wait(float(config["DIGEST_CHECK_SECONDS"])):
            try:
                with database.transaction() as session:
                    send_digests(session, messenger, now=clock(), hour=hour)
                    send_stuck_requests(
                        session, messenger, now=clock(), hour=hour,
                        hr_ids=listed(config["HR_DIGEST_RECIPIENTS"]), after_days=int(config["STUCK_AFTER_DAYS"]),
                    )
            except Exception:
                log.warning("composing daily messages failed; retrying", exc_info=True)

    return run


def handlers_for(app: Flask):
    return build_handlers(clock=app.extensions["clock"], messenger=messenger_for(app))


def loops(app: Flask):
    return (email_dispatcher(app).run, webhook_dispatcher(app).run, daily_messages(app))


if __name__ == "__main__":
    sys.exit(serve(create_app, handlers_for, TOPICS, loops=loops))
