"""Verification of a presented credential, in the order OB 3.0 gives: proof, schema, validity, status.

Each check says what it found, so a verifier learns exactly why a credential fails.
"""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft201909Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.issuer.models import Credential
from services.issuer.openbadges import IssuerProfile
from services.issuer.signing import JoseError, SigningKeys

SCHEMA_FILE = Path(__file__).parent / "ob3" / "ob_v3p0_achievementcredential_schema.json"
JWT_CLAIMS = ("iss", "jti", "sub", "nbf", "exp", "iat")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@cache
def schema_validator() -> Draft201909Validator:
    """The official 1EdTech AchievementCredential JSON schema (vendored in ob3/)."""
    return Draft201909Validator(json.loads(SCHEMA_FILE.read_text()), format_checker=FormatChecker())


def schema_errors(document: dict) -> list[str]:
    """What the official schema finds wrong with a credential, path by path."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in sorted(schema_validator().iter_errors(document), key=lambda error: list(map(str, error.absolute_path)))
    ]


def verify(token: str, *, keys: SigningKeys, issuer: IssuerProfile, session: Session, now: datetime) -> list[Check]:
    """Every check of a VC-JWT; stops after the proof fails, since nothing else can be trusted then."""
    if token.count(".") != 2:
        return [Check("format", False, "not a VC-JWT: expected three dot-separated parts")]
    try:
        keys.verify(token)  # checked on every request: only tokens we signed reach the cache below
    except (JoseError, ValueError) as error:
        return [Check("proof", False, f"the signature does not match this issuer's published keys ({error.__class__.__name__}): the credential was altered or was not issued here")]
    checks, document = _signed_content_checks(token, keys, issuer)
    return [*checks, _validity(document, now), _status(document, session, issuer)]


@lru_cache(maxsize=256)  # tokens we signed are a few kB: a few MB per process for the most visited badges
def _signed_content_checks(token: str, keys: SigningKeys, issuer: IssuerProfile) -> tuple[tuple[Check, ...], Mapping[str, Any]]:
    """Proof, issuer and schema of a token whose signature verifies: remembered per token.

    A shared badge is verified again at every visit of its page; what it says and whether that
    matches the schema (most of the CPU of a verification) cannot change for the same token,
    unlike validity and revocation, which are checked afresh every time.
    """
    header, claims = keys.verify(token)
    checks = [Check("proof", True, f"signed by {issuer.did}#{header['kid']}")]
    document = {name: value for name, value in claims.items() if name not in JWT_CLAIMS}
    if document.get("issuer", {}).get("id") != issuer.did or claims.get("iss") != issuer.did:
        checks.append(Check("issuer", False, f"names {claims.get('iss')!r} as issuer, not {issuer.did!r}"))
    errors = schema_errors(document)
    checks.append(Check("schema", not errors, "; ".join(errors) if errors else "matches the Open Badges 3.0 AchievementCredential schema"))
    return tuple(checks), MappingProxyType(document)


def _validity(document: Mapping[str, Any], now: datetime) -> Check:
    valid_from = datetime.fromisoformat(document["validFrom"])
    if valid_from > now:
        return Check("validity", False, f"not valid before {document['validFrom']}")
    if "validUntil" in document and datetime.fromisoformat(document["validUntil"]) <= now:
        return Check("validity", False, f"expired on {document['validUntil']}")
    return Check("validity", True, "within its validity period")


def _status(document: Mapping[str, Any], session: Session, issuer: IssuerProfile) -> Check:
    status = document.get("credentialStatus", {})
    list_url, _, index = status.get("id", "").rpartition("#")
    if not list_url.startswith(issuer.url + "/status/") or not index.isdigit():
        return Check("status", False, "no revocation status entry of this issuer")
    revoked = session.execute(
        select(Credential.revoked_at, Credential.revocation_reason).where(
            Credential.status_list == int(list_url.rsplit("/", 1)[1]), Credential.status_index == int(index)
        )
    ).first()
    if revoked is None:
        return Check("status", False, "unknown status entry")
    if revoked.revoked_at is not None:
        return Check("status", False, f"revoked on {revoked.revoked_at.date().isoformat()}: {revoked.revocation_reason}")
    return Check("status", True, "not revoked")


def report(checks: list[Check]) -> dict:
    return {"valid": all(check.passed for check in checks), "checks": [asdict(check) for check in checks]}
