"""The issuer's signing keys: private keys from the environment, public keys published.

`ISSUER_SIGNING_KEYS` is a JWK set with private keys; the first signs new credentials and the
others stay to verify older ones, so rotation is: generate a key, put it first, keep the rest.
A private key is never served: only `public_jwks()` leaves this module.
"""

import datetime
import json
import warnings
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import KeySet, OKPKey

# Ed25519 under its widely implemented name: RFC 9864 prefers "Ed25519", which many Open Badges
# verifiers and JOSE libraries do not accept yet.
ALGORITHM = "EdDSA"


def generate_signing_key(now: datetime.datetime) -> dict:
    """A new Ed25519 private key as a JWK, named after its creation time."""
    return OKPKey.generate_key("Ed25519", parameters={"kid": now.strftime("%Y-%m-%dT%H%M%SZ"), "use": "sig", "alg": ALGORITHM}).as_dict(private=True)


def did_web(public_url: str) -> str:
    """The did:web identifier of the issuer served at `public_url` (port percent-encoded, path as segments)."""
    parts = urlsplit(public_url)
    segments = [quote(parts.netloc, safe="")] + [segment for segment in parts.path.split("/") if segment]
    return "did:web:" + ":".join(segments)


class SigningKeys:
    """The active key that signs, and every key that still verifies."""

    def __init__(self, jwks: dict | str):
        data = json.loads(jwks) if isinstance(jwks, str) else jwks
        if not data or not data.get("keys"):
            raise RuntimeError("SKILLSTACK_ISSUER_SIGNING_KEYS holds no key: generate one with `python -m services.issuer.signing`")
        self._keys = KeySet.import_key_set(data)
        if any(not key.is_private for key in self._keys.keys):
            raise RuntimeError("SKILLSTACK_ISSUER_SIGNING_KEYS must hold private keys")
        self.active = self._keys.keys[0]

    def public_jwks(self) -> dict:
        """Every verifying key, public parts only."""
        return {"keys": [key.as_dict(private=False) | {"use": "sig", "alg": ALGORITHM} for key in self._keys.keys]}

    def sign(self, claims: dict) -> str:
        """A compact JWS of the claims, with the active key's `kid` and type `vc+jwt`."""
        header = {"alg": ALGORITHM, "kid": self.active.kid, "typ": "vc+jwt"}
        with _eddsa_by_choice():
            return jwt.encode(header, claims, self.active, algorithms=[ALGORITHM])

    def verify(self, token: str) -> tuple[dict, dict]:
        """The header and claims of a token signed by one of these keys, or JoseError/ValueError."""
        with _eddsa_by_choice():
            decoded = jwt.decode(token, self._keys, algorithms=[ALGORITHM])
        return decoded.header, decoded.claims


@contextmanager
def _eddsa_by_choice():
    """Silence joserfc's RFC 9864 notice about the name EdDSA, which we use on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
        yield


__all__ = ["ALGORITHM", "JoseError", "SigningKeys", "did_web", "generate_signing_key"]


if __name__ == "__main__":  # python -m services.issuer.signing: a new key set, for SKILLSTACK_ISSUER_SIGNING_KEYS
    print(json.dumps({"keys": [generate_signing_key(datetime.datetime.now(datetime.UTC))]}))
