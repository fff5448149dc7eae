"""Helpers for the pathways integration tests: the catalog, an org chart, a team on a pathway."""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from services.pathways.handlers import build_handlers
from shared.auth import HR_ADMIN
from tests.integration.helpers import handle, rows
from tests.support import bearer, unique

DEFINED = "skillstack.issuer.credential.defined.v1"
ISSUED = "skillstack.issuer.credential.issued.v1"
CLOCK = datetime(2027, 5, 4, 9, tzinfo=UTC)


def handlers(at: datetime = CLOCK):
    return build_handlers(source="/skillstack/pathways", clock=lambda: at)


def hr_admin(subject: str | None = None) -> dict[str, str]:
    return bearer("pathways", subject or unique("hr"), roles=(HR_ADMIN,))


def as_person(employee_id: str) -> dict[str, str]:
    return bearer("pathways", employee_id)


def seed_catalog(pathways, *names: str, retired: bool = False, category: str = "technical") -> list[str]:
    """Project credential.defined events into the catalog, as the worker does; return the new ids."""
    ids = []
    for name in names:
        achievement_id = unique(name.lower().replace(" ", "-"))
        handle(
            pathways,
            handlers(),
            DEFINED,
            {
                "achievement_id": achievement_id,
                "version": 1,
                "name": name,
                "category": category,
                "description": f"{name}, as the academy teaches it.",
                "assessment_id": unique("assessment"),
                "min_score": 80,
                "validity_months": None,
                "retired": retired,
            },
        )
        ids.append(achievement_id)
    return ids


def import_csv(pathways, text: str | bytes, *, headers=None, content_type="text/csv"):
    return pathways.test_client().post(
        "/api/people/import", data=text, content_type=content_type, headers=headers or hr_admin()
    )


def org_chart(*people: tuple[str, str, str]) -> str:
    """A CSV org chart from (employee_id, name, manager_id) rows; emails derive from the ids."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["employee_id", "email", "name", "manager_id"])
    writer.writerows((employee, f"{employee}@example.com", name, manager) for employee, name, manager in people)
    return text.getvalue()


@dataclass
class Team:
    """An employee and their manager, another manager with a report, and a two-level pathway."""

    employee: str
    manager: str
    other_manager: str
    other_employee: str
    pathway_id: str
    level_one: list[str]
    level_two: list[str]


@pytest.fixture
def team(pathways) -> Team:
    employee, manager = unique("ada"), unique("boss")
    other_manager, other_employee = unique("other-boss"), unique("grace")
    chart = org_chart(
        (manager, "Charles Babbage", ""),
        (employee, "Ada Lovelace", manager),
        (other_manager, "Howard Aiken", ""),
        (other_employee, "Grace Hopper", other_manager),
    )
    assert import_csv(pathways, chart).status_code == 200
    sql, python, visualisation = seed_catalog(pathways, "SQL Foundations", "Python Foundations", "Data Visualisation")
    pathway_id = unique("data-analyst")
    response = pathways.test_client().post(
        "/api/pathways",
        json={
            "id": pathway_id,
            "name": "Data Analyst",
            "levels": [{"name": "Junior", "credentials": [sql, python]}, {"name": "Associate", "credentials": [visualisation]}],
        },
        headers=hr_admin(),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return Team(employee, manager, other_manager, other_employee, pathway_id, [sql, python], [visualisation])


def earn(pathways, employee: str, achievement_id: str, *, at: datetime = CLOCK) -> str:
    """Project a credential.issued event, as the worker does (its clock reading `at`); return the credential's id."""
    credential_id = unique("credential")
    handle(
        pathways,
        handlers(at),
        ISSUED,
        {
            "credential_id": credential_id,
            "employee_id": employee,
            "achievement_id": achievement_id,
            "achievement_version": 1,
            "achievement_name": achievement_id,
            "issued_at": CLOCK,
            "valid_until": None,
            "source_event_id": unique("completion"),
        },
    )
    return credential_id


def requests_of(pathways, employee: str) -> list[dict]:
    return rows(pathways, "SELECT * FROM advancement_requests WHERE employee_id = :e ORDER BY level", e=employee)
