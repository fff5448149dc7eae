"""Turning an event into inbox items and queued emails, once per (event, recipient)."""

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notifications.messages import MessageRenderer, notices_for
from services.notifications.models import EmailDelivery, InboxItem, Recipient
from shared.events import Event


def notify(
    session: Session,
    event: Event,
    renderer: MessageRenderer,
    *,
    now: datetime,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> list[str]:
    """Write an inbox item and queue an email for everyone the event concerns; return who."""

    def manager_of(employee_id: str) -> str | None:
        recipient = session.get(Recipient, employee_id)
        return recipient.manager_id if recipient is not None else None

    def name_of(employee_id: str) -> str:
        recipient = session.get(Recipient, employee_id)
        return recipient.name if recipient is not None else employee_id

    told = []
    for notice in notices_for(event, manager_of):
        already = session.scalar(
            select(InboxItem.id).where(InboxItem.event_id == event.id, InboxItem.recipient_id == notice.recipient_id)
        )
        if already:
            continue
        message = renderer.render(notice, event, name_of(notice.recipient_id), name_of(event.data["employee_id"]))
        session.add(
            InboxItem(
                id=new_id(),
                recipient_id=notice.recipient_id,
                event_id=event.id,
                kind=notice.kind,
                title=message.subject,
                body=message.text,
                link=notice.link,
                created_at=now,
            )
        )
        session.add(
            EmailDelivery(
                id=new_id(),
                recipient_id=notice.recipient_id,
                event_id=event.id,
                kind=notice.kind,
                subject=message.subject,
                text_body=message.text,
                html_body=message.html,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        told.append(notice.recipient_id)
    return told


def upsert_recipient(session: Session, data: dict) -> None:
    """Keep the directory projection current."""
    session.merge(
        Recipient(
            employee_id=data["employee_id"],
            email=data["email"],
            name=data["name"],
            manager_id=data["manager_id"],
            active=data["active"],
        )
    )
