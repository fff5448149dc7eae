"""Assessor results: people with the assessor role record projects, portfolios and practicals.

A result goes through the same intake as an LMS completion (`intake.record_completion`), so
the worker issues from it exactly as from the LMS: the rule decides, not the assessor. What
an assessor may record is checked here: only for assessments an assessor-reviewed achievement
names, never for themselves, with the result each of those rules needs and evidence links.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.issuer import intake
from services.issuer.models import Achievement, AssessmentAttempt
from services.issuer.rules import PASS_FAIL, PERCENT, RUBRIC
from shared.errors import Forbidden, InvalidInput

CHANNEL = "assessor"  # the `source` field of the completions assessors record


@dataclass(frozen=True)
class ReviewedAssessment:
    """An assessment that assessors record results of, and the achievements it can earn."""

    assessment_id: str
    achievements: tuple[Achievement, ...]

    @property
    def label(self) -> str:
        return f"{', '.join(achievement.name for achievement in self.achievements)} ({self.assessment_id})"

    @property
    def thresholds(self) -> set[str]:
        return {achievement.threshold for achievement in self.achievements}

    @property
    def rubric_levels(self) -> list[str]:
        """The rubric levels of its rubric rules, lowest first, each once."""
        levels = [level for achievement in self.achievements if achievement.threshold == RUBRIC for level in achievement.rubric_levels]
        return list(dict.fromkeys(levels))


def reviewed_assessments(session: Session) -> list[ReviewedAssessment]:
    """Every assessment an active assessor-reviewed achievement names, by assessment id."""
    found = session.scalars(
        select(Achievement)
        .where(Achievement.assessor_reviewed.is_(True), Achievement.retired.is_(False))
        .order_by(Achievement.assessment_id, Achievement.name)
    )
    grouped: dict[str, list[Achievement]] = {}
    for achievement in found:
        grouped.setdefault(achievement.assessment_id, []).append(achievement)
    return [ReviewedAssessment(assessment_id, tuple(achievements)) for assessment_id, achievements in grouped.items()]


def record_result(
    session: Session,
    result: dict,
    *,
    assessor_id: str,
    now: datetime,
    source: str,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> AssessmentAttempt:
    """Check and record an assessor's result as a completion; issuance follows from its event."""
    if result["employee_id"] == assessor_id:
        raise Forbidden("you cannot record a result of your own assessment")
    assessment = next((found for found in reviewed_assessments(session) if found.assessment_id == result["assessment_id"]), None)
    if assessment is None:
        message = f"no assessor-reviewed credential is earned by assessment {result['assessment_id']!r}"
        raise InvalidInput(message, errors={"assessment_id": [message]})
    errors = _missing_results(assessment, result)
    if result["completed_on"] > now.date():
        errors["completed_on"] = ["cannot be in the future"]
    if errors:
        raise InvalidInput("The result is incomplete; see errors.", errors=errors)
    completion = {
        "attempt_id": new_id(),
        "employee_id": result["employee_id"],
        "email": result.get("email"),
        "assessment_id": result["assessment_id"],
        "score": result.get("score"),
        "passed": result.get("passed"),
        "rubric_level": result.get("rubric_level"),
        "evidence": [
            {"url": link["url"], "name": link.get("name") or f"Evidence {number}"}
            for number, link in enumerate(result["evidence"], start=1)
        ],
        "assessor_id": assessor_id,
        "completed_at": _start_of(result["completed_on"]),
    }
    attempt, _ = intake.record_completion(session, completion, now=now, source=source, channel=CHANNEL)
    return attempt


def _missing_results(assessment: ReviewedAssessment, result: dict) -> dict[str, list[str]]:
    """What the assessment's rules need that the result does not state, by field."""
    errors = {}
    if PERCENT in assessment.thresholds and result.get("score") is None:
        errors["score"] = ["this assessment is scored: give the score in percent"]
    if PASS_FAIL in assessment.thresholds and result.get("passed") is None:
        errors["passed"] = ["this assessment is pass/fail: say whether it was passed"]
    if RUBRIC in assessment.thresholds and result.get("rubric_level") not in assessment.rubric_levels:
        errors["rubric_level"] = ["choose one of the levels: " + ", ".join(assessment.rubric_levels)]
    return errors


def _start_of(day: date) -> datetime:
    """The assessment's day as the completion time: its start, in UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)
