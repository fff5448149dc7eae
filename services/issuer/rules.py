"""Issuance rules as data: when an assessment result earns an achievement.

Each achievement names one assessment and a threshold of one kind:

- `percent`: the score is at least `min_score` (every definition made before rules had kinds);
- `pass_fail`: the attempt is marked passed; a score alone never counts as a pass;
- `rubric`: the level reached is at or above `min_rubric_level` in the achievement's ordered
  `rubric_levels` (lowest first); a level the achievement does not define never counts.

An `assessor_reviewed` rule is met only by a result an assessor recorded (it carries their id):
an LMS cannot award a credential that needs a person's review, and an assessor can only record
results for assessor-reviewed assessments (`services.issuer.assessor_results`).
"""

from typing import Any

PERCENT, PASS_FAIL, RUBRIC = "percent", "pass_fail", "rubric"
THRESHOLDS = (PERCENT, PASS_FAIL, RUBRIC)


def meets(rule: Any, result: dict) -> bool:
    """Whether a result (an assessment.completed event's data) meets an achievement's rule."""
    if rule.assessor_reviewed and not result.get("assessor_id"):
        return False
    if rule.threshold == PASS_FAIL:
        return result.get("passed") is True
    if rule.threshold == RUBRIC:
        return rubric_rank(rule, result.get("rubric_level")) >= rubric_rank(rule, rule.min_rubric_level) >= 0
    score = result.get("score")
    return score is not None and rule.min_score is not None and score >= rule.min_score


def rubric_rank(rule: Any, level: str | None) -> int:
    """A level's position in the rule's rubric, lowest 0; -1 for a level it does not define."""
    return rule.rubric_levels.index(level) if level in (rule.rubric_levels or ()) else -1


def describe(rule: Any) -> str:
    """The rule in words, the criteria of a credential whose definition gives none."""
    where = f"the academy's assessment {rule.assessment_id}"
    if rule.threshold == PASS_FAIL:
        text = f"Pass {where}."
    elif rule.threshold == RUBRIC:
        text = f"Reach at least the level {rule.min_rubric_level} ({' < '.join(rule.rubric_levels)}) in {where}."
    else:
        text = f"Score at least {rule.min_score:g} % in {where}."
    return text[:-1] + ", reviewed by an assessor." if rule.assessor_reviewed else text


def outcome_text(result: dict) -> str:
    """What a result says, for a credential's evidence: 'scored 86 %', 'passed', 'reached level expert'."""
    parts = []
    if result.get("score") is not None:
        parts.append(f"scored {result['score']:g} %")
    if result.get("passed") is not None:
        parts.append("passed" if result["passed"] else "not passed")
    if result.get("rubric_level"):
        parts.append(f"reached level {result['rubric_level']}")
    return ", ".join(parts) or "completed"
