"""Revocation status as a W3C Bitstring Status List: one bit per credential, published as a credential.

Entries are drawn at random from a list of 131 072 (the specification's minimum), so the
position of a bit says nothing about whose credential it is; a list is retired half full.
"""

import base64
import gzip
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.issuer.models import Credential
from services.issuer.openbadges import IssuerProfile, timestamp

LIST_SIZE = 131_072


def allocate_entry(session: Session, *, random_index: Callable[[int], int] = secrets.randbelow) -> tuple[int, int]:
    """A free (list, index) for a new credential."""
    current = session.scalar(select(func.max(Credential.status_list))) or 1
    used = session.scalar(select(func.count()).where(Credential.status_list == current))
    if used >= LIST_SIZE // 2:
        current += 1
    while True:
        index = random_index(LIST_SIZE)
        taken = session.scalar(select(Credential.id).where(Credential.status_list == current, Credential.status_index == index))
        if taken is None:
            return current, index


def encode_bitstring(set_indexes: list[int], size: int = LIST_SIZE) -> str:
    """Multibase base64url (no padding) of the GZIP-compressed bitstring; index 0 is the left-most bit."""
    bits = bytearray(size // 8)
    for index in set_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode()


def is_set(encoded: str, index: int) -> bool:
    """Read one bit of an encoded list (what a verifier does)."""
    data = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    return bool(data[index // 8] & (0x80 >> (index % 8)))


def revoked_indexes(session: Session, number: int) -> list[int]:
    return list(
        session.scalars(select(Credential.status_index).where(Credential.status_list == number, Credential.revoked_at.is_not(None)))
    )


def status_list_credential(session: Session, number: int, issuer: IssuerProfile, now: datetime) -> dict:
    """The BitstringStatusListCredential of list `number`, as of now."""
    url = issuer.status_list_url(number)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.did,
        "validFrom": timestamp(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_bitstring(revoked_indexes(session, number)),
        },
    }
