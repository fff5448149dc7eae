"""Every admin and approval action leaves one audit entry — who, what, when, from where — in the
same transaction; a refused action leaves none; the database refuses changing the log; HR reads it."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from shared.auth import HR_ADMIN, SCIM_SCOPE
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import ROOT
from tests.integration.helpers import execute, problem, rows
from tests.integration.matrix_support import World, bulk_issuance, catalog_form, scim_user
from tests.integration.pathways_support import hr_admin, import_csv, org_chart
from tests.integration.test_pathways_pages import csrf_token, open_request, signed_in
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

BROWSER = {"environ_base": {"REMOTE_ADDR": "192.0.2.44"}, "headers": {"User-Agent": "Mozilla/5.0 (audit test)"}}


def entries_about(app, target_id: str) -> list[dict]:
    return rows(app, "SELECT * FROM audit_log WHERE target_id = :target ORDER BY id", target=target_id)


def with_browser(headers: dict) -> dict:
    """Request options: the caller's headers, plus the address and user agent the entry must show."""
    return {"environ_base": BROWSER["environ_base"], "headers": BROWSER["headers"] | headers}


# --- one entry per action, with who, what, when and from where -----------------------------


def test_a_revocation_by_hr_writes_one_entry_naming_who_what_and_from_where(issuer):
    credential_id = World("issuer", issuer, None).credential()
    hr = unique("hr")
    before = datetime.now(UTC)

    response = issuer.test_client().post(
        f"/api/credentials/{credential_id}/revoke", json={"reason": "Issued in error"},
        **with_browser(bearer("issuer", hr, roles=(HR_ADMIN,))),
    )

    assert response.status_code == 200
    [entry] = entries_about(issuer, credential_id)
    assert (entry["actor"], entry["action"], entry["target_type"]) == (hr, "credential.revoked", "credential")
    assert entry["details"]["reason"] == "Issued in error"
    assert (entry["client_ip"], entry["user_agent"]) == ("192.0.2.44", "Mozilla/5.0 (audit test)")
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert before - timedelta(seconds=5) <= entry["created_at"] <= datetime.now(UTC) + timedelta(seconds=5)


def test_refused_actions_write_no_entry(issuer):
    world = World("issuer", issuer, None)
    credential_id = world.credential()
    client = issuer.test_client()

    assert client.post(f"/api/credentials/{credential_id}/revoke", json={"reason": "x"},
                       headers=bearer("issuer", unique("ada"))).status_code == 403
    problem(client.post(f"/api/credentials/{credential_id}/revoke", json={}, headers=world.hr()), 422)
    assert entries_about(issuer, credential_id) == []
    assert client.post(f"/api/credentials/{credential_id}/revoke", json={"reason": "x"}, headers=world.hr()).status_code == 200
    problem(client.post(f"/api/credentials/{credential_id}/revoke", json={"reason": "again"}, headers=world.hr()), 409)

    assert [entry["details"]["reason"] for entry in entries_about(issuer, credential_id)] == ["x"]  # the conflict left none


def test_a_catalog_page_action_is_recorded_like_the_api_one(issuer):
    hr = unique("hr")
    browser = signed_in(issuer, hr, roles=(HR_ADMIN,))
    token = csrf_token(browser.get("/catalog").get_data(as_text=True))
    achievement_id = unique("python")

    response = browser.post("/catalog/new", data=catalog_form(achievement_id) | {"csrf_token": token}, **BROWSER)

    assert response.status_code == 302
    [entry] = entries_about(issuer, achievement_id)
    assert (entry["actor"], entry["action"], entry["details"]) == (hr, "achievement.defined", {"version": 1})
    assert entry["client_ip"] == "192.0.2.44"


def test_a_bulk_issuance_is_recorded_when_uploaded_and_when_started(issuer):
    world = World("issuer", issuer, None)
    job_id = bulk_issuance(world)
    assert issuer.test_client().post(f"/api/bulk-issuances/{job_id}/start", headers=world.hr()).status_code == 200

    assert [entry["action"] for entry in entries_about(issuer, job_id)] == ["bulk_issuance.uploaded", "bulk_issuance.started"]


def test_a_managers_decision_is_recorded_and_another_managers_refused_one_is_not(pathways, team):
    request = open_request(pathways, team)
    client = pathways.test_client()

    refused = client.post(f"/api/advancement-requests/{request['id']}/approve", json={"comment": "ok"},
                          headers=bearer("pathways", team.other_manager))
    approved = client.post(f"/api/advancement-requests/{request['id']}/approve", json={"comment": "Well earned"},
                           **with_browser(bearer("pathways", team.manager)))

    assert (refused.status_code, approved.status_code) == (403, 200)
    [entry] = entries_about(pathways, request["id"])
    assert (entry["actor"], entry["action"]) == (team.manager, "advancement_request.approved")
    assert entry["details"] == {"employee_id": team.employee, "pathway_id": team.pathway_id, "level": request["level"]}


def test_the_identity_providers_provisioning_is_recorded_as_the_client(pathways, team):
    employee_id = unique("alan")
    idp = bearer("pathways", "idp-scim", scopes=(SCIM_SCOPE,), employee_id=None, client_id="idp-scim")

    created = pathways.test_client().post("/scim/v2/Users", json=scim_user(employee_id, team.manager), headers=idp)
    removed = pathways.test_client().delete(f"/scim/v2/Users/{employee_id}", headers=idp)

    assert (created.status_code, removed.status_code) == (201, 204)
    assert [(entry["actor"], entry["action"]) for entry in entries_about(pathways, employee_id)] == [
        ("client:idp-scim", "person.provisioned"), ("client:idp-scim", "person.deactivated"),
    ]


def test_an_org_chart_import_is_recorded_with_its_counts_only_and_a_dry_run_not_at_all(pathways):
    hr = unique("hr")
    chart = org_chart((unique("alan"), "Alan Turing", ""), (unique("grace"), "Grace Hopper", ""))

    assert import_csv(pathways, chart, headers=hr_admin(hr)).status_code == 200
    pathways.test_client().post("/api/people/import?dry_run=true", data=chart, content_type="text/csv", headers=hr_admin(hr))

    [entry] = rows(pathways, "SELECT * FROM audit_log WHERE actor = :hr", hr=hr)
    assert entry["action"] == "org_chart.imported"
    assert entry["details"] == {"created": 2, "updated": 0, "unchanged": 0, "deactivated": 0, "mode": "incremental"}
    assert "Alan" not in str(entry)  # counts, not people


def test_hr_setting_someone_elses_webhook_is_recorded_without_its_url_and_ones_own_is_not(notifications):
    hr, employee = unique("hr"), unique("ada")
    url = "https://hooks.slack.com/services/T1/B2/" + unique("secret")
    client = notifications.test_client()

    own = client.post("/api/webhooks", json={"url": url, "format": "slack"}, headers=bearer("notifications", employee))
    set_by_hr = client.post("/api/webhooks", json={"owner_id": employee, "scope": "team", "url": url, "format": "slack"},
                            headers=bearer("notifications", hr, roles=(HR_ADMIN,)))
    removed_by_hr = client.delete(f"/api/webhooks/{own.get_json()['id']}", headers=bearer("notifications", hr, roles=(HR_ADMIN,)))

    assert (own.status_code, set_by_hr.status_code, removed_by_hr.status_code) == (201, 201, 204)
    found = rows(notifications, "SELECT * FROM audit_log WHERE actor = :hr ORDER BY id", hr=hr)
    assert [(entry["action"], entry["details"]["owner_id"]) for entry in found] == [("webhook.set", employee), ("webhook.removed", employee)]
    assert rows(notifications, "SELECT * FROM audit_log WHERE actor = :employee", employee=employee) == []
    assert not any(url in str(entry) for entry in found)


# --- append-only, at the database ------------------------------------------------------------


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log", "TRUNCATE audit_log"])
def test_postgresql_refuses_changing_or_removing_entries(issuer, statement):
    World("issuer", issuer, None).achievement()  # at least one entry

    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        execute(issuer, statement)


@pytest.mark.parametrize("service", ["issuer", "notifications"])
def test_sqlite_refuses_changing_or_removing_entries(tmp_path: Path, service):
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(ROOT / "services" / service / "migrations", url)
    database = Database(url)
    try:
        with database.transaction() as session:
            session.execute(text("INSERT INTO audit_log (created_at, actor, action, target_type, target_id, details) "
                                 "VALUES ('2027-05-04 09:00:00', 'hr', 'credential.revoked', 'credential', 'c1', '{}')"))
        for statement in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), database.transaction() as session:
                session.execute(text(statement))
        with database.transaction() as session:
            assert session.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["hr"]
    finally:
        database.dispose()


# --- HR reads it -------------------------------------------------------------------------------


def test_hr_reads_the_log_newest_first_filtered_and_a_page_at_a_time(pathways, team):
    hr = unique("hr")
    ids = [unique("analyst") for _ in range(3)]
    for pathway_id in ids:
        definition = {"id": pathway_id, "name": "Analyst", "levels": [{"name": "Junior", "credentials": team.level_one}]}
        response = pathways.test_client().post("/api/pathways", json=definition, headers=hr_admin(hr))
        assert response.status_code == 201, response.get_data(as_text=True)
    reader = hr_admin()
    client = pathways.test_client()

    first = client.get("/api/audit-log", query_string={"actor": hr, "limit": 2}, headers=reader)
    rest = client.get("/api/audit-log", query_string={"actor": hr, "limit": 2, "before": first.get_json()[-1]["id"]}, headers=reader)

    assert first.status_code == 200
    assert [entry["target_id"] for entry in first.get_json() + rest.get_json()] == ids[::-1]
    assert {entry["action"] for entry in first.get_json()} == {"pathway.defined"}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/api/audit-log", query_string={"actor": hr, "since": future}, headers=reader).get_json() == []
    assert client.get("/api/audit-log", query_string={"actor": hr, "action": "pathway.edited"}, headers=reader).get_json() == []
    problem(client.get("/api/audit-log", query_string={"limit": 501}, headers=reader), 422)
    problem(client.get("/api/audit-log", query_string={"since": "2027-05-04T09:00:00"}, headers=reader), 422)  # no offset


@pytest.mark.parametrize("service", ["issuer", "pathways", "notifications"])
def test_only_hr_reads_the_log(apps, service):
    client = apps[service].test_client()

    problem(client.get("/api/audit-log", headers=bearer(service, unique("ada"))), 403)
    problem(client.get("/api/audit-log"), 401)
    assert client.get("/api/audit-log", headers=bearer(service, unique("hr"), roles=(HR_ADMIN,))).status_code == 200
