"""An xAPI-capable LMS reports completions as statements, against the issuer on real PostgreSQL."""

import uuid
from datetime import UTC, datetime

import pytest

from services.issuer.xapi import OUTCOMES_HEADER
from services.issuer.xapi_statements import RUBRIC_LEVEL_EXTENSION
from shared.auth import COMPLETIONS_SCOPE, HR_ADMIN
from shared.events.envelope import decode
from tests.integration.helpers import handle_event, issuer_handlers, outbox_rows, problem, rows, table_counts
from tests.integration.test_issuer_api import define
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

COMPLETED_EVENT = "skillstack.academy.assessment.completed.v1"
VERBS = "http://adlnet.gov/expapi/verbs/"
WRITTEN_TABLES = ("achievements", "assessment_attempts", "credentials", "outbox")
STATEMENTS = "/api/xapi/statements"
LEVELS = ["novice", "competent", "proficient", "expert"]


def lms() -> dict[str, str]:
    return bearer("issuer", "academy-lms", scopes=(COMPLETIONS_SCOPE,))


def activity() -> str:
    """An assessment's activity IRI in the LMS, unique to the test."""
    return f"https://lms.example.com/xapi/activities/{unique('sql-101')}"


def statement(verb: str = "passed", **overrides) -> dict:
    """An xAPI statement as an LMS sends it, with the parts the issuer ignores, unique to the test."""
    return {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "name": "Ada Lovelace",
            "account": {"homePage": "https://hr.example.com", "name": unique("emp")},
        },
        "verb": {"id": VERBS + verb, "display": {"en-US": verb}},
        "object": {
            "objectType": "Activity",
            "id": activity(),
            "definition": {"name": {"en-US": "SQL Foundations exam"}, "type": "http://adlnet.gov/expapi/activities/assessment"},
        },
        "result": {"score": {"scaled": 0.86}, "success": True, "completion": True, "duration": "PT42M"},
        "context": {"registration": str(uuid.uuid4()), "platform": "Academy LMS"},
        "timestamp": "2026-03-02T09:30:00+01:00",
        "version": "1.0.3",
    } | overrides


def post(issuer, body, headers=None):
    return issuer.test_client().post(STATEMENTS, json=body, headers=lms() if headers is None else headers)


def attempt(issuer, statement_id: str) -> dict | None:
    found = rows(issuer, "SELECT * FROM assessment_attempts WHERE attempt_id = :id", id=statement_id)
    return found[0] if found else None


def outcomes(response) -> list[str]:
    return [outcome.strip() for outcome in response.headers[OUTCOMES_HEADER].split(",")]


# --- statements that report a result -----------------------------------------------------


def test_a_passed_statement_with_a_scaled_score_is_recorded_and_announced(issuer):
    sent = statement()

    response = post(issuer, sent)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == [sent["id"]]
    assert outcomes(response) == ["accepted"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    recorded = attempt(issuer, sent["id"])
    assert recorded["employee_id"] == sent["actor"]["account"]["name"]
    assert recorded["assessment_id"] == sent["object"]["id"]  # the whole IRI
    assert recorded["score"] == 86.0 and recorded["email"] is None
    assert recorded["completed_at"] == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    [announced] = outbox_rows(issuer, COMPLETED_EVENT, recorded["employee_id"])
    assert announced["event_id"] == recorded["event_id"]
    assert announced["payload"]["data"]["attempt_id"] == sent["id"]
    assert announced["payload"]["data"]["score"] == 86.0 and announced["payload"]["data"]["passed"] is True


def test_a_raw_score_becomes_a_percent_of_its_range(issuer):
    sent = statement("scored", result={"score": {"raw": 34, "min": 10, "max": 40}})

    response = post(issuer, sent)

    assert outcomes(response) == ["accepted"]
    assert attempt(issuer, sent["id"])["score"] == 80.0


def test_a_result_with_success_only_is_a_pass_or_fail_without_a_score(issuer):
    passed = statement(result={"success": True})
    failed = statement("completed", result={"success": False, "completion": True})
    bare = statement(result={})  # the passed verb says it all

    response = post(issuer, [passed, failed, bare])

    assert outcomes(response) == ["accepted", "accepted", "accepted"]
    recorded = [attempt(issuer, sent["id"]) for sent in (passed, failed, bare)]
    assert [(row["score"], row["passed"]) for row in recorded] == [(None, True), (None, False), (None, True)]
    [announced] = outbox_rows(issuer, COMPLETED_EVENT, passed["actor"]["account"]["name"])
    assert announced["payload"]["data"]["passed"] is True and announced["payload"]["data"]["score"] is None


def test_the_account_names_the_employee_and_an_mbox_beside_it_gives_the_email(issuer):
    employee = unique("emp")
    sent = statement(actor={"account": {"homePage": "https://hr.example.com", "name": employee}, "mbox": "mailto:ada@example.com"})

    post(issuer, sent)

    recorded = attempt(issuer, sent["id"])
    assert recorded["employee_id"] == employee and recorded["email"] == "ada@example.com"


def test_an_array_of_statements_is_answered_with_their_ids_in_order(issuer):
    sent = [statement(), statement("launched"), statement("completed", result={"score": {"scaled": 0.5}})]

    response = post(issuer, sent, headers=lms() | {"X-Experience-API-Version": "2.0.0"})

    assert response.status_code == 200
    assert response.get_json() == [item["id"] for item in sent]
    assert outcomes(response) == ["accepted", "ignored", "accepted"]
    assert response.headers["X-Experience-API-Version"] == "2.0.0"
    assert attempt(issuer, sent[0]["id"]) and attempt(issuer, sent[2]["id"])["score"] == 50.0


def test_a_resubmitted_statement_is_a_duplicate_announced_once(issuer):
    sent = statement()
    first = post(issuer, sent)

    again = post(issuer, [sent, sent])

    assert outcomes(first) == ["accepted"]
    assert again.status_code == 200 and outcomes(again) == ["duplicate", "duplicate"]
    assert len(outbox_rows(issuer, COMPLETED_EVENT, sent["actor"]["account"]["name"])) == 1


def test_a_statement_id_resubmitted_with_another_score_is_a_conflict_and_writes_nothing(issuer):
    sent = statement()
    post(issuer, sent)
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = post(issuer, [statement(), sent | {"result": {"score": {"scaled": 0.99}}}])

    assert sent["id"] in problem(response, 409)["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_statements_with_other_verbs_are_acknowledged_and_ignored(issuer):
    sent = [statement("launched"), statement("failed", result={"score": {"scaled": 0.95}}),
            statement("completed", result={"completion": True}), statement("voided")]
    sent[0]["actor"] = {"mbox": "mailto:ada@example.com"}  # not acted on: its actor needs no account
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = post(issuer, sent)

    assert response.status_code == 200
    assert response.get_json() == [item["id"] for item in sent]
    assert outcomes(response) == ["ignored"] * 4
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_a_passed_statement_for_an_hr_credential_issues_it(issuer):
    """The activity IRI is the assessment id HR gives the credential, so the LMS needs no mapping."""
    assessment = activity()
    definition = {"name": "SQL Foundations", "description": "Joins.", "assessment_id": assessment, "min_score": 80}
    hr = bearer("issuer", unique("hr"), roles=(HR_ADMIN,))
    achievement = issuer.test_client().post("/api/achievements", json=definition | {"id": unique("sql")}, headers=hr).get_json()
    sent = statement(object={"id": assessment})

    post(issuer, sent)
    [row] = rows(issuer, "SELECT payload FROM outbox WHERE event_id = :id", id=attempt(issuer, sent["id"])["event_id"])
    handle_event(issuer, issuer_handlers(issuer, datetime(2026, 3, 3, tzinfo=UTC)), decode(row["payload"]))

    [credential] = rows(issuer, "SELECT * FROM credentials WHERE attempt_id = :id", id=sent["id"])
    assert credential["achievement_id"] == achievement["id"]
    assert credential["employee_id"] == sent["actor"]["account"]["name"] and credential["score"] == 86.0


# --- pass/fail, rubric and assessor-reviewed credentials --------------------------------------


def issued(issuer, sent: dict) -> list[dict]:
    """Post a statement, handle its completion with the issuer's handler as the worker would; return its credentials."""
    assert outcomes(post(issuer, sent)) == ["accepted"]
    [row] = rows(issuer, "SELECT payload FROM outbox WHERE event_id = :id", id=attempt(issuer, sent["id"])["event_id"])
    handle_event(issuer, issuer_handlers(issuer, datetime(2026, 3, 3, tzinfo=UTC)), decode(row["payload"]))
    return rows(issuer, "SELECT * FROM credentials WHERE attempt_id = :id", id=sent["id"])


def rubric_level(level: str) -> dict:
    return {"completion": True, "extensions": {RUBRIC_LEVEL_EXTENSION: level}}


def test_a_successful_statement_without_a_score_earns_a_pass_fail_credential(issuer):
    achievement = define(issuer, assessment_id=activity(), threshold="pass_fail", min_score=None)

    [credential] = issued(issuer, statement("completed", object={"id": achievement["assessment_id"]}, result={"success": True}))

    assert credential["achievement_id"] == achievement["id"] and credential["score"] is None


def test_an_unsuccessful_statement_earns_nothing(issuer):
    assessment = activity()
    define(issuer, assessment_id=assessment, threshold="pass_fail", min_score=None)
    define(issuer, assessment_id=assessment, min_score=0)  # a percent rule is not met by a fail without a score

    found = issued(issuer, statement("completed", object={"id": assessment}, result={"success": False}))

    assert found == []


@pytest.mark.parametrize(("level", "earned"), [("expert", True), ("proficient", True), ("competent", False), ("Expert", False)])
def test_a_rubric_level_extension_earns_a_rubric_credential_from_its_minimum_level(issuer, level, earned):
    achievement = define(issuer, assessment_id=activity(), threshold="rubric", min_score=None, rubric_levels=LEVELS,
                         min_rubric_level="proficient")
    sent = statement("completed", object={"id": achievement["assessment_id"]}, result=rubric_level(level))

    found = issued(issuer, sent)

    assert attempt(issuer, sent["id"])["rubric_level"] == level
    assert [row["achievement_id"] for row in found] == ([achievement["id"]] if earned else [])


def test_no_statement_earns_an_assessor_reviewed_credential(issuer):
    achievement = define(issuer, assessment_id=activity(), threshold="rubric", min_score=None, rubric_levels=LEVELS,
                         min_rubric_level="novice", assessor_reviewed=True)
    sent = statement(object={"id": achievement["assessment_id"]},
                     result=rubric_level("expert") | {"success": True, "score": {"scaled": 1}},
                     context={"instructor": {"account": {"homePage": "https://hr.example.com", "name": unique("assessor")}}})

    found = issued(issuer, sent)

    assert found == [] and attempt(issuer, sent["id"])["assessor_id"] is None


# --- invalid requests -----------------------------------------------------------------------


def without(key: str, **overrides) -> dict:
    return {name: value for name, value in statement(**overrides).items() if name != key}


INVALID = {
    "no timestamp": (without("timestamp"), "timestamp"),
    "timestamp without time zone": (statement(timestamp="2026-03-02T09:30:00"), "timestamp"),
    "scaled score above 1": (statement(result={"score": {"scaled": 1.5}}), "result.score.scaled"),
    "raw score without max": (statement(result={"score": {"raw": 7}}), "result.score.max"),
    "scored without a score": (statement("scored", result={"success": True}), "result.score"),
    "passed but unsuccessful": (statement(result={"success": False}), "result.success"),
    "rubric level not a name": (statement(result=rubric_level("") | {"success": True}), f"result.extensions.{RUBRIC_LEVEL_EXTENSION}"),
    "mbox actor without account": (statement(actor={"mbox": "mailto:ada@example.com"}), "actor.account"),
    "no statement id": (without("id"), "id"),
    "statement id not a UUID": (statement("launched", id="attempt-1"), "id"),
    "object id not an IRI": (statement(object={"id": "sql-101"}), "object.id"),
    "not an object": ("a statement", "statement"),
}


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_statement_is_named_by_index_and_field_and_nothing_is_written(issuer, case):
    bad, field = INVALID[case]
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = post(issuer, [statement(), bad])

    body = problem(response, 422)
    assert list(body["errors"]) == ["1"]
    assert field in body["errors"]["1"], body["errors"]
    assert "1" in body["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before


@pytest.mark.parametrize("body", [b"42", b'"statements"', b"null", b"[]", b""], ids=["number", "string", "null", "empty array", "empty"])
def test_a_body_that_is_neither_a_statement_nor_an_array_of_them_is_refused(issuer, body):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post(STATEMENTS, data=body, content_type="application/json", headers=lms())

    assert "statement" in problem(response, 422)["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before


@pytest.mark.parametrize(
    "content_type, data, status",
    [("application/json", b'[{"id": ', 400), ("text/plain", b"ada passed sql-101", 415)],
    ids=["malformed JSON", "not JSON at all"],
)
def test_a_body_that_is_not_json_is_refused_as_by_the_completions_api(issuer, content_type, data, status):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post(STATEMENTS, data=data, content_type=content_type, headers=lms())

    assert "json" in problem(response, status)["detail"].lower()
    assert table_counts(issuer, *WRITTEN_TABLES) == before


# --- authentication and authorisation ---------------------------------------------------------


def test_a_caller_without_a_token_is_unauthenticated(issuer):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = post(issuer, statement(), headers={})

    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_hr_without_the_completions_scope_cannot_post_statements(issuer):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = post(issuer, statement(), headers=bearer("issuer", unique("hr"), roles=(HR_ADMIN,)))

    assert COMPLETIONS_SCOPE in problem(response, 403)["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before
