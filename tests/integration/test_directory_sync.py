"""A full org chart sync: whoever is not in HR's file has left, and is deactivated (never deleted).

A full sync deactivates everyone active in this session's directory who is not in the file, so
these tests count the people who would leave instead of assuming the directory is theirs alone.
"""

import pytest

from tests.integration.helpers import count, outbox_rows, problem, rows, table_counts
from tests.integration.pathways_support import hr_admin, import_csv, org_chart
from tests.support import unique

pytestmark = pytest.mark.infra

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
DIRECTORY_TABLES = ("people", "outbox")


def full_sync(pathways, chart: str, *, dry_run: bool = False):
    path = "/api/people/import?mode=full" + ("&dry_run=true" if dry_run else "")
    return pathways.test_client().post(path, data=chart, content_type="text/csv", headers=hr_admin())


def active_others(pathways, *staying: str) -> set[str]:
    """The people active now who are not in `staying`: the ones a full sync of `staying` deactivates."""
    return {row["employee_id"] for row in rows(pathways, "SELECT employee_id FROM people WHERE active")} - set(staying)


def is_active(pathways, employee_id: str) -> bool:
    [row] = rows(pathways, "SELECT active FROM people WHERE employee_id = :e", e=employee_id)
    return row["active"]


def test_an_incremental_import_leaves_people_not_in_the_file_alone(pathways):
    boss, ada, newcomer = unique("boss"), unique("ada"), unique("new")
    assert import_csv(pathways, org_chart((boss, "Charles Babbage", ""), (ada, "Ada Lovelace", boss))).status_code == 200

    response = import_csv(pathways, org_chart((newcomer, "Alan Turing", boss)))

    assert response.get_json() == {"created": 1, "updated": 0, "unchanged": 0, "deactivated": 0}
    assert is_active(pathways, ada) and is_active(pathways, boss)


def test_a_full_sync_deactivates_everyone_not_in_the_file_and_announces_each(pathways):
    boss, ada, leaver, newcomer = unique("boss"), unique("ada"), unique("leaver"), unique("new")
    chart = org_chart((boss, "Charles Babbage", ""), (ada, "Ada Lovelace", boss), (leaver, "Lord Byron", boss))
    assert import_csv(pathways, chart).status_code == 200
    leaving = active_others(pathways, boss, ada, newcomer)
    assert leaver in leaving

    response = full_sync(pathways, org_chart((boss, "Charles Babbage", ""), (ada, "Ada Lovelace", boss), (newcomer, "Alan Turing", boss)))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"created": 1, "updated": 0, "unchanged": 2, "deactivated": len(leaving)}
    assert not is_active(pathways, leaver) and count(pathways, "people", "employee_id = :e", e=leaver) == 1  # kept
    assert is_active(pathways, boss) and is_active(pathways, ada) and is_active(pathways, newcomer)
    joined, left = outbox_rows(pathways, PERSON_UPSERTED, leaver)
    assert left["payload"]["data"] == joined["payload"]["data"] | {"active": False}
    assert len(outbox_rows(pathways, PERSON_UPSERTED, ada)) == 1  # unchanged: announced once, when created
    assert count(pathways, "people", "active AND employee_id <> ALL(:staying)", staying=[boss, ada, newcomer]) == 0

    again = full_sync(pathways, org_chart((boss, "Charles Babbage", ""), (ada, "Ada Lovelace", boss), (newcomer, "Alan Turing", boss)))

    assert again.get_json() == {"created": 0, "updated": 0, "unchanged": 3, "deactivated": 0}
    assert len(outbox_rows(pathways, PERSON_UPSERTED, leaver)) == 2  # no second announcement


def test_a_dry_run_counts_who_would_be_deactivated_and_changes_nothing(pathways):
    boss, ada = unique("boss"), unique("ada")
    assert import_csv(pathways, org_chart((boss, "Charles Babbage", ""), (ada, "Ada Lovelace", boss))).status_code == 200
    newcomer = unique("new")
    leaving = active_others(pathways, boss, newcomer)
    before = table_counts(pathways, *DIRECTORY_TABLES)

    response = full_sync(pathways, org_chart((boss, "Charles Babbage", ""), (newcomer, "Alan Turing", boss)), dry_run=True)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"created": 1, "updated": 0, "unchanged": 1, "deactivated": len(leaving)}
    assert table_counts(pathways, *DIRECTORY_TABLES) == before
    assert is_active(pathways, ada)


def test_a_broken_full_sync_reports_who_would_have_left_and_deactivates_no_one(pathways):
    ada, ghost = unique("ada"), unique("ghost")
    assert import_csv(pathways, org_chart((ada, "Ada Lovelace", ""))).status_code == 200
    leaving = active_others(pathways)
    before = table_counts(pathways, *DIRECTORY_TABLES)

    response = full_sync(pathways, org_chart((unique("new"), "Alan Turing", ghost)))

    body = problem(response, 422)
    assert f"{len(leaving)} people not in the file would have been deactivated" in body["detail"]
    assert [error["column"] for error in body["errors"]] == ["manager_id"]
    assert table_counts(pathways, *DIRECTORY_TABLES) == before
    assert is_active(pathways, ada)


def test_an_unknown_mode_is_refused(pathways):
    response = pathways.test_client().post("/api/people/import?mode=everything", data=org_chart((unique("ada"), "Ada", "")),
                                           content_type="text/csv", headers=hr_admin())

    problem(response, 422)
