"""Email delivery: send queued emails over SMTP, retrying with exponential backoff.

Sending happens outside the consumer, so a slow or absent mail server delays mail without
ever blocking events. Each email carries a Message-ID derived from its delivery id, so the
rare resend after a crash between "sent" and "recorded" is recognisable as the same message.
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

from sqlalchemy import select

from services.notifications.models import EmailDelivery, Recipient
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


class RecipientUnknown(Exception):
    """The directory has not told us this person's address (yet)."""


def build_email(delivery: EmailDelivery, recipient: Recipient, sender: str) -> EmailMessage:
    """A multipart/alternative email with plain-text and HTML parts."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((recipient.name, recipient.email))
    message["Subject"] = delivery.subject
    message["Message-ID"] = f"<{delivery.id}@skillstack>"
    message["X-Skillstack-Event"] = delivery.event_id
    message.set_content(delivery.text_body)
    message.add_alternative(delivery.html_body, subtype="html")
    return message


class EmailDispatcher:
    """Sends due emails in the worker, one SMTP connection per batch."""

    def __init__(self, database: Database, smtp: SmtpSettings, policy: RetryPolicy, clock: Callable[[], datetime]):
        self.database = database
        self.smtp = smtp
        self.policy = policy
        self.clock = clock

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

    def send_due(self, batch_size: int = 50) -> int:
        """Try every due email once; return how many were sent."""
        with self.database.transaction() as session:
            due = session.scalars(
                select(EmailDelivery)
                .where(EmailDelivery.status.in_(("pending", "retrying")), EmailDelivery.next_attempt_at <= self.clock())
                .order_by(EmailDelivery.next_attempt_at)
                .limit(batch_size)
            ).all()
            recipients = {
                recipient.employee_id: recipient
                for recipient in session.scalars(
                    select(Recipient).where(Recipient.employee_id.in_({delivery.recipient_id for delivery in due}))
                )
            }
        if not due:
            return 0
        client, sent = None, 0
        try:
            for delivery in due:
                try:
                    recipient = recipients.get(delivery.recipient_id)
                    if recipient is None:
                        raise RecipientUnknown(f"no address known for {delivery.recipient_id!r}")
                    client = client or self._connect()
                    client.send_message(build_email(delivery, recipient, self.smtp.sender))
                except (OSError, smtplib.SMTPException, RecipientUnknown) as error:
                    if client is not None and isinstance(error, (OSError, smtplib.SMTPServerDisconnected)):
                        client = None  # the connection is unusable; reconnect for the next one
                    self._record(delivery.id, error)
                    continue
                self._record(delivery.id, None)
                sent += 1
        finally:
            if client is not None:
                try:
                    client.quit()
                except (OSError, smtplib.SMTPException):
                    pass
        return sent

    def _record(self, delivery_id: str, error: Exception | None) -> None:
        """Mark a delivery sent, or schedule its retry, or give up after the last attempt."""
        now = self.clock()
        with self.database.transaction() as session:
            delivery = session.get(EmailDelivery, delivery_id)
            delivery.attempts += 1
            if error is None:
                delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
                return
            delivery.last_error = f"{type(error).__name__}: {error}"[:2000]
            if delivery.attempts >= self.policy.max_attempts:
                delivery.status = "failed"
                log.error("email %s failed permanently: %s", delivery_id, delivery.last_error)
            else:
                delivery.status = "retrying"
                delivery.next_attempt_at = now + self.policy.delay(delivery.attempts)

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """Send due emails until stopped."""
        while not stop.is_set():
            try:
                sent = self.send_due()
            except Exception:
                log.warning("email dispatch failed; retrying", exc_info=True)
                sent = 0
            if not sent:
                stop.wait(idle_wait)
