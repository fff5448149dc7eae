"""Advancement requests: a manager approves or rejects a direct report's next level."""

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.pathways.enrollment import level_named_by
from services.pathways.models import AdvancementRequest, LevelAttainment, Pathway, Person
from services.pathways.progress import update_progress
from services.pathways.request_history import record_transition
from shared.bus.outbox import publish
from shared.errors import Conflict, Forbidden, NotFound

APPROVED = "skillstack.pathways.advancement.approved.v1"
REJECTED = "skillstack.pathways.advancement.rejected.v1"


def get_request(session: Session, request_id: str) -> AdvancementRequest:
    request = session.get(AdvancementRequest, request_id)
    if request is None:
        raise NotFound(f"no advancement request {request_id!r}")
    return request


def deciders_of(session: Session, employee_id: str, *, skip_level: bool) -> set[str]:
    """Who decides an employee's requests: their direct manager; if that manager has left and
    skip-level approval is on, the manager's own manager; nobody when neither applies."""
    person = session.get(Person, employee_id)
    if person is None or person.manager_id is None:
        return set()
    manager = session.get(Person, person.manager_id)
    if manager is None or manager.active:
        return {person.manager_id}
    return {manager.manager_id} if skip_level and manager.manager_id else set()


def may_decide(session: Session, request: AdvancementRequest, decider_id: str, *, skip_level: bool) -> bool:
    """Only the employee's deciding manager, and never on their own request."""
    return decider_id != request.employee_id and decider_id in deciders_of(session, request.employee_id, skip_level=skip_level)


def decide(
    session: Session,
    request_id: str,
    *,
    decider_id: str,
    approve: bool,
    comment: str,
    now: datetime,
    source: str,
    skip_level: bool,
) -> AdvancementRequest:
    """Approve or reject an open request, record the level on approval, and announce the decision."""
    request = get_request(session, request_id)
    if request.employee_id == decider_id:
        raise Forbidden("you cannot decide your own advancement request")
    if not may_decide(session, request, decider_id, skip_level=skip_level):
        raise Forbidden("only the employee's direct manager (or, if they have left, theirs) can decide this request")
    if request.status != "open":
        raise Conflict(f"the request is already {request.status}")
    request.status = "approved" if approve else "rejected"
    request.decided_at = now
    request.decided_by = decider_id
    request.comment = comment
    record_transition(session, request, actor=decider_id, from_status="open", at=now, comment=comment)
    pathway = session.get(Pathway, request.pathway_id)
    level = level_named_by(session, request, pathway)
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


def reports_of(principal_id: str, *, skip_level: bool):
    """A query of the people whose requests this person decides: direct reports, and with skip-level
    approval, the reports of their direct reports who have left."""
    direct = select(Person.employee_id).where(Person.manager_id == principal_id)
    if not skip_level:
        return direct
    departed = select(Person.employee_id).where(Person.manager_id == principal_id, Person.active.is_(False))
    return direct.union(select(Person.employee_id).where(Person.manager_id.in_(departed)))


def requests_visible_to(
    session: Session, principal_id: str, *, everyone: bool, status: str | None, skip_level: bool
) -> list[AdvancementRequest]:
    """Requests a person may see: those they decide and their own (HR: all)."""
    query = select(AdvancementRequest).order_by(AdvancementRequest.opened_at)
    if not everyone:
        query = query.where(
            or_(
                AdvancementRequest.employee_id.in_(reports_of(principal_id, skip_level=skip_level)),
                AdvancementRequest.employee_id == principal_id,
            )
        )
    if status:
        query = query.where(AdvancementRequest.status == status)
    return list(session.scalars(query))
