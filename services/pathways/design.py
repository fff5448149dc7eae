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


def all_of(level: dict) -> tuple[str, list[str]]:
    """The level's all-of credentials and the name they were given under (`all_of`, or the older `credentials`)."""
    key = "all_of" if "all_of" in level else "credentials"
    return key, list(level.get(key) or [])


def _credential_problem(achievement_id: str, entry: CatalogEntry | None, named_so_far: set[str]) -> str | None:
    if entry is None:
        return f"unknown credential {achievement_id!r}"
    if entry.retired:
        return f"credential {achievement_id!r} is retired"
    if achievement_id in named_so_far:
        return f"credential {achievement_id!r} is already required by this or an earlier level"
    return None


def validate_levels(levels: list[dict], catalog: dict[str, CatalogEntry]) -> list[dict]:
    """Every problem of a pathway's levels, by field: unknown, retired or repeated credentials, unreachable rules."""
    problems = []
    named_so_far: set[str] = set()

    def check(field: str, achievement_id: str) -> bool:
        """Report a credential that cannot count; whether it can."""
        message = _credential_problem(achievement_id, catalog.get(achievement_id), named_so_far)
        named_so_far.add(achievement_id)
        if message:
            problems.append({"field": field, "message": message})
        return message is None

    soft_in_catalog = sum(1 for entry in catalog.values() if entry.category == "soft" and not entry.retired)
    for index, level in enumerate(levels):
        key, required = all_of(level)
        for position, achievement_id in enumerate(required):
            check(f"levels[{index}].{key}[{position}]", achievement_id)
        groups = level.get("n_of") or []
        for group_index, group in enumerate(groups):
            field = f"levels[{index}].n_of[{group_index}]"
            usable = sum(check(f"{field}.credentials[{position}]", achievement_id) for position, achievement_id in enumerate(group["credentials"]))
            if group["n"] > len(group["credentials"]):
                problems.append({"field": f"{field}.n", "message": f"needs {group['n']} of a group of {len(group['credentials'])}"})
            elif group["n"] > usable:
                problems.append({"field": f"{field}.n", "message": f"needs {group['n']} but only {usable} of the group can be earned"})
        soft = level.get("min_soft_skill_credentials", 0)
        if soft > soft_in_catalog:
            problems.append({"field": f"levels[{index}].min_soft_skill_credentials",
                             "message": f"needs {soft} soft-skill credentials but the catalog has {soft_in_catalog}"})
        if index == 0 and level.get("min_months_at_previous_level", 0):
            problems.append({"field": "levels[0].min_months_at_previous_level", "message": "the first level has no previous level"})
        if not required and not groups and not soft:
            problems.append({"field": f"levels[{index}]", "message": "a level needs all_of, n_of or min_soft_skill_credentials"})
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
    _add_levels(session, pathway_id, 1, definition["levels"])
    session.refresh(pathway)
    return pathway


def edit_pathway(session: Session, pathway_id: str, definition: dict) -> Pathway:
    """Make a new version of a pathway's levels, keeping every earlier version for the employees enrolled on it."""
    pathway = session.get(Pathway, pathway_id, with_for_update=True)  # two edits cannot both make version n+1
    if pathway is None:
        raise NotFound(f"no pathway {pathway_id!r}")
    catalog = {entry.achievement_id: entry for entry in session.scalars(select(CatalogEntry))}
    problems = validate_levels(definition["levels"], catalog)
    if problems:
        raise InvalidInput("the pathway definition is invalid; nothing was saved", errors=problems)
    pathway.name = definition["name"]
    pathway.version += 1
    _add_levels(session, pathway_id, pathway.version, definition["levels"])
    session.refresh(pathway)
    return pathway


def _add_levels(session: Session, pathway_id: str, version: int, levels: list[dict]) -> None:
    """Store one version's levels and the index of which achievements they name."""
    for number, level in enumerate(levels, start=1):
        session.add(
            Level(
                pathway_id=pathway_id,
                version=version,
                number=number,
                name=level["name"],
                required_achievements=all_of(level)[1],
                n_of=[{"n": group["n"], "credentials": list(group["credentials"])} for group in level.get("n_of", [])],
                min_months_at_previous_level=level.get("min_months_at_previous_level", 0),
                min_soft_skill_credentials=level.get("min_soft_skill_credentials", 0),
                requires_approval=level["requires_approval"],
            )
        )
        named = all_of(level)[1] + [achievement_id for group in level.get("n_of", []) for achievement_id in group["credentials"]]
        session.add_all(
            LevelRequirement(achievement_id=achievement_id, pathway_id=pathway_id, version=version, level=number)
            for achievement_id in named
        )
    session.flush()


def get_pathway(session: Session, pathway_id: str) -> Pathway:
    pathway = session.get(Pathway, pathway_id)
    if pathway is None:
        raise NotFound(f"no pathway {pathway_id!r}")
    return pathway


def list_pathways(session: Session) -> list[Pathway]:
    return list(session.scalars(select(Pathway).order_by(Pathway.name)))
