"""The credential catalog: HR defines the achievements the academy can award."""

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.issuer.models import Achievement
from shared.bus.outbox import publish
from shared.errors import Conflict, NotFound

CREDENTIAL_DEFINED = "skillstack.issuer.credential.defined.v1"


def slugify(name: str) -> str:
    """A readable id from a name: 'SQL Foundations' -> 'sql-foundations'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 2 else "credential"


def define_achievement(session: Session, definition: dict, *, now: datetime, source: str) -> Achievement:
    """Add a new achievement to the catalog and announce it."""
    achievement_id = definition.get("id") or slugify(definition["name"])
    if session.get(Achievement, achievement_id) is not None:
        raise Conflict(f"credential {achievement_id!r} already exists")
    achievement = Achievement(
        id=achievement_id,
        version=1,
        name=definition["name"],
        description=definition["description"],
        category=definition["category"],
        assessment_id=definition["assessment_id"],
        min_score=definition["min_score"],
        validity_months=definition["validity_months"],
        retired=False,
        created_at=now,
    )
    session.add(achievement)
    session.flush()
    publish(
        session,
        CREDENTIAL_DEFINED,
        {
            "achievement_id": achievement.id,
            "version": achievement.version,
            "name": achievement.name,
            "description": achievement.description,
            "category": achievement.category,
            "assessment_id": achievement.assessment_id,
            "min_score": achievement.min_score,
            "validity_months": achievement.validity_months,
            "retired": achievement.retired,
        },
        source=source,
        now=lambda: now,
    )
    return achievement


def get_achievement(session: Session, achievement_id: str) -> Achievement:
    achievement = session.get(Achievement, achievement_id)
    if achievement is None:
        raise NotFound(f"no credential {achievement_id!r}")
    return achievement


def list_achievements(session: Session) -> list[Achievement]:
    return list(session.scalars(select(Achievement).order_by(Achievement.name)))
