"""The notifications tables: recipients (directory projection), their preferences and webhooks,
inbox items, deliveries (email and webhook), digest entries, and open requests (for HR's digest)."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Recipient(Base):
    """Someone who can be told things (projection of `directory.people`)."""

    __tablename__ = "recipients"

    employee_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[str | None] = mapped_column(String(200), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(35))  # from the directory; a person's own setting wins
    time_zone: Mapped[str | None] = mapped_column(String(64))


class PersonalSettings(Base):
    """A person's own choices that the directory does not own: language and time zone of their messages."""

    __tablename__ = "personal_settings"

    employee_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    locale: Mapped[str | None] = mapped_column(String(35))
    time_zone: Mapped[str | None] = mapped_column(String(64))


class Preference(Base):
    """A person's choice for one kind of message on one channel (absent: the default applies)."""

    __tablename__ = "preferences"

    employee_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))  # immediate | digest | off


class Webhook(Base):
    """A Slack- or Teams-compatible incoming-webhook URL: a person's own, or a manager's team channel."""

    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("owner_id", "scope", name="uq_webhook_owner_scope"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(20))  # personal | team
    url: Mapped[str] = mapped_column(String(2000))  # a credential: never shown again in full
    format: Mapped[str] = mapped_column(String(20))  # slack | teams
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InboxItem(Base):
    """A message in someone's in-app inbox; one per (event, recipient)."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", name="uq_inbox_event_recipient"),
        Index("ix_inbox_recipient_created", "recipient_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Delivery(Base):
    """A message to send on one channel, its attempts and outcome; one per (event, recipient, channel).

    Email deliveries go to the recipient's address; webhook deliveries to `webhook_id`, whose
    recipient is its owner (`team:<manager>` for a team channel).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", "channel", name="uq_delivery_event_recipient_channel"),
        Index("ix_delivery_due", "channel", "status", "next_attempt_at"),
        Index("ix_delivery_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))  # email | webhook
    webhook_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)  # email: the HTML part; webhook: the JSON payload
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | retrying | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DigestEntry(Base):
    """A message held for someone's daily digest email; `digest_id` is the delivery that carried it."""

    __tablename__ = "digest_entries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", name="uq_digest_event_recipient"),
        Index("ix_digest_waiting", "digest_id", "recipient_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    digest_id: Mapped[str | None] = mapped_column(String(64))


class OpenRequest(Base):
    """An advancement request waiting for a decision (projection of `pathways.advancements`)."""

    __tablename__ = "open_requests"

    request_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[str | None] = mapped_column(String(200))
    pathway_name: Mapped[str] = mapped_column(String(200))
    level_name: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
