"""Recertification: a credential that a level someone holds names has ended, so they must earn it again.

The level stays attained (a decision of this service, see ADR 0014); the event tells the
employee and their manager. It is published in the transaction of the consumer handling the
credential's end, so a redelivered event (already processed) publishes nothing, and only for a
credential that was valid until then, so a revocation after an expiry does not repeat it.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.pathways.enrollment import enrolled_version
from services.pathways.models import HeldCredential, Level, LevelAttainment, LevelRequirement, Pathway, Person
from services.pathways.progress import LevelRule, credentials_met, held_categories
from shared.bus.outbox import publish

RECERTIFICATION_NEEDED = "skillstack.pathways.recertification.needed.v1"


def levels_losing(session: Session, employee_id: str, achievement_id: str, *, now: datetime) -> list[tuple[Pathway, Level]]:
    """The attained levels whose enrolled version names the achievement and which what the employee holds now no longer meets."""
    attained = session.execute(
        select(LevelAttainment.pathway_id, LevelAttainment.level, LevelRequirement.version)
        .join(
            LevelRequirement,
            (LevelRequirement.pathway_id == LevelAttainment.pathway_id) & (LevelRequirement.level == LevelAttainment.level),
        )
        .where(LevelAttainment.employee_id == employee_id, LevelRequirement.achievement_id == achievement_id)
        .order_by(LevelAttainment.pathway_id, LevelAttainment.level)
    ).all()
    held = held_categories(session, employee_id, now)
    losing = []
    for pathway_id, number, version in attained:
        pathway = session.get(Pathway, pathway_id)
        if version != enrolled_version(session, employee_id, pathway):
            continue  # another version names it; the employee's version does not
        level = session.get(Level, (pathway_id, version, number))
        # Another valid credential of the achievement (an early recertification), or of an n-of group, still meets it.
        if not credentials_met(LevelRule.of(level), held):
            losing.append((pathway, level))
    return losing


def announce_recertification_needs(
    session: Session, held: HeldCredential, *, achievement_name: str, cause: str, now: datetime, source: str
) -> list[Level]:
    """Publish `recertification.needed` for each level the ended credential leaves unmet; the levels announced."""
    person = session.get(Person, held.employee_id)
    announced = []
    for pathway, level in levels_losing(session, held.employee_id, held.achievement_id, now=now):
        data = {
            "employee_id": held.employee_id,
            "manager_id": person.manager_id if person is not None else None,
            "pathway_id": pathway.id,
            "pathway_name": pathway.name,
            "level": level.number,
            "level_name": level.name,
            "credential_id": held.credential_id,
            "achievement_id": held.achievement_id,
            "achievement_name": achievement_name,
            "cause": cause,
        }
        publish(session, RECERTIFICATION_NEEDED, data, source=source, now=lambda: now)
        announced.append(level)
    return announced
