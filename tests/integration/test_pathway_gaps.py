"""The career-pivot question through the API, against real PostgreSQL: what an employee still needs for a level."""

from datetime import timedelta

import pytest

from tests.integration.helpers import handle, problem
from tests.integration.pathways_support import CLOCK, DEFINED, ISSUED, as_person, earn, handlers, hr_admin, seed_catalog
from tests.support import unique

pytestmark = pytest.mark.infra


def define_credential(pathways, name: str, *, prerequisites=(), effort_hours=None, category="technical") -> str:
    """Project a credential.defined event carrying prerequisites and an effort estimate; return its id."""
    achievement_id = unique(name.lower().replace(" ", "-"))
    handle(pathways, handlers(), DEFINED, {
        "achievement_id": achievement_id, "version": 1, "name": name, "category": category,
        "description": f"{name}, as the academy teaches it.", "assessment_id": unique("assessment"), "min_score": 80,
        "validity_months": None, "retired": False, "prerequisites": list(prerequisites), "effort_hours": effort_hours,
    })
    return achievement_id


def earn_until(pathways, employee: str, achievement_id: str, valid_until) -> None:
    """Project a credential.issued event of a credential that ends at `valid_until`."""
    handle(pathways, handlers(), ISSUED, {
        "credential_id": unique("credential"), "employee_id": employee, "achievement_id": achievement_id,
        "achievement_version": 1, "achievement_name": achievement_id, "issued_at": CLOCK, "valid_until": valid_until,
        "source_event_id": unique("completion"),
    })


def define_pathway(pathways, levels: list[dict]) -> str:
    pathway_id = unique("ml-engineer")
    response = pathways.test_client().post(
        "/api/pathways", json={"id": pathway_id, "name": "ML Engineer", "levels": levels}, headers=hr_admin()
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return pathway_id


def gaps(pathways, employee: str, pathway_id: str, level, headers=None):
    return pathways.test_client().get(
        f"/api/people/{employee}/gaps", query_string={"pathway_id": pathway_id, "level": level}, headers=headers or hr_admin()
    )


@pytest.fixture
def at_clock(pathways, monkeypatch):
    monkeypatch.setitem(pathways.extensions, "clock", lambda: CLOCK)


@pytest.mark.usefixtures("at_clock")
def test_an_analyst_pivoting_to_ml_sees_what_to_earn_prerequisites_first_with_effort_and_what_expires(pathways):
    employee = unique("ada")
    basics = define_credential(pathways, "Programming Basics", effort_hours=5)
    python = define_credential(pathways, "Python", prerequisites=[basics], effort_hours=20)
    statistics = define_credential(pathways, "Statistics", effort_hours=30)
    ml = define_credential(pathways, "Machine Learning", prerequisites=[python, statistics], effort_hours=40)
    pytorch = define_credential(pathways, "PyTorch", prerequisites=[ml], effort_hours=25)
    sklearn = define_credential(pathways, "scikit-learn", prerequisites=[ml], effort_hours=10)
    listening = define_credential(pathways, "Listening", category="soft", effort_hours=3)
    define_credential(pathways, "Mentoring", category="soft", effort_hours=6)
    pathway_id = define_pathway(pathways, [
        {"name": "Junior", "all_of": [statistics]},
        {"name": "Engineer", "all_of": [ml], "n_of": [{"n": 1, "credentials": [pytorch, sklearn]}],
         "min_months_at_previous_level": 6, "min_soft_skill_credentials": 2},
    ])
    earn(pathways, employee, basics)
    earn_until(pathways, employee, statistics, CLOCK + timedelta(days=45))
    earn(pathways, employee, listening)

    response = gaps(pathways, employee, pathway_id, 2, headers=as_person(employee))

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert [item["achievement_id"] for item in body["missing"]] == [python, ml, sklearn]
    assert [item["reason"] for item in body["missing"]] == ["prerequisite", "required", "one_of_group"]
    assert body["missing"][1]["prerequisites_missing"] == [python]
    assert body["next_recommended"]["achievement_id"] == python
    assert body["total_effort_hours"] == 20 + 40 + 10
    assert [item["achievement_id"] for item in body["technical"]] == [python, ml, sklearn] and body["soft"] == []
    assert body["soft_credentials_needed"] == 1
    assert body["waiting"] == [{"level": 2, "min_months": 6, "eligible_from": None}]
    assert [(item["achievement_id"], item["valid_until"]) for item in body["expiring"]] == [
        (statistics, (CLOCK + timedelta(days=45)).isoformat())
    ]
    assert (body["pathway_id"], body["level"], body["level_name"], body["attained"]) == (pathway_id, 2, "Engineer", False)


@pytest.mark.usefixtures("at_clock")
def test_catalog_entries_without_details_count_as_no_prerequisites_and_unknown_effort(pathways):
    employee = unique("ada")
    sql, python = seed_catalog(pathways, "SQL", "Python")
    pathway_id = define_pathway(pathways, [{"name": "Junior", "all_of": [sql, python]}])
    earn(pathways, employee, sql)

    body = gaps(pathways, employee, pathway_id, 1).get_json()

    assert [(item["achievement_id"], item["effort_hours"]) for item in body["missing"]] == [(python, None)]
    assert body["effort_unknown"] == [python] and body["total_effort_hours"] == 0


@pytest.mark.usefixtures("at_clock")
def test_nothing_is_missing_once_the_level_is_attained(pathways):
    employee = unique("ada")
    sql = define_credential(pathways, "SQL", effort_hours=10)
    pathway_id = define_pathway(pathways, [{"name": "Junior", "all_of": [sql], "requires_approval": False}])
    earn(pathways, employee, sql)

    body = gaps(pathways, employee, pathway_id, 1).get_json()

    assert body["attained"] is True
    assert body["missing"] == [] and body["next_recommended"] is None and body["expiring"] == []


def test_an_unknown_pathway_is_404_and_a_level_it_does_not_have_is_422(pathways):
    sql = define_credential(pathways, "SQL", effort_hours=10)
    pathway_id = define_pathway(pathways, [{"name": "Junior", "all_of": [sql]}])
    employee = unique("ada")

    problem(gaps(pathways, employee, unique("no-such-pathway"), 1), 404)
    problem(gaps(pathways, employee, pathway_id, 2), 422)
    problem(gaps(pathways, employee, pathway_id, 0), 422)


def test_someone_elses_gaps_are_forbidden(pathways, team):
    response = gaps(pathways, team.employee, team.pathway_id, 1, headers=as_person(team.other_employee))

    problem(response, 403)
