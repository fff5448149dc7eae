"""Sending queued deliveries, email over SMTP and posts to webhooks, retrying with exponential backoff.

Sending happens outside the consumer, in a loop per channel, so a slow or absent mail server or
webhook delays its own messages without ever blocking events or the other channel. Each email
carries a Message-ID derived from its delivery id, and each webhook post an
`X-Skillstack-Delivery` header, so the rare resend after a crash between "sent" and "recorded"
is recognisable as the same message.
"""

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

import requests
from sqlalchemy import select

from services.notifications.models import Delivery, Recipient, Webhook
from services.notifications.preferences import EMAIL, WEBHOOK
from shared.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config) -> "SmtpSettings":
        return cls(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            sender=config["MAIL_FROM"],
            starttls=bool(config["SMTP_STARTTLS"]),
            ssl=bool(config["SMTP_SSL"]),
            username=config["SMTP_USERNAME"],
            password=config["SMTP_PASSWORD"],
            timeout=float(config["SMTP_TIMEOUT"]),
        )


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    base_seconds: float = 2.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after `attempts` failures, capped."""
        return timedelta(seconds=min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds))


class DeliveryFailed(Exception):
    """A send failed; `permanent` ones are not retried (an address we lack, a webhook that refuses)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def build_email(delivery: Delivery, recipient: Recipient, sender: str, unsubscribe_url: str | None = None) -> EmailMessage:
    """A multipart/alternative email with plain-text and HTML parts."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((recipient.name, recipient.email))
    message["Subject"] = delivery.subject
    message["Message-ID"] = f"<{delivery.id}@skillstack>"
    message["X-Skillstack-Event"] = delivery.event_id
    if unsubscribe_url:  # RFC 8058 one-click unsubscribe, offered by mail clients
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(delivery.text_body)
    message.add_alternative(delivery.html_body, subtype="html")
    return message


class Dispatcher:
    """Sends the due deliveries of one channel, recording each outcome; subclasses know how to send."""

    channel: str

    def __init__(self, database: Database, policy: RetryPolicy, clock: Callable[[], datetime]):
        self.database = database
        self.policy = policy
        self.clock = clock

    def send_due(self, batch_size: int = 50) -> int:
        """Try every due delivery of this channel once; return how many were sent."""
        with self.database.transaction() as session:
            due = session.scalars(
                select(Delivery)
                .where(Delivery.channel == self.channel, Delivery.status.in_(("pending", "retrying")), Delivery.next_attempt_at <= self.clock())
                .order_by(Delivery.next_attempt_at)
                .limit(batch_size)
            ).all()
            targets = self.targets_of(session, due)
        return self.send_batch(due, targets) if due else 0

    def targets_of(self, session, due: list[Delivery]) -> dict:
        raise NotImplementedError

    def send_batch(self, due: list[Delivery], targets: dict) -> int:
        raise NotImplementedError

    def record(self, delivery_id: str, error: Exception | None) -> None:
        """Mark a delivery sent, or schedule its retry, or give up after the last attempt or a permanent error."""
        now = self.clock()
        with self.database.transaction() as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.attempts += 1
            if error is None:
                delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
                return
            delivery.last_error = f"{type(error).__name__}: {error}"[:2000]
            if delivery.attempts >= self.policy.max_attempts or getattr(error, "permanent", False):
                delivery.status = "failed"
                log.error("%s delivery %s failed permanently: %s", self.channel, delivery_id, delivery.last_error)
            else:
                delivery.status = "retrying"
                delivery.next_attempt_at = now + self.policy.delay(delivery.attempts)

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """Send due deliveries until stopped."""
        while not stop.is_set():
            try:
                sent = self.send_due()
            except Exception:
                log.warning("%s dispatch failed; retrying", self.channel, exc_info=True)
                sent = 0
            if not sent:
                stop.wait(idle_wait)


class EmailDispatcher(Dispatcher):
    """Sends due emails, one SMTP connection per batch."""

    channel = EMAIL

    def __init__(
        self,
        database: Database,
        smtp: SmtpSettings,
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        unsubscribe_url: Callable[[str, str], str | None] = lambda recipient_id, kind: None,
    ):
        super().__init__(database, policy, clock)
        self.smtp = smtp
        self.unsubscribe_url = unsubscribe_url

    def _connect(self) -> smtplib.SMTP:
        if self.smtp.ssl:
            client = smtplib.SMTP_SSL(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout)
            if self.smtp.starttls:
                client.starttls(context=ssl.create_default_context())
        if self.smtp.username:
            client.login(self.smtp.username, self.smtp.password or "")
        return client

    def targets_of(self, session, due: list[Delivery]) -> dict:
        found = session.scalars(select(Recipient).where(Recipient.employee_id.in_({delivery.recipient_id for delivery in due})))
        return {recipient.employee_id: recipient for recipient in found}

    def send_batch(self, due: list[Delivery], recipients: dict) -> int:
        client, sent = None, 0
        try:
            for delivery in due:
                try:
                    recipient = recipients.get(delivery.recipient_id)
                    if recipient is None:
                        raise DeliveryFailed(f"no address known for {delivery.recipient_id!r}")
                    client = client or self._connect()
                    unsubscribe = self.unsubscribe_url(delivery.recipient_id, delivery.kind)
                    client.send_message(build_email(delivery, recipient, self.smtp.sender, unsubscribe))
                except (OSError, smtplib.SMTPException, DeliveryFailed) as error:
                    if client is not None and isinstance(error, (OSError, smtplib.SMTPServerDisconnected)):
                        client = None  # the connection is unusable; reconnect for the next one
                    self.record(delivery.id, error)
                    continue
                self.record(delivery.id, None)
                sent += 1
        finally:
            if client is not None:
                try:
                    client.quit()
                except (OSError, smtplib.SMTPException):
                    pass
        return sent


class WebhookDispatcher(Dispatcher):
    """Posts due webhook messages; a 5xx, 408, 429 or a network error is retried, any other refusal is final."""

    channel = WEBHOOK
    RETRYABLE = {408, 429}

    def __init__(self, database: Database, policy: RetryPolicy, clock: Callable[[], datetime], timeout: float = 10.0):
        super().__init__(database, policy, clock)
        self.timeout = timeout
        self.http = requests.Session()

    def targets_of(self, session, due: list[Delivery]) -> dict:
        found = session.scalars(select(Webhook).where(Webhook.id.in_({delivery.webhook_id for delivery in due})))
        return {webhook.id: webhook.url for webhook in found}

    def send_batch(self, due: list[Delivery], urls: dict) -> int:
        sent = 0
        for delivery in due:
            try:
                self._post(delivery, urls.get(delivery.webhook_id))
            except DeliveryFailed as error:
                self.record(delivery.id, error)
                continue
            self.record(delivery.id, None)
            sent += 1
        return sent

    def _post(self, delivery: Delivery, url: str | None) -> None:
        if url is None:
            raise DeliveryFailed("the webhook was removed", permanent=True)
        headers = {"Content-Type": "application/json", "X-Skillstack-Delivery": delivery.id, "User-Agent": "Skillstack-Notifications"}
        try:
            response = self.http.post(url, data=delivery.html_body.encode(), headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        if response.status_code >= 300:
            retryable = response.status_code >= 500 or response.status_code in self.RETRYABLE
            raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}", permanent=not retryable)
