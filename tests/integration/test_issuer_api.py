"""The issuer against real PostgreSQL: the catalog and intake API, its guards, and the issuance rule."""

import threading
from datetime import UTC, datetime

import pytest

from services.issuer import intake
from services.issuer.schemas import CompletionInput
from shared.auth import COMPLETIONS_SCOPE, HR_ADMIN
from tests.integration.helpers import (
    count,
    execute,
    handle,
    handle_event,
    issuer_handlers,
    outbox_rows,
    problem,
    rows,
    table_counts,
)
from tests.support import IMPOSTOR_KEY, bearer, make_token, unique, wait_for

pytestmark = pytest.mark.infra

DEFINED = "skillstack.issuer.credential.defined.v1"
COMPLETED = "skillstack.academy.assessment.completed.v1"
ISSUED = "skillstack.issuer.credential.issued.v1"
WRITTEN_TABLES = ("achievements", "assessment_attempts", "credentials", "outbox")


def hr_admin() -> dict[str, str]:
    return bearer("issuer", unique("hr"), roles=(HR_ADMIN,))


def lms() -> dict[str, str]:
    return bearer("issuer", "academy-lms", scopes=(COMPLETIONS_SCOPE,))


def definition(**overrides) -> dict:
    """An HR admin's definition of a credential, unique to the test."""
    return {
        "id": unique("sql-foundations"),
        "name": "SQL Foundations",
        "description": "Writes correct joins, aggregates and window functions.",
        "category": "technical",
        "assessment_id": unique("sql-101"),
        "min_score": 80,
        "validity_months": 24,
    } | overrides


def completion(**overrides) -> dict:
    """An LMS completion report, unique to the test."""
    return {
        "attempt_id": unique("attempt"),
        "employee_id": unique("emp"),
        "email": "ada@example.com",
        "assessment_id": unique("sql-101"),
        "score": 86,
        "completed_at": "2026-03-02T09:30:00+01:00",
    } | overrides


def define(issuer, **overrides) -> dict:
    response = issuer.test_client().post("/api/achievements", json=definition(**overrides), headers=hr_admin())
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# --- the catalog -----------------------------------------------------------------------


def test_hr_defines_a_credential_and_it_is_announced(issuer):
    sent = definition()

    response = issuer.test_client().post("/api/achievements", json=sent, headers=hr_admin())

    assert response.status_code == 201
    body = response.get_json()
    assert {key: body[key] for key in sent} == sent | {"min_score": 80.0}
    assert body["version"] == 1 and body["retired"] is False
    stored = rows(issuer, "SELECT * FROM achievements WHERE id = :id", id=sent["id"])
    assert len(stored) == 1 and stored[0]["assessment_id"] == sent["assessment_id"]
    [announced] = outbox_rows(issuer, DEFINED, sent["id"])
    assert announced["topic"] == "issuer.catalog"
    assert announced["payload"]["data"]["achievement_id"] == sent["id"]
    assert announced["payload"]["data"]["min_score"] == 80.0
    assert announced["published_at"] is None


def test_a_second_credential_with_the_same_id_is_a_conflict(issuer):
    first = define(issuer)
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post(
        "/api/achievements", json=definition(id=first["id"], name="Another name"), headers=hr_admin()
    )

    body = problem(response, 409)
    assert first["id"] in body["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before
    assert rows(issuer, "SELECT name FROM achievements WHERE id = :id", id=first["id"]) == [{"name": "SQL Foundations"}]


def test_an_unknown_credential_is_not_found(issuer):
    response = issuer.test_client().get(f"/api/achievements/{unique('missing')}", headers=hr_admin())

    assert "missing" in problem(response, 404)["detail"]


# --- intake ----------------------------------------------------------------------------


def test_a_completion_is_recorded_and_announced_once(issuer):
    client = issuer.test_client()
    sent = completion()

    response = client.post("/api/completions", json=sent, headers=lms())

    assert response.status_code == 202
    body = response.get_json()
    assert body["attempt_id"] == sent["attempt_id"] and body["status"] == "accepted" and body["event_id"]
    [attempt] = rows(issuer, "SELECT * FROM assessment_attempts WHERE attempt_id = :id", id=sent["attempt_id"])
    assert attempt["employee_id"] == sent["employee_id"] and attempt["score"] == 86.0
    assert attempt["completed_at"] == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert attempt["event_id"] == body["event_id"]
    [announced] = outbox_rows(issuer, COMPLETED, sent["employee_id"])
    assert announced["event_id"] == body["event_id"] and announced["topic"] == "academy.assessments"
    assert announced["payload"]["data"]["attempt_id"] == sent["attempt_id"]
    assert announced["payload"]["data"]["source"] == "intake-api"

    again = client.post("/api/completions", json=sent, headers=lms())

    assert again.status_code == 202
    assert again.get_json() == {"attempt_id": sent["attempt_id"], "event_id": body["event_id"], "status": "duplicate"}
    assert len(outbox_rows(issuer, COMPLETED, sent["employee_id"])) == 1
    assert count(issuer, "assessment_attempts", "attempt_id = :id", id=sent["attempt_id"]) == 1


def test_the_same_attempt_with_another_score_is_a_conflict(issuer):
    client = issuer.test_client()
    sent = completion()
    assert client.post("/api/completions", json=sent, headers=lms()).status_code == 202
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = client.post("/api/completions", json=sent | {"score": 99}, headers=lms())

    assert sent["attempt_id"] in problem(response, 409)["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before
    assert rows(issuer, "SELECT score FROM assessment_attempts WHERE attempt_id = :id", id=sent["attempt_id"]) == [
        {"score": 86.0}
    ]


def test_a_completion_resubmitted_while_the_first_is_still_being_recorded_is_a_duplicate(issuer):
    """An LMS that retries on a timeout can race itself: the second request must not fail."""
    sent = completion()
    outcome: dict = {}

    def resubmit():
        try:
            outcome["response"] = issuer.test_client().post("/api/completions", json=sent, headers=lms())
        except Exception as error:  # the test app propagates unhandled errors instead of answering 500
            outcome["error"] = error

    # The first request has written the attempt but not committed yet when the second one arrives.
    with issuer.extensions["database"].transaction() as session:
        first, _ = intake.record_completion(
            session, CompletionInput().load(sent), now=datetime.now(UTC), source="/skillstack/issuer"
        )
        racer = threading.Thread(target=resubmit)
        racer.start()
        wait_for(lambda: waiting_on_a_lock(issuer), timeout=10, message="the resubmission to wait for the first")
    racer.join(timeout=10)

    assert "error" not in outcome, f"the resubmission failed: {outcome.get('error')!r}"
    assert outcome["response"].status_code == 202
    assert outcome["response"].get_json() == {
        "attempt_id": sent["attempt_id"],
        "event_id": first.event_id,
        "status": "duplicate",
    }
    assert [row["event_id"] for row in outbox_rows(issuer, COMPLETED, sent["employee_id"])] == [first.event_id]


def waiting_on_a_lock(app) -> bool:
    """Whether a session of this app's database is blocked waiting for a row lock."""
    return bool(
        rows(
            app,
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
    )


BAD_COMPLETIONS = {
    "missing fields": ({"score": 90}, {"attempt_id", "employee_id", "assessment_id", "completed_at"}),
    "score not a number": (completion(score="abc"), {"score"}),
    "score above 100": (completion(score=150), {"score"}),
    "completed_at without time zone": (completion(completed_at="2026-03-02T09:30:00"), {"completed_at"}),
    "bad email": (completion(email="not-an-email"), {"email"}),
}


@pytest.mark.parametrize("case", BAD_COMPLETIONS)
def test_an_invalid_completion_says_which_fields_are_wrong_and_writes_nothing(issuer, case):
    sent, wrong_fields = BAD_COMPLETIONS[case]
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post("/api/completions", json=sent, headers=lms())

    body = problem(response, 422)
    assert set(body["errors"]) == wrong_fields
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_an_invalid_credential_definition_says_which_fields_are_wrong_and_writes_nothing(issuer):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post(
        "/api/achievements",
        json={"id": "Not A Slug!", "name": "", "min_score": "high", "category": "magic"},
        headers=hr_admin(),
    )

    body = problem(response, 422)
    assert set(body["errors"]) == {"id", "name", "description", "assessment_id", "min_score", "category"}
    assert table_counts(issuer, *WRITTEN_TABLES) == before


@pytest.mark.parametrize(
    "content_type, data",
    [("application/json", b'{"attempt_id": "a1", "score": '), ("text/plain", b"attempt a1 scored 86")],
    ids=["malformed JSON", "not JSON at all"],
)
def test_a_body_that_is_not_json_is_refused_and_writes_nothing(issuer, content_type, data):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post("/api/completions", data=data, content_type=content_type, headers=lms())

    assert response.status_code in (400, 415, 422)
    body = problem(response, response.status_code)
    assert "json" in (body.get("detail", "") + str(body.get("errors", ""))).lower()
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_an_oversized_body_is_refused_and_writes_nothing(issuer):
    before = table_counts(issuer, *WRITTEN_TABLES)
    huge = completion(email=None) | {"padding": "x" * (1024 * 1024 + 1)}

    response = issuer.test_client().post("/api/completions", json=huge, headers=lms())

    problem(response, 413)
    assert table_counts(issuer, *WRITTEN_TABLES) == before


# --- authentication and authorisation ----------------------------------------------------


def token(**overrides) -> dict[str, str]:
    return {"Authorization": "Bearer " + make_token("issuer", "academy-lms", scopes=(COMPLETIONS_SCOPE,), **overrides)}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWRhOnNlY3JldA=="},
        bearer("pathways", "academy-lms", scopes=(COMPLETIONS_SCOPE,)),
        token(lifetime=-3600),
        token(key=IMPOSTOR_KEY),
        token(issuer="https://impostor.test/realms/skillstack"),
        {"Authorization": "Bearer not.a.jwt"},
    ],
    ids=["no token", "basic auth", "other audience", "expired", "other key", "other issuer", "garbage"],
)
def test_a_caller_without_a_valid_token_is_unauthenticated(issuer, headers):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post("/api/completions", json=completion(), headers=headers)

    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_an_lms_client_cannot_define_credentials(issuer):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post("/api/achievements", json=definition(), headers=lms())

    assert HR_ADMIN in problem(response, 403)["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_hr_without_the_completions_scope_cannot_post_completions(issuer):
    before = table_counts(issuer, *WRITTEN_TABLES)

    response = issuer.test_client().post("/api/completions", json=completion(), headers=hr_admin())

    assert COMPLETIONS_SCOPE in problem(response, 403)["detail"]
    assert table_counts(issuer, *WRITTEN_TABLES) == before


def test_an_employee_sees_only_their_own_credentials(issuer):
    achievement = define(issuer)
    owner, other = unique("emp"), unique("emp")
    handle(
        issuer,
        issuer_handlers(issuer, datetime(2026, 3, 2, tzinfo=UTC)),
        COMPLETED,
        completion_data(achievement, employee_id=owner),
    )
    [credential_id] = [row["id"] for row in rows(issuer, "SELECT id FROM credentials WHERE employee_id = :e", e=owner)]
    client = issuer.test_client()

    snooping = client.get("/api/credentials", query_string={"employee_id": owner}, headers=bearer("issuer", other))
    snooping_one = client.get(f"/api/credentials/{credential_id}", headers=bearer("issuer", other))
    own = client.get("/api/credentials", query_string={"employee_id": owner}, headers=bearer("issuer", owner))
    as_hr = client.get("/api/credentials", query_string={"employee_id": owner}, headers=hr_admin())

    problem(snooping, 403)
    problem(snooping_one, 403)
    assert credential_id not in snooping.get_data(as_text=True) + snooping_one.get_data(as_text=True)
    assert [item["id"] for item in own.get_json()] == [credential_id]
    assert as_hr.status_code == 200 and [item["id"] for item in as_hr.get_json()] == [credential_id]


# --- the issuance rule, through the handler against PostgreSQL ------------------------------


def completion_data(achievement: dict, **overrides) -> dict:
    """The data of an assessment.completed event for an achievement's assessment."""
    return {
        "attempt_id": unique("attempt"),
        "employee_id": unique("emp"),
        "email": "ada@example.com",
        "assessment_id": achievement["assessment_id"],
        "score": 86.0,
        "completed_at": datetime(2027, 1, 30, 17, tzinfo=UTC),
        "source": "lms",
    } | overrides


def complete(issuer, data: dict, *, at: datetime):
    """Handle an assessment.completed event with the issuer's handler, its clock at `at`."""
    handlers = issuer_handlers(issuer, at)
    return handle(issuer, handlers, COMPLETED, data)


def credentials_of(issuer, employee_id: str) -> list[dict]:
    return rows(issuer, "SELECT * FROM credentials WHERE employee_id = :e ORDER BY issued_at", e=employee_id)


def test_a_passing_score_issues_one_credential_valid_for_the_defined_months(issuer):
    achievement = define(issuer, min_score=80, validity_months=13)
    data = completion_data(achievement, score=80.0)
    issued_at = datetime(2027, 1, 31, 12, tzinfo=UTC)

    event = complete(issuer, data, at=issued_at)

    [credential] = credentials_of(issuer, data["employee_id"])
    assert credential["achievement_id"] == achievement["id"] and credential["attempt_id"] == data["attempt_id"]
    assert credential["issued_at"] == issued_at
    assert credential["valid_until"] == datetime(2028, 2, 29, 12, tzinfo=UTC)  # 31 Jan + 13 months, clamped
    assert credential["source_event_id"] == event.id
    [announced] = outbox_rows(issuer, ISSUED, data["employee_id"])
    assert announced["topic"] == "issuer.credentials"
    assert announced["payload"]["subject"] == data["employee_id"]
    assert announced["payload"]["data"] | {"issued_at": None, "valid_until": None} == {
        "credential_id": credential["id"],
        "employee_id": data["employee_id"],
        "achievement_id": achievement["id"],
        "achievement_version": 1,
        "achievement_name": "SQL Foundations",
        "issued_at": None,
        "valid_until": None,
        "source_event_id": event.id,
    }
    assert datetime.fromisoformat(announced["payload"]["data"]["issued_at"]) == issued_at
    assert datetime.fromisoformat(announced["payload"]["data"]["valid_until"]) == credential["valid_until"]


def test_a_score_below_the_minimum_issues_nothing(issuer):
    achievement = define(issuer, min_score=80)
    data = completion_data(achievement, score=79.9)

    complete(issuer, data, at=datetime(2027, 2, 1, tzinfo=UTC))

    assert credentials_of(issuer, data["employee_id"]) == []
    assert outbox_rows(issuer, ISSUED, data["employee_id"]) == []


def test_a_retired_credential_is_not_issued(issuer):
    achievement = define(issuer)
    execute(issuer, "UPDATE achievements SET retired = TRUE WHERE id = :id", id=achievement["id"])
    data = completion_data(achievement, score=100.0)

    complete(issuer, data, at=datetime(2027, 2, 1, tzinfo=UTC))

    assert credentials_of(issuer, data["employee_id"]) == []
    assert outbox_rows(issuer, ISSUED, data["employee_id"]) == []


def test_the_same_attempt_handled_again_does_not_issue_twice(issuer):
    achievement = define(issuer, validity_months=1)
    data = completion_data(achievement)
    first = complete(issuer, data, at=datetime(2027, 2, 1, tzinfo=UTC))

    # Redelivered as the same event, and replayed as a new event after the first credential expired.
    redelivery = issuer_handlers(issuer, datetime(2027, 2, 2, tzinfo=UTC))
    handle_event(issuer, redelivery, first)
    complete(issuer, data, at=datetime(2027, 6, 1, tzinfo=UTC))

    assert len(credentials_of(issuer, data["employee_id"])) == 1
    assert len(outbox_rows(issuer, ISSUED, data["employee_id"])) == 1


def test_a_new_attempt_while_a_valid_credential_is_held_issues_nothing_until_it_expires(issuer):
    achievement = define(issuer, validity_months=12)
    employee = unique("emp")
    complete(issuer, completion_data(achievement, employee_id=employee), at=datetime(2027, 2, 1, tzinfo=UTC))

    complete(issuer, completion_data(achievement, employee_id=employee, score=99.0), at=datetime(2027, 8, 1, tzinfo=UTC))

    assert len(credentials_of(issuer, employee)) == 1
    assert len(outbox_rows(issuer, ISSUED, employee)) == 1

    complete(issuer, completion_data(achievement, employee_id=employee), at=datetime(2028, 3, 1, tzinfo=UTC))

    assert [row["issued_at"] for row in credentials_of(issuer, employee)] == [
        datetime(2027, 2, 1, tzinfo=UTC),
        datetime(2028, 3, 1, tzinfo=UTC),
    ]
    assert len(outbox_rows(issuer, ISSUED, employee)) == 2
