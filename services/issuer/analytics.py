"""HR's pass rate per assessment: of the attempts reported in the last months, how many met a rule.

An attempt passes when it meets the rule (`rules.meets`) of a credential its assessment earns,
judged by each credential's current definition: a score at or above `min_score`, a pass, or a
rubric level at or above the minimum, reviewed by an assessor where the rule asks for one.
Attempts of assessments no credential names are left out: nothing defines their pass. The
counts are aggregated by the database in one query; the catalog's rules are read in another.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, distinct, func, not_, or_, select, tuple_
from sqlalchemy.orm import Session

from services.issuer.models import Achievement, AssessmentAttempt
from services.issuer.rules import PASS_FAIL, PERCENT, RUBRIC, rubric_rank

MONTHS = 12


@dataclass(frozen=True)
class PassRate:
    """One assessment's attempts and passes, and the credentials it earns (their names)."""

    assessment_id: str
    credentials: tuple[str, ...]
    attempts: int
    passed: int

    @property
    def share(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0


def window_start(now: datetime, months: int = MONTHS) -> datetime:
    """The first instant (UTC) of the calendar month `months - 1` before now's: the last `months` months."""
    index = now.astimezone(UTC).year * 12 + now.astimezone(UTC).month - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _passes(passing_rubric_levels: list[tuple[str, str]]):
    """SQL: the attempt meets the joined achievement's rule (as `rules.meets` decides)."""
    attempt = AssessmentAttempt
    return and_(
        or_(not_(Achievement.assessor_reviewed), attempt.assessor_id.is_not(None)),
        or_(
            and_(Achievement.threshold == PASS_FAIL, attempt.passed.is_(True)),
            and_(Achievement.threshold == PERCENT, attempt.score >= Achievement.min_score),
            and_(Achievement.threshold == RUBRIC, tuple_(Achievement.id, attempt.rubric_level).in_(passing_rubric_levels)),
        ),
    )


def pass_rates(session: Session, *, now: datetime) -> list[PassRate]:
    """Per assessment a credential names, its attempts completed in the last `MONTHS` months and how many passed."""
    rules = session.execute(
        select(Achievement.id, Achievement.name, Achievement.assessment_id, Achievement.threshold,
               Achievement.rubric_levels, Achievement.min_rubric_level).order_by(Achievement.name)
    ).all()
    names: dict[str, list[str]] = {}
    for rule in rules:
        names.setdefault(rule.assessment_id, []).append(rule.name)
    passing_levels = [
        (rule.id, level) for rule in rules if rule.threshold == RUBRIC
        for level in rule.rubric_levels if rubric_rank(rule, level) >= rubric_rank(rule, rule.min_rubric_level) >= 0
    ]
    # An attempt counts once however many credentials its assessment earns: it passes if it meets any one's rule.
    counts = session.execute(
        select(
            AssessmentAttempt.assessment_id,
            func.count(distinct(AssessmentAttempt.attempt_id)),
            func.count(distinct(case((_passes(passing_levels), AssessmentAttempt.attempt_id)))),
        )
        .join(Achievement, Achievement.assessment_id == AssessmentAttempt.assessment_id)
        .where(AssessmentAttempt.completed_at >= window_start(now))
        .group_by(AssessmentAttempt.assessment_id)
    ).all()
    found = [PassRate(assessment_id, tuple(names[assessment_id]), attempts, passed) for assessment_id, attempts, passed in counts]
    return sorted(found, key=lambda rate: (rate.share, rate.assessment_id))
