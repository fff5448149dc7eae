"""Issuance rules as data, against real PostgreSQL: threshold kinds, prerequisites, assessor results."""

import json
from datetime import UTC, datetime

import pytest

from services.issuer.verification import schema_errors
from shared.auth import ASSESSOR
from tests.integration.helpers import count, outbox_rows, problem, rows, table_counts
from tests.integration.test_issuer_api import complete, completion_data, credentials_of, define, definition, hr_admin
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

COMPLETED = "skillstack.academy.assessment.completed.v1"
LEVELS = ["novice", "competent", "proficient", "expert"]
AT = datetime(2026, 6, 1, 9, tzinfo=UTC)
WRITTEN = ("assessment_attempts", "credentials", "outbox")


def earned(issuer, achievement: dict, at: datetime = AT, **result) -> list[dict]:
    """Handle a completion of the achievement's assessment; return the employee's credentials."""
    data = completion_data(achievement, **result)
    complete(issuer, data, at=at)
    return credentials_of(issuer, data["employee_id"])


# --- threshold kinds ---------------------------------------------------------------------


@pytest.mark.parametrize(("score", "issued"), [(80.0, True), (79.99, False)])
def test_a_percent_rule_issues_from_its_minimum_score(issuer, score, issued):
    achievement = define(issuer, min_score=80)

    assert bool(earned(issuer, achievement, score=score)) is issued


@pytest.mark.parametrize(("passed", "issued"), [(True, True), (False, False), (None, False)])
def test_a_pass_fail_rule_issues_only_a_passed_attempt_whatever_the_score(issuer, passed, issued):
    achievement = define(issuer, threshold="pass_fail", min_score=None)

    found = earned(issuer, achievement, score=100.0, passed=passed)

    assert bool(found) is issued
    if issued:
        document = json.loads(found[0]["document"])
        assert document["credentialSubject"]["result"][0]["value"] == "Passed"
        assert document["credentialSubject"]["achievement"]["criteria"]["narrative"].startswith("Pass the academy's assessment")
        assert schema_errors(document) == []


@pytest.mark.parametrize(("level", "issued"), [("expert", True), ("proficient", True), ("competent", False), ("novice", False), ("master", False)])
def test_a_rubric_rule_issues_from_its_minimum_level_in_the_rubric_order(issuer, level, issued):
    achievement = define(issuer, threshold="rubric", min_score=None, rubric_levels=LEVELS, min_rubric_level="proficient")

    found = earned(issuer, achievement, score=None, rubric_level=level)

    assert bool(found) is issued
    if issued:
        document = json.loads(found[0]["document"])
        [description] = document["credentialSubject"]["achievement"]["resultDescription"]
        assert [item["name"] for item in description["rubricCriterionLevel"]] == LEVELS
        assert description["requiredLevel"].endswith("-level-3")
        assert document["credentialSubject"]["result"][0]["achievedLevel"].endswith(f"-level-{LEVELS.index(level) + 1}")
        assert schema_errors(document) == []
        assert found[0]["score"] is None


def test_an_existing_definition_reads_as_a_percent_rule_and_versions_keep_the_rule(issuer):
    achievement = define(issuer)
    assert (achievement["threshold"], achievement["rubric_levels"], achievement["assessor_reviewed"]) == ("percent", [], False)

    sent = {key: achievement[key] for key in ("name", "description", "assessment_id")} | {
        "threshold": "rubric", "rubric_levels": LEVELS, "min_rubric_level": "competent"}
    response = issuer.test_client().put(f"/api/achievements/{achievement['id']}", json=sent, headers=hr_admin())

    assert response.status_code == 200, response.get_data(as_text=True)
    versions = rows(issuer, "SELECT version, threshold, min_score, min_rubric_level FROM achievement_versions WHERE achievement_id = :id "
                    "ORDER BY version", id=achievement["id"])
    assert versions == [{"version": 1, "threshold": "percent", "min_score": 80.0, "min_rubric_level": None},
                        {"version": 2, "threshold": "rubric", "min_score": None, "min_rubric_level": "competent"}]
    announced = outbox_rows(issuer, "skillstack.issuer.credential.defined.v1", achievement["id"])[-1]["payload"]["data"]
    assert (announced["threshold"], announced["rubric_levels"], announced["min_score"]) == ("rubric", LEVELS, None)


BAD_RULES = {
    "percent without min_score": ({"min_score": None}, {"min_score"}),
    "rubric without levels": ({"threshold": "rubric", "min_score": None, "min_rubric_level": "x"}, {"rubric_levels", "min_rubric_level"}),
    "rubric minimum not a level": (
        {"threshold": "rubric", "min_score": None, "rubric_levels": LEVELS, "min_rubric_level": "master"}, {"min_rubric_level"}),
    "rubric without minimum": ({"threshold": "rubric", "min_score": None, "rubric_levels": LEVELS}, {"min_rubric_level"}),
    "rubric level twice": ({"threshold": "rubric", "min_score": None, "rubric_levels": ["a", "b", "a"], "min_rubric_level": "a"},
                           {"rubric_levels"}),
    "pass_fail with min_score": ({"threshold": "pass_fail", "min_score": 50}, {"min_score"}),
    "percent with rubric levels": ({"rubric_levels": LEVELS}, {"rubric_levels"}),
    "unknown kind": ({"threshold": "vibes"}, {"threshold"}),
}


@pytest.mark.parametrize("case", BAD_RULES)
def test_an_incomplete_rule_is_refused_naming_its_fields_and_writes_nothing(issuer, case):
    changes, fields = BAD_RULES[case]
    before = table_counts(issuer, "achievements", "achievement_versions", "outbox")

    response = issuer.test_client().post("/api/achievements", json=definition(**changes), headers=hr_admin())

    assert set(problem(response, 422)["errors"]) == fields
    assert table_counts(issuer, "achievements", "achievement_versions", "outbox") == before


# --- prerequisites -----------------------------------------------------------------------


def test_a_missing_prerequisite_withholds_the_credential_and_records_why(issuer):
    basics = define(issuer, name="Data Literacy")
    advanced = define(issuer, prerequisites=[basics["id"]])
    data = completion_data(advanced, score=95.0)

    event = complete(issuer, data, at=AT)
    complete(issuer, data, at=AT)  # redelivered: recorded once

    assert credentials_of(issuer, data["employee_id"]) == []
    assert rows(issuer, "SELECT achievement_id, missing_prerequisites, source_event_id FROM withheld_issuances WHERE attempt_id = :a",
                a=data["attempt_id"]) == [{"achievement_id": advanced["id"], "missing_prerequisites": [basics["id"]],
                                           "source_event_id": event.id}]


def test_a_held_prerequisite_allows_it_and_an_expired_or_revoked_one_does_not(issuer):
    basics = define(issuer, name="Data Literacy", validity_months=6)
    advanced = define(issuer, prerequisites=[basics["id"]])
    employee = unique("emp")
    complete(issuer, completion_data(basics, employee_id=employee), at=datetime(2026, 1, 10, tzinfo=UTC))

    complete(issuer, completion_data(advanced, employee_id=employee), at=datetime(2026, 3, 1, tzinfo=UTC))
    assert [row["achievement_id"] for row in credentials_of(issuer, employee)] == [basics["id"], advanced["id"]]

    late = unique("emp")  # their basics expired on 10 July
    complete(issuer, completion_data(basics, employee_id=late), at=datetime(2026, 1, 10, tzinfo=UTC))
    complete(issuer, completion_data(advanced, employee_id=late), at=datetime(2026, 8, 1, tzinfo=UTC))
    assert [row["achievement_id"] for row in credentials_of(issuer, late)] == [basics["id"]]

    revoked = unique("emp")
    complete(issuer, completion_data(basics, employee_id=revoked), at=datetime(2026, 1, 10, tzinfo=UTC))
    [held] = credentials_of(issuer, revoked)
    assert issuer.test_client().post(f"/api/credentials/{held['id']}/revoke", json={"reason": "Error"}, headers=hr_admin()).status_code == 200
    complete(issuer, completion_data(advanced, employee_id=revoked), at=datetime(2026, 3, 1, tzinfo=UTC))
    assert [row["achievement_id"] for row in credentials_of(issuer, revoked)] == [basics["id"]]
    assert count(issuer, "withheld_issuances", "employee_id IN (:a, :b)", a=late, b=revoked) == 2


def test_a_prerequisite_earned_by_the_same_attempt_counts(issuer):
    assessment = unique("sql-101")
    basics = define(issuer, id=unique("zz-basics"), assessment_id=assessment, min_score=50)
    advanced = define(issuer, id=unique("aa-advanced"), assessment_id=assessment, min_score=80, prerequisites=[basics["id"]])

    found = earned(issuer, advanced, score=90.0)

    assert sorted(row["achievement_id"] for row in found) == sorted([basics["id"], advanced["id"]])


# --- assessor results --------------------------------------------------------------------


def reviewed(issuer, **overrides) -> dict:
    """An assessor-reviewed rubric credential."""
    return define(issuer, **{"threshold": "rubric", "min_score": None, "rubric_levels": LEVELS, "min_rubric_level": "proficient",
                             "assessor_reviewed": True, "name": "Data Warehouse Project"} | overrides)


def form(achievement: dict, employee_id: str, **overrides) -> dict:
    return {"employee_id": employee_id, "email": "ada@example.com", "assessment_id": achievement["assessment_id"],
            "rubric_level": "expert", "evidence_url": ["https://git.example.com/ada/warehouse", ""],
            "evidence_name": ["Warehouse repository", ""], "completed_on": "2026-05-20"} | overrides


def recorded_event(issuer, employee_id: str) -> dict:
    [row] = outbox_rows(issuer, COMPLETED, employee_id)
    return row["payload"]


def issue_from_outbox(issuer, employee_id: str) -> list[dict]:
    """Handle the recorded completion with the issuer's handler, as the worker would; return the credentials."""
    from shared.events import decode
    from tests.integration.helpers import handle_event, issuer_handlers

    payload = recorded_event(issuer, employee_id)
    handle_event(issuer, issuer_handlers(issuer, AT), decode(json.dumps(payload).encode()))
    return credentials_of(issuer, employee_id)


def test_the_record_page_is_for_assessors(issuer):
    reviewed(issuer)
    assessor, employee = signed_in(issuer, unique("assessor"), roles=(ASSESSOR,)), signed_in(issuer, unique("emp"))

    page = assessor.get("/assessments/record")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Data Warehouse Project" in text and '<label for="evidence_url_1">' in text and 'name="csrf_token"' in text
    assert employee.get("/assessments/record").status_code == 403
    anonymous = issuer.test_client().get("/assessments/record")
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/auth/login?next=/assessments/record"


def test_an_assessor_records_a_result_and_the_worker_issues_with_the_evidence(issuer):
    achievement = reviewed(issuer)
    assessor_id, employee = unique("assessor"), unique("emp")
    browser = signed_in(issuer, assessor_id, roles=(ASSESSOR,))
    token = csrf_token(browser.get("/assessments/record").get_data(as_text=True))

    response = browser.post("/assessments/record", data=form(achievement, employee) | {"csrf_token": token})

    assert response.status_code == 302
    assert f"Result recorded for {employee}" in browser.get("/assessments/record").get_data(as_text=True)
    event = recorded_event(issuer, employee)["data"]
    assert (event["assessor_id"], event["rubric_level"], event["score"], event["source"]) == (assessor_id, "expert", None, "assessor")
    assert event["evidence"] == [{"url": "https://git.example.com/ada/warehouse", "name": "Warehouse repository"}]
    [attempt] = rows(issuer, "SELECT * FROM assessment_attempts WHERE employee_id = :e", e=employee)
    assert len(attempt["attempt_id"]) == 36 and attempt["assessor_id"] == assessor_id

    [credential] = issue_from_outbox(issuer, employee)

    document = json.loads(credential["document"])
    evidence = document["evidence"]
    assert evidence[1]["id"] == "https://git.example.com/ada/warehouse" and evidence[1]["type"] == ["Evidence"]
    assert evidence[1]["name"] == "Warehouse repository" and assessor_id in evidence[1]["narrative"]
    assert assessor_id in evidence[0]["narrative"] and "reached level expert" in evidence[0]["narrative"]
    assert schema_errors(document) == []


def test_a_form_post_without_csrf_is_refused_and_records_nothing(issuer):
    achievement = reviewed(issuer)
    employee = unique("emp")
    browser = signed_in(issuer, unique("assessor"), roles=(ASSESSOR,))
    browser.get("/assessments/record")

    for extra in ({}, {"csrf_token": "forged"}):
        response = browser.post("/assessments/record", data=form(achievement, employee) | extra)
        assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert count(issuer, "assessment_attempts", "employee_id = :e", e=employee) == 0


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://git.example.com/ada", "not a url"])
def test_an_unsafe_evidence_link_re_renders_the_form_with_the_error(issuer, url):
    achievement = reviewed(issuer)
    employee = unique("emp")
    browser = signed_in(issuer, unique("assessor"), roles=(ASSESSOR,))
    token = csrf_token(browser.get("/assessments/record").get_data(as_text=True))

    response = browser.post("/assessments/record", data=form(achievement, employee, evidence_url=[url]) | {"csrf_token": token})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "use a full https:// link" in page and 'aria-invalid="true"' in page and "Link 1" in page
    assert count(issuer, "assessment_attempts", "employee_id = :e", e=employee) == 0


def test_a_result_the_rule_needs_is_asked_for_and_values_are_escaped(issuer):
    achievement = reviewed(issuer)
    browser = signed_in(issuer, unique("assessor"), roles=(ASSESSOR,))
    token = csrf_token(browser.get("/assessments/record").get_data(as_text=True))

    response = browser.post("/assessments/record", data=form(achievement, '"><script>alert(1)</script>', rubric_level="")
                            | {"csrf_token": token})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "choose one of the levels: novice, competent, proficient, expert" in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page


def test_an_assessor_cannot_record_their_own_result(issuer):
    achievement = reviewed(issuer)
    assessor_id = unique("assessor")
    browser = signed_in(issuer, assessor_id, roles=(ASSESSOR,))
    token = csrf_token(browser.get("/assessments/record").get_data(as_text=True))

    page = browser.post("/assessments/record", data=form(achievement, assessor_id) | {"csrf_token": token})
    api = issuer.test_client().post("/api/assessor-results", json=api_result(achievement, assessor_id),
                                    headers=bearer("issuer", assessor_id, roles=(ASSESSOR,)))

    assert page.status_code == 403 and "your own" in page.get_data(as_text=True)
    assert "your own" in problem(api, 403)["detail"]
    assert count(issuer, "assessment_attempts", "employee_id = :e", e=assessor_id) == 0


def api_result(achievement: dict, employee_id: str, **overrides) -> dict:
    return {"employee_id": employee_id, "assessment_id": achievement["assessment_id"], "rubric_level": "proficient",
            "evidence": [{"url": "https://git.example.com/ada/warehouse"}], "completed_on": "2026-05-20"} | overrides


def test_the_api_records_a_result_that_issues_like_the_page(issuer):
    achievement = reviewed(issuer)
    employee, assessor_id = unique("emp"), unique("assessor")

    response = issuer.test_client().post("/api/assessor-results", json=api_result(achievement, employee),
                                         headers=bearer("issuer", assessor_id, roles=(ASSESSOR,)))

    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["event_id"] == recorded_event(issuer, employee)["id"]
    [credential] = issue_from_outbox(issuer, employee)
    assert json.loads(credential["document"])["evidence"][1]["name"] == "Evidence 1"


BAD_API_RESULTS = {
    "javascript link": ({"evidence": [{"url": "javascript:alert(1)"}]}, "evidence"),
    "http link": ({"evidence": [{"url": "http://git.example.com/ada"}]}, "evidence"),
    "no evidence": ({"evidence": []}, "evidence"),
    "level outside the rubric": ({"rubric_level": "master"}, "rubric_level"),
    "not reviewed by assessors": ({"assessment_id": "sql-101"}, "assessment_id"),
    "in the future": ({"completed_on": "2999-01-01"}, "completed_on"),
}


@pytest.mark.parametrize("case", BAD_API_RESULTS)
def test_an_invalid_api_result_is_refused_naming_the_field_and_writes_nothing(issuer, case):
    achievement = reviewed(issuer)
    changes, field = BAD_API_RESULTS[case]
    before = table_counts(issuer, *WRITTEN)

    response = issuer.test_client().post("/api/assessor-results", json=api_result(achievement, unique("emp"), **changes),
                                         headers=bearer("issuer", unique("assessor"), roles=(ASSESSOR,)))

    assert field in problem(response, 422)["errors"]
    assert table_counts(issuer, *WRITTEN) == before


def test_only_assessors_record_results_and_an_lms_completion_never_earns_a_reviewed_credential(issuer):
    achievement = reviewed(issuer)

    response = issuer.test_client().post("/api/assessor-results", json=api_result(achievement, unique("emp")),
                                         headers=bearer("issuer", unique("hr"), roles=("hr-admin",)))

    problem(response, 403)
    assert earned(issuer, achievement, score=None, rubric_level="expert") == []
