"""Pathway versions per employee: which version's levels an employee progresses on.

An employee is enrolled on the version current when they first made progress on the pathway and
stays on it until HR migrates them. Attainments and requests are by level number, not by version.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.pathways.models import AdvancementRequest, Level, LevelAttainment, Pathway, PathwayEnrollment

# Every pathway was version 1 before versions existed (migration 0004_versions).
FIRST_VERSION = 1


def levels_of(session: Session, pathway_id: str, version: int) -> list[Level]:
    """The levels of one version of a pathway, bottom up."""
    return list(
        session.scalars(
            select(Level).where(Level.pathway_id == pathway_id, Level.version == version).order_by(Level.number)
        )
    )


def enrolled_version(session: Session, employee_id: str, pathway: Pathway) -> int:
    """The version the employee progresses on; someone not yet enrolled would enrol on `enrollment_version`."""
    enrollment = session.get(PathwayEnrollment, (employee_id, pathway.id))
    return enrollment.version if enrollment is not None else enrollment_version(session, employee_id, pathway)


def enrollment_version(session: Session, employee_id: str, pathway: Pathway) -> int:
    """The version to enrol on: the current one, or 1 for someone whose progress predates versions."""
    started_before_versions = session.scalar(
        select(LevelAttainment.level).where(
            LevelAttainment.employee_id == employee_id, LevelAttainment.pathway_id == pathway.id
        ).limit(1)
    ) is not None or session.scalar(
        select(AdvancementRequest.id).where(
            AdvancementRequest.employee_id == employee_id, AdvancementRequest.pathway_id == pathway.id
        ).limit(1)
    ) is not None
    return FIRST_VERSION if started_before_versions else pathway.version


def enrol(session: Session, employee_id: str, pathway: Pathway, *, now: datetime) -> int:
    """Enrol the employee on the pathway if they are not yet; the version they are on."""
    enrollment = session.get(PathwayEnrollment, (employee_id, pathway.id))
    if enrollment is None:
        enrollment = PathwayEnrollment(
            employee_id=employee_id, pathway_id=pathway.id, version=enrollment_version(session, employee_id, pathway), enrolled_at=now
        )
        session.add(enrollment)
    return enrollment.version


def enrolled_levels(session: Session, employee_id: str, pathway: Pathway) -> list[Level]:
    """The levels of the version the employee progresses on."""
    return levels_of(session, pathway.id, enrolled_version(session, employee_id, pathway))


def level_named_by(session: Session, request: AdvancementRequest, pathway: Pathway) -> Level:
    """The level a request is for: in the employee's version, else the latest version that has its number."""
    for level in enrolled_levels(session, request.employee_id, pathway):
        if level.number == request.level:
            return level
    return session.scalars(
        select(Level)
        .where(Level.pathway_id == pathway.id, Level.number == request.level)
        .order_by(Level.version.desc())
        .limit(1)
    ).one()
