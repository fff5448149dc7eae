"""The in-app inbox: each person reads and marks only their own items."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.notifications.models import InboxItem
from shared.errors import NotFound


def items_of(session: Session, recipient_id: str, *, unread_only: bool, limit: int = 100) -> list[InboxItem]:
    """The newest items of a person's inbox."""
    query = select(InboxItem).where(InboxItem.recipient_id == recipient_id)
    if unread_only:
        query = query.where(InboxItem.read_at.is_(None))
    return list(session.scalars(query.order_by(InboxItem.created_at.desc(), InboxItem.id).limit(limit)))


def unread_count(session: Session, recipient_id: str) -> int:
    return session.scalar(
        select(func.count()).where(InboxItem.recipient_id == recipient_id, InboxItem.read_at.is_(None))
    )


def mark_read(session: Session, recipient_id: str, item_id: str, *, now: datetime) -> InboxItem:
    """Mark one of the person's items read; someone else's item is reported as not found."""
    item = session.get(InboxItem, item_id)
    if item is None or item.recipient_id != recipient_id:
        raise NotFound(f"no inbox item {item_id!r}")
    item.read_at = item.read_at or now
    return item


def mark_all_read(session: Session, recipient_id: str, *, now: datetime) -> int:
    return session.execute(
        update(InboxItem)
        .where(InboxItem.recipient_id == recipient_id, InboxItem.read_at.is_(None))
        .values(read_at=now)
    ).rowcount
