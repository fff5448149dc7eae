"""The pathway views as people read them: an employee's ladder, a manager's team, HR's overview."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.auth import HR_ADMIN
from tests.integration.pathways_support import earn, import_csv, org_chart, requests_of
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import unique

pytestmark = pytest.mark.infra


def rename(pathways, team, employee_name: str, other_employee_name: str = "Grace Hopper") -> None:
    """Give the team's two employees names of this test's own."""
    chart = org_chart(
        (team.manager, "Charles Babbage", ""),
        (team.employee, employee_name, team.manager),
        (team.other_manager, "Howard Aiken", ""),
        (team.other_employee, other_employee_name, team.other_manager),
    )
    assert import_csv(pathways, chart).status_code == 200


def test_the_ladder_shows_credential_names_progress_and_the_next_recommended_credential(pathways, team):
    sql, python = team.level_one
    earn(pathways, team.employee, sql)

    page = signed_in(pathways, team.employee).get("/").get_data(as_text=True)

    assert "Data Analyst" in page and "Junior" in page and "Associate" in page
    assert "1 of 2 credentials" in page and "0 of 1 credentials" in page
    assert '<progress max="2" value="1"' in page
    assert "Earned: SQL Foundations" in page
    assert "Missing: Python Foundations" in page and "Missing: Data Visualisation" in page
    assert "Next recommended credential: <strong>Python Foundations</strong>" in page
    assert sql not in page and python not in page  # names, never ids


def test_a_level_whose_credentials_are_all_held_waits_for_approval_and_the_next_one_is_recommended(pathways, team):
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)

    page = signed_in(pathways, team.employee).get("/").get_data(as_text=True)

    assert "— waiting for your manager's approval" in page
    assert "2 of 2 credentials" in page
    assert "Next recommended credential: <strong>Data Visualisation</strong>" in page


def test_the_team_view_lists_only_the_managers_reports_with_their_skills_coverage(pathways, team):
    employee_name, other_name = unique("Ada"), unique("Grace")
    rename(pathways, team, employee_name, other_name)
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)
    earn(pathways, team.other_employee, team.level_two[0])

    page = signed_in(pathways, team.manager).get("/team").get_data(as_text=True)

    assert employee_name in page and other_name not in page
    assert "1 request waiting for your approval" in page and 'href="/approvals"' in page
    assert "<th scope=\"row\">SQL Foundations</th><td>1 of 1</td>" in page
    assert "Python Foundations" in page and "Data Visualisation" not in page


def test_another_manager_sees_only_their_own_report(pathways, team):
    employee_name, other_name = unique("Ada"), unique("Grace")
    rename(pathways, team, employee_name, other_name)
    earn(pathways, team.employee, team.level_one[0])
    earn(pathways, team.other_employee, team.level_two[0])

    page = signed_in(pathways, team.other_manager).get("/team").get_data(as_text=True)

    assert other_name in page and employee_name not in page
    assert "<th scope=\"row\">Data Visualisation</th><td>1 of 1</td>" in page
    assert "SQL Foundations" not in page
    assert "0 requests waiting for your approval" in page


def test_the_team_view_shows_the_level_each_report_reached(pathways, team):
    rename(pathways, team, unique("Ada"))
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id)
    [request_id] = [row["id"] for row in requests_of(pathways, team.employee)]
    manager = signed_in(pathways, team.manager)
    token = csrf_token(manager.get("/approvals").get_data(as_text=True))
    assert manager.post(f"/approvals/{request_id}", data={"csrf_token": token, "decision": "approve"}).status_code == 302

    page = manager.get("/team").get_data(as_text=True)

    assert "<th scope=\"col\">Data Analyst</th>" in page and "<td>Junior</td>" in page


def test_the_overview_is_for_hr_alone(pathways, team):
    for person in (team.employee, team.manager):
        response = signed_in(pathways, person).get("/overview")
        assert response.status_code == 403
        assert "Stuck requests" not in response.get_data(as_text=True)


def test_the_overview_counts_attained_levels_and_lists_a_stuck_request_but_not_a_fresh_one(pathways, team):
    stuck_name, fresh_name = unique("Ada"), unique("Grace")
    rename(pathways, team, stuck_name, fresh_name)
    real_now = datetime.now(UTC)
    for achievement_id in team.level_one:
        earn(pathways, team.employee, achievement_id, at=real_now - timedelta(days=10))
        earn(pathways, team.other_employee, achievement_id, at=real_now - timedelta(hours=1))

    page = signed_in(pathways, unique("hr"), roles=(HR_ADMIN,)).get("/overview").get_data(as_text=True)

    assert "<caption>Data Analyst</caption>" in page
    assert stuck_name in page and fresh_name not in page
    row = page[page.index(stuck_name):]
    row = row[: row.index("</tr>")]
    assert "Charles Babbage" in row and "Junior" in row and "10 days" in row


def test_a_report_named_with_a_script_tag_is_shown_escaped(pathways, team):
    rename(pathways, team, "<script>alert(1)</script>")

    page = signed_in(pathways, team.manager).get("/team").get_data(as_text=True)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page

