"""The authorization matrix's world: one caller per role, and fresh objects of the employee's per cell."""

import io
import uuid
from datetime import UTC, datetime

from flask import Flask

from shared.auth import ASSESSOR, COMPLETIONS_SCOPE, HR_ADMIN, SCIM_SCOPE
from tests.integration.helpers import handle, issuer_handlers, rows
from tests.integration.pathways_support import Team, earn, org_chart, requests_of
from services.notifications.unsubscribe import unsubscribe_token
from services.notifications.webhooks import add_webhook
from tests.integration.test_notifications_api import SECRET_KEY, credential_issued, inbox_of, join_directory
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import bearer, unique

FORM_PAGES = {"issuer": "/assessments/record", "notifications": "/preferences"}  # a page of the service with a form (pathways: "/")
# Where a form's own area has a page, its token comes from there (the page its role opens).
AREA_FORM_PAGES = {("issuer", "/catalog"): "/catalog", ("pathways", "/designer"): "/designer",
                   ("issuer", "/bulk-issuances"): "/bulk-issuances", ("pathways", "/people/import"): "/people/import"}
ROLES = ("anonymous", "employee", "other_employee", "manager", "other_manager", "hr", "assessor", "lms", "idp")
MACHINE_CLIENTS = ("lms", "idp")  # client credentials: never a browser session
COMPLETED = "skillstack.academy.assessment.completed.v1"
CLOCK = datetime(2027, 5, 4, 9, tzinfo=UTC)


def is_browser_route(rule: str) -> bool:
    """Pages and sign-in routes take a session cookie; the API and the probes take bearer tokens."""
    return not rule.startswith(("/api/", "/scim/", "/healthz", "/readyz", "/metrics", "/verify", "/.well-known/", "/status/", "/credentials/", "/achievements/"))


class World:
    """The service under test, the team (employee, manager, their counterparts) and the employee's objects."""

    def __init__(self, service: str, app: Flask, team: Team | None):
        self.service, self.app = service, app
        self.team = team or Team(unique("ada"), unique("boss"), unique("other-boss"), unique("grace"), "", [], [])
        self.subjects = {
            "employee": self.team.employee, "other_employee": self.team.other_employee,
            "manager": self.team.manager, "other_manager": self.team.other_manager,
            "hr": unique("hr"), "assessor": unique("assessor"),
        }
        self.roles = {"hr": (HR_ADMIN,), "assessor": (ASSESSOR,)}

    # --- callers --------------------------------------------------------------------------

    def caller(self, role: str, *, browser: bool):
        """A client and headers for the role: a signed-in session on browser routes, else a bearer token."""
        if role == "anonymous":
            return self.app.test_client(), {}
        if role == "lms":  # a machine client (client credentials): never has a browser session
            token = bearer(self.service, "academy-lms", scopes=(COMPLETIONS_SCOPE,), employee_id=None, client_id="academy-lms")
            return self.app.test_client(), token
        if role == "idp":  # the company's IdP provisioning people (SCIM), a machine client too
            token = bearer(self.service, "idp-scim", scopes=(SCIM_SCOPE,), employee_id=None, client_id="idp-scim")
            return self.app.test_client(), token
        subject, roles = self.subjects[role], self.roles.get(role, ())
        if browser:
            return signed_in(self.app, subject, roles=roles), {}
        return self.app.test_client(), bearer(self.service, subject, roles=roles)

    def form_token(self, client, rule: str) -> str | None:
        """The CSRF token a signed-in person's page carries (a refusal page too); None without a session."""
        area_pages = (page for (service, start), page in AREA_FORM_PAGES.items() if service == self.service and rule.startswith(start))
        form_page = next(area_pages, FORM_PAGES.get(self.service, "/"))
        page = client.get(form_page).get_data(as_text=True)
        return csrf_token(page) if 'name="csrf_token"' in page else None

    # --- the employee's objects, fresh for each cell --------------------------------------

    def achievement(self) -> dict:
        """A credential defined in the issuer's catalog by HR."""
        definition = {"id": unique("sql"), "name": "SQL Foundations", "description": "Joins and window functions.",
                      "assessment_id": unique("sql-101"), "min_score": 80, "validity_months": 24}
        response = self.app.test_client().post("/api/achievements", json=definition, headers=self.hr())
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    def credential(self) -> str:
        """The employee's credential, issued by the issuer's handler for a passing completion."""
        achievement = self.achievement()
        handle(self.app, issuer_handlers(self.app, CLOCK), COMPLETED, {
            "attempt_id": unique("attempt"), "employee_id": self.team.employee, "email": "ada@example.com",
            "assessment_id": achievement["assessment_id"], "score": 90.0, "completed_at": CLOCK, "source": "lms",
        })
        [credential] = rows(self.app, "SELECT id FROM credentials WHERE employee_id = :e", e=self.team.employee)
        return credential["id"]

    def open_request(self) -> str:
        """The employee's open advancement request: they earned the pathway's level-one credentials."""
        for achievement_id in self.team.level_one:
            earn(self.app, self.team.employee, achievement_id)
        [request] = requests_of(self.app, self.team.employee)
        assert request["status"] == "open"
        return request["id"]

    def inbox_item(self) -> str:
        """An item in the employee's inbox (their manager gets one too): a credential was issued."""
        join_directory(self.app, self.team.manager, "Charles Babbage")
        join_directory(self.app, self.team.employee, "Ada Lovelace", self.team.manager)
        credential_issued(self.app, self.team.employee)
        [item] = inbox_of(self.app, self.team.employee)
        return item["id"]

    def webhook(self) -> str:
        """The employee's own Slack webhook; its id."""
        with self.app.extensions["database"].transaction() as session:
            return add_webhook(session, owner_id=self.team.employee, scope="personal", url="https://hooks.slack.com/services/T1/B2/x",
                               format="slack", created_by=self.team.employee, may_manage_others=False, now=CLOCK).id

    def reviewed_assessment(self) -> str:
        """An assessment of a pass/fail credential that assessors record results of; its id."""
        definition = {"id": unique("portfolio"), "name": "Data Portfolio", "description": "A reviewed portfolio.",
                      "assessment_id": unique("portfolio-review"), "threshold": "pass_fail", "assessor_reviewed": True}
        response = self.app.test_client().post("/api/achievements", json=definition, headers=self.hr())
        assert response.status_code == 201, response.get_data(as_text=True)
        return definition["assessment_id"]

    def new_hire_chart(self) -> str:
        return org_chart((unique("alan"), "Alan Turing", self.team.manager))

    def hr(self) -> dict[str, str]:
        return bearer(self.service, unique("hr"), roles=(HR_ADMIN,))


def credential_row(world: World) -> dict:
    """The stored row of the employee's credential in this world."""
    [row] = rows(world.app, "SELECT * FROM credentials WHERE id = :id", id=world.credential())
    return row


def awards_csv(world: World) -> str:
    """A valid bulk issuance file: one award of a catalog credential to the employee."""
    return f"employee_id,email,credential,evidence_url,date\n{world.team.employee},ada@example.com,{world.achievement()['id']},,2020-01-31\n"


def bulk_issuance(world: World) -> str:
    """A bulk issuance HR uploaded, ready to start."""
    response = world.app.test_client().post("/api/bulk-issuances", data=awards_csv(world), content_type="text/csv", headers=world.hr())
    assert response.status_code == 201 and response.get_json()["status"] == "ready", response.get_data(as_text=True)
    return response.get_json()["id"]


def catalog_form(achievement_id: str | None = None) -> dict:
    """A valid definition as the catalog page's form posts it (an id only for a new credential)."""
    fields = {"name": "Python", "description": "Idiomatic Python.", "assessment_id": unique("py-101"), "threshold": "percent",
              "min_score": "75", "action": "save"}
    return fields | ({"id": achievement_id} if achievement_id else {})


def scim_user(employee_id: str, manager_id: str) -> dict:
    """A valid SCIM User as an IdP provisions it."""
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": employee_id, "name": {"formatted": "Alan Turing"},
            "emails": [{"value": f"{employee_id}@example.com", "primary": True}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": manager_id}}}


def completion() -> dict:
    """A valid LMS completion report."""
    return {"attempt_id": unique("attempt"), "employee_id": unique("emp"), "email": "ada@example.com",
            "assessment_id": unique("sql-101"), "score": 86, "completed_at": "2027-05-04T09:00:00+00:00"}


def xapi_statement() -> dict:
    """A valid xAPI statement: an employee passed an assessment in the LMS."""
    return {"id": str(uuid.uuid4()), "actor": {"account": {"homePage": "https://hr.example.com", "name": unique("emp")}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}, "object": {"id": f"https://lms.example.com/{unique('sql-101')}"},
            "result": {"score": {"scaled": 0.86}}, "timestamp": "2027-05-04T09:00:00+00:00"}


# How to call each endpoint with valid input: a function of the cell's world giving the path and
# the body; `marker` is the employee's object a filtered listing may or may not show. Endpoints
# without variables or bodies need no entry: they are called at their rule.
REQUESTS = {
    ("issuer", "POST", "/api/achievements"): lambda w: {"json": {
        "id": unique("python"), "name": "Python", "description": "Idiomatic Python.", "assessment_id": unique("py-101"),
        "min_score": 75}},
    ("issuer", "GET", "/api/achievements/<achievement_id>"): lambda w: {"path": f"/api/achievements/{w.achievement()['id']}"},
    ("issuer", "PUT", "/api/achievements/<achievement_id>"): lambda w: {
        "path": f"/api/achievements/{w.achievement()['id']}", "json": {
            "name": "SQL Foundations", "description": "Joins, window functions and CTEs.", "assessment_id": unique("sql-101"),
            "min_score": 85, "level": 2}},
    ("issuer", "POST", "/api/achievements/<achievement_id>/retire"): lambda w: {
        "path": f"/api/achievements/{w.achievement()['id']}/retire"},
    ("issuer", "PUT", "/api/achievements/<achievement_id>/image"): lambda w: {
        "path": f"/api/achievements/{w.achievement()['id']}/image", "content_type": "image/svg+xml",
        "data": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4"/></svg>'},
    ("issuer", "GET", "/api/achievements/<achievement_id>/versions"): lambda w: {
        "path": f"/api/achievements/{w.achievement()['id']}/versions"},
    ("issuer", "GET", "/achievements/<achievement_id>/v<int:version>/image"): lambda w: {
        "path": f"/achievements/{w.achievement()['id']}/v1/image"},
    ("issuer", "POST", "/api/completions"): lambda w: {"json": completion()},
    ("issuer", "POST", "/api/xapi/statements"): lambda w: {"json": xapi_statement()},
    ("issuer", "POST", "/catalog/new"): lambda w: {"data": catalog_form(unique("python"))},
    ("issuer", "GET", "/catalog/<achievement_id>/edit"): lambda w: {"path": f"/catalog/{w.achievement()['id']}/edit"},
    ("issuer", "POST", "/catalog/<achievement_id>/edit"): lambda w: {
        "path": f"/catalog/{w.achievement()['id']}/edit", "data": catalog_form()},
    ("issuer", "POST", "/catalog/<achievement_id>/retire"): lambda w: {
        "path": f"/catalog/{w.achievement()['id']}/retire", "data": {"confirm": "yes"}},
    ("issuer", "POST", "/catalog/<achievement_id>/image"): lambda w: {
        "path": f"/catalog/{w.achievement()['id']}/image", "data": {"image": (
            io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4"/></svg>'),
            "badge.svg", "image/svg+xml")}},
    ("issuer", "POST", "/assessments/record"): lambda w: {"data": {
        "employee_id": w.team.employee, "assessment_id": w.reviewed_assessment(), "passed": "passed",
        "evidence_url": "https://git.example.com/ada/portfolio", "completed_on": "2026-05-03"}},
    ("issuer", "POST", "/api/assessor-results"): lambda w: {"json": {
        "employee_id": w.team.employee, "assessment_id": w.reviewed_assessment(), "passed": True,
        "evidence": [{"url": "https://git.example.com/ada/portfolio"}], "completed_on": "2026-05-03"}},
    ("issuer", "GET", "/api/credentials"): lambda w: {"query_string": {"employee_id": w.team.employee}, "marker": w.credential()},
    ("issuer", "GET", "/api/credentials/<credential_id>"): lambda w: {"path": f"/api/credentials/{w.credential()}"},
    ("issuer", "POST", "/api/credentials/<credential_id>/revoke"): lambda w: {
        "path": f"/api/credentials/{w.credential()}/revoke", "json": {"reason": "Issued in error"}},
    ("issuer", "PUT", "/api/credentials/<credential_id>/sharing"): lambda w: {
        "path": f"/api/credentials/{w.credential()}/sharing", "json": {"public": True}},
    ("issuer", "GET", "/wallet"): lambda w: {"marker": w.credential()},
    ("issuer", "GET", "/wallet/summary"): lambda w: {"marker": w.credential()},
    ("issuer", "POST", "/catalog/preview"): lambda w: {"data": catalog_form()},
    ("issuer", "POST", "/bulk-issuances"): lambda w: {"data": {"awards": (io.BytesIO(awards_csv(w).encode()), "awards.csv", "text/csv")}},
    ("issuer", "GET", "/bulk-issuances/<job_id>"): lambda w: {"path": f"/bulk-issuances/{bulk_issuance(w)}"},
    ("issuer", "POST", "/bulk-issuances/<job_id>/start"): lambda w: {"path": f"/bulk-issuances/{bulk_issuance(w)}/start"},
    ("issuer", "GET", "/bulk-issuances/<job_id>/progress"): lambda w: {"path": f"/bulk-issuances/{bulk_issuance(w)}/progress"},
    ("issuer", "POST", "/wallet/<credential_id>/sharing"): lambda w: {
        "path": f"/wallet/{w.credential()}/sharing", "data": {"public": "true"}},
    ("issuer", "POST", "/api/bulk-issuances"): lambda w: {"data": awards_csv(w), "content_type": "text/csv"},
    ("issuer", "GET", "/api/bulk-issuances/<job_id>"): lambda w: {"path": f"/api/bulk-issuances/{bulk_issuance(w)}"},
    ("issuer", "POST", "/api/bulk-issuances/<job_id>/start"): lambda w: {"path": f"/api/bulk-issuances/{bulk_issuance(w)}/start"},
    ("issuer", "GET", "/api/bulk-issuances/<job_id>/problems"): lambda w: {"path": f"/api/bulk-issuances/{bulk_issuance(w)}/problems"},
    ("issuer", "GET", "/status/<int:number>"): lambda w: {"path": f"/status/{credential_row(w)['status_list']}"},
    ("issuer", "GET", "/credentials/<credential_id>"): lambda w: {"path": f"/credentials/{w.credential()}"},
    ("issuer", "GET", "/credentials/<credential_id>.json"): lambda w: {"path": f"/credentials/{w.credential()}.json"},
    ("issuer", "GET", "/credentials/<credential_id>.jwt"): lambda w: {"path": f"/credentials/{w.credential()}.jwt"},
    ("issuer", "GET", "/credentials/<credential_id>/badge.png"): lambda w: {"path": f"/credentials/{w.credential()}/badge.png"},
    ("issuer", "GET", "/credentials/<credential_id>/badge.svg"): lambda w: {"path": f"/credentials/{w.credential()}/badge.svg"},
    ("issuer", "POST", "/verify"): lambda w: {"json": {"credential": credential_row(w)["jwt"]}},
    ("pathways", "POST", "/api/pathways"): lambda w: {"json": {
        "id": unique("analyst"), "name": "Analyst", "levels": [{"name": "Junior", "credentials": w.team.level_one}]}},
    ("pathways", "GET", "/api/pathways/<pathway_id>"): lambda w: {"path": f"/api/pathways/{w.team.pathway_id}"},
    ("pathways", "PUT", "/api/pathways/<pathway_id>"): lambda w: {"path": f"/api/pathways/{w.team.pathway_id}", "json": {
        "name": "Data Analyst", "levels": [{"name": "Junior", "credentials": w.team.level_one}]}},
    ("pathways", "POST", "/api/pathways/<pathway_id>/migrations"): lambda w: {
        "path": f"/api/pathways/{w.team.pathway_id}/migrations", "json": {"version": 1, "employee_ids": [w.team.employee]}},
    ("pathways", "POST", "/api/people/import"): lambda w: {"data": w.new_hire_chart(), "content_type": "text/csv"},
    ("pathways", "GET", "/api/people/<employee_id>"): lambda w: {"path": f"/api/people/{w.team.employee}"},
    ("pathways", "GET", "/api/people/<employee_id>/progress"): lambda w: {"path": f"/api/people/{w.team.employee}/progress"},
    ("pathways", "GET", "/api/people/<employee_id>/gaps"): lambda w: {
        "path": f"/api/people/{w.team.employee}/gaps", "query_string": {"pathway_id": w.team.pathway_id, "level": 2}},
    ("pathways", "GET", "/api/advancement-requests"): lambda w: {"marker": w.open_request()},
    ("pathways", "GET", "/api/advancement-requests/<request_id>"): lambda w: {"path": f"/api/advancement-requests/{w.open_request()}"},
    ("pathways", "POST", "/api/advancement-requests/<request_id>/approve"): lambda w: {
        "path": f"/api/advancement-requests/{w.open_request()}/approve", "json": {"comment": "Well earned"}},
    ("pathways", "POST", "/api/advancement-requests/<request_id>/reject"): lambda w: {
        "path": f"/api/advancement-requests/{w.open_request()}/reject", "json": {"comment": "Not yet"}},
    ("pathways", "POST", "/api/advancement-requests/<request_id>/withdraw"): lambda w: {
        "path": f"/api/advancement-requests/{w.open_request()}/withdraw", "json": {"comment": "Next quarter"}},
    ("pathways", "GET", "/api/advancement-requests/<request_id>/history"): lambda w: {
        "path": f"/api/advancement-requests/{w.open_request()}/history"},
    ("pathways", "POST", "/scim/v2/Users"): lambda w: {"json": scim_user(unique("alan"), w.team.manager)},
    ("pathways", "GET", "/scim/v2/Users/<user_id>"): lambda w: {"path": f"/scim/v2/Users/{w.team.employee}"},
    ("pathways", "PUT", "/scim/v2/Users/<user_id>"): lambda w: {
        "path": f"/scim/v2/Users/{w.team.employee}", "json": scim_user(w.team.employee, w.team.manager)},
    ("pathways", "PATCH", "/scim/v2/Users/<user_id>"): lambda w: {"path": f"/scim/v2/Users/{w.team.employee}", "json": {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": False}]}},
    ("pathways", "DELETE", "/scim/v2/Users/<user_id>"): lambda w: {"path": f"/scim/v2/Users/{w.team.employee}"},
    ("pathways", "POST", "/designer/new"): lambda w: {"data": {
        "id": unique("analyst"), "name": "Analyst", "level_0_name": "Junior", "level_0_all_of": w.team.level_one,
        "level_0_approval": "yes"}},
    ("pathways", "GET", "/designer/<pathway_id>/edit"): lambda w: {"path": f"/designer/{w.team.pathway_id}/edit"},
    ("pathways", "POST", "/designer/<pathway_id>/edit"): lambda w: {"path": f"/designer/{w.team.pathway_id}/edit", "data": {
        "name": "Data Analyst", "level_0_name": "Junior", "level_0_all_of": w.team.level_one, "level_0_approval": "yes"}},
    ("pathways", "GET", "/approvals"): lambda w: {"marker": w.open_request()},
    ("pathways", "POST", "/people/import/check"): lambda w: {
        "data": {"chart": (io.BytesIO(w.new_hire_chart().encode()), "chart.csv", "text/csv"), "mode": "incremental"}},
    ("pathways", "POST", "/people/import/apply"): lambda w: {"data": {"chart": w.new_hire_chart(), "mode": "incremental"}},
    ("pathways", "GET", "/team"): lambda w: {"marker": "Ada Lovelace"},  # the employee, by the team's org chart
    ("pathways", "POST", "/approvals/<request_id>"): lambda w: {
        "path": f"/approvals/{w.open_request()}", "data": {"decision": "approve", "comment": "Well earned"}},
    ("notifications", "GET", "/api/inbox"): lambda w: {"marker": w.inbox_item()},
    ("notifications", "POST", "/api/inbox/<item_id>/read"): lambda w: {"path": f"/api/inbox/{w.inbox_item()}/read"},
    ("notifications", "PATCH", "/api/preferences"): lambda w: {"json": {
        "preferences": [{"kind": "credential-issued", "channel": "email", "mode": "digest"}], "time_zone": "Europe/Berlin"}},
    ("notifications", "GET", "/api/webhooks"): lambda w: {"marker": w.webhook()},
    ("notifications", "POST", "/api/webhooks"): lambda w: {"json": {
        "owner_id": w.team.employee, "url": "https://hooks.slack.com/services/T1/B2/x", "format": "slack"}},
    ("notifications", "DELETE", "/api/webhooks/<webhook_id>"): lambda w: {"path": f"/api/webhooks/{w.webhook()}"},
    ("notifications", "GET", "/inbox"): lambda w: {"marker": w.inbox_item()},
    ("notifications", "POST", "/inbox/<item_id>/read"): lambda w: {"path": f"/inbox/{w.inbox_item()}/read"},
    ("notifications", "POST", "/preferences"): lambda w: {"data": {"credential-issued.email": "digest", "time_zone": "Europe/Berlin"}},
    ("notifications", "POST", "/webhooks"): lambda w: {"data": {
        "scope": "personal", "url": "https://hooks.slack.com/services/T1/B2/x", "format": "slack"}},
    ("notifications", "POST", "/webhooks/<webhook_id>/delete"): lambda w: {"path": f"/webhooks/{w.webhook()}/delete"},
    ("notifications", "GET", "/unsubscribe/<token>"): lambda w: {
        "path": f"/unsubscribe/{unsubscribe_token(SECRET_KEY, w.team.employee, 'credential-issued')}"},
    ("notifications", "POST", "/unsubscribe/<token>"): lambda w: {
        "path": f"/unsubscribe/{unsubscribe_token(SECRET_KEY, w.team.employee, 'credential-issued')}"},
}
# The shared static files (shared.intranet), served by each service under its prefix.
REQUESTS |= {(service, "GET", "/assets/<path:filename>"): lambda w: {"path": "/assets/skillstack.css"}
             for service in ("issuer", "pathways", "notifications")}


def request_for(world: World, method: str, rule: str) -> dict:
    """The valid request of an endpoint in this world: path, body, and the marker of a filtered listing."""
    build = REQUESTS.get((world.service, method, rule))
    if build is None:
        assert "<" not in rule, f"add to REQUESTS how to call {world.service} {method} {rule} with a real object"
        return {"path": rule}
    return {"path": rule} | build(world)
