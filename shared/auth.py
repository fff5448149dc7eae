"""Who is calling: the one place where the current principal and their roles are resolved.

API callers present an OAuth 2 bearer JWT. Until SSO with the company's IdP lands, tokens are
HS256 JWTs signed with `AUTH_TOKEN_SECRET` (ADR 0004); the checks (signature, issuer,
audience, expiry, not-before) are the ones an IdP-issued token will get.
"""

import functools
import time
from dataclasses import dataclass, field

from flask import current_app, g, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from shared.errors import DomainError

HR_ADMIN = "hr-admin"
ASSESSOR = "assessor"
COMPLETIONS_SCOPE = "completions:write"


class Unauthenticated(DomainError):
    status = 401
    title = "Unauthorized"


class MissingPermission(DomainError):
    status = 403
    title = "Forbidden"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a person (subject = employee id) or a machine client."""

    subject: str
    name: str = ""
    email: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, role: str) -> bool:
        return role in self.roles


def issue_token(
    secret: str,
    *,
    subject: str,
    audience: str,
    issuer: str = "skillstack-dev",
    name: str = "",
    email: str | None = None,
    roles: tuple[str, ...] = (),
    scopes: tuple[str, ...] = (),
    lifetime: int = 3600,
) -> str:
    """Sign a token the way the verifier expects (the local run's demo users and the tests)."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "name": name,
        "email": email,
        "groups": list(roles),
        "scope": " ".join(scopes),
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret))


def _verify(token: str) -> Principal:
    """Check signature, issuer, audience and validity window, and build the principal."""
    config = current_app.config
    try:
        decoded = jwt.decode(token, OctKey.import_key(config["AUTH_TOKEN_SECRET"]), algorithms=["HS256"])
        jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": config["AUTH_ISSUER"]},
            aud={"essential": True, "value": config["SERVICE_NAME"]},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise Unauthenticated(f"invalid bearer token: {error}") from error
    claims = decoded.claims
    return Principal(
        subject=str(claims["sub"]),
        name=claims.get("name") or "",
        email=claims.get("email"),
        roles=frozenset(claims.get("groups") or ()),
        scopes=frozenset((claims.get("scope") or "").split()),
    )


def current_principal() -> Principal:
    """The caller of this request, or Unauthenticated (401)."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer token is required")
        g.principal = _verify(token.strip())
    return g.principal


def require(*, role: str | None = None, scope: str | None = None):
    """Decorate a view so it needs an authenticated caller, and optionally a role or a scope."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if role and not principal.has_role(role):
                raise MissingPermission(f"the {role} role is required")
            if scope and scope not in principal.scopes:
                raise MissingPermission(f"the {scope} scope is required")
            return view(*args, **kwargs)

        wrapper.required_role = role
        wrapper.required_scope = scope
        apidoc = wrapper.__dict__.setdefault("_apidoc", {})
        apidoc.setdefault("manual_doc", {})["security"] = [{"bearer": []}]
        return wrapper

    return decorator
