"""The audit trail of advancement requests: every status change, written with the change itself."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.pathways.models import AdvancementRequest, AdvancementRequestHistory

SYSTEM = "system"  # the actor of changes an event caused rather than a person


def record_transition(
    session: Session,
    request: AdvancementRequest,
    *,
    actor: str,
    from_status: str | None,
    at: datetime,
    comment: str | None = None,
) -> None:
    """Add a history row for the request's change into its current status, in the caller's transaction."""
    session.add(
        AdvancementRequestHistory(
            request_id=request.id,
            at=at,
            actor=actor,
            from_status=from_status,
            to_status=request.status,
            comment=comment,
        )
    )


def history_of(session: Session, request_id: str) -> list[AdvancementRequestHistory]:
    """A request's status changes, in the order they were made."""
    # By id, not time: changes from events carry the event's clock, which need not agree with a web request's.
    query = (
        select(AdvancementRequestHistory)
        .where(AdvancementRequestHistory.request_id == request_id)
        .order_by(AdvancementRequestHistory.id)
    )
    return list(session.scalars(query))
