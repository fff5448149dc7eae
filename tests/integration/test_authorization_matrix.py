"""Who may call what: every endpoint of every service, called by every role, against the policy.

Each row of EXPECTED is one endpoint (service, method, rule) and the HTTP status each role gets.
Every cell runs on objects of its own (a fresh team, credential, request, inbox item) and sends a
valid request, so the status says what the caller may do, not whether the body was right.

Roles: `employee` and `manager` (their direct manager), `other_employee` and `other_manager` (a
team of their own), `hr` (hr-admin role), `assessor` (assessor role), `lms` (a machine client
with the completions:write scope, never signed in to pages), `idp` (the company's IdP, a machine
client with the scim:provision scope, never signed in either) and `anonymous`. APIs get bearer
tokens; pages and sign-in routes get a signed-in browser session (the LMS sends its token there,
which pages ignore), and their form posts carry the CSRF token of a page.
"""


import pytest

from tests.conftest import ROOT
from tests.integration.matrix_support import MACHINE_CLIENTS, ROLES, World, is_browser_route, request_for

pytestmark = pytest.mark.infra


# --- the policy, row by row ------------------------------------------------------------


def everyone(status: int) -> dict[str, int]:
    """Public: the same status whoever calls, signed in or not."""
    return dict.fromkeys(ROLES, status)


def authenticated(status: int) -> dict[str, int]:
    """Any valid bearer token; no token is 401."""
    return everyone(status) | {"anonymous": 401}


def only(otherwise: int = 403, **allowed: int) -> dict[str, int]:
    """Only the named roles; every other token gets `otherwise`, no token 401."""
    return authenticated(otherwise) | allowed


def owner_manager_hr(status: int) -> dict[str, int]:
    """The employee, their direct manager, or HR."""
    return only(employee=status, manager=status, hr=status)


def owner_hr(status: int) -> dict[str, int]:
    """The employee (the holder) or HR."""
    return only(employee=status, hr=status)


def browser(signed_in: int, *, signed_out: int = 302, **per_person: int) -> dict[str, int]:
    """A browser route: a signed-in person gets `signed_in` (or their own status); without a
    session (anonymous, the LMS) a page sends to sign-in, and a form post has no CSRF token to send."""
    return everyone(signed_in) | {"anonymous": signed_out, "lms": signed_out, "idp": signed_out} | per_person


SHARED = {  # mounted by every service (shared.web, shared.sso)
    ("GET", "/healthz"): everyone(200),
    ("GET", "/readyz"): everyone(200),
    # Prometheus only: a token with the metrics:read scope, which no role here has (it gets 200 in
    # tests/integration/test_operations_web.py); METRICS_PUBLIC=true opens it on a private network.
    ("GET", "/metrics"): authenticated(403),
    ("GET", "/api/openapi.json"): everyone(200),
    ("GET", "/api/audit-log"): only(hr=200),  # shared.audit: each service's own log
    ("GET", "/auth/login"): everyone(302),  # to the IdP's authorization endpoint
    ("GET", "/auth/callback"): everyone(400),  # no sign-in under way (no state): refused, whoever calls
    ("POST", "/auth/logout"): browser(302, signed_out=400),  # to the IdP's end-session endpoint
    ("GET", "/auth/signed-out"): everyone(302),
    ("GET", "/assets/<path:filename>"): everyone(200),  # shared.intranet: the design system and Skillstack's styles
}
SERVICES = ("issuer", "pathways", "notifications")

EXPECTED = {(service, method, rule): row for service in SERVICES for (method, rule), row in SHARED.items()} | {
    ("issuer", "POST", "/api/achievements"): only(hr=201),
    ("issuer", "GET", "/api/achievements"): authenticated(200),
    ("issuer", "GET", "/api/achievements/<achievement_id>"): authenticated(200),
    ("issuer", "PUT", "/api/achievements/<achievement_id>"): only(hr=200),
    ("issuer", "POST", "/api/achievements/<achievement_id>/retire"): only(hr=200),
    ("issuer", "PUT", "/api/achievements/<achievement_id>/image"): only(hr=200),
    ("issuer", "GET", "/api/achievements/<achievement_id>/versions"): authenticated(200),
    ("issuer", "POST", "/api/completions"): only(lms=202),
    ("issuer", "POST", "/api/xapi/statements"): only(lms=200),
    ("issuer", "POST", "/api/assessor-results"): only(assessor=202),  # never for themselves: see test_issuance_rules
    ("issuer", "GET", "/assessments/record"): browser(403, assessor=200),
    ("issuer", "POST", "/assessments/record"): browser(403, signed_out=400, assessor=302),
    ("issuer", "GET", "/catalog"): browser(403, hr=200),
    ("issuer", "GET", "/catalog/new"): browser(403, hr=200),
    ("issuer", "POST", "/catalog/new"): browser(403, signed_out=400, hr=302),
    ("issuer", "GET", "/catalog/<achievement_id>/edit"): browser(403, hr=200),
    ("issuer", "POST", "/catalog/<achievement_id>/edit"): browser(403, signed_out=400, hr=302),
    ("issuer", "POST", "/catalog/<achievement_id>/retire"): browser(403, signed_out=400, hr=302),
    ("issuer", "POST", "/catalog/<achievement_id>/image"): browser(403, signed_out=400, hr=302),
    ("issuer", "POST", "/catalog/preview"): browser(403, signed_out=400, hr=200),  # the live badge preview (htmx)
    ("issuer", "GET", "/bulk-issuances"): browser(403, hr=200),
    ("issuer", "POST", "/bulk-issuances"): browser(403, signed_out=400, hr=302),
    ("issuer", "GET", "/bulk-issuances/<job_id>"): browser(403, hr=200),
    ("issuer", "POST", "/bulk-issuances/<job_id>/start"): browser(403, signed_out=400, hr=302),
    ("issuer", "GET", "/bulk-issuances/<job_id>/progress"): browser(403, hr=200),
    ("issuer", "GET", "/analytics/assessments"): browser(403, hr=200),
    ("issuer", "GET", "/analytics/assessments.csv"): browser(403, hr=200),
    ("issuer", "GET", "/api/credentials"): owner_hr(200),  # ?employee_id=<the employee>
    ("issuer", "GET", "/api/credentials/<credential_id>"): owner_hr(200),
    ("issuer", "POST", "/api/credentials/<credential_id>/revoke"): only(hr=200),
    ("issuer", "PUT", "/api/credentials/<credential_id>/sharing"): only(employee=200),  # the holder alone decides
    ("issuer", "GET", "/wallet"): browser(200),  # filtered: see LISTED_TO
    ("issuer", "GET", "/wallet/summary"): everyone(200),  # a fragment: the caller's own, a sign-in link when signed out
    ("issuer", "POST", "/wallet/<credential_id>/sharing"): browser(403, signed_out=400, employee=302),  # the holder alone
    ("issuer", "POST", "/api/bulk-issuances"): only(hr=201),
    ("issuer", "GET", "/api/bulk-issuances/<job_id>"): only(hr=200),
    ("issuer", "POST", "/api/bulk-issuances/<job_id>/start"): only(hr=200),
    ("issuer", "GET", "/api/bulk-issuances/<job_id>/problems"): only(hr=200),
    # What anyone outside verifies a shared badge with: public by design.
    ("issuer", "GET", "/.well-known/jwks.json"): everyone(200),
    ("issuer", "GET", "/.well-known/did.json"): everyone(200),
    ("issuer", "GET", "/status/<int:number>"): everyone(200),
    ("issuer", "GET", "/achievements/<achievement_id>/v<int:version>/image"): everyone(200),
    ("issuer", "GET", "/credentials/<credential_id>"): everyone(200),
    ("issuer", "GET", "/credentials/<credential_id>.json"): everyone(200),
    ("issuer", "GET", "/credentials/<credential_id>.jwt"): everyone(200),
    ("issuer", "GET", "/credentials/<credential_id>/badge.png"): everyone(200),
    ("issuer", "GET", "/credentials/<credential_id>/badge.svg"): everyone(200),
    ("issuer", "POST", "/verify"): everyone(200),
    ("pathways", "POST", "/api/pathways"): only(hr=201),
    ("pathways", "GET", "/api/pathways"): authenticated(200),
    ("pathways", "GET", "/api/pathways/<pathway_id>"): authenticated(200),
    ("pathways", "PUT", "/api/pathways/<pathway_id>"): only(hr=200),  # a new version of the levels
    ("pathways", "POST", "/api/pathways/<pathway_id>/migrations"): only(hr=200),
    ("pathways", "POST", "/api/people/import"): only(hr=200),
    ("pathways", "GET", "/api/people/<employee_id>"): owner_manager_hr(200),
    ("pathways", "GET", "/api/people/<employee_id>/progress"): owner_manager_hr(200),
    ("pathways", "GET", "/api/people/<employee_id>/gaps"): owner_manager_hr(200),  # ?pathway_id=&level=
    ("pathways", "GET", "/api/advancement-requests"): authenticated(200),  # filtered: see LISTED_TO
    ("pathways", "GET", "/api/advancement-requests/<request_id>"): owner_manager_hr(200),
    ("pathways", "POST", "/api/advancement-requests/<request_id>/approve"): only(manager=200),
    ("pathways", "POST", "/api/advancement-requests/<request_id>/reject"): only(manager=200),
    ("pathways", "POST", "/api/advancement-requests/<request_id>/withdraw"): only(employee=200),  # their own request
    ("pathways", "GET", "/api/advancement-requests/<request_id>/history"): owner_manager_hr(200),
    ("pathways", "POST", "/scim/v2/Users"): only(idp=201),  # the IdP alone provisions people
    ("pathways", "GET", "/scim/v2/Users"): only(idp=200),
    ("pathways", "GET", "/scim/v2/Users/<user_id>"): only(idp=200),
    ("pathways", "PUT", "/scim/v2/Users/<user_id>"): only(idp=200),
    ("pathways", "PATCH", "/scim/v2/Users/<user_id>"): only(idp=200),
    ("pathways", "DELETE", "/scim/v2/Users/<user_id>"): only(idp=204),
    ("pathways", "GET", "/"): browser(200),
    ("pathways", "GET", "/approvals"): browser(200),  # filtered: see LISTED_TO
    ("pathways", "POST", "/approvals/<request_id>"): browser(403, signed_out=400, manager=302),
    ("pathways", "GET", "/team"): browser(200),  # filtered: see LISTED_TO
    ("pathways", "GET", "/overview"): browser(403, hr=200),
    ("pathways", "GET", "/analytics"): browser(403, hr=200),
    ("pathways", "GET", "/analytics/credentials-per-month.csv"): browser(403, hr=200),
    ("pathways", "GET", "/analytics/skills-coverage.csv"): browser(403, hr=200),
    ("pathways", "GET", "/analytics/time-to-decision.csv"): browser(403, hr=200),
    ("pathways", "GET", "/designer"): browser(403, hr=200),
    ("pathways", "GET", "/designer/new"): browser(403, hr=200),
    ("pathways", "POST", "/designer/new"): browser(403, signed_out=400, hr=302),
    ("pathways", "GET", "/designer/<pathway_id>/edit"): browser(403, hr=200),
    ("pathways", "POST", "/designer/<pathway_id>/edit"): browser(403, signed_out=400, hr=302),
    ("pathways", "GET", "/people/import"): browser(403, hr=200),
    ("pathways", "POST", "/people/import/check"): browser(403, signed_out=400, hr=200),  # the dry run's report
    ("pathways", "POST", "/people/import/apply"): browser(403, signed_out=400, hr=302),
    ("notifications", "GET", "/api/inbox"): authenticated(200),  # filtered: see LISTED_TO
    ("notifications", "GET", "/api/inbox/unread-count"): authenticated(200),
    ("notifications", "POST", "/api/inbox/<item_id>/read"): only(404, employee=200),  # someone else's: not found
    ("notifications", "POST", "/api/inbox/read-all"): authenticated(200),
    ("notifications", "GET", "/api/preferences"): authenticated(200),  # the caller's own
    ("notifications", "PATCH", "/api/preferences"): authenticated(200),
    ("notifications", "GET", "/api/webhooks"): authenticated(200),  # filtered: see LISTED_TO
    ("notifications", "POST", "/api/webhooks"): only(employee=201, hr=201),  # the employee's webhook: theirs or HR's to set
    ("notifications", "DELETE", "/api/webhooks/<webhook_id>"): only(404, employee=204, hr=204),  # someone else's: not found
    ("notifications", "GET", "/api/deliveries"): only(hr=200),
    ("notifications", "GET", "/inbox"): browser(200),  # filtered: see LISTED_TO
    ("notifications", "GET", "/inbox/unread"): everyone(200),  # fragments: the caller's own, nothing when signed out
    ("notifications", "GET", "/inbox/summary"): everyone(200),
    ("notifications", "POST", "/inbox/<item_id>/read"): browser(404, signed_out=400, employee=302),
    ("notifications", "POST", "/inbox/read-all"): browser(302, signed_out=400),
    ("notifications", "GET", "/preferences"): browser(200),
    ("notifications", "POST", "/preferences"): browser(302, signed_out=400),
    ("notifications", "POST", "/webhooks"): browser(302, signed_out=400),  # always the caller's own
    ("notifications", "POST", "/webhooks/<webhook_id>/delete"): browser(404, signed_out=400, employee=302),
    ("notifications", "GET", "/unsubscribe/<token>"): everyone(200),  # the signed token is the authority
    ("notifications", "POST", "/unsubscribe/<token>"): everyone(200),
    ("notifications", "GET", "/deliveries"): browser(403, hr=200),
}

# Listings: when the call succeeds, the employee's object shows to these roles only.
LISTED_TO = {
    ("issuer", "GET", "/api/credentials"): {"employee", "hr"},
    ("issuer", "GET", "/wallet"): {"employee"},
    ("issuer", "GET", "/wallet/summary"): {"employee"},
    ("pathways", "GET", "/api/advancement-requests"): {"employee", "manager", "hr"},
    ("pathways", "GET", "/approvals"): {"manager"},
    ("pathways", "GET", "/team"): {"manager"},
    ("notifications", "GET", "/api/inbox"): {"employee"},
    ("notifications", "GET", "/inbox"): {"employee"},
    ("notifications", "GET", "/api/webhooks"): {"employee", "hr"},
}

# Rows that need the IdP's discovery document, which this level cannot reach (issuer
# https://idp.test): the browser test signs in and out through Keycloak. It drives the pathways
# copy of the routes; issuer and notifications mount the same shared.sso blueprint.
EXERCISED_ELSEWHERE = {
    (service, method, rule): "tests/e2e/test_browser_sign_in.py"
    for service in SERVICES
    for method, rule in (("GET", "/auth/login"), ("POST", "/auth/logout"))
}


# --- the table matches the apps ---------------------------------------------------------


def endpoints(apps) -> set[tuple[str, str, str]]:
    """(service, method, rule) of every route the three apps serve, but Flask's static files."""
    return {
        (service, method, rule.rule)
        for service, app in apps.items()
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_table_has_one_row_per_endpoint_of_the_three_services(apps):
    served = endpoints(apps)

    missing = sorted(served - EXPECTED.keys())
    assert not missing, "endpoints with no row in EXPECTED: " + ", ".join(" ".join(endpoint) for endpoint in missing)
    gone = sorted(EXPECTED.keys() - served)
    assert not gone, "rows in EXPECTED for endpoints no service serves: " + ", ".join(" ".join(row) for row in gone)
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())
    assert LISTED_TO.keys() <= EXPECTED.keys() and EXERCISED_ELSEWHERE.keys() <= EXPECTED.keys()
    assert all((ROOT / test).is_file() for test in EXERCISED_ELSEWHERE.values())


# --- each cell --------------------------------------------------------------------------

CELLS = [
    pytest.param(service, method, rule, role, id=f"{service}-{method}-{rule}-{role}")
    for (service, method, rule), row in EXPECTED.items()
    if (service, method, rule) not in EXERCISED_ELSEWHERE
    for role in row
]


@pytest.mark.parametrize(("service", "method", "rule", "role"), CELLS)
def test_each_role_gets_the_status_the_policy_gives_it(apps, request, service, method, rule, role):
    team = request.getfixturevalue("team") if service == "pathways" else None
    world = World(service, apps[service], team)
    call = request_for(world, method, rule)
    marker = call.pop("marker", None)
    browsing = is_browser_route(rule)
    client, headers = world.caller(role, browser=browsing)
    if browsing and method == "POST" and (token := world.form_token(client, rule)):
        call["data"] = call.get("data", {}) | {"csrf_token": token}

    response = client.open(call.pop("path"), method=method, headers=headers, **call)

    body = response.get_data().decode(errors="replace")  # some answers are images
    expected = EXPECTED[service, method, rule][role]
    assert response.status_code == expected, f"{role}: {method} {rule} answered {response.status_code}, not {expected}: {body[:300]}"
    if role in ("anonymous", *MACHINE_CLIENTS) and expected == 302 and not rule.startswith("/auth/"):
        assert response.headers["Location"].startswith("/auth/login?next="), response.headers["Location"]
    if marker and response.status_code == 200:
        shown = marker in body
        assert shown == (role in LISTED_TO[service, method, rule]), f"{role} {'sees' if shown else 'misses'} the employee's {marker}"
