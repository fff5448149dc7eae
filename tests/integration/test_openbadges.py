"""Open Badges 3.0 credentials anyone can verify without asking us: schema, proof, status, keys."""

import json
from datetime import UTC, datetime

import jwt as pyjwt
import pytest

from services.issuer.app import create_app
from services.issuer.signing import generate_signing_key
from services.issuer.status_lists import is_set
from services.issuer.verification import schema_errors
from tests.integration.helpers import outbox_rows, problem
from tests.integration.test_issuer_api import complete, completion_data, credentials_of, define, hr_admin
from tests.support import bearer, unique

pytestmark = pytest.mark.infra
ISSUED_AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def issue(issuer, *, validity_months=24, at=ISSUED_AT, **completion) -> dict:
    """An employee passes; the worker's handler issues; return the stored credential row."""
    achievement = define(issuer, validity_months=validity_months)
    data = completion_data(achievement, **completion)
    complete(issuer, data, at=at)
    [credential] = credentials_of(issuer, data["employee_id"])
    return credential


def verify(issuer, token: str) -> dict:
    response = issuer.test_client().post("/verify", json={"credential": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def failed(report: dict) -> dict[str, str]:
    return {check["name"]: check["detail"] for check in report["checks"] if not check["passed"]}


def test_an_issued_credential_passes_the_official_open_badges_schema(issuer):
    credential = issue(issuer, email="ada@example.com", score=91.5)
    document = json.loads(credential["document"])

    assert schema_errors(document) == []
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert (document["validFrom"], document["validUntil"]) == ("2026-11-02T09:00:00Z", "2028-11-02T09:00:00Z")
    identity = document["credentialSubject"]["identifier"][0]
    assert identity["identityType"] == "emailAddress" and identity["hashed"] is True
    assert identity["identityHash"].startswith("sha256$") and "ada@example.com" not in credential["document"]
    assert document["credentialSubject"]["result"][0]["value"] == "91.5"
    assert document["credentialStatus"]["statusListIndex"] == str(credential["status_index"])


def test_the_signed_credential_verifies_with_an_independent_library_and_only_the_published_keys(issuer):
    credential = issue(issuer)
    client = issuer.test_client()
    jwks = client.get("/.well-known/jwks.json").get_json()
    did = client.get("/.well-known/did.json").get_json()

    key = pyjwt.PyJWKSet.from_dict(jwks)[pyjwt.get_unverified_header(credential["jwt"])["kid"]]
    claims = pyjwt.decode(credential["jwt"], key.key, algorithms=["EdDSA"], options={"verify_exp": False, "verify_aud": False})

    assert claims["jti"] == f"http://127.0.0.1:8001/credentials/{credential['id']}"
    assert claims["iss"] == claims["issuer"]["id"] == did["id"] == "did:web:127.0.0.1%3A8001"
    assert pyjwt.get_unverified_header(credential["jwt"])["typ"] == "vc+jwt"
    assert [method["publicKeyJwk"] for method in did["verificationMethod"]] == jwks["keys"]
    served = json.dumps(jwks) + json.dumps(did)
    assert '"d"' not in served  # no private key material is ever served


def test_a_valid_credential_passes_every_check(issuer):
    report = verify(issuer, issue(issuer, at=datetime.now(UTC))["jwt"])

    assert report["valid"] is True
    assert [check["name"] for check in report["checks"]] == ["proof", "schema", "validity", "status"]


def test_one_changed_character_fails_with_a_clear_reason(issuer):
    token = issue(issuer, at=datetime.now(UTC))["jwt"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:20]}{'A' if payload[20] != 'A' else 'B'}{payload[21:]}.{signature}"

    report = verify(issuer, tampered)

    assert report["valid"] is False
    assert "signature does not match" in failed(report)["proof"]


def test_a_revoked_credential_reports_revoked_and_its_status_bit_is_set(issuer):
    credential = issue(issuer, at=datetime.now(UTC))

    response = issuer.test_client().post(
        f"/api/credentials/{credential['id']}/revoke", json={"reason": "Exam irregularity"}, headers=hr_admin()
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Exam irregularity" in failed(verify(issuer, credential["jwt"]))["status"]
    [event] = outbox_rows(issuer, "skillstack.issuer.credential.revoked.v1", credential["employee_id"])
    assert event["payload"]["data"]["reason"] == "Exam irregularity"
    status_list = issuer.test_client().get(f"/status/{credential['status_list']}").get_data(as_text=True)
    encoded = pyjwt.decode(status_list, options={"verify_signature": False})["credentialSubject"]["encodedList"]
    assert is_set(encoded, credential["status_index"]) is True


def test_revocation_is_for_hr_with_a_reason_and_happens_once(issuer):
    credential = issue(issuer)
    client = issuer.test_client()
    path = f"/api/credentials/{credential['id']}/revoke"

    assert client.post(path, json={"reason": "x"}, headers=bearer("issuer", credential["employee_id"])).status_code == 403
    problem(client.post(path, json={}, headers=hr_admin()), 422)
    assert client.post(path, json={"reason": "Issued in error"}, headers=hr_admin()).status_code == 200
    assert "already revoked" in problem(client.post(path, json={"reason": "again"}, headers=hr_admin()), 409)["detail"]


def test_an_expired_credential_reports_expired(issuer):
    credential = issue(issuer, validity_months=1, at=datetime(2025, 1, 10, tzinfo=UTC))

    assert failed(verify(issuer, credential["jwt"])) == {"validity": "expired on 2025-02-10T00:00:00Z"}


def test_a_credential_from_elsewhere_or_not_a_jwt_is_refused_with_its_reason(issuer):
    stranger = pyjwt.encode({"iss": "did:web:elsewhere.example"}, "not-our-key-but-long-enough-for-hs256", algorithm="HS256")

    assert "signature does not match" in failed(verify(issuer, stranger))["proof"]
    assert failed(verify(issuer, "not a jwt")) == {"format": "not a VC-JWT: expected three dot-separated parts"}
    problem(issuer.test_client().post("/verify", json={"jwt": "wrong field"}), 422)


def test_rotating_the_signing_key_keeps_old_credentials_verifiable(issuer, service_databases, kafka_bootstrap):
    from tests.conftest import service_config

    old = issue(issuer, at=datetime.now(UTC))
    new_key = generate_signing_key(datetime(2030, 1, 1, tzinfo=UTC))
    config = service_config("issuer", service_databases["issuer"], kafka_bootstrap)
    rotated = create_app(config | {"SIGNING_KEYS": {"keys": [new_key, *config["SIGNING_KEYS"]["keys"]]}})

    assert verify(rotated, old["jwt"])["valid"] is True
    fresh = issue(rotated, at=datetime.now(UTC), employee_id=unique("emp"))
    assert pyjwt.get_unverified_header(fresh["jwt"])["kid"] == new_key["kid"]
    assert len(rotated.test_client().get("/.well-known/jwks.json").get_json()["keys"]) == 2
    rotated.extensions["database"].dispose()


def test_the_downloadable_badge_has_the_signed_credential_baked_in(issuer):
    from services.issuer.baking import unbake_png, unbake_svg

    credential = issue(issuer, at=datetime.now(UTC))

    response = issuer.test_client().get(f"/credentials/{credential['id']}/badge.png")

    assert response.status_code == 200 and response.mimetype == "image/png"
    baked = unbake_png(response.get_data())
    assert baked == credential["jwt"]
    assert verify(issuer, baked)["valid"] is True

    svg = issuer.test_client().get(f"/credentials/{credential['id']}/badge.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert unbake_svg(svg.get_data(as_text=True)) == credential["jwt"]


def test_the_public_page_shows_the_badge_the_skills_and_the_status(issuer):
    skill = {"framework": "ESCO", "url": "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d",
             "code": "S5.6.1", "name": "use databases <&> queries"}
    achievement = define(issuer, skills=[skill])
    data = completion_data(achievement)
    complete(issuer, data, at=datetime.now(UTC))
    [credential] = credentials_of(issuer, data["employee_id"])

    page = issuer.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)

    assert f'/achievements/{achievement["id"]}/v1/image' in page
    assert "use databases &lt;&amp;&gt; queries" in page and skill["url"] in page
    assert "Verified:" in page
    issuer.test_client().post(f"/api/credentials/{credential['id']}/revoke", json={"reason": "Issued in error"}, headers=hr_admin())
    assert "revoked on" in issuer.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)
