"""Load the local run's demo company through the public APIs, then say where to look.

Run by deploy/local.sh once the services answer. Safe to run again: what exists is kept.
"""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

ISSUER = os.environ["SKILLSTACK_OIDC_ISSUER"]
INTRANET = os.environ["SKILLSTACK_INTRANET_URL"]  # the gateway (deploy/gateway.py): every service under its prefix
URLS = {service: f"{INTRANET}/{service}" for service in ("issuer", "pathways", "notifications")}
PEOPLE = [  # the demo users of deploy/keycloak/skillstack-realm.json: employee_id, email, name, manager_id
    ("sam", "sam@example.com", "Sam Okafor", ""),
    ("maria", "maria@example.com", "Maria Rossi", "sam"),
    ("mia", "mia@example.com", "Mia Chen", "sam"),
    ("eve", "eve@example.com", "Eve Martin", "maria"),
    ("omar", "omar@example.com", "Omar Haddad", "maria"),
    ("hana", "hana@example.com", "Hana Suzuki", "sam"),
    ("arno", "arno@example.com", "Arno Schmidt", "sam"),
]
CREDENTIALS = [
    ("sql-foundations", "SQL Foundations", "technical", "sql-101", 80, 24),
    ("python-foundations", "Python Foundations", "technical", "py-101", 70, 24),
    ("data-visualisation", "Data Visualisation", "technical", "viz-201", 75, 24),
    ("statistics-basics", "Statistics Basics", "technical", "stats-101", 70, None),
    ("clear-communication", "Clear Communication", "soft", "comm-101", 60, 36),
]


def token(who: str) -> str:
    """An access token from the local Keycloak: a demo person's, or the LMS client's."""
    if who == "academy-lms":
        form = {"grant_type": "client_credentials", "client_id": "academy-lms", "client_secret": "lms-local-secret"}
    else:
        form = {"grant_type": "password", "client_id": "skillstack-dev", "client_secret": "dev-local-secret", "username": who, "password": "demo-password"}
    request = urllib.request.Request(f"{ISSUER}/protocol/openid-connect/token", data=urllib.parse.urlencode(form).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


def call(service: str, path: str, body=None, *, who="hana", content_type="application/json"):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(URLS[service] + path, data=data, method="POST" if data is not None else "GET")
    request.add_header("Authorization", "Bearer " + token(who))
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
    rows = ["employee_id,email,name,manager_id"] + [",".join(person) for person in PEOPLE]
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
        }, who="academy-lms")
        assert status == 202, body


def eves_badge() -> str:
    """The public page of Eve's first credential, once the worker has issued it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, credentials = call("issuer", "/api/credentials?employee_id=eve", who="eve")
        if status == 200 and credentials:
            return f"{INTRANET}/credentials/{credentials[0]['id']}"
        time.sleep(0.5)
    return "(not issued yet: see the issuer worker's log)"


def report() -> None:
    print(f"""
Skillstack is running locally with a demo company.

  intranet           {INTRANET}/            sign in as maria / demo-password to approve Eve's level
                     {URLS['notifications']}/preferences  notification preferences; hana (HR): {URLS['notifications']}/deliveries
  identity provider  {ISSUER.rsplit('/realms', 1)[0]}/   demo users: eve omar (employees), maria (their manager),
                     sam (skip level), mia (another manager), hana (HR), arno (assessor); password demo-password
  APIs               {URLS['issuer']}/api/openapi.json  {URLS['pathways']}/api/openapi.json  {URLS['notifications']}/api/openapi.json
  a verifiable badge {eves_badge()}  (public; its .json and .jwt beside it)
  captured email     {os.environ['SKILLSTACK_MAILDIR']}/new/  (one file per message)
  Kafka              {os.environ['SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS']}

Try the APIs with a person's token:
  curl -s -H "Authorization: Bearer $(deploy/token.sh eve)" {URLS['pathways']}/api/people/eve/progress
  curl -s -H "Authorization: Bearer $(deploy/token.sh eve)" {URLS['notifications']}/api/inbox

Ctrl-C stops everything.
""", flush=True)


if __name__ == "__main__":
    wait_until_up()
    load()
    report()
