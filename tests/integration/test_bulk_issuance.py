"""Bulk issuance against real PostgreSQL: HR uploads a CSV of awards, reads the report, starts it; the worker issues."""

import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from services.issuer.bulk_issuer import BulkIssuer
from services.issuer.verification import schema_errors
from shared.auth import HR_ADMIN
from tests.integration.helpers import count, execute, outbox_rows, problem, rows, table_counts
from tests.integration.test_issuer_api import complete, completion_data, define, hr_admin
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

HEADER = "employee_id,email,credential,evidence_url,date\n"
ISSUED = "skillstack.issuer.credential.issued.v1"
STORED_TABLES = ("bulk_issuances", "bulk_issuance_rows", "credentials", "outbox")


def upload(issuer, text: str, *, headers=None, content_type="text/csv"):
    return issuer.test_client().post(
        "/api/bulk-issuances", data=text.encode(), content_type=content_type, headers=headers or hr_admin()
    )


def uploaded(issuer, text: str) -> dict:
    response = upload(issuer, text)
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    return response.get_json()


def worker(issuer, *, batch_size: int = 200, at: datetime | None = None) -> BulkIssuer:
    """The issuer worker's bulk issuance loop, bound to this app, its clock at `at`."""
    return BulkIssuer(
        issuer.extensions["database"], lambda: at or datetime.now(UTC), source="/skillstack/issuer",
        issuer=issuer.extensions["issuer_profile"], keys=issuer.extensions["signing_keys"],
        interval_seconds=1, batch_size=batch_size,
    )


def start(issuer, job_id: str) -> dict:
    worker(issuer).issue_pending()  # jobs other tests started are settled first: the worker takes the oldest
    response = issuer.test_client().post(f"/api/bulk-issuances/{job_id}/start", headers=hr_admin())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def progress(issuer, job_id: str) -> dict:
    response = issuer.test_client().get(f"/api/bulk-issuances/{job_id}", headers=hr_admin())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def credentials_of(issuer, employee_id: str) -> list[dict]:
    return rows(issuer, "SELECT * FROM credentials WHERE employee_id = :e ORDER BY attempt_id", e=employee_id)


def test_a_valid_file_is_ready_with_a_clean_report_and_issues_nothing_yet(issuer):
    sql, python = define(issuer)["id"], define(issuer)["id"]
    ada, grace = unique("ada"), unique("grace")
    text = HEADER + f"{ada},ada@example.com,{sql},https://wiki.example.com/ada,2019-06-30\n{ada},ada@example.com,{python},,2020-01-15\n"
    text += f' {grace} ,"grace@example.com", {sql} ,,{datetime.now(UTC).date().isoformat()}\n'  # trimmed; today is not the future

    report = uploaded(issuer, text)

    assert report["status"] == "ready"
    assert {key: report[key] for key in ("total_rows", "valid_rows", "invalid_rows", "warned_rows", "problem_count")} == {
        "total_rows": 3, "valid_rows": 3, "invalid_rows": 0, "warned_rows": 0, "problem_count": 0,
    }
    assert report["problems"] == [] and report["rows_with_problems"] == 0
    assert report["issued"] == 0 and report["remaining"] == 3 and report["percent"] == 0.0
    assert credentials_of(issuer, ada) == [] and credentials_of(issuer, grace) == []
    stored = rows(issuer, "SELECT * FROM bulk_issuance_rows WHERE bulk_issuance_id = :id ORDER BY row_number", id=report["id"])
    assert [(row["row_number"], row["employee_id"], row["achievement_id"], row["outcome"]) for row in stored] == [
        (2, ada, sql, "pending"), (3, ada, python, "pending"), (4, grace, sql, "pending"),
    ]


def test_every_problem_is_reported_by_row_and_column_and_nothing_is_issued(issuer):
    achievement = define(issuer)
    sql, retired = achievement["id"], define(issuer)["id"]
    execute(issuer, "UPDATE achievements SET retired = TRUE WHERE id = :id", id=retired)
    ada, holder = unique("ada"), unique("holder")
    complete(issuer, completion_data(achievement, employee_id=holder), at=datetime.now(UTC))
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    text = HEADER + "\n".join([
        f"{ada},ada@example.com,{sql},https://wiki.example.com/ada,2019-06-30",  # 2: valid
        f",not-an-email,{unique('nope')},http://wiki.example.com/x,30/06/2019",  # 3: five errors
        f"{ada},ada@example.com,{retired},,{tomorrow}",  # 4: retired, future
        f"{ada},ada@example.com,{sql},,2019-07-01",  # 5: duplicate of row 2
        f"{holder},holder@example.com,{sql},,2018-01-01",  # 6: already held: a warning
        f"{ada},ada@example.com,{sql},,2019-02-30,extra",  # 7: too many fields, no such date, duplicate
    ]) + "\n"
    before = count(issuer, "credentials")

    report = uploaded(issuer, text)

    assert report["status"] == "ready"  # HR may issue the valid rows, or fix the file and upload it again
    assert (report["total_rows"], report["valid_rows"], report["invalid_rows"], report["warned_rows"]) == (6, 2, 4, 1)
    found = {(item["row"], problem_["column"], problem_["severity"]) for item in report["problems"] for problem_ in item["problems"]}
    assert found == {
        (3, "employee_id", "error"), (3, "email", "error"), (3, "credential", "error"), (3, "evidence_url", "error"), (3, "date", "error"),
        (4, "credential", "error"), (4, "date", "error"),
        (5, "credential", "error"),
        (6, "credential", "warning"),
        (7, None, "error"), (7, "date", "error"), (7, "credential", "error"),
    }
    assert report["problem_count"] == len(found) == 12
    messages = {(item["row"], problem_["column"]): problem_["message"] for item in report["problems"] for problem_ in item["problems"]}
    assert messages[5, "credential"].startswith("duplicate of row 2") and "retired" in messages[4, "credential"]
    assert messages[4, "date"] == "in the future" and "https" in messages[3, "evidence_url"]
    assert [item["valid"] for item in report["problems"]] == [False, False, False, True, False]
    assert count(issuer, "credentials") == before

    page = issuer.test_client().get(f"/api/bulk-issuances/{report['id']}/problems?offset=1&limit=2", headers=hr_admin()).get_json()
    assert page["total"] == 5 and [item["row"] for item in page["rows"]] == [4, 5]


def test_a_file_without_a_valid_row_is_rejected_and_cannot_start(issuer):
    report = uploaded(issuer, HEADER + f"{unique('ada')},ada@example.com,{unique('nope')},,2019-06-30\n")

    assert report["status"] == "rejected" and report["valid_rows"] == 0
    response = issuer.test_client().post(f"/api/bulk-issuances/{report['id']}/start", headers=hr_admin())
    assert "rejected" in problem(response, 409)["detail"]


def test_started_rows_are_issued_batch_by_batch_signed_with_their_evidence_and_never_twice(issuer):
    achievement = define(issuer, validity_months=24)
    sql = achievement["id"]
    people = [unique("emp") for _ in range(4)]
    holder = people[3]
    complete(issuer, completion_data(achievement, employee_id=holder), at=datetime.now(UTC))
    text = HEADER + "".join(
        f"{person},{person}@example.com,{sql},https://wiki.example.com/{person},2019-06-{10 + index}\n"
        for index, person in enumerate(people)
    ) + f"{unique('bad')},bad,{sql},,2019-06-30\n"
    report = uploaded(issuer, text)
    assert (report["valid_rows"], report["invalid_rows"], report["warned_rows"]) == (4, 1, 1)
    now = datetime.now(UTC).replace(microsecond=0)

    started = start(issuer, report["id"])

    assert started["status"] == "issuing" and started["remaining"] == 4
    loop = worker(issuer, batch_size=3, at=now)
    assert loop.issue_batch() == 3
    halfway = progress(issuer, report["id"])
    assert (halfway["status"], halfway["issued"], halfway["skipped"], halfway["remaining"], halfway["percent"]) == ("issuing", 3, 0, 1, 75.0)
    assert loop.issue_batch() == 1
    assert loop.issue_batch() == 0
    done = progress(issuer, report["id"])
    assert (done["status"], done["issued"], done["skipped"], done["remaining"], done["percent"]) == ("done", 3, 1, 0, 100.0)

    for index, person in enumerate(people[:3]):
        [credential] = credentials_of(issuer, person)
        assert credential["attempt_id"] == f"bulk:{report['id']}:{index + 2}" and credential["score"] is None
        assert credential["issued_at"] == now and credential["achievement_id"] == sql
        document = json.loads(credential["document"])
        assert schema_errors(document) == []
        assert document["validFrom"] == now.strftime("%Y-%m-%dT%H:%M:%SZ") and "result" not in document["credentialSubject"]
        [evidence] = document["evidence"]
        assert evidence["id"] == f"https://wiki.example.com/{person}" and f"2019-06-{10 + index}" in evidence["narrative"]
        verified = issuer.test_client().post("/verify", json={"credential": credential["jwt"]}).get_json()
        assert verified["valid"] is True, verified
        [announced] = outbox_rows(issuer, ISSUED, person)
        assert announced["payload"]["data"]["credential_id"] == credential["id"]
    assert len(credentials_of(issuer, holder)) == 1  # skipped: the valid credential held before
    outcomes = rows(issuer, "SELECT row_number, outcome FROM bulk_issuance_rows WHERE bulk_issuance_id = :id ORDER BY row_number", id=report["id"])
    assert [row["outcome"] for row in outcomes] == ["issued", "issued", "issued", "skipped", "invalid"]

    # A crash after the credentials committed but before their rows were marked (it cannot happen:
    # they commit together), or a second worker on the same rows: the rerun issues nothing again.
    before = table_counts(issuer, "credentials", "outbox")
    execute(issuer, "UPDATE bulk_issuance_rows SET outcome = 'pending', credential_id = NULL WHERE bulk_issuance_id = :id AND valid", id=report["id"])
    execute(issuer, "UPDATE bulk_issuances SET status = 'issuing', issued = 0, skipped = 0 WHERE id = :id", id=report["id"])

    assert worker(issuer, batch_size=3, at=now + timedelta(hours=1)).issue_pending() == 4

    assert table_counts(issuer, "credentials", "outbox") == before
    rerun = progress(issuer, report["id"])
    assert (rerun["status"], rerun["issued"], rerun["skipped"]) == ("done", 3, 1)
    assert all(len(credentials_of(issuer, person)) == 1 for person in people)


def awards(rows_count: int, credential: str) -> bytes:
    batch = unique("bulk")
    return (HEADER + "".join(
        f"{batch}-{number:05d},person{number}@example.com,{credential},https://wiki.example.com/awards/{batch}/{number},2021-03-04\n"
        for number in range(rows_count)
    )).encode()


def measured_upload(issuer, body: bytes) -> tuple[dict, float, int]:
    """Upload a file; return the report, the seconds it took and the peak memory Python allocated meanwhile."""
    client, headers = issuer.test_client(), hr_admin()
    tracemalloc.start()
    started = time.perf_counter()
    response = client.post("/api/bulk-issuances", data=body, content_type="text/csv", headers=headers)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    return response.get_json(), elapsed, peak


def test_ten_thousand_rows_are_validated_as_a_stream_in_bounded_memory(issuer):
    sql = define(issuer)["id"]
    small, large = awards(2_000, sql), awards(10_000, sql)

    _, small_seconds, small_peak = measured_upload(issuer, small)
    report, seconds, peak = measured_upload(issuer, large)

    print(
        f"\nbulk upload: 2 000 rows ({len(small) / 1e6:.2f} MB) in {small_seconds:.2f} s, peak {small_peak / 1e6:.2f} MB; "
        f"10 000 rows ({len(large) / 1e6:.2f} MB) in {seconds:.2f} s, peak {peak / 1e6:.2f} MB"
    )
    assert (report["status"], report["total_rows"], report["valid_rows"]) == ("ready", 10_000, 10_000)
    assert count(issuer, "bulk_issuance_rows", "bulk_issuance_id = :id", id=report["id"]) == 10_000
    # Streamed, the peak is about one insert batch whatever the length of the file; holding the
    # rows would make five times the rows take about five times the memory (2x leaves room for noise).
    assert peak < 2 * small_peak, f"peak {peak} bytes for 10 000 rows, {small_peak} for 2 000: the rows are held, not streamed"
    assert peak < 30e6


def test_only_hr_uploads_starts_and_reads_bulk_issuances(issuer):
    report = uploaded(issuer, HEADER + f"{unique('ada')},ada@example.com,{define(issuer)['id']},,2019-06-30\n")
    employee = bearer("issuer", unique("emp"))
    before = table_counts(issuer, *STORED_TABLES)

    refused = [
        upload(issuer, HEADER, headers=employee),
        issuer.test_client().post(f"/api/bulk-issuances/{report['id']}/start", headers=employee),
        issuer.test_client().get(f"/api/bulk-issuances/{report['id']}", headers=employee),
        issuer.test_client().get(f"/api/bulk-issuances/{report['id']}/problems", headers=employee),
    ]

    assert all(HR_ADMIN in problem(response, 403)["detail"] for response in refused)
    assert table_counts(issuer, *STORED_TABLES) == before
    assert progress(issuer, report["id"])["status"] == "ready"


def test_a_body_that_is_not_csv_is_refused_and_stores_nothing(issuer):
    before = table_counts(issuer, *STORED_TABLES)

    response = upload(issuer, '{"employee_id": "ada"}', content_type="application/json")

    assert "text/csv" in problem(response, 415)["detail"]
    assert table_counts(issuer, *STORED_TABLES) == before


def test_an_oversized_file_is_refused_and_stores_nothing(issuer, monkeypatch):
    monkeypatch.setitem(issuer.config, "BULK_ISSUANCE_MAX_BYTES", 10_000)
    before = table_counts(issuer, *STORED_TABLES)

    response = upload(issuer, HEADER + f"ada,ada@example.com,{unique('sql')},,2019-06-30\n" * 300)

    problem(response, 413)
    assert table_counts(issuer, *STORED_TABLES) == before


@pytest.mark.parametrize(
    "text, row, words",
    [
        (HEADER + "ada,ada@example.com,sql,,2019-06-30\ngrace,\"grace@example.com,sql,,2019-06-30\n", 3, "not valid"),
        ("employee,mail,credential,date\n", 1, "header"),
        ("", None, "empty"),
        (HEADER, None, "no rows"),
    ],
    ids=["unclosed quote", "wrong header", "empty", "header only"],
)
def test_a_broken_file_is_refused_with_the_row_and_stores_nothing(issuer, text, row, words):
    before = table_counts(issuer, *STORED_TABLES)

    response = upload(issuer, text)

    body = problem(response, 422)
    assert words in body["detail"]
    if row is not None:
        assert {error["row"] for error in body["errors"]} == {row}
    assert table_counts(issuer, *STORED_TABLES) == before


def test_an_unknown_bulk_issuance_is_not_found(issuer):
    problem(issuer.test_client().get(f"/api/bulk-issuances/{unique('missing')}", headers=hr_admin()), 404)
