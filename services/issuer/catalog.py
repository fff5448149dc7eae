"""The credential catalog: HR defines, edits and retires the achievements the academy can award.

Every definition is a version: an edit or a new image adds one to `achievement_versions`, and
`achievements` holds the current one. Credentials cite the version they were issued under.
"""

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.issuer.badges import badge_svg
from services.issuer.models import Achievement, AchievementVersion
from shared.bus.outbox import publish
from shared.errors import Conflict, InvalidInput, NotFound

CREDENTIAL_DEFINED = "skillstack.issuer.credential.defined.v1"
LEVELS = {1: "Foundation", 2: "Intermediate", 3: "Advanced", 4: "Expert", 5: "Master"}
SKILL_FRAMEWORKS = ("ESCO", "O*NET")  # the public skill frameworks an achievement aligns to
DEFAULT_COLOUR = "#1f5f8b"
DEFINITION_FIELDS = (
    "name", "description", "category", "assessment_id", "min_score", "validity_months", "criteria_narrative",
    "skills", "level", "issuing_unit", "prerequisites", "effort_hours", "colour",
    "threshold", "rubric_levels", "min_rubric_level", "assessor_reviewed",
)
# What credential.defined carries: the rule and what pathways and people need to know of it.
CREDENTIAL_DEFINED_FIELDS = (
    "name", "description", "category", "assessment_id", "min_score", "validity_months",
    "level", "skills", "prerequisites", "effort_hours",
    "threshold", "rubric_levels", "min_rubric_level", "assessor_reviewed",
)


def slugify(name: str) -> str:
    """A readable id from a name: 'SQL Foundations' -> 'sql-foundations'."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug if len(slug) >= 2 else "credential"


def define_achievement(session: Session, definition: dict, *, now: datetime, source: str) -> Achievement:
    """Add a new achievement to the catalog as version 1 and announce it."""
    achievement_id = definition.get("id") or slugify(definition["name"])
    if session.get(Achievement, achievement_id) is not None:
        raise Conflict(f"credential {achievement_id!r} already exists")
    check_prerequisites(session, achievement_id, definition["prerequisites"])
    achievement = Achievement(id=achievement_id, version=1, retired=False, created_at=now, image_media_type=None)
    _apply(achievement, definition)
    session.add(achievement)
    session.flush()
    _record_version(session, achievement, image=None, now=now)
    _announce(session, achievement, now=now, source=source)
    return achievement


def edit_achievement(session: Session, achievement_id: str, definition: dict, *, now: datetime, source: str) -> Achievement:
    """Replace an achievement's definition with a new version, keeping its image, and announce it."""
    achievement = _current_for_change(session, achievement_id)
    check_prerequisites(session, achievement_id, definition["prerequisites"])
    image = _version(session, achievement_id, achievement.version).image
    _apply(achievement, definition)
    achievement.version += 1
    _record_version(session, achievement, image=image, now=now)
    _announce(session, achievement, now=now, source=source)
    return achievement


def replace_image(session: Session, achievement_id: str, media_type: str, image: bytes, *, now: datetime, source: str) -> Achievement:
    """Give an achievement an uploaded (already validated) badge image, as a new version."""
    achievement = _current_for_change(session, achievement_id)
    achievement.image_media_type = media_type
    achievement.version += 1
    _record_version(session, achievement, image=image, now=now)
    _announce(session, achievement, now=now, source=source)
    return achievement


def retire_achievement(session: Session, achievement_id: str, *, now: datetime, source: str) -> Achievement:
    """Stop issuing an achievement; credentials already issued stay valid. Announce it."""
    achievement = _current_for_change(session, achievement_id)
    achievement.retired = True
    _announce(session, achievement, now=now, source=source)
    return achievement


def check_prerequisites(session: Session, achievement_id: str, prerequisites: list[str]) -> None:
    """Each prerequisite must be another active achievement, and none may lead back to this one."""
    problems = []
    for prerequisite_id in prerequisites:
        prerequisite = session.get(Achievement, prerequisite_id)
        if prerequisite_id == achievement_id:
            problems.append("a credential cannot be its own prerequisite")
        elif prerequisite is None:
            problems.append(f"no credential {prerequisite_id!r}")
        elif prerequisite.retired:
            problems.append(f"credential {prerequisite_id!r} is retired")
        elif achievement_id in _all_prerequisites(session, prerequisite_id):
            problems.append(f"credential {prerequisite_id!r} already requires {achievement_id!r}: a cycle")
    if problems:
        raise InvalidInput("invalid prerequisites: " + "; ".join(problems), errors={"prerequisites": problems})


def _all_prerequisites(session: Session, achievement_id: str) -> set[str]:
    """Every achievement reachable through prerequisites from this one."""
    seen: set[str] = set()
    pending = [achievement_id]
    while pending:
        achievement = session.get(Achievement, pending.pop())
        for prerequisite_id in achievement.prerequisites if achievement else ():
            if prerequisite_id not in seen:
                seen.add(prerequisite_id)
                pending.append(prerequisite_id)
    return seen


def _current_for_change(session: Session, achievement_id: str) -> Achievement:
    """The achievement, locked against a concurrent change; a retired one cannot change."""
    achievement = session.get(Achievement, achievement_id, with_for_update=True)
    if achievement is None:
        raise NotFound(f"no credential {achievement_id!r}")
    if achievement.retired:
        raise Conflict(f"credential {achievement_id!r} is retired")
    return achievement


def _apply(achievement: Achievement, definition: dict) -> None:
    for field in DEFINITION_FIELDS:
        setattr(achievement, field, definition[field])


def _record_version(session: Session, achievement: Achievement, *, image: bytes | None, now: datetime) -> None:
    fields = {field: getattr(achievement, field) for field in DEFINITION_FIELDS}
    session.add(
        AchievementVersion(
            achievement_id=achievement.id, version=achievement.version, image_media_type=achievement.image_media_type,
            image=image, created_at=now, **fields,
        )
    )
    session.flush()


def _announce(session: Session, achievement: Achievement, *, now: datetime, source: str) -> None:
    """Publish the achievement's current version, as credential.defined."""
    data = {field: getattr(achievement, field) for field in CREDENTIAL_DEFINED_FIELDS}
    data |= {"achievement_id": achievement.id, "version": achievement.version, "retired": achievement.retired}
    publish(session, CREDENTIAL_DEFINED, data, source=source, now=lambda: now)


def get_achievement(session: Session, achievement_id: str) -> Achievement:
    achievement = session.get(Achievement, achievement_id)
    if achievement is None:
        raise NotFound(f"no credential {achievement_id!r}")
    return achievement


def list_achievements(session: Session) -> list[Achievement]:
    return list(session.scalars(select(Achievement).order_by(Achievement.name)))


def _version(session: Session, achievement_id: str, version: int) -> AchievementVersion:
    found = session.get(AchievementVersion, (achievement_id, version))
    if found is None:
        raise NotFound(f"no version {version} of credential {achievement_id!r}")
    return found


def versions_of(session: Session, achievement_id: str) -> list[AchievementVersion]:
    """Every version of an achievement, oldest first."""
    get_achievement(session, achievement_id)
    return list(
        session.scalars(
            select(AchievementVersion).where(AchievementVersion.achievement_id == achievement_id).order_by(AchievementVersion.version)
        )
    )


def badge_image(session: Session, achievement_id: str, version: int) -> tuple[str, bytes]:
    """The media type and bytes of a version's badge: the uploaded image, or the generated SVG."""
    found = _version(session, achievement_id, version)
    if found.image is not None:
        return found.image_media_type, found.image
    svg = badge_svg(found.name, found.colour, found.level, LEVELS.get(found.level))
    return "image/svg+xml", svg.encode()
