"""The issuer's signing keys: private keys from the environment, public keys published.

`ISSUER_SIGNING_KEYS` is a JWK set with private keys; the first signs new credentials and the
others stay to verify older ones, so rotation is: generate a key, put it first, keep the rest.
A private key is never served: only `public_jwks()` reaches the web; `rotate` (the command
`python -m services.issuer.signing rotate`, or `skillstack rotate-signing-key`) prints a new
private set for the operator to store as the secret.
"""

import argparse
import datetime
import json
import os
import sys
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


def rotate(jwks: dict | str, now: datetime.datetime) -> dict:
    """The key set with a new signing key in front and every current key kept, to verify what it signed."""
    kept = SigningKeys(jwks)._keys.keys  # refuses an empty set or public keys before anything is added
    names = {key.kid for key in kept}
    while now.strftime("%Y-%m-%dT%H%M%SZ") in names:  # kids name their creation second: keep them unique
        now += datetime.timedelta(seconds=1)
    return {"keys": [generate_signing_key(now), *[key.as_dict(private=True) for key in kept]]}


def main(argv: list[str] | None = None) -> int:
    """`python -m services.issuer.signing [rotate [--keys-file F]]`: print a new private JWK set."""
    parser = argparse.ArgumentParser(prog="python -m services.issuer.signing", description="The issuer's Open Badges signing keys")
    commands = parser.add_subparsers(dest="command")
    rotation = commands.add_parser("rotate", help="add a new signing key in front of the current set (SKILLSTACK_ISSUER_SIGNING_KEYS)")
    rotation.add_argument("--keys-file", help="read the current set from this file ('-' for standard input) instead of the environment")
    arguments = parser.parse_args(argv)
    now = datetime.datetime.now(datetime.UTC)
    if arguments.command != "rotate":  # a first key set, for a new installation
        print(json.dumps({"keys": [generate_signing_key(now)]}))
        return 0
    current = _read_key_set(arguments.keys_file)
    if current is None:
        print("no current key set: set SKILLSTACK_ISSUER_SIGNING_KEYS or pass --keys-file", file=sys.stderr)
        return 2
    try:
        rotated = rotate(current, now)
    except (RuntimeError, ValueError) as error:  # never echo the keys themselves
        print(f"cannot rotate: {error.__class__.__name__}: {str(error)[:200]}", file=sys.stderr)
        return 1
    print(json.dumps(rotated))
    print(f"new signing key {rotated['keys'][0]['kid']} in front; {len(rotated['keys']) - 1} older key(s) kept to verify "
          "what they signed. Store the set as SKILLSTACK_ISSUER_SIGNING_KEYS and restart the issuer web and worker.", file=sys.stderr)
    return 0


def _read_key_set(path: str | None) -> str | None:
    """The current private key set, from a file, standard input or the environment."""
    if path == "-":
        return sys.stdin.read()
    if path:
        with open(path, encoding="utf-8") as keys:
            return keys.read()
    return os.environ.get("SKILLSTACK_ISSUER_SIGNING_KEYS")


__all__ = ["ALGORITHM", "JoseError", "SigningKeys", "did_web", "generate_signing_key", "main", "rotate"]


if __name__ == "__main__":  # python -m services.issuer.signing: a new key set, for SKILLSTACK_ISSUER_SIGNING_KEYS
    sys.exit(main())
