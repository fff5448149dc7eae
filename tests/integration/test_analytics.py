"""HR's analytics: a known company's figures in the page's tables and the CSVs, against real PostgreSQL.

Analytics aggregate the whole company, so this module runs on databases of its own (emptied
before each test) rather than the session's, which other tests fill. The department comes in
through the org chart import, the skills through credential.defined, and the credentials
through credential.issued/revoked, as the worker projects them; the pass rates through the
issuer's intake, as the LMS and assessors report attempts.
"""

import csv
import io
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from services.issuer import intake
from services.pathways import analytics
from shared.auth import HR_ADMIN
from shared.migrations import upgrade
from tests.conftest import ROOT, _required_env, service_config
from tests.integration.helpers import execute, handle, outbox_rows, rows
from tests.integration.pathways_support import DEFINED, ISSUED, handlers, import_csv
from tests.integration.test_pathways_pages import signed_in
from tests.support import bearer

pytestmark = pytest.mark.infra

NOW = datetime(2027, 5, 4, 9, tzinfo=UTC)
HOSTILE_DEPARTMENT = '=HYPERLINK("http://evil.example")<script>alert(1)</script>'
HOSTILE_SKILL = "<img src=x onerror=alert(1)>"
PATHWAYS_CSVS = ("credentials-per-month", "skills-coverage", "time-to-decision")


@pytest.fixture(scope="module")
def company(kafka_bootstrap):
    """Pathways and issuer apps on databases of their own, on a fixed clock."""
    from services.issuer.app import create_app as issuer_app
    from services.pathways.app import create_app as pathways_app

    base = _required_env("SKILLSTACK_TEST_POSTGRES")
    admin = make_url(f"{base}/postgres").set(drivername="postgresql").render_as_string(hide_password=False)
    names = {service: f"test_analytics_{service}_{uuid.uuid4().hex[:8]}" for service in ("pathways", "issuer")}
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names.values():
            connection.execute(f'CREATE DATABASE "{name}"')
    apps = {}
    for service, factory in (("pathways", pathways_app), ("issuer", issuer_app)):
        upgrade(ROOT / "services" / service / "migrations", f"{base}/{names[service]}")
        apps[service] = factory(service_config(service, f"{base}/{names[service]}", kafka_bootstrap))
        apps[service].extensions["clock"] = lambda: NOW
    yield apps
    for app in apps.values():
        app.extensions["database"].dispose()
    for name in names.values():
        _drop(admin, name)


def _drop(admin: str, name: str, attempts: int = 20) -> None:
    """Drop a database; an autovacuum worker in it (a superuser's, which FORCE may not end) finishes first."""
    for attempt in range(attempts):
        try:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture
def pathways(company):
    return _emptied(company["pathways"])


@pytest.fixture
def issuer(company):
    return _emptied(company["issuer"])


def _emptied(app):
    """The app with every table emptied but its schema version and its append-only audit log (no figure reads it)."""
    tables = [row["tablename"] for row in rows(
        app, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'audit_log')")]
    execute(app, f"TRUNCATE {', '.join(tables)} CASCADE")
    return app


def hr(app):
    return signed_in(app, "hr-1", roles=(HR_ADMIN,))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# --- a known company --------------------------------------------------------------------


def define(pathways, achievement_id: str, *skills: tuple[str, str, str]) -> None:
    handle(pathways, handlers(NOW), DEFINED, {
        "achievement_id": achievement_id, "version": 1, "name": achievement_id.upper(), "category": "technical",
        "description": "Analytics test.", "assessment_id": f"{achievement_id}-exam", "min_score": 80, "retired": False,
        "skills": [{"framework": framework, "code": code, "name": name, "url": f"https://skills.example/{code}"} for framework, code, name in skills],
    })


def issue(pathways, employee: str, achievement_id: str, issued_at: datetime, valid_until: datetime | None = None) -> str:
    credential_id = f"cred-{uuid.uuid4().hex[:10]}"
    handle(pathways, handlers(NOW), ISSUED, {
        "credential_id": credential_id, "employee_id": employee, "achievement_id": achievement_id, "achievement_version": 1,
        "achievement_name": achievement_id, "issued_at": issued_at, "valid_until": valid_until, "source_event_id": credential_id,
    })
    return credential_id


def known_company(pathways) -> None:
    """Six people in three departments (one hostile) and none; three credentials aligned to three skills."""
    chart = "employee_id,email,name,manager_id,active,department\n" + "\n".join([
        "ada,ada@example.com,Ada,,true,Data & Analytics", "bob,bob@example.com,Bob,,true,Data & Analytics",
        "cy,cy@example.com,Cy,,true,Sales", "eve,eve@example.com,Eve,,false,Sales", "dee,dee@example.com,Dee,,true,",
        f'fay,fay@example.com,Fay,,true,"{HOSTILE_DEPARTMENT.replace(chr(34), chr(34) * 2)}"',
    ]) + "\n"
    assert import_csv(pathways, chart).status_code == 200
    define(pathways, "sql", ("ESCO", "sql", "SQL"))
    define(pathways, "py", ("ESCO", "python", "Python"), ("ESCO", "sql", "SQL"))
    define(pathways, "viz", ("O*NET", "viz", HOSTILE_SKILL))
    issue(pathways, "ada", "sql", datetime(2027, 5, 1, tzinfo=UTC))
    issue(pathways, "ada", "py", datetime(2027, 3, 10, tzinfo=UTC))  # a second credential aligned to SQL: Ada counts once
    issue(pathways, "bob", "py", datetime(2026, 6, 1, tzinfo=UTC))  # the first day of the window
    revoked = issue(pathways, "cy", "sql", datetime(2026, 5, 31, 23, 59, tzinfo=UTC))  # the day before it
    handle(pathways, handlers(NOW), "skillstack.issuer.credential.revoked.v1", {
        "credential_id": revoked, "employee_id": "cy", "achievement_id": "sql", "achievement_name": "SQL",
        "revoked_at": NOW - timedelta(days=3), "reason": "Issued to the wrong person.",
    })
    issue(pathways, "cy", "viz", datetime(2027, 3, 2, tzinfo=UTC))
    issue(pathways, "dee", "sql", datetime(2025, 1, 1, tzinfo=UTC), valid_until=NOW - timedelta(days=1))  # expired
    issue(pathways, "eve", "sql", datetime(2027, 3, 3, tzinfo=UTC))  # Eve left: not in any department's coverage
    issue(pathways, "fay", "viz", datetime(2027, 3, 4, tzinfo=UTC))
    execute(pathways, "INSERT INTO pathways (id, name, version, created_at) VALUES ('analyst', 'Analyst', 1, :now)", now=NOW)
    waits = [("approved", datetime(2027, 4, 10, tzinfo=UTC), days) for days in (1, 2, 3, 10)] + [
        ("rejected", datetime(2027, 3, 20, tzinfo=UTC), 0.5),
        ("withdrawn", datetime(2027, 3, 21, tzinfo=UTC), 40),  # never decided by a manager
        ("approved", datetime(2026, 4, 30, tzinfo=UTC), 99),  # before the window
        ("open", None, 5), ("open", None, 50),
    ]
    for number, (status, decided_at, days) in enumerate(waits):
        opened_at = (decided_at or NOW) - timedelta(days=days)
        execute(pathways, "INSERT INTO advancement_requests (id, employee_id, pathway_id, level, status, opened_at, decided_at) "
                          "VALUES (:id, 'ada', 'analyst', :level, :status, :opened_at, :decided_at)",
                id=f"request-{number}", level=number + 1, status=status, opened_at=opened_at, decided_at=decided_at)


# --- the pathways page --------------------------------------------------------------------


def test_the_page_shows_each_chart_and_its_figures_in_tables(pathways):
    known_company(pathways)

    page = hr(pathways).get("/analytics").get_data(as_text=True)

    assert page.count('role="img"') == 3 and page.count("<details>") == 3
    assert "<tr><th scope=\"row\">Jun 2026</th><td>1</td></tr>" in page and "<tr><th scope=\"row\">Mar 2027</th><td>4</td></tr>" in page
    assert "<tr><th scope=\"row\">May 2027</th><td>1</td></tr>" in page and "<tr><th scope=\"row\">May 2026</th>" not in page
    skills = re.search(r"<th scope=\"col\">Department</th>(.*?)</tr>", page).group(1)
    assert re.findall(r'<th scope="col">(.*?)</th>', skills) == ["&lt;img src=x onerror=alert(1)&gt;", "Python", "SQL"]
    departments = re.findall(r'<tr><th scope="row">([^<]*) <span class="muted">\((\d+)\)</span></th>\s*(.*?)</tr>', page)
    assert [(name, people, re.findall(r"<td>(.*?)</td>", cells)) for name, people, cells in departments] == [
        ("=HYPERLINK(&#34;http://evil.example&#34;)&lt;script&gt;alert(1)&lt;/script&gt;", "1", ["1 of 1 (100 %)", "0 of 1 (0 %)", "0 of 1 (0 %)"]),
        ("Data &amp; Analytics", "2", ["0 of 2 (0 %)", "2 of 2 (100 %)", "2 of 2 (100 %)"]),
        ("Sales", "1", ["1 of 1 (100 %)", "0 of 1 (0 %)", "0 of 1 (0 %)"]),  # Cy's SQL was revoked; Eve left
        ("No department", "1", ["0 of 1 (0 %)", "0 of 1 (0 %)", "0 of 1 (0 %)"]),  # Dee's SQL expired
    ]
    assert "<tr><th scope=\"row\">Apr 2027</th><td>4</td><td>2.0</td><td>10.0</td></tr>" in page
    assert "<tr><th scope=\"row\">Mar 2027</th><td>1</td><td>0.5</td><td>0.5</td></tr>" in page
    assert "<tr><th scope=\"row\">Feb 2027</th><td>0</td><td>—</td><td>—</td></tr>" in page
    assert "2 advancement requests waiting for a decision now." in page


def test_hostile_department_and_skill_names_are_escaped_in_the_charts_and_tables(pathways):
    known_company(pathways)

    page = hr(pathways).get("/analytics").get_data(as_text=True)

    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # the heat map's row (its tooltip) and the table
    assert "&lt;img src=x onerror=alert(1)&gt;" in re.search(r"<svg[^>]*chart-coverage.*?</svg>", page, re.DOTALL).group(0)


def test_each_chart_downloads_as_csv_with_formulas_neutralised(pathways):
    known_company(pathways)
    client = hr(pathways)

    issued = csv_rows(client.get("/analytics/credentials-per-month.csv"))
    coverage = csv_rows(client.get("/analytics/skills-coverage.csv"))
    decisions = client.get("/analytics/time-to-decision.csv")

    assert issued[0] == ["month", "credentials issued"] and len(issued) == 13
    assert issued[1] == ["2026-06", "1"] and issued[10] == ["2027-03", "4"] and issued[12] == ["2027-05", "1"]
    assert coverage[0] == ["department", "skill framework", "skill code", "skill", "people covering", "active people", "share (%)"]
    assert ["Data & Analytics", "ESCO", "sql", "SQL", "2", "2", "100.0"] in coverage
    assert ["Sales", "O*NET", "viz", HOSTILE_SKILL, "1", "1", "100.0"] in coverage
    assert ["'" + HOSTILE_DEPARTMENT, "O*NET", "viz", HOSTILE_SKILL, "1", "1", "100.0"] in coverage
    assert ["No department", "ESCO", "sql", "SQL", "0", "1", "0.0"] in coverage and len(coverage) == 1 + 4 * 3
    assert csv_rows(decisions)[-3:] == [["2027-04", "4", "2.0", "10.0"], ["2027-05", "0", "", ""], ["waiting now", "2", "", ""]]
    assert decisions.headers["Content-Disposition"] == 'attachment; filename="time-to-decision-2027-05-04.csv"'


def test_an_empty_company_gets_the_empty_states_and_the_pass_rates_link(pathways):
    page = hr(pathways).get("/analytics").get_data(as_text=True)

    assert "No credentials issued in the last 12 months yet — define credentials in the" in page
    assert "Nobody active is in the directory yet" in page
    assert "No advancement request was approved or rejected in the last 12 months yet" in page
    assert 'hx-get="/issuer/analytics/assessments" hx-trigger="load"' in page
    assert '<a href="/issuer/analytics/assessments">see the pass rate per assessment</a>' in page
    assert "<svg" not in page


def test_people_without_skills_in_the_catalog_are_told_to_align_skills(pathways):
    assert import_csv(pathways, "employee_id,email,name\nada,ada@example.com,Ada\n").status_code == 200

    page = hr(pathways).get("/analytics").get_data(as_text=True)

    assert "No credential in the catalog is aligned to a skill yet" in page


def test_the_page_shows_the_stored_figures_until_they_are_older_than_their_maximum_age(pathways):
    known_company(pathways)
    hr(pathways).get("/analytics")
    issue(pathways, "bob", "sql", datetime(2027, 5, 2, tzinfo=UTC))
    client = hr(pathways)

    assert csv_rows(client.get("/analytics/credentials-per-month.csv"))[12] == ["2027-05", "1"]  # the snapshot of a moment ago
    pathways.extensions["clock"] = lambda: NOW + analytics.MAX_AGE + timedelta(seconds=1)
    try:
        assert csv_rows(client.get("/analytics/credentials-per-month.csv"))[12] == ["2027-05", "2"]
        [snapshot] = rows(pathways, "SELECT computed_at FROM analytics_snapshots")
        assert snapshot["computed_at"] == NOW + analytics.MAX_AGE + timedelta(seconds=1)
    finally:
        pathways.extensions["clock"] = lambda: NOW


@pytest.mark.parametrize("path", ["/analytics", *(f"/analytics/{name}.csv" for name in PATHWAYS_CSVS)])
def test_only_hr_sees_the_analytics(pathways, path):
    response = signed_in(pathways, "ada").get(path)

    assert response.status_code == 403 and "hr-admin" in response.get_data(as_text=True)


def test_a_department_comes_from_the_org_chart_and_a_file_without_the_column_keeps_it(pathways):
    assert import_csv(pathways, "employee_id,email,name,department\nada,ada@example.com,Ada, Sales \n").status_code == 200
    assert import_csv(pathways, "employee_id,email,name\nada,ada@example.com,Ada Lovelace\n").status_code == 200
    too_long = import_csv(pathways, f"employee_id,email,name,department\nada,ada@example.com,Ada,{'x' * 201}\n")

    [ada] = rows(pathways, "SELECT name, department FROM people WHERE employee_id = 'ada'")
    assert ada == {"name": "Ada Lovelace", "department": "Sales"}
    assert too_long.status_code == 422 and too_long.get_json()["errors"][0]["column"] == "department"
    announced = outbox_rows(pathways, "skillstack.directory.person.upserted.v1", "ada")
    assert [event["payload"]["data"]["department"] for event in announced] == ["Sales", "Sales"]


def test_the_idp_provisions_a_department_in_the_enterprise_extension(pathways):
    from tests.integration.test_scim import ENTERPRISE, scim, user

    created = scim(pathways, "POST", "/Users", user("alan", **{ENTERPRISE: {"department": " Research "}}))
    patched = scim(pathways, "PATCH", "/Users/alan", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Data & Analytics"}]})
    read = scim(pathways, "GET", "/Users/alan").get_json(force=True)

    assert created.status_code == 201 and created.get_json(force=True)[ENTERPRISE] == {"department": "Research"}
    assert patched.status_code == 200 and read[ENTERPRISE] == {"department": "Data & Analytics"} and ENTERPRISE in read["schemas"]
    assert [event["payload"]["data"]["department"] for event in outbox_rows(pathways, "skillstack.directory.person.upserted.v1", "alan")] == [
        "Research", "Data & Analytics"]


# --- the issuer's pass rates ----------------------------------------------------------------


def define_achievement(issuer, achievement_id: str, name: str, **rule) -> None:
    definition = {"id": achievement_id, "name": name, "description": "Analytics test.", "assessment_id": f"{achievement_id}-exam"} | rule
    response = issuer.test_client().post("/api/achievements", json=definition, headers=bearer("issuer", "hr-1", roles=(HR_ADMIN,)))
    assert response.status_code == 201, response.get_data(as_text=True)


def attempt(issuer, assessment_id: str, *, completed_at: datetime = NOW - timedelta(days=2), **result) -> None:
    completion = {"attempt_id": f"attempt-{uuid.uuid4().hex[:10]}", "employee_id": "ada", "email": None, "assessment_id": assessment_id,
                  "completed_at": completed_at, "score": None, "passed": None, "rubric_level": None, "evidence": [], "assessor_id": None} | result
    with issuer.extensions["database"].transaction() as session:
        intake.record_completion(session, completion, now=NOW, source="/tests/analytics")


def known_attempts(issuer) -> None:
    """Attempts at a scored, a reviewed pass/fail and a rubric assessment, as the rules judge them."""
    define_achievement(issuer, "sql", '=cmd|" /C calc"!A0 <b>SQL</b>', min_score=80, validity_months=24)
    define_achievement(issuer, "portfolio", "Portfolio", threshold="pass_fail", assessor_reviewed=True)
    define_achievement(issuer, "pitch", "Pitch", threshold="rubric", rubric_levels=["novice", "practitioner", "expert"], min_rubric_level="practitioner")
    for score in (90, 80, 79.9, 50):
        attempt(issuer, "sql-exam", score=score)
    attempt(issuer, "sql-exam", score=95, completed_at=datetime(2026, 5, 31, tzinfo=UTC))  # before the window
    attempt(issuer, "portfolio-exam", passed=True, assessor_id="assessor-1")
    attempt(issuer, "portfolio-exam", passed=True)  # the LMS cannot pass a reviewed assessment
    attempt(issuer, "portfolio-exam", passed=False, assessor_id="assessor-1")
    for level in ("expert", "practitioner", "novice", "guru"):
        attempt(issuer, "pitch-exam", rubric_level=level)
    attempt(issuer, "unknown-exam", score=100)  # no credential names it: no pass defined


def test_the_pass_rate_of_each_assessment_follows_its_credentials_rules(issuer):
    known_attempts(issuer)

    section = hr(issuer).get("/analytics/assessments", headers={"HX-Request": "true"}).get_data(as_text=True)
    exported = csv_rows(hr(issuer).get("/analytics/assessments.csv"))

    assert "<html" not in section and 'id="analytics-pass-rates"' in section
    assert re.findall(r'<tr><th scope="row">(.*?) \(.*?\)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+) %</td></tr>', section) == [
        ("portfolio-exam", "3", "1", "33"), ("pitch-exam", "4", "2", "50"), ("sql-exam", "4", "2", "50"),
    ]
    assert "&lt;b&gt;SQL&lt;/b&gt;" in section and "<b>SQL</b>" not in section
    assert exported == [
        ["assessment", "credentials", "attempts", "passed", "pass rate (%)"],
        ["portfolio-exam", "Portfolio", "3", "1", "33.3"], ["pitch-exam", "Pitch", "4", "2", "50.0"],
        ["sql-exam", "'" + '=cmd|" /C calc"!A0 <b>SQL</b>', "4", "2", "50.0"],
    ]


def test_opened_directly_the_pass_rates_are_a_whole_page_and_empty_they_say_why(issuer):
    page = hr(issuer).get("/analytics/assessments").get_data(as_text=True)

    assert "<h1>Pass rate per assessment</h1>" in page and 'href="/pathways/analytics"' in page
    assert "No assessment attempts in the last 12 months yet" in page


@pytest.mark.parametrize("path", ["/analytics/assessments", "/analytics/assessments.csv"])
def test_only_hr_sees_the_pass_rates(issuer, path):
    assert signed_in(issuer, "ada").get(path).status_code == 403
