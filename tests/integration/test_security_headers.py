"""What every response tells the browser: a strict Content-Security-Policy, no framing, no sniffing,
HSTS over HTTPS only, and no caching of what a signed-in caller receives (ADR 0016)."""

import pytest

from tests.conftest import service_config
from tests.integration.matrix_support import World
from tests.integration.test_pathways_pages import signed_in
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

PAGES = {"issuer": "/wallet", "pathways": "/", "notifications": "/inbox"}  # each service's page for any signed-in person
APIS = {"issuer": "/api/achievements", "pathways": "/api/pathways", "notifications": "/api/inbox"}
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self' https://idp.test"  # the sign-out form redirects to the IdP
)
DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def assert_always(response) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


@pytest.mark.parametrize("service", PAGES)
def test_a_signed_in_page_runs_only_this_origins_scripts_cannot_be_framed_and_is_never_cached(apps, service):
    response = signed_in(apps[service], unique("ada")).get(PAGES[service])

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_always(response)
    assert response.headers["Content-Security-Policy"] == PAGE_POLICY
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("service", APIS)
def test_an_authenticated_api_answer_runs_nothing_and_is_never_cached(apps, service):
    response = apps[service].test_client().get(APIS[service], headers=bearer(service, unique("ada")))

    assert response.status_code == 200 and response.is_json
    assert_always(response)
    assert response.headers["Content-Security-Policy"] == DOCUMENT_POLICY
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("service", PAGES)
def test_errors_and_probes_carry_the_headers_too(apps, service):
    client = apps[service].test_client()

    for response in (client.get("/healthz"), client.get(f"/no-such-page-{unique('x')}"), client.get("/api/no-such-thing")):
        assert_always(response)
        assert "Content-Security-Policy" in response.headers
        assert "Cache-Control" not in response.headers  # nobody signed in: nothing personal to keep out of caches


def test_the_public_credential_page_and_its_documents_carry_them_without_a_session(issuer):
    credential_id = World("issuer", issuer, None).credential()
    client = issuer.test_client()

    page = client.get(f"/credentials/{credential_id}")
    assert page.status_code == 200
    assert_always(page)
    assert page.headers["Content-Security-Policy"] == PAGE_POLICY
    for path in (f"/credentials/{credential_id}.json", f"/credentials/{credential_id}.jwt", "/.well-known/jwks.json"):
        document = client.get(path)
        assert document.status_code == 200, path
        assert_always(document)
        assert document.headers["Content-Security-Policy"] == DOCUMENT_POLICY


def test_a_badge_image_keeps_its_own_stricter_policy(issuer):
    achievement = World("issuer", issuer, None).achievement()

    response = issuer.test_client().get(f"/achievements/{achievement['id']}/v1/image")

    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("service", PAGES)
def test_hsts_is_sent_over_https_only(apps, service):
    client = apps[service].test_client()

    assert client.get("/healthz", base_url="https://skills.example.com").headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains"
    )
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    # Not behind a gateway, a client's own X-Forwarded-Proto is not believed.
    assert "Strict-Transport-Security" not in client.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers


def test_behind_the_gateway_hsts_follows_the_forwarded_scheme(service_databases, kafka_bootstrap):
    from services.pathways.app import create_app

    app = create_app(service_config("pathways", service_databases["pathways"], kafka_bootstrap) | {"BEHIND_PROXY": True})
    client = app.test_client()
    try:
        over_https = client.get("/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        over_http = client.get("/healthz", headers={"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"})
    finally:
        app.extensions["database"].dispose()

    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in over_http.headers
