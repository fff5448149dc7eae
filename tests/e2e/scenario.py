"""The golden path's cast and catalog, with unique ids so scenarios never collide."""

from dataclasses import dataclass

from tests.support import unique, wait_for

@dataclass
class Person:
    employee_id: str
    name: str
    email: str
    manager_id: str = ""


class Academy:
    """One company's academy inside the shared platform: credentials, a pathway, an org chart."""

    def __init__(self, platform, *, employees: int = 1):
        self.platform = platform
        tag = unique("co")
        self.sql = f"sql-{tag}"
        self.python = f"python-{tag}"
        self.viz = f"viz-{tag}"
        self.skip_level = Person(f"skip-{tag}", "Sam Skip", f"skip-{tag}@example.com")
        self.manager = Person(f"mgr-{tag}", "Maria Manager", f"mgr-{tag}@example.com", self.skip_level.employee_id)
        self.employees = [
            Person(f"emp{n}-{tag}", f"Eve Employee {n}", f"emp{n}-{tag}@example.com", self.manager.employee_id)
            for n in range(employees)
        ]
        self.pathway_id = f"data-analyst-{tag}"
        self.hr_person = Person(f"hr-{tag}", "Hana HR", f"hr-{tag}@example.com")
        self._registered: set[str] = set()

    @property
    def employee(self) -> Person:
        return self.employees[0]

    def _signed_in(self, person: Person, groups: tuple[str, ...] = ()) -> dict:
        """Bearer headers for a person, added to the identity provider the first time."""
        if person.employee_id not in self._registered:
            self.platform.identity.add_person(person.employee_id, person.name, person.email, groups)
            self._registered.add(person.employee_id)
        return {"Authorization": "Bearer " + self.platform.identity.person_token(person.employee_id)}

    def hr(self, service: str) -> dict:
        return self._signed_in(self.hr_person, ("hr-admins",))

    def as_person(self, service: str, person: Person) -> dict:
        return self._signed_in(person)

    def lms(self) -> dict:
        return {"Authorization": "Bearer " + self.platform.identity.client_token()}

    def define_catalog(self) -> None:
        """HR defines three credentials, each earned by passing one assessment."""
        for achievement_id, name, score in ((self.sql, "SQL Foundations", 80), (self.python, "Python Foundations", 70), (self.viz, "Data Visualisation", 75)):
            response = self.platform.post(
                "issuer",
                "/api/achievements",
                json={
                    "id": achievement_id,
                    "name": name,
                    "description": f"Can use {name.split()[0]} at work.",
                    "assessment_id": f"{achievement_id}-exam",
                    "min_score": score,
                    "validity_months": 24,
                },
                headers=self.hr("issuer"),
            )
            assert response.status_code == 201, response.text

    def define_pathway(self) -> dict:
        """HR defines Data Analyst: level 1 = SQL + Python, level 2 = level 1 + visualisation.

        Pathways learns the catalog from `issuer.catalog`, so HR may have to wait a moment.
        """
        definition = {
            "id": self.pathway_id,
            "name": "Data Analyst",
            "levels": [
                {"name": "Junior Analyst", "credentials": [self.sql, self.python], "requires_approval": True},
                {"name": "Associate Analyst", "credentials": [self.viz], "requires_approval": True},
            ],
        }

        def attempt():
            response = self.platform.post("pathways", "/api/pathways", json=definition, headers=self.hr("pathways"))
            assert response.status_code in (201, 422), response.text
            return response if response.status_code == 201 else None

        return wait_for(attempt, timeout=30, interval=0.3, message="the catalog to reach pathways").json()

    def import_org_chart(self) -> dict:
        rows = ["employee_id,email,name,manager_id"] + [
            f"{p.employee_id},{p.email},{p.name},{p.manager_id}" for p in (self.skip_level, self.manager, *self.employees)
        ]
        response = self.platform.post(
            "pathways",
            "/api/people/import",
            data="\n".join(rows).encode(),
            headers=self.hr("pathways") | {"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def completion(self, person: Person, achievement_id: str, score: float, attempt: str | None = None) -> dict:
        return {
            "attempt_id": attempt or unique("attempt"),
            "employee_id": person.employee_id,
            "email": person.email,
            "assessment_id": f"{achievement_id}-exam",
            "score": score,
            "completed_at": "2026-11-20T10:00:00Z",
        }

    def post_completion(self, completion: dict):
        return self.platform.post("issuer", "/api/completions", json=completion, headers=self.lms())

    def open_requests(self, manager: Person) -> list[dict]:
        response = self.platform.get(
            "pathways", "/api/advancement-requests?status=open", headers=self.as_person("pathways", manager)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def inbox(self, person: Person) -> list[dict]:
        response = self.platform.get("notifications", "/api/inbox", headers=self.as_person("notifications", person))
        assert response.status_code == 200, response.text
        return response.json()
