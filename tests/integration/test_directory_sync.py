"""A full org chart sync: whoever is not in HR's file has left, and is deactivated (never deleted).

A full sync deactivates everyone active in this session's directory who is not in the file, so
these tests count the people who would leave instead of assuming the directory is theirs alone.
The optional `locale` and `time_zone` columns: checked row by row, kept when a file lacks them.
"""

import csv
import io

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


# --- locale and time zone ----------------------------------------------------------------------


def settings_chart(*people: tuple[str, str, str, str]) -> str:
    """A CSV org chart from (employee_id, name, locale, time_zone) rows, without managers."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["employee_id", "email", "name", "locale", "time_zone"])
    writer.writerows((employee, f"{employee}@example.com", name, locale, zone) for employee, name, locale, zone in people)
    return text.getvalue()


def settings_of(pathways, employee_id: str) -> tuple[str | None, str | None]:
    [row] = rows(pathways, "SELECT locale, time_zone FROM people WHERE employee_id = :e", e=employee_id)
    return row["locale"], row["time_zone"]


def announced_settings(pathways, employee_id: str) -> list[tuple[str | None, str | None]]:
    return [(event["payload"]["data"]["locale"], event["payload"]["data"]["time_zone"])
            for event in outbox_rows(pathways, PERSON_UPSERTED, employee_id)]


def test_an_import_stores_and_announces_each_persons_locale_and_time_zone(pathways):
    ada, grace = unique("ada"), unique("grace")

    response = import_csv(pathways, settings_chart((ada, "Ada Lovelace", "en_gb", "Europe/London"), (grace, "Grace Hopper", "", "")))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert settings_of(pathways, ada) == ("en-GB", "Europe/London")  # the tag as BCP 47 writes it
    assert settings_of(pathways, grace) == (None, None)
    assert announced_settings(pathways, ada) == [("en-GB", "Europe/London")]
    assert announced_settings(pathways, grace) == [(None, None)]
    read = pathways.test_client().get(f"/api/people/{ada}", headers=hr_admin())
    assert (read.get_json()["locale"], read.get_json()["time_zone"]) == ("en-GB", "Europe/London")


def test_a_file_without_the_columns_keeps_them_and_an_empty_cell_clears_one(pathways):
    ada = unique("ada")
    assert import_csv(pathways, settings_chart((ada, "Ada Lovelace", "de-DE", "Europe/Berlin"))).status_code == 200

    incremental = import_csv(pathways, org_chart((ada, "Ada Lovelace", "")))
    full = full_sync(pathways, org_chart((ada, "Ada Lovelace", "")), dry_run=True)

    assert incremental.get_json() == {"created": 0, "updated": 0, "unchanged": 1, "deactivated": 0}
    assert (full.get_json()["unchanged"], full.get_json()["updated"]) == (1, 0)
    assert settings_of(pathways, ada) == ("de-DE", "Europe/Berlin")

    cleared = import_csv(pathways, settings_chart((ada, "Ada Lovelace", "fr", "")))

    assert cleared.get_json() == {"created": 0, "updated": 1, "unchanged": 0, "deactivated": 0}
    assert settings_of(pathways, ada) == ("fr", None)
    assert announced_settings(pathways, ada) == [("de-DE", "Europe/Berlin"), ("fr", None)]


@pytest.mark.parametrize("column, value, says", [
    ("locale", "xx-YY", "unknown locale"),
    ("locale", "en GB", "language tag"),
    ("locale", "en-" + "a" * 33, "language tag"),
    ("time_zone", "Mars/Olympus_Mons", "unknown time zone"),
    ("time_zone", "Europe", "unknown time zone"),
    ("time_zone", "../etc/passwd", "IANA"),
], ids=["unknown locale", "not a tag", "tag over 35 characters", "unknown zone", "a folder of zones", "a path"])
def test_a_bad_locale_or_time_zone_is_reported_by_row_and_imports_nothing(pathways, column, value, says):
    good, bad = unique("ada"), unique("bob")
    row = {"locale": "en-GB", "time_zone": "Europe/London"} | {column: value}
    chart = settings_chart((good, "Ada", "en-GB", "Europe/London"), (bad, "Bob", row["locale"], row["time_zone"]))
    before = table_counts(pathways, *DIRECTORY_TABLES)

    response = import_csv(pathways, chart)

    body = problem(response, 422)
    assert [(error["row"], error["column"]) for error in body["errors"]] == [(3, column)]
    assert says in body["errors"][0]["message"]
    assert table_counts(pathways, *DIRECTORY_TABLES) == before
