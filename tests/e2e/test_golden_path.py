"""The golden path, as the people in it live it: through HTTP, Kafka, PostgreSQL and SMTP."""

from datetime import datetime

from tests.e2e.scenario import Academy
from tests.support import wait_for


def test_an_employee_earns_credentials_and_their_manager_approves_the_next_level(platform):
    academy = Academy(platform)
    employee, manager = academy.employee, academy.manager

    # HR sets up the catalog, the pathway and the org chart.
    academy.define_catalog()
    pathway = academy.define_pathway()
    assert [level["name"] for level in pathway["levels"]] == ["Junior Analyst", "Associate Analyst"]
    assert academy.import_org_chart() == {"created": 3, "updated": 0, "unchanged": 0, "deactivated": 0}

    # The LMS reports two passed assessments; intake answers 202 at once.
    for achievement_id, score in ((academy.sql, 86), (academy.python, 75)):
        response = academy.post_completion(academy.completion(employee, achievement_id, score))
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "accepted"

    # The issuer issues both credentials, valid for 24 months, with their provenance.
    def credentials():
        response = platform.get(
            "issuer", f"/api/credentials?employee_id={employee.employee_id}", headers=academy.as_person("issuer", employee)
        )
        assert response.status_code == 200
        return response.json() if len(response.json()) == 2 else None

    issued = wait_for(credentials, timeout=30, message="two credentials issued")
    assert sorted(credential["achievement_id"] for credential in issued) == sorted([academy.sql, academy.python])
    for credential in issued:
        issued_at = datetime.fromisoformat(credential["issued_at"])
        valid_until = datetime.fromisoformat(credential["valid_until"])
        assert (valid_until.year - issued_at.year) * 12 + valid_until.month - issued_at.month == 24
        assert credential["source_event_id"]

    # Pathways sees level 1 complete and asks the manager to approve.
    requests_open = wait_for(lambda: academy.open_requests(manager), timeout=30, message="an advancement request")
    assert len(requests_open) == 1
    request = requests_open[0]
    assert (request["employee_id"], request["level"], request["manager_id"]) == (employee.employee_id, 1, manager.employee_id)
    progress = platform.get(
        "pathways", f"/api/people/{employee.employee_id}/progress", headers=academy.as_person("pathways", employee)
    ).json()
    level_one, level_two = progress[0]["levels"]
    assert (level_one["missing"], level_one["request_status"]) == ([], "open")
    assert level_two["missing"] == [academy.viz]

    # Notifications emails both and fills both inboxes; the manager's news of each credential
    # waits for their daily digest (the default), the request to review comes at once.
    wait_for(lambda: len(platform.mail.to(employee.email)) == 2, timeout=30, message="the employee's two emails")
    wait_for(lambda: len(platform.mail.to(manager.email)) == 1, timeout=30, message="the manager's review email")
    [review] = platform.mail.to(manager.email)
    assert review["Subject"] == "Eve Employee 0 is ready for Junior Analyst: please review"
    assert f"/pathways/approvals#request-{request['id']}" in review.get_body(("plain",)).get_content()
    assert review["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert {item["kind"] for item in academy.inbox(employee)} == {"credential-issued"}
    assert sorted(item["kind"] for item in academy.inbox(manager)) == [
        "approval-requested", "report-earned-credential", "report-earned-credential"
    ]

    # The employee cannot approve their own request; the manager approves.
    own = platform.post(
        "pathways", f"/api/advancement-requests/{request['id']}/approve", json={}, headers=academy.as_person("pathways", employee)
    )
    assert own.status_code == 403
    assert own.headers["Content-Type"] == "application/problem+json"
    approved = platform.post(
        "pathways",
        f"/api/advancement-requests/{request['id']}/approve",
        json={"comment": "Well earned."},
        headers=academy.as_person("pathways", manager),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"

    # The employee is told, by email and in the inbox.
    wait_for(lambda: len(platform.mail.to(employee.email)) == 3, timeout=30, message="the approval email")
    told = next(m for m in platform.mail.to(employee.email) if "advanced" in m["Subject"])
    assert told["Subject"] == "You advanced to Junior Analyst"
    assert "Well earned." in told.get_body(("plain",)).get_content()
    assert wait_for(
        lambda: any(item["kind"] == "advancement-approved" for item in academy.inbox(employee)), timeout=30
    )
    assert academy.open_requests(manager) == []
