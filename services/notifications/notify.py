"""Turning an event into inbox items, emails, digest entries and webhook posts, as each recipient
chose: once per (event, recipient, channel), however often the event arrives.

A consumer handles many events in one transaction, and the same managers and employees recur in
them: what is read about a person (choices, settings, webhooks) is read once per transaction.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notifications import webhooks
from services.notifications.messages import Audience, MessageRenderer, Notice, RenderedMessage, notices_for, team_news_for
from services.notifications.models import Delivery, DigestEntry, InboxItem, PersonalSettings, Recipient, Webhook
from services.notifications.preferences import DIGEST, EMAIL, IMMEDIATE, INBOX, KINDS, WEBHOOK, choices_of
from services.notifications.unsubscribe import unsubscribe_token
from shared.db import insert_at_commit, insert_if_absent, once_per_transaction
from shared.events import Event


@dataclass(frozen=True)
class Messenger:
    """What writing messages needs: the renderer, the key signing unsubscribe links, the defaults."""

    renderer: MessageRenderer
    secret_key: str
    default_locale: str = "en"
    default_time_zone: str = "UTC"
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))

    def audience(self, session: Session, recipient_id: str, kind: str | None, *, unsubscribe: bool = True) -> Audience:
        """Whom a message is for: their name, their own or the directory's language and time zone."""
        recipient = session.get(Recipient, recipient_id)
        settings = once_per_transaction(session, ("settings", recipient_id), lambda: session.get(PersonalSettings, recipient_id))
        return Audience(
            name=recipient.name if recipient else recipient_id,
            locale=(settings and settings.locale) or (recipient and recipient.locale) or self.default_locale,
            time_zone=(settings and settings.time_zone) or (recipient and recipient.time_zone) or self.default_time_zone,
            unsubscribe_url=self.unsubscribe_url(recipient_id, kind) if unsubscribe else None,
        )

    def unsubscribe_url(self, recipient_id: str, kind: str | None) -> str:
        """The link that stops emails of `kind` (any kind not in the preferences: every email) without signing in."""
        kind = kind if kind in KINDS else None
        return self.renderer.intranet_url + "/notifications/unsubscribe/" + unsubscribe_token(self.secret_key, recipient_id, kind)


def webhook_of(session: Session, owner_id: str, scope: str) -> Webhook | None:
    return once_per_transaction(session, ("webhook", owner_id, scope), lambda: session.scalar(
        select(Webhook).where(Webhook.owner_id == owner_id, Webhook.scope == scope)
    ))


def notify(session: Session, event: Event, messenger: Messenger, *, now: datetime) -> list[str]:
    """Tell everyone the event concerns on the channels they chose; return who was told."""

    def manager_of(employee_id: str) -> str | None:
        recipient = session.get(Recipient, employee_id)
        return recipient.manager_id if recipient is not None else None

    employee = session.get(Recipient, event.data["employee_id"])
    employee_name = employee.name if employee else event.data["employee_id"]
    told = []
    for notice in notices_for(event, manager_of):
        recipient = session.get(Recipient, notice.recipient_id)
        if recipient is not None and not recipient.active:
            continue  # people who left the company are told nothing
        message = messenger.renderer.render(notice, event, messenger.audience(session, notice.recipient_id, notice.kind), employee_name)
        deliver(session, messenger, notice, event.id, message, now=now)
        told.append(notice.recipient_id)
    team_news = team_news_for(event, manager_of)
    if team_news is not None:
        channel = webhook_of(session, team_news.recipient_id, webhooks.TEAM)
        if channel is not None:
            message = messenger.renderer.render(team_news, event, messenger.audience(session, team_news.recipient_id, None, unsubscribe=False), employee_name)
            queue_webhook(session, messenger, channel, f"team:{channel.owner_id}", team_news, event.id, message, now=now)
    return told


def deliver(session: Session, messenger: Messenger, notice: Notice, event_id: str, message: RenderedMessage, *, now: datetime) -> None:
    """Put one rendered message on each channel its recipient chose for its kind."""
    choices = once_per_transaction(session, ("choices", notice.recipient_id), lambda: choices_of(session, notice.recipient_id))
    recipient = notice.recipient_id
    if choices.mode(notice.kind, INBOX) == IMMEDIATE:
        insert_at_commit(session, InboxItem.__table__, dict(
            id=messenger.new_id(), recipient_id=recipient, event_id=event_id, kind=notice.kind,
            title=message.subject, body=message.text, link=notice.link, created_at=now, read_at=None,
        ))
    email = choices.mode(notice.kind, EMAIL)
    if email == IMMEDIATE:
        insert_at_commit(session, Delivery.__table__, email_row(messenger, recipient, notice.kind, event_id, message, now=now))
    elif email == DIGEST:
        insert_at_commit(session, DigestEntry.__table__, dict(
            id=messenger.new_id(), recipient_id=recipient, event_id=event_id, kind=notice.kind,
            title=message.subject, link=notice.link, created_at=now, digest_id=None,
        ))
    if choices.mode(notice.kind, WEBHOOK) == IMMEDIATE:
        personal = webhook_of(session, recipient, webhooks.PERSONAL)
        queue_webhook(session, messenger, personal, recipient, notice, event_id, message, now=now)


def queue_email(session: Session, messenger: Messenger, recipient_id: str, kind: str, event_id: str, message: RenderedMessage, *, now: datetime) -> bool:
    """Queue an email for the dispatcher; False if this (event, recipient) already has one."""
    return insert_if_absent(session, Delivery.__table__, email_row(messenger, recipient_id, kind, event_id, message, now=now))


def email_row(messenger: Messenger, recipient_id: str, kind: str, event_id: str, message: RenderedMessage, *, now: datetime) -> dict:
    """The delivery row of an email, due at once."""
    return dict(
        id=messenger.new_id(), recipient_id=recipient_id, event_id=event_id, channel=EMAIL, webhook_id=None, kind=kind,
        subject=message.subject, text_body=message.email_text, html_body=message.html,
        status="pending", attempts=0, next_attempt_at=now, last_error=None, created_at=now, sent_at=None,
    )


def queue_webhook(
    session: Session, messenger: Messenger, webhook: Webhook, recipient_id: str, notice: Notice, event_id: str, message: RenderedMessage, *, now: datetime
) -> None:
    """Queue a post of the message's subject and link to a webhook."""
    body = webhooks.payload(webhook.format, message.subject, messenger.renderer.intranet_url + notice.link)
    insert_at_commit(session, Delivery.__table__, dict(
        id=messenger.new_id(), recipient_id=recipient_id, event_id=event_id, channel=WEBHOOK, webhook_id=webhook.id, kind=notice.kind,
        subject=message.subject, text_body=message.text, html_body=body,
        status="pending", attempts=0, next_attempt_at=now, last_error=None, created_at=now, sent_at=None,
    ))


def upsert_recipient(session: Session, data: dict) -> None:
    """Keep the directory projection current."""
    session.merge(
        Recipient(
            employee_id=data["employee_id"],
            email=data["email"],
            name=data["name"],
            manager_id=data["manager_id"],
            active=data["active"],
            locale=data.get("locale"),
            time_zone=data.get("time_zone"),
        )
    )
