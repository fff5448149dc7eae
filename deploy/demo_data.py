"""Load the local run's demo company through the public APIs, then say where to look.

Run by deploy/local.sh once the services answer. Safe to run again: what exists is kept.
"""

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from shared.auth import issue_token

ROOT = Path(__file__).resolve().parent.parent
SECRET = os.environ["SKILLSTACK_AUTH_TOKEN_SECRET"]
URLS = {service: f"http://127.0.0.1:{os.environ[f'SKILLSTACK_{service.upper()}_PORT']}" for service in ("issuer", "pathways", "notifications")}
PEOPLE = [
    # employee_id, email, name, manager_id, roles
    ("sam", "sam.skip@example.com", "Sam Okafor", "", ()),
    ("maria", "maria.manager@example.com", "Maria Rossi", "sam", ()),
    ("eve", "eve.employee@example.com", "Eve Martin", "maria", ()),
    ("omar", "omar.analyst@example.com", "Omar Haddad", "maria", ()),
    ("hana", "hana.hr@example.com", "Hana Suzuki", "sam", ("hr-admin",)),
    ("arno", "arno.assessor@example.com", "Arno Schmidt", "sam", ("assessor",)),
]
CREDENTIALS = [
    ("sql-foundations", "SQL Foundations", "technical", "sql-101", 80, 24),
    ("python-foundations", "Python Foundations", "technical", "py-101", 70, 24),
    ("data-visualisation", "Data Visualisation", "technical", "viz-201", 75, 24),
    ("statistics-basics", "Statistics Basics", "technical", "stats-101", 70, None),
    ("clear-communication", "Clear Communication", "soft", "comm-101", 60, 36),
]


def token(service: str, subject: str, roles=(), scopes=(), name="") -> str:
    return issue_token(SECRET, subject=subject, audience=service, roles=roles, scopes=scopes, name=name, lifetime=12 * 3600)


def call(service: str, path: str, body=None, *, subject="hana", roles=("hr-admin",), scopes=(), content_type="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(URLS[service] + path, data=data, method="POST" if data is not None else "GET")
    request.add_header("Authorization", "Bearer " + token(service, subject, roles, scopes))
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_until_up(timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for url in URLS.values():
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"demo_data: {url} did not come up in {timeout:.0f} s")
                time.sleep(0.3)


def load() -> None:
    for achievement_id, name, category, assessment, score, months in CREDENTIALS:
        status, body = call("issuer", "/api/achievements", {
            "id": achievement_id, "name": name, "category": category, "assessment_id": assessment,
            "min_score": score, "validity_months": months, "description": f"Demonstrates {name.lower()} at work.",
        })
        assert status in (201, 409), body
    rows = ["employee_id,email,name,manager_id"] + [",".join(person[:4]) for person in PEOPLE]
    status, body = call("pathways", "/api/people/import", "\n".join(rows).encode(), content_type="text/csv")
    assert status == 200, body
    pathway = {"id": "data-analyst", "name": "Data Analyst", "levels": [
        {"name": "Junior Analyst", "credentials": ["sql-foundations", "python-foundations"]},
        {"name": "Associate Analyst", "credentials": ["data-visualisation", "statistics-basics"]},
    ]}
    deadline = time.monotonic() + 60
    while (status := call("pathways", "/api/pathways", pathway)[0]) == 422 and time.monotonic() < deadline:
        time.sleep(0.5)  # pathways learns the catalog from Kafka a moment after the issuer defines it
    assert status in (201, 409), status
    for attempt, employee, assessment, score in (("demo-1", "eve", "sql-101", 86), ("demo-2", "eve", "py-101", 75), ("demo-3", "omar", "sql-101", 92)):
        person = next(p for p in PEOPLE if p[0] == employee)
        status, body = call("issuer", "/api/completions", {
            "attempt_id": attempt, "employee_id": employee, "email": person[1], "assessment_id": assessment,
            "score": score, "completed_at": "2026-11-20T10:00:00Z",
        }, subject="academy-lms", roles=(), scopes=("completions:write",))
        assert status == 202, body


def report() -> None:
    tokens = {person[0]: {service: token(service, person[0], person[4], name=person[2]) for service in URLS} for person in PEOPLE}
    env_file = ROOT / ".local" / "demo-tokens.env"
    env_file.write_text("".join(f"{p.upper()}_{s.upper()}_TOKEN={t}\n" for p, by in tokens.items() for s, t in by.items()))
    env_file.chmod(0o600)
    print(f"""
Skillstack is running locally with a demo company.

  issuer API         {URLS['issuer']}/api/openapi.json
  pathways API       {URLS['pathways']}/api/openapi.json
  notifications API  {URLS['notifications']}/api/openapi.json
  captured email     {os.environ['SKILLSTACK_MAILDIR']}/new/  (one file per message)
  Kafka              {os.environ['SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS']}

Demo people: eve and omar (employees) report to maria (manager), who reports to sam;
hana is HR, arno an assessor. Eve has passed SQL and Python, so Maria has a request to approve.
Bearer tokens for each person and service (12 h) are in {env_file}. Try:

  source {env_file}
  curl -s -H "Authorization: Bearer $EVE_PATHWAYS_TOKEN" {URLS['pathways']}/api/people/eve/progress
  curl -s -H "Authorization: Bearer $MARIA_PATHWAYS_TOKEN" {URLS['pathways']}/api/advancement-requests?status=open
  curl -s -X POST -H "Authorization: Bearer $MARIA_PATHWAYS_TOKEN" -H "Content-Type: application/json" \\
       -d '{{"comment": "Well done"}}' {URLS['pathways']}/api/advancement-requests/<id>/approve
  curl -s -H "Authorization: Bearer $EVE_NOTIFICATIONS_TOKEN" {URLS['notifications']}/api/inbox

Ctrl-C stops everything.
""", flush=True)


if __name__ == "__main__":
    wait_until_up()
    load()
    report()
