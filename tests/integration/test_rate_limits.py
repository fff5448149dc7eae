"""One address may verify and sign in only so often; other addresses are not affected (ADR 0016).

Each test runs an app of its own with low limits, so the counters start empty and the session's
apps (with the default limits) are untouched.
"""

import pytest

from tests.conftest import service_config
from tests.integration.helpers import problem
from tests.integration.matrix_support import World

pytestmark = pytest.mark.infra

LIMITS = {"RATE_LIMIT_VERIFY": "3/minute", "RATE_LIMIT_SIGN_IN": "2/minute"}


@pytest.fixture
def limited_app(service_databases, kafka_bootstrap):
    """Create a service's app with LIMITS (and any other settings); dispose of them afterwards."""
    from services.issuer.app import create_app as issuer
    from services.notifications.app import create_app as notifications
    from services.pathways.app import create_app as pathways

    factories = {"issuer": issuer, "pathways": pathways, "notifications": notifications}
    created = []

    def make(service: str, **settings):
        app = factories[service](service_config(service, service_databases[service], kafka_bootstrap) | LIMITS | settings)
        created.append(app)
        return app

    yield make
    for app in created:
        app.extensions["database"].dispose()


def address(name: str) -> dict:
    """A test client's request from its own client address."""
    return {"environ_base": {"REMOTE_ADDR": name}}


def assert_retry_after(response) -> None:
    assert 0 <= int(response.headers["Retry-After"]) <= 60


def test_the_fourth_verification_within_a_minute_is_refused_with_retry_after_and_others_still_verify(limited_app):
    app = limited_app("issuer")
    credential_id = World("issuer", app, None).credential()
    token = app.test_client().get(f"/credentials/{credential_id}.jwt", **address("192.0.2.99")).get_data(as_text=True)
    client, verifier = app.test_client(), address("192.0.2.10")

    answers = [client.post("/verify", json={"credential": token}, **verifier) for _ in range(4)]

    assert [answer.status_code for answer in answers[:3]] == [200, 200, 200]
    assert "Retry-After" not in answers[0].headers  # it means something on a refusal only
    assert answers[0].headers["X-RateLimit-Remaining"] == "2"
    body = problem(answers[3], 429)
    assert body["title"] == "Too Many Requests" and "3/minute" in body["detail"]
    assert_retry_after(answers[3])
    assert client.post("/verify", json={"credential": token}, **address("192.0.2.11")).status_code == 200  # someone else


@pytest.mark.parametrize("suffix", ["", ".json", ".jwt"])
def test_the_public_credential_page_and_documents_are_limited_per_address(limited_app, suffix):
    app = limited_app("issuer")
    path = f"/credentials/{World('issuer', app, None).credential()}{suffix}"
    client = app.test_client()

    answers = [client.get(path, **address("192.0.2.20")) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert_retry_after(answers[3])
    if not suffix:  # a page: the error page, not problem+json
        assert answers[3].mimetype == "text/html" and "Too Many Requests" in answers[3].get_data(as_text=True)
    assert client.get(path, **address("192.0.2.21")).status_code == 200


@pytest.mark.parametrize("service", ["issuer", "pathways", "notifications"])
def test_sign_in_callbacks_are_limited_in_every_service(limited_app, service):
    client = limited_app(service).test_client()

    answers = [client.get("/auth/callback", **address("198.51.100.7")) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [400, 400, 429]  # no sign-in under way, then too many tries
    assert_retry_after(answers[2])
    assert client.get("/auth/callback", **address("198.51.100.8")).status_code == 400


def test_starting_sign_in_is_limited_before_the_identity_provider_is_asked(limited_app):
    client = limited_app("pathways", RATE_LIMIT_SIGN_IN="1/minute").test_client()

    first = client.get("/auth/login?next=/approvals", **address("198.51.100.9"))
    second = client.get("/auth/login?next=/approvals", **address("198.51.100.9"))

    assert first.status_code != 429
    assert second.status_code == 429
    assert_retry_after(second)


def test_behind_the_gateway_the_forwarded_client_address_is_what_counts(limited_app):
    client = limited_app("pathways", BEHIND_PROXY=True).test_client()

    def callback(client_address: str):
        return client.get("/auth/callback", headers={"X-Forwarded-For": client_address}, **address("10.0.0.1"))  # the gateway

    assert [callback("203.0.113.5").status_code for _ in range(3)] == [400, 400, 429]
    assert callback("203.0.113.6").status_code == 400  # another person behind the same gateway


def test_limits_can_be_turned_off(limited_app):
    client = limited_app("notifications", RATE_LIMIT_ENABLED=False).test_client()

    answers = [client.get("/auth/callback", **address("198.51.100.30")) for _ in range(5)]

    assert {answer.status_code for answer in answers} == {400}
    assert "Retry-After" not in answers[-1].headers and "X-RateLimit-Limit" not in answers[-1].headers


def test_the_default_limits_are_generous_enough_for_people(apps):
    assert apps["issuer"].config["RATE_LIMIT_VERIFY"] == "120/minute"
    assert {app.config["RATE_LIMIT_SIGN_IN"] for app in apps.values()} == {"30/minute"}
    assert {app.config["RATE_LIMIT_STORAGE_URI"] for app in apps.values()} == {"memory://"}
