"""HR moves employees to another version of a pathway; their progress is worked out again on it."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.pathways.design import get_pathway
from services.pathways.models import AdvancementRequest, PathwayEnrollment
from services.pathways.progress import update_progress
from shared.errors import InvalidInput


def migrate_employees(
    session: Session,
    pathway_id: str,
    version: int,
    *,
    employee_ids: list[str] | None,
    now: datetime,
    source: str,
    new_id: Callable[[], str] | None = None,
) -> tuple[list[str], list[AdvancementRequest]]:
    """Enrol the given employees (None: everyone enrolled) on `version`; the employees moved and the requests opened.

    Attained levels stay as recorded: attainment is by level number, whichever version it was earned on.
    """
    pathway = get_pathway(session, pathway_id)
    if not 1 <= version <= pathway.version:
        raise InvalidInput(
            f"pathway {pathway_id!r} has versions 1 to {pathway.version}",
            errors=[{"field": "version", "message": f"no version {version}"}],
        )
    if employee_ids is None:
        employee_ids = list(session.scalars(select(PathwayEnrollment.employee_id).where(PathwayEnrollment.pathway_id == pathway_id)))
    opened = []
    for employee_id in sorted(set(employee_ids)):
        enrollment = session.get(PathwayEnrollment, (employee_id, pathway_id), with_for_update=True)
        if enrollment is None:
            session.add(PathwayEnrollment(employee_id=employee_id, pathway_id=pathway_id, version=version, enrolled_at=now))
        else:
            enrollment.version = version
        session.flush()
        extra = {"new_id": new_id} if new_id else {}
        opened += update_progress(session, employee_id, [pathway_id], now=now, source=source, **extra)
    return sorted(set(employee_ids)), opened
