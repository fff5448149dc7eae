"""The delivery log HR reads: what was sent, what is being retried, what failed and why."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.notifications.models import Delivery


def recent_deliveries(
    session: Session, *, status: str | None = None, channel: str | None = None, recipient_id: str | None = None, limit: int = 100
) -> list[Delivery]:
    """The newest deliveries matching the filters."""
    query = select(Delivery)
    for column, value in ((Delivery.status, status), (Delivery.channel, channel), (Delivery.recipient_id, recipient_id)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(Delivery.created_at.desc(), Delivery.id).limit(limit)))


def counts_by_status(session: Session) -> dict[str, int]:
    """How many deliveries are in each status."""
    return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
