"""The pathways pages as a signed-in person uses them: sign-in redirect, approvals, CSRF."""

import re

import pytest

from tests.integration.helpers import rows
from tests.integration.pathways_support import earn, requests_of

pytestmark = pytest.mark.infra


def signed_in(app, employee_id: str, name: str = "Someone", roles=()):
    """A browser whose session says `employee_id` signed in through the IdP."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["principal"] = {"subject": employee_id, "name": name, "email": f"{employee_id}@example.com", "roles": list(roles)}
    return client


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def open_request(pathways, team) -> dict:
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)
    [request] = requests_of(pathways, team.employee)
    return request


def test_an_anonymous_visitor_is_sent_to_sign_in_and_brought_back(pathways):
    response = pathways.test_client().get("/approvals")

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/approvals"


def test_a_manager_approves_a_report_from_the_approvals_page(pathways, team):
    request = open_request(pathways, team)
    browser = signed_in(pathways, team.manager, "Charles Babbage")

    page = browser.get("/approvals").get_data(as_text=True)
    assert "Ada Lovelace: level 1" in page
    response = browser.post(
        f"/approvals/{request['id']}", data={"csrf_token": csrf_token(page), "decision": "approve", "comment": "Bravo"}
    )

    assert response.status_code == 302
    assert requests_of(pathways, team.employee)[0]["status"] == "approved"
    assert "Request approved." in browser.get("/approvals").get_data(as_text=True)


def test_a_form_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(pathways, team):
    request = open_request(pathways, team)
    browser = signed_in(pathways, team.manager)
    browser.get("/approvals")

    for form in ({"decision": "approve"}, {"decision": "approve", "csrf_token": "forged"}):
        response = browser.post(f"/approvals/{request['id']}", data=form)
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)
    assert requests_of(pathways, team.employee)[0]["status"] == "open"


def test_another_manager_sees_nothing_to_approve_and_cannot_decide(pathways, team):
    request = open_request(pathways, team)
    browser = signed_in(pathways, team.other_manager)

    page = browser.get("/approvals").get_data(as_text=True)
    assert "Nothing to approve" in page
    response = browser.post(f"/approvals/{request['id']}", data={"csrf_token": csrf_token(page), "decision": "approve"})

    assert response.status_code == 403
    assert "direct manager" in response.get_data(as_text=True)
    assert requests_of(pathways, team.employee)[0]["status"] == "open"


def test_the_employee_sees_their_ladder_and_names_are_escaped(pathways, team):
    open_request(pathways, team)
    browser = signed_in(pathways, team.employee, "<script>alert(1)</script>")

    page = browser.get("/").get_data(as_text=True)

    assert "waiting for your manager" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert rows(pathways, "SELECT status FROM advancement_requests WHERE employee_id = :e", e=team.employee) == [{"status": "open"}]


def test_when_the_manager_has_left_their_own_manager_decides(pathways, team):
    from tests.integration.pathways_support import import_csv, org_chart

    request = open_request(pathways, team)
    boss = team.other_manager  # becomes the departed manager's manager
    chart = org_chart((boss, "Howard Aiken", ""), (team.manager, "Charles Babbage", boss)) + f"{team.employee},{team.employee}@example.com,Ada Lovelace,{team.manager}\n"
    assert import_csv(pathways, chart).status_code == 200
    departed = "employee_id,email,name,manager_id,active\n" + f"{team.manager},{team.manager}@example.com,Charles Babbage,{boss},false\n"
    assert import_csv(pathways, departed).status_code == 200

    browser = signed_in(pathways, boss)
    page = browser.get("/approvals").get_data(as_text=True)
    assert "Ada Lovelace: level 1" in page
    response = browser.post(
        f"/approvals/{request['id']}", data={"csrf_token": csrf_token(page), "decision": "approve"}
    )
    assert response.status_code == 302
    assert requests_of(pathways, team.employee)[0]["status"] == "approved"


def test_when_the_identity_provider_does_not_answer_sign_in_says_so_and_sign_out_still_works(pathways, team):
    # This level's IdP (https://idp.test) is unreachable by design.
    response = pathways.test_client().get("/auth/login?next=/approvals")
    assert response.status_code == 503
    assert "sign-in service does not answer" in response.get_data(as_text=True)

    browser = signed_in(pathways, team.manager)
    page = browser.get("/approvals").get_data(as_text=True)
    response = browser.post("/auth/logout", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert browser.get("/approvals").headers["Location"].startswith("/auth/login")
