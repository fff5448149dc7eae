"""Revocation status as a W3C Bitstring Status List: one bit per credential, published as a credential.

Entries are drawn at random from a list of 131 072 (the specification's minimum), so the
position of a bit says nothing about whose credential it is; a list is retired half full.
"""

import base64
import gzip
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.issuer.models import Credential
from services.issuer.openbadges import IssuerProfile, timestamp

LIST_SIZE = 131_072
# Counting the current list's entries reads up to 65 536 index rows, so a process counts once per
# RECOUNT_EVERY of its own allocations and adds them up in between. A list may then pass half full
# by up to that many entries per issuing process: harmless, since a list is retired half full only
# to keep random draws quick and positions meaningless, not because it is full.
RECOUNT_EVERY = 1024


@dataclass
class _Usage:
    number: int  # the list being filled
    used: int  # its entries at the last count, plus this process's allocations since
    allocations: int = 0  # this process's allocations since the last count


_usage: "WeakKeyDictionary[object, _Usage]" = WeakKeyDictionary()  # per database (engine)
_usage_lock = threading.Lock()


def allocate_entry(session: Session, *, random_index: Callable[[int], int] = secrets.randbelow) -> tuple[int, int]:
    """A free (list, index) for a new credential."""
    current = _current_list(session)
    while True:
        index = random_index(LIST_SIZE)
        taken = session.scalar(select(Credential.id).where(Credential.status_list == current, Credential.status_index == index))
        if taken is None:
            return current, index


def _current_list(session: Session) -> int:
    """The number of the list to draw from, counting its entries only now and then (see RECOUNT_EVERY)."""
    with _usage_lock:
        usage = _usage.get(session.get_bind())
        if usage is None or usage.allocations >= RECOUNT_EVERY:
            number = session.scalar(select(func.max(Credential.status_list))) or 1
            usage = _usage[session.get_bind()] = _Usage(number, session.scalar(select(func.count()).where(Credential.status_list == number)))
        if usage.used >= LIST_SIZE // 2:
            usage.number, usage.used = usage.number + 1, 0
        usage.used += 1
        usage.allocations += 1
        return usage.number


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
