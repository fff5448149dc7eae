"""The pure parts of the operator's commands: configuration findings without secrets, key
rotation, and how a dead letter is described."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.issuer.signing import SigningKeys, generate_signing_key, rotate
from shared.cli.config_check import Report, check_settings, secret_values
from shared.cli.dead_letters import describe
from tests.unit.fakes import Record

NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def findings(settings: dict, capsys) -> tuple[bool, str]:
    report = Report(secret_values(settings))
    check_settings(settings, "issuer", report)
    return report.failed, capsys.readouterr().out


def test_missing_and_malformed_settings_are_reported_and_secrets_only_said_to_be_set(capsys):
    keys = {"keys": [generate_signing_key(NOW)]}
    settings = {
        "SECRET_KEY": "k3y-9", "OIDC_ISSUER": "sso.example.com/realms/acme", "OIDC_CLIENT_SECRET": "client-secret-value",
        "SIGNING_KEYS": keys, "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2", "INTRANET_URL": "https://intranet.example.com",
        "DATABASE_URL": "postgresql+psycopg://skillstack:db-password-value@db/skillstack_issuer", "METRICS_PORT": 70000,
    }

    failed, output = findings(settings, capsys)

    assert failed
    assert "FAIL  SECRET_KEY is too short" in output
    assert "FAIL  OIDC_ISSUER is not an http(s) URL" in output
    assert "FAIL  KAFKA_BOOTSTRAP_SERVERS is not a comma-separated list of host:port" in output
    assert "FAIL  METRICS_PORT is not a port number" in output
    assert "ok    OIDC_CLIENT_SECRET is set" in output and "ok    SIGNING_KEYS is set" in output
    for secret in ("k3y-9", "client-secret-value", keys["keys"][0]["d"]):
        assert secret not in output


def test_a_missing_required_setting_names_both_variables(capsys):
    failed, output = findings({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "OIDC_ISSUER": "https://sso.example.com"}, capsys)

    assert failed
    assert "FAIL  SKILLSTACK_SECRET_KEY (or SKILLSTACK_ISSUER_SECRET_KEY) is missing" in output


def test_a_secret_quoted_in_an_error_message_is_scrubbed(capsys):
    settings = {"DATABASE_URL": "postgresql+psycopg://skillstack:db-password-value@db/x", "SIGNING_KEYS": json.dumps({"keys": [generate_signing_key(NOW)]})}
    private = json.loads(settings["SIGNING_KEYS"])["keys"][0]["d"]
    report = Report(secret_values(settings))

    report.fail(f"could not parse postgresql+psycopg://skillstack:db-password-value@db/x near {private}")

    output = capsys.readouterr().out
    assert "db-password-value" not in output and private not in output
    assert "skillstack:***@db/x" in output


def test_rotation_puts_a_new_key_in_front_and_keeps_the_old_ones_verifying():
    old = SigningKeys({"keys": [generate_signing_key(NOW - timedelta(days=400))]})
    token = old.sign({"iss": "did:web:badges.example.com", "jti": "urn:uuid:1"})

    rotated = SigningKeys(rotate({"keys": [key.as_dict(private=True) for key in old._keys.keys]}, NOW))

    assert [key["kid"] for key in rotated.public_jwks()["keys"]] == ["2027-03-01T093000Z", old.active.kid]
    assert rotated.verify(token)[1]["jti"] == "urn:uuid:1"
    assert rotated.verify(rotated.sign({"jti": "urn:uuid:2"}))[0]["kid"] == "2027-03-01T093000Z"


def test_rotating_twice_in_one_second_still_names_every_key_differently():
    once = rotate({"keys": [generate_signing_key(NOW)]}, NOW)
    twice = rotate(once, NOW)

    kids = [key["kid"] for key in twice["keys"]]
    assert len(set(kids)) == 3


def test_rotation_refuses_a_set_of_public_keys():
    public = SigningKeys({"keys": [generate_signing_key(NOW)]}).public_jwks()

    with pytest.raises(RuntimeError, match="private keys"):
        rotate(public, NOW)


def test_a_dead_letter_is_described_by_its_place_event_and_error():
    headers = [("ce_id", b"evt-7"), ("ce_type", b"skillstack.academy.assessment.completed.v1"), ("traceparent", b"00-ab-01"),
               ("dlq.error", b"score: Not a valid number."), ("dlq.error.class", b"EventValidationError"),
               ("dlq.source.topic", b"academy.assessments")]
    described = describe(Record("academy.assessments.dlq", 2, 41, b"{}", key=b"emp-1", headers=headers))

    assert described == {
        "partition": 2, "offset": 41, "key": "emp-1", "event_id": "evt-7", "type": "skillstack.academy.assessment.completed.v1",
        "headers": {"dlq.error": "score: Not a valid number.", "dlq.error.class": "EventValidationError", "dlq.source.topic": "academy.assessments"},
    }


def test_a_dead_letter_without_ce_headers_is_identified_from_its_body():
    body = json.dumps({"id": "evt-8", "type": "skillstack.academy.assessment.completed.v1"}).encode()

    described = describe(Record("academy.assessments.dlq", 0, 3, body, key=None, headers=[]))

    assert (described["event_id"], described["type"], described["key"]) == ("evt-8", "skillstack.academy.assessment.completed.v1", None)
    assert describe(Record("academy.assessments.dlq", 0, 4, b"not json", headers=[]))["event_id"] is None
