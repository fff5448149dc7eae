"""Pathway levels with every kind of requirement, against real PostgreSQL: defined via the API, met via credential events."""

from datetime import UTC, datetime

import pytest

from tests.integration.helpers import problem, rows, table_counts
from tests.integration.pathways_support import CLOCK, earn, hr_admin, requests_of, seed_catalog
from tests.support import unique

pytestmark = pytest.mark.infra

PATHWAY_TABLES = ("pathways", "levels", "level_requirements", "outbox")
SEVEN_MONTHS_LATER = datetime(2027, 12, 4, 9, tzinfo=UTC)
ONE_MONTH_LATER = datetime(2027, 6, 4, 9, tzinfo=UTC)


def define(pathways, levels: list[dict]):
    return pathways.test_client().post(
        "/api/pathways", json={"id": unique("analyst"), "name": "Analyst", "levels": levels}, headers=hr_admin()
    )


def senior_progress(pathways, monkeypatch, employee: str, *, at: datetime) -> tuple[bool, str]:
    """Whether level 2 is met as the progress API sees it with its clock at `at`, and when it became eligible."""
    monkeypatch.setitem(pathways.extensions, "clock", lambda: at)
    [pathway] = pathways.test_client().get(f"/api/people/{employee}/progress", headers=hr_admin()).get_json()
    level = pathway["levels"][1]
    return level["requirements_met"], level["eligible_from"]


def test_hr_defines_a_level_with_every_kind_of_requirement_and_reads_it_back(pathways):
    sql, python, tableau, powerbi = seed_catalog(pathways, "SQL", "Python", "Tableau", "Power BI")
    seed_catalog(pathways, "Listening", "Mentoring", category="soft")
    senior = {
        "name": "Senior",
        "all_of": [python],
        "n_of": [{"n": 1, "credentials": [tableau, powerbi]}],
        "min_months_at_previous_level": 6,
        "min_soft_skill_credentials": 2,
        "requires_approval": True,
    }

    response = define(pathways, [{"name": "Junior", "credentials": [sql], "requires_approval": False}, senior])

    assert response.status_code == 201, response.get_data(as_text=True)
    pathway_id = response.get_json()["id"]
    [_, level] = pathways.test_client().get(f"/api/pathways/{pathway_id}", headers=hr_admin()).get_json()["levels"]
    assert level == senior | {"number": 2, "credentials": [python]}
    assert {
        (row["achievement_id"], row["level"])
        for row in rows(pathways, "SELECT * FROM level_requirements WHERE pathway_id = :p", p=pathway_id)
    } == {(sql, 1), (python, 2), (tableau, 2), (powerbi, 2)}


def test_an_unreachable_level_is_refused_naming_each_field_and_nothing_is_written(pathways):
    sql, python = seed_catalog(pathways, "SQL", "Python")
    [retired] = seed_catalog(pathways, "Old SQL", retired=True)
    before = table_counts(pathways, *PATHWAY_TABLES)

    response = define(
        pathways,
        [
            {"name": "Junior", "all_of": [sql], "min_months_at_previous_level": 2},
            {"name": "Senior", "n_of": [{"n": 2, "credentials": [python, retired]}], "min_soft_skill_credentials": 50},
        ],
    )

    fields = {error["field"] for error in problem(response, 422)["errors"]}
    assert fields == {
        "levels[0].min_months_at_previous_level",
        "levels[1].n_of[0].credentials[1]",
        "levels[1].n_of[0].n",
        "levels[1].min_soft_skill_credentials",
    }
    assert table_counts(pathways, *PATHWAY_TABLES) == before


def test_a_group_asking_for_none_is_refused_by_the_schema(pathways):
    [sql] = seed_catalog(pathways, "SQL")

    response = define(pathways, [{"name": "Junior", "n_of": [{"n": 0, "credentials": [sql]}]}])

    assert problem(response, 422)["errors"]["levels"]["0"]["n_of"]["0"]["n"]


def test_a_level_asks_the_manager_only_once_every_requirement_is_met(pathways, monkeypatch):
    sql, python, tableau, looker = seed_catalog(pathways, "SQL", "Python", "Tableau", "Looker")
    listening, mentoring = seed_catalog(pathways, "Listening", "Mentoring", category="soft")
    response = define(
        pathways,
        [
            {"name": "Junior", "all_of": [sql], "requires_approval": False},
            {"name": "Senior", "all_of": [python], "n_of": [{"n": 2, "credentials": [tableau, looker]}],
             "min_months_at_previous_level": 6, "min_soft_skill_credentials": 2},
        ],
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    pathway_id = response.get_json()["id"]
    employee = unique("ada")

    earn(pathways, employee, sql, at=CLOCK)  # Junior, attained without approval
    [junior] = rows(pathways, "SELECT * FROM level_attainments WHERE employee_id = :e", e=employee)
    assert (junior["pathway_id"], junior["level"]) == (pathway_id, 1)

    earn(pathways, employee, python, at=SEVEN_MONTHS_LATER)
    earn(pathways, employee, tableau, at=SEVEN_MONTHS_LATER)
    assert requests_of(pathways, employee) == []  # one of the two visualisation tools

    earn(pathways, employee, looker, at=SEVEN_MONTHS_LATER)
    earn(pathways, employee, listening, at=SEVEN_MONTHS_LATER)
    assert requests_of(pathways, employee) == []  # one soft skill of two

    earn(pathways, employee, mentoring, at=ONE_MONTH_LATER)
    assert requests_of(pathways, employee) == []  # every credential, but one month at Junior of six
    assert senior_progress(pathways, monkeypatch, employee, at=ONE_MONTH_LATER) == (False, "2027-11-04T09:00:00+00:00")
    assert senior_progress(pathways, monkeypatch, employee, at=SEVEN_MONTHS_LATER) == (True, "2027-11-04T09:00:00+00:00")

    earn(pathways, employee, unique("unrelated-credential"), at=SEVEN_MONTHS_LATER)
    assert requests_of(pathways, employee) == []  # nothing re-evaluates a pathway the credential is not part of

    earn(pathways, employee, mentoring, at=SEVEN_MONTHS_LATER)  # a soft credential moves the balance rule's pathways

    [request] = requests_of(pathways, employee)
    assert (request["pathway_id"], request["level"], request["status"]) == (pathway_id, 2, "open")
