"""Verification of a presented credential, in the order OB 3.0 gives: proof, schema, validity, status.

Each check says what it found, so a verifier learns exactly why a credential fails.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema_rs import Draft201909Validator
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services.issuer.models import Credential
from services.issuer.openbadges import IssuerProfile
from services.issuer.signing import JoseError, SigningKeys

SCHEMA_FILE = Path(__file__).parent / "ob3" / "ob_v3p0_achievementcredential_schema.json"
JWT_CLAIMS = ("iss", "jti", "sub", "nbf", "exp", "iat")
# Built once, in Core (no ORM entities): the revocation read runs on every verification, and
# building and ORM-compiling the statement each time cost more CPU than the query's round trip.
_credentials = Credential.__table__.c
REVOCATION_OF_ENTRY = select(_credentials.revoked_at, _credentials.revocation_reason).where(
    _credentials.status_list == bindparam("status_list"), _credentials.status_index == bindparam("status_index")
)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@cache
def schema_validator() -> Draft201909Validator:
    """The official 1EdTech AchievementCredential JSON schema (vendored in ob3/), formats checked too.

    jsonschema-rs (Rust): a few microseconds per credential, where the pure-Python jsonschema took
    about 2.4 ms, most of a verification.
    """
    return Draft201909Validator(json.loads(SCHEMA_FILE.read_text()), validate_formats=True)


def schema_errors(document: dict) -> list[str]:
    """What the official schema finds wrong with a credential, path by path."""
    return sorted(
        f"{'/'.join(map(str, error.instance_path)) or '(root)'}: {error.message}"
        for error in schema_validator().iter_errors(document)
    )


def verify(
    token: str, *, keys: SigningKeys, issuer: IssuerProfile, session: Session, now: datetime, stored: Credential | None = None
) -> list[Check]:
    """Every check of a VC-JWT; stops after the proof fails, since nothing else can be trusted then.

    `stored` is the credential row the caller has just read for this request (the public page
    reads it anyway): if the token's status entry is that row's, revocation is read from it
    instead of a second time. Revocation is never remembered between requests.
    """
    if token.count(".") != 2:
        return [Check("format", False, "not a VC-JWT: expected three dot-separated parts")]
    try:
        header, claims = keys.verify(token)
    except (JoseError, ValueError) as error:
        return [Check("proof", False, f"the signature does not match this issuer's published keys ({error.__class__.__name__}): the credential was altered or was not issued here")]
    checks = [Check("proof", True, f"signed by {issuer.did}#{header['kid']}")]
    document = {name: value for name, value in claims.items() if name not in JWT_CLAIMS}
    if document.get("issuer", {}).get("id") != issuer.did or claims.get("iss") != issuer.did:
        checks.append(Check("issuer", False, f"names {claims.get('iss')!r} as issuer, not {issuer.did!r}"))
    errors = schema_errors(document)
    checks.append(Check("schema", not errors, "; ".join(errors) if errors else "matches the Open Badges 3.0 AchievementCredential schema"))
    return [*checks, _validity(document, now), _status(document, session, issuer, stored)]


def _validity(document: Mapping[str, Any], now: datetime) -> Check:
    valid_from = datetime.fromisoformat(document["validFrom"])
    if valid_from > now:
        return Check("validity", False, f"not valid before {document['validFrom']}")
    if "validUntil" in document and datetime.fromisoformat(document["validUntil"]) <= now:
        return Check("validity", False, f"expired on {document['validUntil']}")
    return Check("validity", True, "within its validity period")


def _status(document: Mapping[str, Any], session: Session, issuer: IssuerProfile, stored: Credential | None) -> Check:
    status = document.get("credentialStatus", {})
    list_url, _, index = status.get("id", "").rpartition("#")
    if not list_url.startswith(issuer.url + "/status/") or not index.isdigit():
        return Check("status", False, "no revocation status entry of this issuer")
    entry = (int(list_url.rsplit("/", 1)[1]), int(index))
    if stored is not None and (stored.status_list, stored.status_index) == entry:
        revoked = stored
    else:
        revoked = session.execute(REVOCATION_OF_ENTRY, {"status_list": entry[0], "status_index": entry[1]}).first()
    if revoked is None:
        return Check("status", False, "unknown status entry")
    if revoked.revoked_at is not None:
        return Check("status", False, f"revoked on {revoked.revoked_at.date().isoformat()}: {revoked.revocation_reason}")
    return Check("status", True, "not revoked")


def report(checks: list[Check]) -> dict:
    """The verdict and each check, as the JSON answer and the page show them."""
    # Plain dicts rather than dataclasses.asdict, which deep-copies each field: a verification is one request.
    return {"valid": all(check.passed for check in checks), "checks": [{"name": check.name, "passed": check.passed, "detail": check.detail} for check in checks]}
