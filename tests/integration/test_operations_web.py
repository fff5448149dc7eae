"""A web process as operators see it: metrics, JSON logs with request ids, readiness, and serving
under a gateway's path prefix."""

import json
import os
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from services.issuer.app import create_app as create_issuer
from shared.logs import configure_logging
from tests.conftest import service_config
from tests.integration.helpers import problem
from tests.operations import parse_metrics, total
from tests.support import bearer, free_port, unique

pytestmark = pytest.mark.infra
GATEWAY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "intranet.example.com", "X-Forwarded-Prefix": "/issuer", "X-Forwarded-For": "203.0.113.9"}


def issuer_app(service_databases, kafka_bootstrap, **settings):
    """An issuer app of its own on the session's database, with these settings."""
    return create_issuer(service_config("issuer", service_databases["issuer"], kafka_bootstrap) | settings)


def test_metrics_need_the_metrics_scope_and_count_requests_by_route_rule(issuer):
    client = issuer.test_client()
    achievement = unique("no-such-achievement")
    assert client.get(f"/api/achievements/{achievement}", headers=bearer("issuer", unique("emp"))).status_code == 404
    assert client.get(f"/{unique('scanner-probe')}.php").status_code == 404

    problem(client.get("/metrics"), 401)
    problem(client.get("/metrics", headers=bearer("issuer", unique("hr"), roles=("hr-admin",))), 403)
    response = client.get("/metrics", headers=bearer("issuer", "prometheus", scopes=("metrics:read",), employee_id=None, client_id="prometheus"))

    assert response.status_code == 200 and response.mimetype == "text/plain"
    page = response.get_data(as_text=True)
    samples = parse_metrics(page)
    rule = {"service": "issuer", "method": "GET", "endpoint": "/api/achievements/<achievement_id>", "status": "404"}
    assert total(samples, "skillstack_http_requests_total", **rule) >= 1
    assert total(samples, "skillstack_http_request_duration_seconds_count", **rule) >= 1
    assert total(samples, "skillstack_http_request_duration_seconds_bucket", **rule, le="+Inf") >= 1
    assert total(samples, "skillstack_http_requests_total", service="issuer", endpoint="<unmatched>", status="404") >= 1
    assert achievement not in page and "scanner-probe" not in page  # raw paths never become series


def test_metrics_public_opens_metrics_to_the_monitoring_network(service_databases, kafka_bootstrap):
    app = issuer_app(service_databases, kafka_bootstrap, METRICS_PUBLIC=True)

    response = app.test_client().get("/metrics")

    assert response.status_code == 200
    assert "# TYPE skillstack_http_requests_total counter" in response.get_data(as_text=True)


def test_each_request_logs_a_json_line_with_its_request_id_echoed_in_the_response(issuer, capsys):
    configure_logging("issuer", "json", "INFO")
    client = issuer.test_client()
    hr = bearer("issuer", unique("hr"), roles=("hr-admin",))
    capsys.readouterr()

    forwarded = client.get("/api/achievements", headers=hr | {"X-Request-ID": "gw-7f3a9c2e41d8"})
    invented = client.get("/api/achievements", headers=hr | {"X-Request-ID": "<script>"})

    assert forwarded.headers["X-Request-ID"] == "gw-7f3a9c2e41d8"
    assert invented.headers["X-Request-ID"] not in ("", "<script>")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "skillstack.access"]
    assert [line["request_id"] for line in access] == ["gw-7f3a9c2e41d8", invented.headers["X-Request-ID"]]
    first = access[0]
    assert (first["level"], first["service"], first["message"], first["status"]) == ("INFO", "issuer", "GET /api/achievements 200", 200)
    assert first["time"].endswith("Z") and first["duration_ms"] >= 0


def test_readiness_checks_the_database_and_kafka(pathways):
    response = pathways.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}


def test_readiness_fails_while_kafka_is_unreachable_and_asks_it_only_once_per_interval(service_databases):
    app = issuer_app(service_databases, f"127.0.0.1:{free_port()}", READYZ_CACHE_SECONDS=60)
    client = app.test_client()

    started = time.monotonic()
    body = problem(client.get("/readyz"), 503)
    first_call = time.monotonic() - started
    started = time.monotonic()
    problem(client.get("/readyz"), 503)
    second_call = time.monotonic() - started

    assert body["errors"] == {"database": "ok", "kafka": "KafkaTimeoutError"}
    assert body["detail"] == "kafka: KafkaTimeoutError"
    assert first_call >= 1 and second_call < 0.5  # the second probe reused the cached outcome
    assert client.get("/healthz").status_code == 200  # liveness never depends on Kafka


def test_readiness_can_leave_kafka_out_where_the_outbox_should_cover_a_broker_outage(service_databases):
    app = issuer_app(service_databases, f"127.0.0.1:{free_port()}", READYZ_CHECKS_KAFKA=False)

    response = app.test_client().get("/readyz")

    assert response.status_code == 200 and response.get_json()["checks"] == {"database": "ok"}


@pytest.fixture
def gateway_app(service_databases, kafka_bootstrap):
    """The issuer behind a gateway that serves it under /issuer, trusting the real identity provider."""
    keycloak = os.environ.get("SKILLSTACK_TEST_KEYCLOAK")
    if not keycloak:
        pytest.fail("SKILLSTACK_TEST_KEYCLOAK is not set: run the suite with deploy/test.sh")
    return issuer_app(
        service_databases, kafka_bootstrap, BEHIND_PROXY=True, OIDC_ISSUER=f"{keycloak}/realms/skillstack",
        OIDC_DISCOVERY_URL=None, OIDC_CLIENT_SECRET="issuer-local-secret",
    )


def test_behind_a_gateway_redirects_links_and_the_session_cookie_carry_the_prefix(gateway_app):
    client = gateway_app.test_client()

    to_sign_in = client.get("/wallet", headers=GATEWAY)
    assert to_sign_in.status_code == 302 and to_sign_in.headers["Location"] == "/issuer/auth/login?next=/wallet"

    to_idp = client.get("/auth/login?next=/wallet", headers=GATEWAY)
    assert to_idp.status_code == 302
    callback = parse_qs(urlsplit(to_idp.headers["Location"]).query)["redirect_uri"]
    assert callback == ["https://intranet.example.com/issuer/auth/callback"]
    assert "Path=/issuer;" in to_idp.headers["Set-Cookie"]  # the browser sends it to this service only

    assert client.get("/auth/signed-out", headers=GATEWAY).headers["Location"] == "/issuer/"
    with client.session_transaction() as session:
        session["principal"] = {"subject": unique("hr"), "name": "Hannah", "email": "hr@example.com", "roles": ["hr-admin"]}
    page = client.get("/catalog", headers=GATEWAY).get_data(as_text=True)
    assert 'action="/issuer/auth/logout"' in page and 'href="/issuer/catalog/new"' in page


def test_without_behind_proxy_forwarded_headers_are_ignored(issuer):
    response = issuer.test_client().get("/wallet", headers=GATEWAY)

    assert response.headers["Location"] == "/auth/login?next=/wallet"
