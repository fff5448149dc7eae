"""The `skillstack` command against the real database and broker: checking a service's
configuration, replaying projections, rotating the issuer's signing key."""

import json

import pytest
from sqlalchemy import create_engine, text

from services.issuer.app import create_app as create_issuer
from shared.cli import main
from tests.conftest import service_config
from tests.operations import fresh_database
from tests.support import auth_config, issuer_signing_keys, unique

pytestmark = pytest.mark.infra
CLIENT_SECRET = "client-secret-" + unique("value")


@pytest.fixture
def issuer_environment(monkeypatch, service_databases, kafka_bootstrap):
    """The environment an issuer process would be started with, complete."""
    for name, value in {
        "SKILLSTACK_SECRET_KEY": "a-long-enough-session-signing-key",
        "SKILLSTACK_OIDC_ISSUER": auth_config()["OIDC_ISSUER"],
        "SKILLSTACK_ISSUER_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "SKILLSTACK_ISSUER_SIGNING_KEYS": json.dumps(issuer_signing_keys()),
        "SKILLSTACK_ISSUER_DATABASE_URL": service_databases["issuer"],
        "SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def secrets_in(output: str) -> list[str]:
    private_keys = [key["d"] for key in issuer_signing_keys()["keys"]]
    return [secret for secret in (CLIENT_SECRET, "a-long-enough-session-signing-key", *private_keys) if secret in output]


def test_check_config_passes_for_a_complete_environment(issuer_environment, capsys):
    assert main(["check-config", "--service", "issuer"]) == 0

    output = capsys.readouterr().out
    assert "ok    database postgresql+psycopg://" in output and ":***@" in output
    assert "schema at the latest migration" in output and "every topic exists" in output
    assert output.rstrip().endswith("configuration ok")
    assert secrets_in(output) == []


def test_check_config_reports_a_missing_secret_without_printing_any(issuer_environment, capsys):
    issuer_environment.delenv("SKILLSTACK_SECRET_KEY")
    issuer_environment.setenv("SKILLSTACK_ISSUER_SIGNING_KEYS", json.dumps({"keys": []}))

    assert main(["check-config", "--service", "issuer"]) == 1

    output = capsys.readouterr().out
    assert "FAIL  SKILLSTACK_SECRET_KEY (or SKILLSTACK_ISSUER_SECRET_KEY) is missing" in output
    assert "FAIL  the issuer app does not start: RuntimeError: SKILLSTACK_ISSUER_SIGNING_KEYS holds no key" in output
    assert "ok    OIDC_CLIENT_SECRET is set" in output
    assert output.rstrip().endswith("configuration has problems")
    assert secrets_in(output) == []


def test_check_config_fails_on_an_unreachable_broker_and_an_unmigrated_database(issuer_environment, capsys):
    with fresh_database() as unmigrated:
        issuer_environment.setenv("SKILLSTACK_ISSUER_DATABASE_URL", unmigrated)
        issuer_environment.setenv("SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")

        assert main(["check-config", "--service", "issuer"]) == 1

    output = capsys.readouterr().out
    assert "its schema is not the latest: run `flask --app services.issuer.app migrate`" in output
    assert "FAIL  Kafka at 127.0.0.1:1 does not answer: KafkaTimeoutError" in output


def test_replay_runs_the_services_own_rebuild(monkeypatch, capsys, kafka_bootstrap):
    with fresh_database("pathways") as url:
        environment = {"SKILLSTACK_PATHWAYS_DATABASE_URL": url, "SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
        environment |= {f"SKILLSTACK_{name}": value for name, value in auth_config().items() if isinstance(value, str)}
        for name, value in environment.items():
            monkeypatch.setenv(name, value)

        assert main(["replay", "pathways"]) == 0

        engine = create_engine(url)
        with engine.connect() as connection:
            rows = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in ("catalog", "held_credentials")}
        engine.dispose()
    output = capsys.readouterr().out
    assert "issuer.catalog: " in output and "issuer.credentials: " in output
    assert f"catalog: {rows['catalog']} rows" in output and f"held_credentials: {rows['held_credentials']} rows" in output


def test_replay_refuses_a_service_without_projections(issuer_environment, capsys):
    assert main(["replay", "issuer"]) == 2
    assert "issuer has no projections to replay" in capsys.readouterr().err


def test_rotate_signing_key_keeps_old_credentials_verifiable(service_databases, kafka_bootstrap, tmp_path, capsys):
    current = tmp_path / "keys.json"
    current.write_text(json.dumps(issuer_signing_keys()))
    before = create_issuer(service_config("issuer", service_databases["issuer"], kafka_bootstrap))
    issued_before = before.extensions["signing_keys"].sign({"jti": "urn:uuid:before-rotation"})

    assert main(["rotate-signing-key", "--keys-file", str(current)]) == 0

    rotated = json.loads(capsys.readouterr().out)
    app = create_issuer(service_config("issuer", service_databases["issuer"], kafka_bootstrap) | {"SIGNING_KEYS": rotated})
    old_kid = issuer_signing_keys()["keys"][0]["kid"]
    published = app.test_client().get("/.well-known/jwks.json").get_json()
    assert [key["kid"] for key in published["keys"]] == [rotated["keys"][0]["kid"], old_kid]
    assert all("d" not in key for key in published["keys"])
    keys = app.extensions["signing_keys"]
    assert keys.verify(issued_before)[1]["jti"] == "urn:uuid:before-rotation"
    assert keys.verify(keys.sign({"jti": "urn:uuid:after"}))[0]["kid"] == rotated["keys"][0]["kid"] != old_kid
