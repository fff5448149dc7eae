"""Pathways against real PostgreSQL: the designer, the org chart import, progress and manager decisions."""

import pytest

from tests.integration.helpers import count, outbox_rows, problem, rows, table_counts
from tests.integration.pathways_support import (
    as_person,
    earn,
    hr_admin,
    import_csv,
    org_chart,
    requests_of,
    seed_catalog,
)
from tests.support import unique

pytestmark = pytest.mark.infra

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
REQUESTED = "skillstack.pathways.advancement.requested.v1"
APPROVED = "skillstack.pathways.advancement.approved.v1"
REJECTED = "skillstack.pathways.advancement.rejected.v1"
PATHWAY_TABLES = ("pathways", "levels", "level_requirements", "outbox")
DIRECTORY_TABLES = ("people", "outbox")


# --- the pathway designer --------------------------------------------------------------------


def test_hr_defines_a_two_level_pathway(pathways):
    sql, python, visualisation, statistics = seed_catalog(
        pathways, "SQL Foundations", "Python Foundations", "Data Visualisation", "Statistics"
    )
    pathway_id = unique("data-analyst")
    definition = {
        "id": pathway_id,
        "name": "Data Analyst",
        "levels": [
            {"name": "Junior", "credentials": [sql, python]},
            {"name": "Associate", "credentials": [visualisation, statistics], "requires_approval": False},
        ],
    }

    response = pathways.test_client().post("/api/pathways", json=definition, headers=hr_admin())

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json() == {
        "id": pathway_id,
        "name": "Data Analyst",
        "version": 1,
        "levels": [
            {"number": 1, "name": "Junior", "credentials": [sql, python], "all_of": [sql, python], "n_of": [],
             "min_months_at_previous_level": 0, "min_soft_skill_credentials": 0, "requires_approval": True},
            {"number": 2, "name": "Associate", "credentials": [visualisation, statistics], "all_of": [visualisation, statistics],
             "n_of": [], "min_months_at_previous_level": 0, "min_soft_skill_credentials": 0, "requires_approval": False},
        ],
    }
    assert count(pathways, "levels", "pathway_id = :p", p=pathway_id) == 2
    assert {
        (row["achievement_id"], row["level"])
        for row in rows(pathways, "SELECT * FROM level_requirements WHERE pathway_id = :p", p=pathway_id)
    } == {(sql, 1), (python, 1), (visualisation, 2), (statistics, 2)}


def test_a_pathway_over_an_unknown_credential_is_refused_with_the_field_path_and_writes_nothing(pathways):
    [sql] = seed_catalog(pathways, "SQL Foundations")
    [retired] = seed_catalog(pathways, "Old SQL", retired=True)
    unknown = unique("no-such-credential")
    before = table_counts(pathways, *PATHWAY_TABLES)

    response = pathways.test_client().post(
        "/api/pathways",
        json={
            "id": unique("data-analyst"),
            "name": "Data Analyst",
            "levels": [{"name": "Junior", "credentials": [sql]}, {"name": "Associate", "credentials": [retired, unknown]}],
        },
        headers=hr_admin(),
    )

    body = problem(response, 422)
    assert {(error["field"], unknown in error["message"]) for error in body["errors"]} == {
        ("levels[1].credentials[0]", False),
        ("levels[1].credentials[1]", True),
    }
    assert table_counts(pathways, *PATHWAY_TABLES) == before


# --- the org chart import ----------------------------------------------------------------------


def test_an_org_chart_import_creates_people_and_announces_each_once(pathways):
    boss, ada, grace = unique("boss"), unique("ada"), unique("grace")
    chart = org_chart((ada, "Ada Lovelace", boss), (boss, "Babbage, Charles", ""), (grace, "Grace Hopper", boss))

    response = import_csv(pathways, chart)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"created": 3, "updated": 0, "unchanged": 0, "deactivated": 0}
    people = rows(
        pathways, "SELECT * FROM people WHERE employee_id IN (:a, :b, :c)", a=boss, b=ada, c=grace
    )
    assert {(p["employee_id"], p["email"], p["name"], p["manager_id"], p["active"]) for p in people} == {
        (boss, f"{boss}@example.com", "Babbage, Charles", None, True),
        (ada, f"{ada}@example.com", "Ada Lovelace", boss, True),
        (grace, f"{grace}@example.com", "Grace Hopper", boss, True),
    }
    for employee in (boss, ada, grace):
        [announced] = outbox_rows(pathways, PERSON_UPSERTED, employee)
        assert announced["topic"] == "directory.people"
        assert announced["payload"]["data"]["email"] == f"{employee}@example.com"
    before = table_counts(pathways, *DIRECTORY_TABLES)

    again = import_csv(pathways, chart)

    assert again.status_code == 200
    assert again.get_json() == {"created": 0, "updated": 0, "unchanged": 3, "deactivated": 0}
    assert table_counts(pathways, *DIRECTORY_TABLES) == before


def test_a_broken_org_chart_lists_every_problem_by_row_and_imports_nothing(pathways):
    ada, bob, eve, cy, dee, ghost = (unique(name) for name in ("ada", "bob", "eve", "cy", "dee", "ghost"))
    chart = (
        "employee_id,email,name,manager_id\n"
        f"{ada},{ada}@example.com,Ada,{ghost}\n"  # row 2: unknown manager
        f"{bob},{bob}@example.com,Bob,\n"  # row 3: fine
        f"{bob},{bob}.two@example.com,Bob again,\n"  # row 4: duplicate id
        f"{eve},not-an-email,Eve,\n"  # row 5: bad email
        f"{cy},{cy}@example.com,Cy,{dee}\n"  # rows 6-7: a reporting cycle
        f"{dee},{dee}@example.com,Dee,{cy}\n"
    )
    before = table_counts(pathways, *DIRECTORY_TABLES)

    response = import_csv(pathways, chart)

    body = problem(response, 422)
    found = {(error["row"], error["column"]): error["message"] for error in body["errors"]}
    assert set(found) == {(2, "manager_id"), (4, "employee_id"), (5, "email"), (6, "manager_id"), (7, "manager_id")}
    assert ghost in found[2, "manager_id"]
    assert "row 3" in found[4, "employee_id"]
    assert "loop" in found[6, "manager_id"] and "loop" in found[7, "manager_id"]
    assert table_counts(pathways, *DIRECTORY_TABLES) == before
    assert count(pathways, "people", "employee_id = :b", b=bob) == 0


@pytest.mark.parametrize(
    "column, value",
    [
        ("email", "ada@example.c"),
        ("email", "ada@exa_mple.com"),
        ("name", "N" * 201),
        ("employee_id", "e" * 201),
    ],
    ids=["one-letter top-level domain", "underscore in domain", "name over 200 characters", "id over 200 characters"],
)
def test_a_value_the_directory_cannot_hold_is_reported_by_row_and_imports_nothing(pathways, column, value):
    good, bad = unique("ada"), unique("bob")
    row = {"employee_id": bad, "email": f"{bad}@example.com", "name": "Bob", "manager_id": ""} | {column: value}
    chart = f"employee_id,email,name,manager_id\n{good},{good}@example.com,Ada,\n" + ",".join(row.values()) + "\n"
    before = table_counts(pathways, *DIRECTORY_TABLES)

    response = import_csv(pathways, chart)

    body = problem(response, 422)
    assert [(error["row"], error["column"]) for error in body["errors"]] == [(3, column)]
    assert table_counts(pathways, *DIRECTORY_TABLES) == before


@pytest.mark.parametrize(
    "content_type, encoding, says",
    [("application/json", "utf-8", "text/csv"), ("text/csv", "latin-1", "utf-8")],
    ids=["wrong content type", "not UTF-8"],
)
def test_an_org_chart_that_is_not_utf8_csv_is_refused_and_imports_nothing(pathways, content_type, encoding, says):
    employee = unique("emp")
    body = org_chart((employee, "Andr\xe9 Weil", "")).encode(encoding)
    before = table_counts(pathways, *DIRECTORY_TABLES)

    response = import_csv(pathways, body, content_type=content_type)

    assert says in problem(response, 422)["detail"].lower()
    assert table_counts(pathways, *DIRECTORY_TABLES) == before


def test_only_hr_imports_the_org_chart(pathways):
    employee = unique("emp")
    before = table_counts(pathways, *DIRECTORY_TABLES)

    response = import_csv(pathways, org_chart((employee, "Mallory", "")), headers=as_person(employee))

    problem(response, 403)
    assert table_counts(pathways, *DIRECTORY_TABLES) == before


# --- progress and advancement requests -----------------------------------------------------------


def test_completing_a_level_asks_the_manager_and_progress_shows_what_is_held_and_missing(pathways, team):
    client = pathways.test_client()
    first, second = team.level_one
    earn(pathways, team.employee, first)

    assert requests_of(pathways, team.employee) == []
    halfway = client.get(f"/api/people/{team.employee}/progress", headers=as_person(team.employee))
    assert halfway.status_code == 200
    [pathway] = halfway.get_json()
    assert pathway["pathway_id"] == team.pathway_id
    assert (pathway["levels"][0]["held"], pathway["levels"][0]["missing"]) == ([first], [second])

    earn(pathways, team.employee, second)

    [request] = requests_of(pathways, team.employee)
    assert (request["status"], request["manager_id"], request["pathway_id"], request["level"]) == (
        "open",
        team.manager,
        team.pathway_id,
        1,
    )
    [announced] = outbox_rows(pathways, REQUESTED, team.employee)
    assert announced["topic"] == "pathways.advancements"
    assert announced["payload"]["data"] | {"requested_at": None} == {
        "request_id": request["id"],
        "employee_id": team.employee,
        "manager_id": team.manager,
        "pathway_id": team.pathway_id,
        "pathway_name": "Data Analyst",
        "level": 1,
        "level_name": "Junior",
        "requested_at": None,
    }
    expected_levels = [
        {"number": 1, "name": "Junior", "required": team.level_one, "held": team.level_one, "missing": [],
         "attained": False, "request_status": "open", "requirements_met": True, "eligible_from": None},
        {"number": 2, "name": "Associate", "required": team.level_two, "held": [], "missing": team.level_two,
         "attained": False, "request_status": None, "requirements_met": False, "eligible_from": None},
    ]
    own = client.get(f"/api/people/{team.employee}/progress", headers=as_person(team.employee))
    assert own.status_code == 200 and own.get_json()[0]["levels"] == expected_levels
    as_manager = client.get(f"/api/people/{team.employee}/progress", headers=as_person(team.manager))
    assert as_manager.status_code == 200 and as_manager.get_json() == own.get_json()
    for outsider in (team.other_employee, team.other_manager):
        problem(client.get(f"/api/people/{team.employee}/progress", headers=as_person(outsider)), 403)


def test_only_the_direct_manager_decides_and_each_decision_is_recorded_and_announced(pathways, team):
    client = pathways.test_client()
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)
    [request] = requests_of(pathways, team.employee)
    approve = f"/api/advancement-requests/{request['id']}/approve"

    for refused in (as_person(team.employee), as_person(team.other_manager), hr_admin()):
        before = table_counts(pathways, "level_attainments", "outbox")
        problem(client.post(approve, json={"comment": "ok"}, headers=refused), 403)
        assert table_counts(pathways, "level_attainments", "outbox") == before
    assert requests_of(pathways, team.employee)[0]["status"] == "open"

    approved = client.post(approve, json={"comment": "Well done"}, headers=as_person(team.manager))

    assert approved.status_code == 200, approved.get_data(as_text=True)
    body = approved.get_json()
    assert (body["id"], body["status"], body["decided_by"], body["comment"]) == (
        request["id"], "approved", team.manager, "Well done"
    )
    [attained] = rows(pathways, "SELECT * FROM level_attainments WHERE employee_id = :e", e=team.employee)
    assert (attained["pathway_id"], attained["level"], attained["approved_by"]) == (team.pathway_id, 1, team.manager)
    [announced] = outbox_rows(pathways, APPROVED, team.employee)
    assert announced["payload"]["data"]["request_id"] == request["id"]
    assert announced["payload"]["data"]["decided_by"] == team.manager

    before = table_counts(pathways, "level_attainments", "outbox")
    assert "approved" in problem(client.post(approve, json={}, headers=as_person(team.manager)), 409)["detail"]
    assert table_counts(pathways, "level_attainments", "outbox") == before

    # Level 2 next: its request is rejected with a comment.
    earn(pathways, team.employee, team.level_two[0])
    [_, level_two] = requests_of(pathways, team.employee)
    reject = f"/api/advancement-requests/{level_two['id']}/reject"
    too_long = client.post(reject, json={"comment": "x" * 2001}, headers=as_person(team.manager))
    assert "comment" in problem(too_long, 422)["errors"]
    assert requests_of(pathways, team.employee)[1]["status"] == "open"

    rejected = client.post(reject, json={"comment": "Present a dashboard first."}, headers=as_person(team.manager))

    assert rejected.status_code == 200, rejected.get_data(as_text=True)
    assert (rejected.get_json()["status"], rejected.get_json()["comment"]) == ("rejected", "Present a dashboard first.")
    assert count(pathways, "level_attainments", "employee_id = :e AND level = 2", e=team.employee) == 0
    [announced] = outbox_rows(pathways, REJECTED, team.employee)
    assert announced["payload"]["data"]["request_id"] == level_two["id"]
    assert announced["payload"]["data"]["comment"] == "Present a dashboard first."


def test_hr_who_is_the_manager_may_decide(pathways, team):
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)
    [request] = requests_of(pathways, team.employee)

    response = pathways.test_client().post(
        f"/api/advancement-requests/{request['id']}/approve", json={}, headers=hr_admin(team.manager)
    )

    assert response.status_code == 200 and response.get_json()["status"] == "approved"


def test_deciding_an_unknown_request_is_not_found(pathways, team):
    missing = unique("request")

    response = pathways.test_client().post(
        f"/api/advancement-requests/{missing}/approve", json={}, headers=as_person(team.manager)
    )

    assert missing in problem(response, 404)["detail"]
