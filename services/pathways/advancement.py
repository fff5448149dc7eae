"""Advancement requests: a manager approves or rejects a direct report's next level."""

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.pathways.models import AdvancementRequest, LevelAttainment, Pathway, Person
from services.pathways.progress import update_progress
from shared.bus.outbox import publish
from shared.errors import Conflict, Forbidden, NotFound

APPROVED = "skillstack.pathways.advancement.approved.v1"
REJECTED = "skillstack.pathways.advancement.rejected.v1"


def get_request(session: Session, request_id: str) -> AdvancementRequest:
    request = session.get(AdvancementRequest, request_id)
    if request is None:
        raise NotFound(f"no advancement request {request_id!r}")
    return request


def manager_of(session: Session, employee_id: str) -> str | None:
    """The employee's current direct manager according to the directory."""
    person = session.get(Person, employee_id)
    return person.manager_id if person is not None else None


def may_decide(session: Session, request: AdvancementRequest, decider_id: str) -> bool:
    """Only the employee's direct manager decides, and never on their own request."""
    return decider_id != request.employee_id and manager_of(session, request.employee_id) == decider_id


def decide(
    session: Session,
    request_id: str,
    *,
    decider_id: str,
    approve: bool,
    comment: str,
    now: datetime,
    source: str,
) -> AdvancementRequest:
    """Approve or reject an open request, record the level on approval, and announce the decision."""
    request = get_request(session, request_id)
    if request.employee_id == decider_id:
        raise Forbidden("you cannot decide your own advancement request")
    if not may_decide(session, request, decider_id):
        raise Forbidden("only the employee's direct manager can decide this request")
    if request.status != "open":
        raise Conflict(f"the request is already {request.status}")
    request.status = "approved" if approve else "rejected"
    request.decided_at = now
    request.decided_by = decider_id
    request.comment = comment
    pathway = session.get(Pathway, request.pathway_id)
    level = next(level for level in pathway.levels if level.number == request.level)
    if approve:
        session.add(
            LevelAttainment(
                employee_id=request.employee_id,
                pathway_id=request.pathway_id,
                level=request.level,
                attained_at=now,
                approved_by=decider_id,
            )
        )
    publish(
        session,
        APPROVED if approve else REJECTED,
        {
            "request_id": request.id,
            "employee_id": request.employee_id,
            "decided_by": decider_id,
            "pathway_id": pathway.id,
            "pathway_name": pathway.name,
            "level": level.number,
            "level_name": level.name,
            "decided_at": now,
            "comment": comment,
        },
        source=source,
        now=lambda: now,
    )
    session.flush()
    if approve:
        update_progress(session, request.employee_id, [pathway.id], now=now, source=source)
    return request


def requests_visible_to(session: Session, principal_id: str, *, everyone: bool, status: str | None) -> list[AdvancementRequest]:
    """Requests a person may see: those of their direct reports and their own (HR: all)."""
    query = select(AdvancementRequest).order_by(AdvancementRequest.opened_at)
    if not everyone:
        reports = select(Person.employee_id).where(Person.manager_id == principal_id)
        query = query.where(
            or_(AdvancementRequest.employee_id.in_(reports), AdvancementRequest.employee_id == principal_id)
        )
    if status:
        query = query.where(AdvancementRequest.status == status)
    return list(session.scalars(query))
