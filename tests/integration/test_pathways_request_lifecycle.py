"""An advancement request's life after it opens: the employee withdraws it, a lost credential closes
it, and its history records every change with who made it."""

import pytest

from tests.integration.helpers import handle, outbox_rows, problem, table_counts
from tests.integration.pathways_support import (
    CLOCK,
    as_person,
    earn,
    handlers,
    hr_admin,
    requests_of,
    seed_catalog,
)

pytestmark = pytest.mark.infra

WITHDRAWN = "skillstack.pathways.advancement.withdrawn.v1"
CLOSED = "skillstack.pathways.advancement.closed.v1"
EXPIRED = "skillstack.issuer.credential.expired.v1"
REVOKED = "skillstack.issuer.credential.revoked.v1"


def open_request(pathways, team) -> tuple[dict, dict[str, str]]:
    """The employee earns level one's credentials; their open request, and the credential of each achievement."""
    credentials = {achievement_id: earn(pathways, team.employee, achievement_id) for achievement_id in team.level_one}
    [request] = requests_of(pathways, team.employee)
    assert request["status"] == "open"
    return request, credentials


def credential_ended(pathways, event_type: str, employee: str, credential_id: str, achievement_id: str) -> None:
    """Project the issuer's expired or revoked event, as the worker does."""
    data = {"credential_id": credential_id, "employee_id": employee, "achievement_id": achievement_id, "achievement_name": "SQL"}
    if event_type == EXPIRED:
        data |= {"valid_until": CLOCK}
    else:
        data |= {"revoked_at": CLOCK, "reason": "Issued in error"}
    handle(pathways, handlers(), event_type, data)


def history(pathways, request_id: str, headers: dict) -> list[tuple]:
    response = pathways.test_client().get(f"/api/advancement-requests/{request_id}/history", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(change["from_status"], change["to_status"], change["actor"], change["comment"]) for change in response.get_json()]


# --- withdrawal ------------------------------------------------------------------------------


def test_the_employee_withdraws_their_open_request_and_it_is_announced(pathways, team):
    client = pathways.test_client()
    request, _ = open_request(pathways, team)
    withdraw = f"/api/advancement-requests/{request['id']}/withdraw"

    response = client.post(withdraw, json={"comment": "Applying next quarter."}, headers=as_person(team.employee))

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["status"], body["decided_by"], body["comment"]) == ("withdrawn", team.employee, "Applying next quarter.")
    assert requests_of(pathways, team.employee)[0]["status"] == "withdrawn"
    [announced] = outbox_rows(pathways, WITHDRAWN, team.employee)
    assert announced["topic"] == "pathways.advancements"
    assert announced["payload"]["data"] | {"decided_at": None} == {
        "request_id": request["id"],
        "employee_id": team.employee,
        "decided_by": team.employee,
        "pathway_id": team.pathway_id,
        "pathway_name": "Data Analyst",
        "level": 1,
        "level_name": "Junior",
        "decided_at": None,
        "comment": "Applying next quarter.",
    }
    listed = client.get("/api/advancement-requests?status=withdrawn", headers=as_person(team.employee))
    assert [found["id"] for found in listed.get_json()] == [request["id"]]


def test_only_the_employee_withdraws_and_only_an_open_request(pathways, team):
    client = pathways.test_client()
    request, _ = open_request(pathways, team)
    withdraw = f"/api/advancement-requests/{request['id']}/withdraw"

    for refused in (as_person(team.manager), as_person(team.other_employee), hr_admin()):
        before = table_counts(pathways, "advancement_request_history", "outbox")
        problem(client.post(withdraw, json={}, headers=refused), 403)
        assert table_counts(pathways, "advancement_request_history", "outbox") == before
    assert requests_of(pathways, team.employee)[0]["status"] == "open"

    assert client.post(withdraw, json={}, headers=as_person(team.employee)).status_code == 200
    before = table_counts(pathways, "advancement_request_history", "outbox")

    again = client.post(withdraw, json={}, headers=as_person(team.employee))

    assert "withdrawn" in problem(again, 409)["detail"]
    assert table_counts(pathways, "advancement_request_history", "outbox") == before
    assert len(outbox_rows(pathways, WITHDRAWN, team.employee)) == 1
    decided = f"/api/advancement-requests/{request['id']}/approve"
    assert "withdrawn" in problem(client.post(decided, json={}, headers=as_person(team.manager)), 409)["detail"]


# --- a required credential ending before the decision -----------------------------------------


@pytest.mark.parametrize("event_type, cause", [(EXPIRED, "expired"), (REVOKED, "revoked")], ids=["expired", "revoked"])
def test_a_required_credential_ending_closes_the_open_request_and_announces_it(pathways, team, event_type, cause):
    request, credentials = open_request(pathways, team)
    sql = team.level_one[0]

    credential_ended(pathways, event_type, team.employee, credentials[sql], sql)

    [closed] = requests_of(pathways, team.employee)
    assert (closed["id"], closed["status"], closed["decided_by"]) == (request["id"], "closed", "system")
    assert credentials[sql] in closed["comment"] and cause in closed["comment"]
    [announced] = outbox_rows(pathways, CLOSED, team.employee)
    data = announced["payload"]["data"]
    assert (data["request_id"], data["decided_by"], data["credential_id"], data["cause"], data["level"]) == (
        request["id"], "system", credentials[sql], cause, 1
    )
    progress = pathways.test_client().get(f"/api/people/{team.employee}/progress", headers=as_person(team.employee))
    assert progress.get_json()[0]["levels"][0]["missing"] == [sql]
    assert history(pathways, request["id"], as_person(team.employee)) == [
        (None, "open", "system", None),
        ("open", "closed", "system", closed["comment"]),
    ]

    earn(pathways, team.employee, sql)  # earning it again asks the manager anew

    assert sorted((found["status"], found["level"]) for found in requests_of(pathways, team.employee)) == [
        ("closed", 1), ("open", 1)  # both opened at the test's fixed clock: their listing order is a tie
    ]


@pytest.mark.parametrize("event_type", [EXPIRED, REVOKED], ids=["expired", "revoked"])
def test_a_credential_the_level_does_not_need_ending_leaves_the_request_open(pathways, team, event_type):
    request, _ = open_request(pathways, team)
    [statistics] = seed_catalog(pathways, "Statistics")
    unrelated = earn(pathways, team.employee, statistics)

    credential_ended(pathways, event_type, team.employee, unrelated, statistics)

    assert requests_of(pathways, team.employee)[0]["status"] == "open"
    assert outbox_rows(pathways, CLOSED, team.employee) == []
    assert history(pathways, request["id"], as_person(team.manager)) == [(None, "open", "system", None)]


def test_a_duplicate_credential_ending_leaves_the_request_open_while_another_copy_is_valid(pathways, team):
    request, credentials = open_request(pathways, team)
    sql = team.level_one[0]
    earn(pathways, team.employee, sql)  # a second, still valid credential of the same achievement

    credential_ended(pathways, EXPIRED, team.employee, credentials[sql], sql)

    assert requests_of(pathways, team.employee)[0]["status"] == "open"
    assert outbox_rows(pathways, CLOSED, team.employee) == []


# --- the history ---------------------------------------------------------------------------------


def test_the_history_lists_each_change_in_order_with_who_made_it(pathways, team):
    client = pathways.test_client()
    level_one, _ = open_request(pathways, team)
    approve = f"/api/advancement-requests/{level_one['id']}/approve"
    assert client.post(approve, json={"comment": "Well done"}, headers=as_person(team.manager)).status_code == 200
    earn(pathways, team.employee, team.level_two[0])
    [_, level_two] = requests_of(pathways, team.employee)
    reject = f"/api/advancement-requests/{level_two['id']}/reject"
    assert client.post(reject, json={"comment": "Present a dashboard first."}, headers=as_person(team.manager)).status_code == 200

    for reader in (as_person(team.employee), as_person(team.manager), hr_admin()):
        assert history(pathways, level_one["id"], reader) == [
            (None, "open", "system", None),
            ("open", "approved", team.manager, "Well done"),
        ]
        assert history(pathways, level_two["id"], reader) == [
            (None, "open", "system", None),
            ("open", "rejected", team.manager, "Present a dashboard first."),
        ]
    for outsider in (team.other_employee, team.other_manager):
        problem(client.get(f"/api/advancement-requests/{level_one['id']}/history", headers=as_person(outsider)), 403)
