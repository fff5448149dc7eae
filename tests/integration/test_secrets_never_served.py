"""No answer and no log line carries a secret: the issuer's private signing key, the session key,
the OIDC client secret or a database password (ADR 0016).

The sign-in itself is checked against the real identity provider in tests/e2e/test_sign_in_redirects.py.
"""

import json
import logging
import os
import traceback

import pytest
from sqlalchemy.engine import make_url

from shared.auth import HR_ADMIN
from tests.conftest import SERVICES, service_config
from tests.integration.test_pathways_pages import signed_in
from tests.support import auth_config, bearer, issuer_signing_keys, unique

pytestmark = pytest.mark.infra

PAGES = {"issuer": "/wallet", "pathways": "/", "notifications": "/inbox"}
APIS = {"issuer": "/api/achievements", "pathways": "/api/pathways", "notifications": "/api/inbox"}


def secrets() -> dict[str, str]:
    """Every secret the session's apps are configured with, by name. The suite's database password is a
    common word, so it is looked for as a URL carries it; the tests of a failing database use a unique one."""
    [signing_key] = issuer_signing_keys()["keys"]
    database = make_url(os.environ["SKILLSTACK_TEST_POSTGRES"] + "/x")
    return {
        "the issuer's private key": signing_key["d"],
        "SECRET_KEY": auth_config()["SECRET_KEY"],
        "OIDC_CLIENT_SECRET": auth_config()["OIDC_CLIENT_SECRET"],
        "the database password": f"{database.username}:{database.password}@",
    }


def assert_no_secret(text: str, where: str, extra: dict[str, str] | None = None) -> None:
    for name, secret in (secrets() | (extra or {})).items():
        assert secret and secret not in text, f"{name} appears in {where}"


def answer_text(response) -> str:
    return f"{response.headers}\n{response.get_data().decode(errors='replace')}"


def plain_get_routes(app) -> list[str]:
    """Every GET route without path variables, but sign-in (it goes to the IdP, which this level cannot reach)."""
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/auth/")})


@pytest.mark.parametrize("service", SERVICES)
def test_no_endpoint_serves_a_secret_to_anyone(apps, service):
    app = apps[service]
    callers = {
        "anonymous": (app.test_client(), {}),
        "hr with a token": (app.test_client(), bearer(service, unique("hr"), roles=(HR_ADMIN,))),
        "hr signed in": (signed_in(app, unique("hr"), roles=(HR_ADMIN,)), {}),
    }
    paths = plain_get_routes(app) + [f"/no-such-page-{unique('x')}", "/api/no-such-thing"]
    assert {"/api/openapi.json", "/readyz", "/healthz", "/api/audit-log"} <= set(paths)

    for caller, (client, headers) in callers.items():
        for path in paths:
            assert_no_secret(answer_text(client.get(path, headers=headers)), f"{service} GET {path} as {caller}")


def test_the_published_keys_are_public_ones(issuer):
    client = issuer.test_client()

    for path in ("/.well-known/jwks.json", "/.well-known/did.json"):
        response = client.get(path)
        assert response.status_code == 200
        assert '"d"' not in response.get_data(as_text=True).replace(" ", ""), path
    assert [set(key) for key in client.get("/.well-known/jwks.json").get_json()["keys"]] == [{"kty", "crv", "x", "kid", "use", "alg"}]


@pytest.fixture
def broken_database_app(service_databases, kafka_bootstrap):
    """The pathways app on a database that refuses its password (a real PostgreSQL, a wrong secret)."""
    from services.pathways.app import create_app

    password = unique("wrong-db-password")
    url = make_url(service_databases["pathways"]).set(password=password).render_as_string(hide_password=False)
    # Not TESTING: an unexpected error is answered with the 500 page, as in production, not raised into the test.
    app = create_app(service_config("pathways", url, kafka_bootstrap) | {"TESTING": False, "READYZ_CHECKS_KAFKA": False})
    yield app, password
    app.extensions["database"].dispose()


def test_a_failing_database_shows_and_logs_no_password(broken_database_app, caplog, capfd):
    app, password = broken_database_app
    caplog.set_level(logging.DEBUG)

    answers = {
        "/readyz": app.test_client().get("/readyz"),
        "a page": signed_in(app, unique("ada")).get(PAGES["pathways"]),
        "the API": app.test_client().get(APIS["pathways"], headers=bearer("pathways", unique("ada"))),
    }

    assert {where: answer.status_code for where, answer in answers.items()} == {"/readyz": 503, "a page": 500, "the API": 500}
    for where, answer in answers.items():
        assert_no_secret(answer_text(answer), where, {"the wrong password": password})
        assert "Traceback" not in answer.get_data(as_text=True)
    logged = caplog.text + capfd.readouterr().err
    assert "OperationalError" in logged  # the failure is logged, for the operators
    assert_no_secret(logged, "the logs", {"the wrong password": password})


def config_error(create_app, config: dict) -> str:
    """What starting the app with this config raises, as the process would log it (with its traceback)."""
    with pytest.raises(Exception) as raised:
        create_app(config)
    return "".join(traceback.format_exception(raised.value))


def test_configuration_errors_name_the_setting_never_its_value(service_databases, kafka_bootstrap, caplog):
    from services.issuer.app import create_app

    caplog.set_level(logging.DEBUG)
    config = service_config("issuer", service_databases["issuer"], kafka_bootstrap)
    [signing_key] = issuer_signing_keys()["keys"]
    public_only = {"keys": [{name: value for name, value in signing_key.items() if name != "d"}]}
    database_password = unique("db-password")

    errors = {
        "no OIDC issuer": config_error(create_app, config | {"OIDC_ISSUER": None}),
        "keys not JSON": config_error(create_app, config | {"SIGNING_KEYS": json.dumps(issuer_signing_keys())[:-5]}),
        "public keys only": config_error(create_app, config | {"SIGNING_KEYS": public_only}),
        "a bad database URL": config_error(
            create_app, config | {"DATABASE_URL": f"postgresql+psycopg://skillstack:{database_password}@127.0.0.1:not-a-port/issuer"}
        ),
    }

    assert "SKILLSTACK_OIDC_ISSUER" in errors["no OIDC issuer"]
    assert "SKILLSTACK_ISSUER_SIGNING_KEYS must hold private keys" in errors["public keys only"]
    for what, text in errors.items():
        assert_no_secret(text, f"the error of {what}", {"the URL's password": database_password})
    assert_no_secret(caplog.text, "the logs", {"the URL's password": database_password})
