"""Email delivery over SMTP: one connection per batch, a Message-ID per delivery so that the rare
resend after a crash between "sent" and "recorded" is recognisable as the same message."""

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr

from sqlalchemy import select

from services.notifications.delivery import DeliveryFailed, Dispatcher, RetryPolicy
from services.notifications.models import Delivery, Recipient
from services.notifications.preferences import EMAIL
from shared.db import Database


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


def smtp_failure(error: Exception) -> DeliveryFailed:
    """Classify an SMTP error: 5xx answers about the message are final, everything else passes."""
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [answer[0] for answer in error.recipients.values()]
        code = min(codes) if codes else None
    permanent = code is not None and 500 <= code < 600 and not isinstance(error, smtplib.SMTPConnectError)
    return DeliveryFailed(f"{type(error).__name__}: {error}", permanent=permanent, transient=not permanent)


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
            for index, delivery in enumerate(due):
                recipient = recipients.get(delivery.recipient_id)
                if recipient is None:
                    self.record(delivery.id, DeliveryFailed(f"no address known for {delivery.recipient_id!r}"))
                    continue
                try:
                    client = client or self._connect()
                except (OSError, smtplib.SMTPException) as error:
                    # The server is unreachable: the rest of the batch would only wait for the same timeout.
                    for waiting in due[index:]:
                        self.record(waiting.id, smtp_failure(error))
                    break
                try:
                    unsubscribe = self.unsubscribe_url(delivery.recipient_id, delivery.kind)
                    client.send_message(build_email(delivery, recipient, self.smtp.sender, unsubscribe))
                except (OSError, smtplib.SMTPException) as error:
                    if isinstance(error, (OSError, smtplib.SMTPServerDisconnected)):
                        client = None  # the connection is unusable; reconnect for the next one
                    self.record(delivery.id, smtp_failure(error))
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
