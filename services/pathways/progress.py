"""Progress: which levels an employee has reached and which request their manager should see.

`plan_advancement` is the rule, on plain values; `update_progress` applies it to the one
employee an event concerns, so its cost depends on that employee's pathways only.
"""

import calendar
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.pathways.enrollment import enrol, enrolled_levels, levels_of
from services.pathways.models import (
    AdvancementRequest,
    CatalogEntry,
    HeldCredential,
    Level,
    LevelAttainment,
    LevelRequirement,
    Pathway,
    Person,
)
from services.pathways.request_history import SYSTEM, record_transition
from shared.bus.outbox import publish
from shared.db import once_per_transaction

ADVANCEMENT_REQUESTED = "skillstack.pathways.advancement.requested.v1"
SOFT = "soft"


@dataclass(frozen=True)
class LevelRule:
    """What one level needs: all of `required`, at least n of each `n_of` group, time at the previous level, soft skills."""

    number: int
    required: frozenset[str]
    requires_approval: bool
    n_of: tuple[tuple[int, frozenset[str]], ...] = ()
    min_months_at_previous_level: int = 0
    min_soft_skill_credentials: int = 0

    @classmethod
    def of(cls, level: Level) -> "LevelRule":
        """The rule of a stored level."""
        return cls(
            level.number,
            frozenset(level.required_achievements),
            level.requires_approval,
            tuple((group["n"], frozenset(group["credentials"])) for group in level.n_of or ()),
            level.min_months_at_previous_level or 0,
            level.min_soft_skill_credentials or 0,
        )


@dataclass(frozen=True)
class AdvancementPlan:
    """Levels to record as attained now, and the level (if any) that needs a manager's approval."""

    attain: tuple[int, ...]
    request: int | None


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def credentials_met(level: LevelRule, held: Mapping[str, str | None]) -> bool:
    """Whether the held credentials (achievement id -> catalog category) satisfy the level's credential rules."""
    soft_held = sum(1 for category in held.values() if category == SOFT)
    return (
        level.required <= held.keys()
        and all(len(group & held.keys()) >= n for n, group in level.n_of)
        and soft_held >= level.min_soft_skill_credentials
    )


def waited_long_enough(level: LevelRule, previous_attained_at: datetime | None, now: datetime) -> bool:
    """Whether the previous level was attained at least the level's minimum number of months ago."""
    if level.min_months_at_previous_level == 0:
        return True
    return previous_attained_at is not None and add_months(previous_attained_at, level.min_months_at_previous_level) <= now


def plan_advancement(
    levels: list[LevelRule], held: Mapping[str, str | None], attained: Mapping[int, datetime], *, now: datetime
) -> AdvancementPlan:
    """Walk the ladder from the bottom: a level counts once attained; the first unmet or unapproved level stops the walk.

    `held` maps each validly held achievement to its catalog category; `attained` maps levels to when they were attained.
    """
    attain: list[int] = []
    attained_at = dict(attained)
    previous: int | None = None
    for level in sorted(levels, key=lambda rule: rule.number):
        if level.number not in attained_at:
            if not credentials_met(level, held):
                break
            if not waited_long_enough(level, attained_at.get(previous) if previous is not None else None, now):
                break
            if level.requires_approval:
                return AdvancementPlan(tuple(attain), level.number)
            attain.append(level.number)
            attained_at[level.number] = now
        previous = level.number
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


def held_categories(session: Session, employee_id: str, now: datetime) -> dict[str, str | None]:
    """The achievements the employee currently holds a valid credential of, with their catalog category."""
    valid = valid_achievements(session, employee_id, now)
    if not valid:
        return {}
    categories = dict(
        session.execute(
            select(CatalogEntry.achievement_id, CatalogEntry.category).where(CatalogEntry.achievement_id.in_(valid))
        ).all()
    )
    return {achievement_id: categories.get(achievement_id) for achievement_id in valid}


def pathways_needing(session: Session, achievement_id: str) -> list[str]:
    """The pathways with a level this achievement counts towards: named in it, or soft and counted by its balance rule."""
    pathway_ids = set(
        session.scalars(select(LevelRequirement.pathway_id).where(LevelRequirement.achievement_id == achievement_id))
    )
    entry = session.get(CatalogEntry, achievement_id)
    if entry is not None and entry.category == SOFT:
        pathway_ids |= set(session.scalars(select(Level.pathway_id).where(Level.min_soft_skill_credentials > 0)))
    return sorted(pathway_ids)


def update_progress(
    session: Session,
    employee_id: str,
    pathway_ids: list[str],
    *,
    now: datetime,
    source: str,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> list[AdvancementRequest]:
    """Enrol the employee where they are not yet, record newly attained levels and open the requests progress calls for."""
    held = held_categories(session, employee_id, now)
    opened = []
    for pathway_id in sorted(pathway_ids):
        pathway = session.get(Pathway, pathway_id)
        version = enrol(session, employee_id, pathway, now=now)
        # Levels are written only when HR saves a pathway version, never in a transaction that updates
        # progress: read once per transaction (a chunk of events, or a migration of many employees).
        levels = once_per_transaction(session, ("levels", pathway_id, version), lambda: levels_of(session, pathway_id, version))
        attained = dict(
            session.execute(
                select(LevelAttainment.level, LevelAttainment.attained_at).where(
                    LevelAttainment.employee_id == employee_id, LevelAttainment.pathway_id == pathway_id
                )
            ).all()
        )
        plan = plan_advancement([LevelRule.of(level) for level in levels], held, attained, now=now)
        for number in plan.attain:
            session.add(LevelAttainment(employee_id=employee_id, pathway_id=pathway_id, level=number, attained_at=now))
        if plan.request is not None and not _has_pending_request(session, employee_id, pathway_id, plan.request):
            level = next(level for level in levels if level.number == plan.request)
            opened.append(_open_request(session, employee_id, pathway, level, now=now, source=source, new_id=new_id))
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


def _open_request(session, employee_id, pathway, level, *, now, source, new_id) -> AdvancementRequest:
    """Open a request assigned to the employee's manager and announce it."""
    person = session.get(Person, employee_id)
    manager_id = person.manager_id if person is not None else None
    level_number = level.number
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
    record_transition(session, request, actor=SYSTEM, from_status=None, at=now)
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
    """Per pathway touching the employee: each level's required, held and missing credentials and status.

    Whether a level's requirements are met is worked out afresh at `now`, so waiting time shows as it passes.
    """
    held = held_categories(session, employee_id, now)
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
            session.scalars(select(LevelRequirement.pathway_id).where(LevelRequirement.achievement_id.in_(list(held))))
        )
    summary = []
    for pathway in session.scalars(select(Pathway).where(Pathway.id.in_(pathway_ids)).order_by(Pathway.name)):
        levels = []
        previous_attained_at = None
        for level in enrolled_levels(session, employee_id, pathway):
            required = level.required_achievements
            request = requests.get((pathway.id, level.number))
            rule = LevelRule.of(level)
            waits = rule.min_months_at_previous_level and previous_attained_at is not None
            levels.append(
                {
                    "number": level.number,
                    "name": level.name,
                    "required": required,
                    "held": [achievement for achievement in required if achievement in held],
                    "missing": [achievement for achievement in required if achievement not in held],
                    "attained": (pathway.id, level.number) in attained,
                    "request_status": request.status if request else None,
                    "requirements_met": credentials_met(rule, held) and waited_long_enough(rule, previous_attained_at, now),
                    "eligible_from": add_months(previous_attained_at, rule.min_months_at_previous_level) if waits else None,
                }
            )
            attainment = attained.get((pathway.id, level.number))
            previous_attained_at = attainment.attained_at if attainment else None
        summary.append({"pathway_id": pathway.id, "pathway_name": pathway.name, "levels": levels})
    return summary
