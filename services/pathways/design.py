"""The pathway designer: HR defines ladders of levels over catalog credentials."""

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.pathways.models import CatalogEntry, Level, LevelRequirement, Pathway
from shared.errors import Conflict, InvalidInput, NotFound


def slugify(name: str) -> str:
    """A readable id from a name: 'Data Analyst' -> 'data-analyst'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 2 else "pathway"


def validate_levels(levels: list[dict], catalog: dict[str, CatalogEntry]) -> list[dict]:
    """Every problem of a pathway's levels, by field: unknown, retired or repeated credentials."""
    problems = []
    required_so_far: set[str] = set()
    for index, level in enumerate(levels):
        for position, achievement_id in enumerate(level["credentials"]):
            field = f"levels[{index}].credentials[{position}]"
            entry = catalog.get(achievement_id)
            if entry is None:
                problems.append({"field": field, "message": f"unknown credential {achievement_id!r}"})
            elif entry.retired:
                problems.append({"field": field, "message": f"credential {achievement_id!r} is retired"})
            elif achievement_id in required_so_far:
                problems.append({"field": field, "message": f"credential {achievement_id!r} is already required by this or an earlier level"})
            required_so_far.add(achievement_id)
    return problems


def define_pathway(session: Session, definition: dict, *, now: datetime) -> Pathway:
    """Create a pathway; each level implicitly requires the one before it."""
    pathway_id = definition.get("id") or slugify(definition["name"])
    if session.get(Pathway, pathway_id) is not None:
        raise Conflict(f"pathway {pathway_id!r} already exists")
    catalog = {entry.achievement_id: entry for entry in session.scalars(select(CatalogEntry))}
    problems = validate_levels(definition["levels"], catalog)
    if problems:
        raise InvalidInput("the pathway definition is invalid; nothing was saved", errors=problems)
    pathway = Pathway(id=pathway_id, name=definition["name"], version=1, created_at=now)
    session.add(pathway)
    session.flush()  # the levels' foreign keys need the pathway row first
    for number, level in enumerate(definition["levels"], start=1):
        session.add(
            Level(
                pathway_id=pathway_id,
                number=number,
                name=level["name"],
                required_achievements=list(level["credentials"]),
                requires_approval=level["requires_approval"],
            )
        )
        session.add_all(
            LevelRequirement(achievement_id=achievement_id, pathway_id=pathway_id, level=number)
            for achievement_id in level["credentials"]
        )
    session.flush()
    session.refresh(pathway)
    return pathway


def get_pathway(session: Session, pathway_id: str) -> Pathway:
    pathway = session.get(Pathway, pathway_id)
    if pathway is None:
        raise NotFound(f"no pathway {pathway_id!r}")
    return pathway


def list_pathways(session: Session) -> list[Pathway]:
    return list(session.scalars(select(Pathway).order_by(Pathway.name)))
