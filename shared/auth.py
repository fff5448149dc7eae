"""Who is calling: the one place where the current principal and their roles are resolved.

APIs take OAuth 2 bearer JWTs issued by the company's OpenID Connect provider and check them
against its published keys (JWKS from discovery, cached, refreshed on an unknown `kid`):
signature, issuer, audience, expiry and not-before. Pages take the signed-in session that
`shared.sso` creates. Roles come from the IdP's group claim through a configurable mapping;
"manager of" is an object-level rule that lives in the services.
"""

import functools
import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from flask import Response, current_app, g, redirect, request, session, url_for
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from shared.errors import DomainError

HR_ADMIN = "hr-admin"
ASSESSOR = "assessor"
COMPLETIONS_SCOPE = "completions:write"
SCIM_SCOPE = "scim:provision"  # the IdP provisioning people into the directory (SCIM 2.0)
# Asymmetric algorithms only: a shared-secret or `none` token is never accepted.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "Ed25519"]


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

    def to_session(self) -> dict:
        return {"subject": self.subject, "name": self.name, "email": self.email, "roles": sorted(self.roles)}

    @classmethod
    def from_session(cls, data: dict) -> "Principal":
        return cls(subject=data["subject"], name=data["name"], email=data["email"], roles=frozenset(data["roles"]))


def principal_from_claims(claims: dict, config) -> Principal:
    """Map IdP claims to a principal: employee id, name, email, roles (from groups) and scopes."""
    groups = claims.get(config["OIDC_GROUPS_CLAIM"]) or []
    # Compared exactly as the IdP sends them: `/sales/hr-admins` must never pass for `hr-admins`.
    groups = set([groups] if isinstance(groups, str) else groups)
    roles = {role for role, group in config["OIDC_ROLE_GROUPS"].items() if group in groups}
    employee_id = claims.get(config["OIDC_EMPLOYEE_ID_CLAIM"])
    if employee_id:
        subject = str(employee_id)
    elif claims.get("client_id"):  # a machine client (client credentials): never mistaken for a person
        subject = f"client:{claims['client_id']}"
    else:  # a person the IdP has no employee id for: sees nothing of anyone's
        subject = f"sub:{claims['sub']}"
    return Principal(
        subject=subject,
        name=claims.get("name") or claims.get("preferred_username") or "",
        email=claims.get("email"),
        roles=frozenset(roles),
        scopes=frozenset((claims.get("scope") or "").split()),
    )


class JwksCache:
    """The IdP's signing keys: fetched from its discovery document, cached, refreshed when a `kid` is unknown."""

    def __init__(self, discovery_url: str, *, static_jwks: dict | None = None, max_age: float = 3600, min_refresh_interval: float = 30):
        self.discovery_url = discovery_url
        self.static = KeySet.import_key_set(static_jwks) if static_jwks else None
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def keys(self, *, refresh: bool = False) -> KeySet:
        if self.static is not None:
            return self.static
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = self._keys is None or age > self.max_age
            if stale or (refresh and age > self.min_refresh_interval):
                self._keys, self._fetched_at = self._fetch(), time.monotonic()
            return self._keys

    def _fetch(self) -> KeySet:
        discovery = _get_json(self.discovery_url)
        return KeySet.import_key_set(_get_json(discovery["jwks_uri"]))


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # the IdP's own published documents
        return json.load(response)


def verify_bearer_token(token: str) -> Principal:
    """Check a bearer JWT against the IdP's keys and the expected issuer and audience."""
    config = current_app.config
    cache: JwksCache = current_app.extensions["jwks"]
    try:
        try:
            decoded = jwt.decode(token, cache.keys(), algorithms=ALGORITHMS)
        except InvalidKeyIdError:
            decoded = jwt.decode(token, cache.keys(refresh=True), algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=int(config["OIDC_CLOCK_SKEW_SECONDS"]),
            iss={"essential": True, "value": config["OIDC_ISSUER"]},
            aud={"essential": True, "value": config["OIDC_AUDIENCE"]},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise Unauthenticated(f"invalid bearer token: {error.__class__.__name__}") from error
    except OSError as error:
        raise Unauthenticated("the identity provider's keys are unavailable") from error
    return principal_from_claims(decoded.claims, config)


def current_principal() -> Principal:
    """The caller of this request, as resolved by `require` (APIs) or `sign_in_required` (pages)."""
    if "principal" not in g:
        raise Unauthenticated("not signed in")
    return g.principal


def _bearer_principal() -> Principal:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required")
    return verify_bearer_token(token.strip())


def _check(principal: Principal, role: str | None, scope: str | None) -> None:
    if role and not principal.has_role(role):
        raise MissingPermission(f"the {role} role is required")
    if scope and scope not in principal.scopes:
        raise MissingPermission(f"the {scope} scope is required")


def require(*, role: str | None = None, scope: str | None = None):
    """Decorate an API view: a valid bearer token is needed, and optionally a role or a scope."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            g.principal = _bearer_principal()
            _check(g.principal, role, scope)
            return view(*args, **kwargs)

        wrapper.required_role, wrapper.required_scope = role, scope
        apidoc = wrapper.__dict__.setdefault("_apidoc", {})
        apidoc.setdefault("manual_doc", {})["security"] = [{"bearer": []}]
        return wrapper

    return decorator


def _current_page() -> str:
    """The path, within this service, of the page an htmx request came from (its start page otherwise)."""
    path = urllib.parse.urlsplit(request.headers.get("HX-Current-URL", "")).path
    root = request.script_root
    return path[len(root):] or "/" if path.startswith(root + "/") or (root and path == root) else "/"


def sign_in_required(role: str | None = None):
    """Decorate a page: anonymous visitors are sent to sign in and brought back afterwards."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            data = session.get("principal")
            if data is None:
                if request.headers.get("HX-Request"):  # a background (htmx) request: send the whole page to sign in
                    return Response(status=204, headers={"HX-Redirect": url_for("auth.login", next=_current_page())})
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            g.principal = Principal.from_session(data)
            _check(g.principal, role, None)
            return view(*args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return decorator
