"""Ending an open advancement request without a decision: the employee withdraws it, or a
required credential expiring or being revoked re-opens the gap and closes it."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.pathways.advancement import get_request
from services.pathways.enrollment import enrolled_levels, level_named_by
from services.pathways.models import AdvancementRequest, LevelAttainment, Pathway
from services.pathways.progress import LevelRule, held_categories, plan_advancement
from services.pathways.request_history import SYSTEM, record_transition
from shared.bus.outbox import publish
from shared.errors import Conflict, Forbidden

WITHDRAWN = "skillstack.pathways.advancement.withdrawn.v1"
CLOSED = "skillstack.pathways.advancement.closed.v1"


def withdraw(session: Session, request_id: str, *, employee_id: str, comment: str, now: datetime, source: str) -> AdvancementRequest:
    """The employee takes back their own open request; its history and an event say so."""
    request = get_request(session, request_id)
    if request.employee_id != employee_id:
        raise Forbidden("only the employee may withdraw their advancement request")
    if request.status != "open":
        raise Conflict(f"the request is already {request.status}")
    _end(session, request, "withdrawn", actor=employee_id, comment=comment, now=now)
    _announce(session, WITHDRAWN, request, {}, now=now, source=source)
    return request


def close_unmet_requests(
    session: Session, employee_id: str, *, credential_id: str, cause: str, now: datetime, source: str
) -> list[AdvancementRequest]:
    """Close the employee's open requests whose level their valid credentials no longer meet."""
    held = held_categories(session, employee_id, now)
    open_requests = session.scalars(
        select(AdvancementRequest)
        .where(AdvancementRequest.employee_id == employee_id, AdvancementRequest.status == "open")
        .order_by(AdvancementRequest.opened_at, AdvancementRequest.id)
    )
    closed = []
    for request in open_requests:
        if _still_called_for(session, request, held, now=now):
            continue
        reason = f"credential {credential_id} {cause} before the decision; the level's requirements are no longer met"
        _end(session, request, "closed", actor=SYSTEM, comment=reason, now=now)
        _announce(session, CLOSED, request, {"credential_id": credential_id, "cause": cause}, now=now, source=source)
        closed.append(request)
    session.flush()
    return closed


def _still_called_for(session: Session, request: AdvancementRequest, held: dict[str, str | None], *, now: datetime) -> bool:
    """Whether the progress rule would still ask for this request's level with what the employee holds now."""
    pathway = session.get(Pathway, request.pathway_id)
    attained = dict(
        session.execute(
            select(LevelAttainment.level, LevelAttainment.attained_at).where(
                LevelAttainment.employee_id == request.employee_id, LevelAttainment.pathway_id == request.pathway_id
            )
        ).all()
    )
    # The rule update_progress opens requests by, so closing and opening always agree.
    levels = enrolled_levels(session, request.employee_id, pathway)
    return plan_advancement([LevelRule.of(level) for level in levels], held, attained, now=now).request == request.level


def _end(session: Session, request: AdvancementRequest, status: str, *, actor: str, comment: str, now: datetime) -> None:
    """Move an open request to a final status and record the change in its history."""
    request.status = status
    request.decided_at = now
    request.decided_by = actor
    request.comment = comment
    record_transition(session, request, actor=actor, from_status="open", at=now, comment=comment)


def _announce(session: Session, event_type: str, request: AdvancementRequest, extra: dict, *, now: datetime, source: str) -> None:
    """Publish the end of a request, shaped like a manager's decision."""
    pathway = session.get(Pathway, request.pathway_id)
    level = level_named_by(session, request, pathway)
    data = {
        "request_id": request.id,
        "employee_id": request.employee_id,
        "decided_by": request.decided_by,
        "pathway_id": pathway.id,
        "pathway_name": pathway.name,
        "level": level.number,
        "level_name": level.name,
        "decided_at": now,
        "comment": request.comment,
    }
    publish(session, event_type, data | extra, source=source, now=lambda: now)
