"""Threshold rules on plain values: which results meet a percent, pass/fail or rubric rule."""

from types import SimpleNamespace

import pytest

from services.issuer.rules import describe, meets, outcome_text

LEVELS = ["novice", "competent", "proficient", "expert"]


def rule(threshold="percent", min_score=None, rubric_levels=(), min_rubric_level=None, assessor_reviewed=False):
    return SimpleNamespace(threshold=threshold, min_score=min_score, rubric_levels=list(rubric_levels),
                           min_rubric_level=min_rubric_level, assessor_reviewed=assessor_reviewed, assessment_id="sql-101")


@pytest.mark.parametrize(("result", "met"), [({"score": 80}, True), ({"score": 79.99}, False), ({"score": None, "passed": True}, False)])
def test_a_percent_rule_needs_the_minimum_score(result, met):
    assert meets(rule(min_score=80), result) is met


@pytest.mark.parametrize(("result", "met"), [({"passed": True}, True), ({"passed": False, "score": 100}, False), ({"score": 100}, False)])
def test_a_pass_fail_rule_needs_a_pass(result, met):
    assert meets(rule("pass_fail"), result) is met


@pytest.mark.parametrize(("level", "met"), [("expert", True), ("proficient", True), ("competent", False), ("Expert", False), (None, False)])
def test_a_rubric_rule_follows_the_order_of_its_levels(level, met):
    assert meets(rule("rubric", rubric_levels=LEVELS, min_rubric_level="proficient"), {"rubric_level": level}) is met


def test_an_assessor_reviewed_rule_needs_an_assessor():
    reviewed = rule("pass_fail", assessor_reviewed=True)

    assert not meets(reviewed, {"passed": True})
    assert meets(reviewed, {"passed": True, "assessor_id": "emp-7"})


def test_rules_and_outcomes_read_as_sentences():
    assert describe(rule(min_score=80)) == "Score at least 80 % in the academy's assessment sql-101."
    assert describe(rule("rubric", rubric_levels=LEVELS, min_rubric_level="expert", assessor_reviewed=True)) == (
        "Reach at least the level expert (novice < competent < proficient < expert) in the academy's assessment "
        "sql-101, reviewed by an assessor.")
    assert outcome_text({"score": 86.5, "passed": True}) == "scored 86.5 %, passed"
