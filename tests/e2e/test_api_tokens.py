"""API protection against the real identity provider: the LMS's client-credentials token works;
missing, expired, misdirected, forged and unsigned tokens are refused with 401."""

import base64
import json
import time

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.e2e.scenario import Academy
from tests.support import unique


def _segments(token: str) -> list[dict]:
    return [json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in token.split(".")[:2]]


def _encode(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_the_lms_posts_completions_with_its_token_and_bad_tokens_are_refused(platform):
    academy = Academy(platform)
    lms_token = platform.identity.client_token()
    header, claims = _segments(lms_token)
    assert "completions:write" in claims["scope"].split() and claims["aud"] == "issuer" and header["kid"]

    accepted = academy.post_completion(academy.completion(academy.employee, academy.sql, 90))
    assert accepted.status_code == 202, accepted.text

    short_lived = platform.identity.add_short_lived_lms_client(unique("lms-short"))
    expired = platform.identity.client_token(*short_lived)
    forged = jwt.encode(header, claims, RSAKey.generate_key(2048, parameters={"kid": header["kid"]}))
    unsigned = f"{_encode({'alg': 'none', 'typ': 'JWT'})}.{_encode(claims)}."
    time.sleep(3)  # the short-lived token's 1 s lifetime and the services' 1 s clock skew pass

    refused = {
        "no token": platform.post("issuer", "/api/completions", json=academy.completion(academy.employee, academy.sql, 90)),
        "expired": _post_with(platform, academy, expired),
        "another audience": platform.post(
            "pathways", "/api/pathways", json={"name": "x", "levels": []}, headers={"Authorization": f"Bearer {lms_token}"}
        ),
        "another key": _post_with(platform, academy, forged),
        "alg none": _post_with(platform, academy, unsigned),
    }
    assert {case: response.status_code for case, response in refused.items()} == {case: 401 for case in refused}
    for response in refused.values():
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["Content-Type"] == "application/problem+json"


def _post_with(platform, academy, token: str):
    return platform.post(
        "issuer", "/api/completions", json=academy.completion(academy.employee, academy.sql, 90),
        headers={"Authorization": f"Bearer {token}"},
    )
