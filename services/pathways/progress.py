"""Progress: which levels an employee has reached and which request their manager should see.

`plan_advancement` is the rule, on plain values; `update_progress` applies it to the one
employee an event concerns, so its cost depends on that employee's pathways only.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.pathways.models import (
    AdvancementRequest,
    HeldCredential,
    LevelAttainment,
    LevelRequirement,
    Pathway,
    Person,
)
from shared.bus.outbox import publish

ADVANCEMENT_REQUESTED = "skillstack.pathways.advancement.requested.v1"


@dataclass(frozen=True)
class LevelRule:
    number: int
    required: frozenset[str]
    requires_approval: bool


@dataclass(frozen=True)
class AdvancementPlan:
    """Levels to record as attained now, and the level (if any) that needs a manager's approval."""

    attain: tuple[int, ...]
    request: int | None


def plan_advancement(levels: list[LevelRule], held: set[str], attained: set[int]) -> AdvancementPlan:
    """Walk the ladder from the bottom: a level counts once attained; the first unmet or unapproved level stops the walk."""
    attain: list[int] = []
    for level in sorted(levels, key=lambda rule: rule.number):
        if level.number in attained:
            continue
        if not level.required <= held:
            break
        if level.requires_approval:
            return AdvancementPlan(tuple(attain), level.number)
        attain.append(level.number)
    return AdvancementPlan(tuple(attain), None)


def valid_achievements(session: Session, employee_id: str, now: datetime) -> set[str]:
    """The achievements the employee currently holds a valid credential of."""
    return set(
        session.scalars(
            select(HeldCredential.achievement_id).where(
                HeldCredential.employee_id == employee_id,
                HeldCredential.status == "valid",
                or_(HeldCredential.valid_until.is_(None), HeldCredential.valid_until > now),
            )
        )
    )


def pathways_needing(session: Session, achievement_id: str) -> list[str]:
    """The pathways with a level that requires this achievement."""
    return list(
        session.scalars(
            select(LevelRequirement.pathway_id).where(LevelRequirement.achievement_id == achievement_id).distinct()
        )
    )


def update_progress(
    session: Session,
    employee_id: str,
    pathway_ids: list[str],
    *,
    now: datetime,
    source: str,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> list[AdvancementRequest]:
    """Record newly attained levels and open the requests the employee's progress calls for."""
    held = valid_achievements(session, employee_id, now)
    opened = []
    for pathway_id in sorted(pathway_ids):
        pathway = session.get(Pathway, pathway_id)
        attained = set(
            session.scalars(
                select(LevelAttainment.level).where(
                    LevelAttainment.employee_id == employee_id, LevelAttainment.pathway_id == pathway_id
                )
            )
        )
        rules = [LevelRule(level.number, frozenset(level.required_achievements), level.requires_approval) for level in pathway.levels]
        plan = plan_advancement(rules, held, attained)
        for number in plan.attain:
            session.add(LevelAttainment(employee_id=employee_id, pathway_id=pathway_id, level=number, attained_at=now))
        if plan.request is not None and not _has_pending_request(session, employee_id, pathway_id, plan.request):
            opened.append(_open_request(session, employee_id, pathway, plan.request, now=now, source=source, new_id=new_id))
    session.flush()
    return opened


def _has_pending_request(session: Session, employee_id: str, pathway_id: str, level: int) -> bool:
    """Whether a request for this level is already open (a rejected one reopens on new evidence)."""
    statuses = session.scalars(
        select(AdvancementRequest.status).where(
            AdvancementRequest.employee_id == employee_id,
            AdvancementRequest.pathway_id == pathway_id,
            AdvancementRequest.level == level,
        )
    )
    return "open" in set(statuses)


def _open_request(session, employee_id, pathway, level_number, *, now, source, new_id) -> AdvancementRequest:
    """Open a request assigned to the employee's manager and announce it."""
    person = session.get(Person, employee_id)
    manager_id = person.manager_id if person is not None else None
    level = next(level for level in pathway.levels if level.number == level_number)
    request = AdvancementRequest(
        id=new_id(),
        employee_id=employee_id,
        manager_id=manager_id,
        pathway_id=pathway.id,
        level=level_number,
        status="open",
        opened_at=now,
    )
    session.add(request)
    publish(
        session,
        ADVANCEMENT_REQUESTED,
        {
            "request_id": request.id,
            "employee_id": employee_id,
            "manager_id": manager_id,
            "pathway_id": pathway.id,
            "pathway_name": pathway.name,
            "level": level_number,
            "level_name": level.name,
            "requested_at": now,
        },
        source=source,
        now=lambda: now,
    )
    return request


def progress_of(session: Session, employee_id: str, *, now: datetime) -> list[dict]:
    """Per pathway touching the employee: each level's required, held and missing credentials and status."""
    held = valid_achievements(session, employee_id, now)
    attained = {
        (row.pathway_id, row.level): row
        for row in session.scalars(select(LevelAttainment).where(LevelAttainment.employee_id == employee_id))
    }
    requests = {
        (row.pathway_id, row.level): row
        for row in session.scalars(
            select(AdvancementRequest)
            .where(AdvancementRequest.employee_id == employee_id)
            .order_by(AdvancementRequest.opened_at)
        )
    }
    pathway_ids = {pathway_id for pathway_id, _ in attained} | {pathway_id for pathway_id, _ in requests}
    if held:
        pathway_ids |= set(
            session.scalars(select(LevelRequirement.pathway_id).where(LevelRequirement.achievement_id.in_(held)))
        )
    summary = []
    for pathway in session.scalars(select(Pathway).where(Pathway.id.in_(pathway_ids)).order_by(Pathway.name)):
        levels = []
        for level in pathway.levels:
            required = level.required_achievements
            request = requests.get((pathway.id, level.number))
            levels.append(
                {
                    "number": level.number,
                    "name": level.name,
                    "required": required,
                    "held": [achievement for achievement in required if achievement in held],
                    "missing": [achievement for achievement in required if achievement not in held],
                    "attained": (pathway.id, level.number) in attained,
                    "request_status": request.status if request else None,
                }
            )
        summary.append({"pathway_id": pathway.id, "pathway_name": pathway.name, "levels": levels})
    return summary
