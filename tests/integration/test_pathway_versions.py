"""Pathway versions, against real PostgreSQL: HR edits a pathway, employees keep their version until HR migrates them."""

import pytest

from tests.integration.helpers import problem, rows, table_counts
from tests.integration.pathways_support import Team, as_person, earn, hr_admin, requests_of

pytestmark = pytest.mark.infra


def edit(pathways, team: Team, levels: list[dict], *, headers=None):
    return pathways.test_client().put(
        f"/api/pathways/{team.pathway_id}", json={"name": "Data Analyst", "levels": levels}, headers=headers or hr_admin()
    )


def migrate(pathways, team: Team, body: dict, *, headers=None):
    return pathways.test_client().post(f"/api/pathways/{team.pathway_id}/migrations", json=body, headers=headers or hr_admin())


def enrolled_version(pathways, employee: str, pathway_id: str) -> int | None:
    found = rows(pathways, "SELECT version FROM pathway_enrollments WHERE employee_id = :e AND pathway_id = :p", e=employee, p=pathway_id)
    return found[0]["version"] if found else None


def junior_requirements(pathways, employee: str) -> list[str]:
    [pathway] = pathways.test_client().get(f"/api/people/{employee}/progress", headers=hr_admin()).get_json()
    return pathway["levels"][0]["required"]


def easier_junior(team: Team) -> list[dict]:
    """Version 2: Junior needs SQL alone."""
    sql, _ = team.level_one
    return [{"name": "Junior", "all_of": [sql]}, {"name": "Associate", "all_of": team.level_two}]


def test_an_edit_makes_version_2_and_keeps_version_1(pathways, team):
    response = edit(pathways, team, easier_junior(team))

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["version"] == 2
    assert body["levels"][0]["all_of"] == team.level_one[:1]
    assert pathways.test_client().get(f"/api/pathways/{team.pathway_id}", headers=hr_admin()).get_json() == body
    stored = rows(pathways, "SELECT version, number, required_achievements FROM levels WHERE pathway_id = :p ORDER BY version, number",
                  p=team.pathway_id)
    assert [(row["version"], row["number"], row["required_achievements"]) for row in stored] == [
        (1, 1, team.level_one), (1, 2, team.level_two), (2, 1, team.level_one[:1]), (2, 2, team.level_two)
    ]


def test_employees_keep_the_version_they_started_on_until_hr_migrates_them(pathways, team):
    sql, python = team.level_one
    earn(pathways, team.employee, sql)  # progress on version 1: enrolled on it
    assert enrolled_version(pathways, team.employee, team.pathway_id) == 1
    assert edit(pathways, team, easier_junior(team)).status_code == 200

    earn(pathways, team.other_employee, sql)  # a newcomer enrols on version 2, where SQL alone is Junior

    assert enrolled_version(pathways, team.other_employee, team.pathway_id) == 2
    assert [(row["level"], row["status"]) for row in requests_of(pathways, team.other_employee)] == [(1, "open")]
    assert junior_requirements(pathways, team.employee) == [sql, python]  # still version 1's Junior
    assert requests_of(pathways, team.employee) == []

    response = migrate(pathways, team, {"version": 2, "employee_ids": [team.employee]})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["version"], body["employee_ids"]) == (2, [team.employee])
    [opened] = body["opened_requests"]
    assert (opened["employee_id"], opened["level"], opened["status"]) == (team.employee, 1, "open")
    assert enrolled_version(pathways, team.employee, team.pathway_id) == 2
    assert junior_requirements(pathways, team.employee) == [sql]
    assert [row["id"] for row in requests_of(pathways, team.employee)] == [opened["id"]]


def test_migrating_everyone_back_keeps_attained_levels_by_number(pathways, team):
    sql, python = team.level_one
    earn(pathways, team.employee, sql)
    assert edit(pathways, team, easier_junior(team)).status_code == 200
    earn(pathways, team.other_employee, sql)

    response = migrate(pathways, team, {"version": 1, "all": True})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["employee_ids"] == sorted([team.employee, team.other_employee])
    assert enrolled_version(pathways, team.other_employee, team.pathway_id) == 1
    assert [(row["level"], row["status"]) for row in requests_of(pathways, team.other_employee)] == [(1, "open")]


def test_only_hr_edits_and_migrates(pathways, team):
    before = table_counts(pathways, "levels", "pathway_enrollments")

    assert problem(edit(pathways, team, easier_junior(team), headers=as_person(team.employee)), 403)
    assert problem(migrate(pathways, team, {"version": 1, "all": True}, headers=as_person(team.manager)), 403)
    assert table_counts(pathways, "levels", "pathway_enrollments") == before


def test_an_unknown_version_or_an_invalid_edit_is_refused_and_nothing_changes(pathways, team):
    earn(pathways, team.employee, team.level_one[0])
    before = table_counts(pathways, "levels", "level_requirements", "pathway_enrollments")

    unknown = problem(migrate(pathways, team, {"version": 2, "employee_ids": [team.employee]}), 422)
    invalid = problem(edit(pathways, team, [{"name": "Junior", "all_of": ["no-such-credential"]}]), 422)
    neither = problem(migrate(pathways, team, {"version": 1}), 422)

    assert unknown["errors"] == [{"field": "version", "message": "no version 2"}]
    assert invalid["errors"][0]["field"] == "levels[0].all_of[0]"
    assert neither["errors"]
    assert table_counts(pathways, "levels", "level_requirements", "pathway_enrollments") == before
    assert enrolled_version(pathways, team.employee, team.pathway_id) == 1
    assert pathways.test_client().get(f"/api/pathways/{team.pathway_id}", headers=hr_admin()).get_json()["version"] == 1
