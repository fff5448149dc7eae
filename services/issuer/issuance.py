"""Issuance: turn a completed assessment into credentials under the catalog's rules."""

import calendar
import json
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.issuer.models import Achievement, Credential
from services.issuer.openbadges import IssuerProfile, build_credential, sign_credential
from services.issuer.signing import SigningKeys
from services.issuer.status_lists import allocate_entry
from shared.bus.outbox import publish
from shared.errors import NotFound

CREDENTIAL_ISSUED = "skillstack.issuer.credential.issued.v1"


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def holds_valid(session: Session, employee_id: str, achievement_id: str, now: datetime) -> bool:
    """Whether the employee holds an unrevoked, unexpired credential of this achievement."""
    return (
        session.scalar(
            select(Credential.id).where(
                Credential.employee_id == employee_id,
                Credential.achievement_id == achievement_id,
                Credential.revoked_at.is_(None),
                or_(Credential.valid_until.is_(None), Credential.valid_until > now),
            ).limit(1)
        )
        is not None
    )


def issue_for_completion(
    session: Session,
    completion: dict,
    *,
    source_event_id: str,
    now: datetime,
    source: str,
    issuer: IssuerProfile,
    keys: SigningKeys,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> list[Credential]:
    """Issue every active achievement whose rule this completion meets; return what was issued.

    An attempt never issues the same achievement twice, and an employee who still holds a
    valid credential is not issued a second one; after expiry, passing again re-issues it.
    """
    achievements = session.scalars(
        select(Achievement).where(
            Achievement.assessment_id == completion["assessment_id"],
            Achievement.retired.is_(False),
            Achievement.min_score <= completion["score"],
        ).order_by(Achievement.id)
    )
    issued = []
    for achievement in achievements:
        already = session.scalar(
            select(Credential.id).where(
                Credential.attempt_id == completion["attempt_id"], Credential.achievement_id == achievement.id
            )
        )
        if already or holds_valid(session, completion["employee_id"], achievement.id, now):
            continue
        credential = Credential(
            id=new_id(),
            employee_id=completion["employee_id"],
            email=completion.get("email"),
            achievement_id=achievement.id,
            achievement_version=achievement.version,
            attempt_id=completion["attempt_id"],
            score=completion["score"],
            issued_at=now,
            valid_until=add_months(now, achievement.validity_months) if achievement.validity_months else None,
            source_event_id=source_event_id,
            recipient_salt=secrets.token_hex(16),
        )
        credential.status_list, credential.status_index = allocate_entry(session)
        document = build_credential(credential, achievement, issuer, completed_at=completion["completed_at"])
        credential.document, credential.jwt = json.dumps(document), sign_credential(document, keys)
        session.add(credential)
        session.flush()
        publish(
            session,
            CREDENTIAL_ISSUED,
            {
                "credential_id": credential.id,
                "employee_id": credential.employee_id,
                "achievement_id": achievement.id,
                "achievement_version": achievement.version,
                "achievement_name": achievement.name,
                "issued_at": credential.issued_at,
                "valid_until": credential.valid_until,
                "source_event_id": source_event_id,
            },
            source=source,
            now=lambda: now,
        )
        issued.append(credential)
    return issued


def credentials_of(session: Session, employee_id: str) -> list[Credential]:
    return list(
        session.scalars(
            select(Credential).where(Credential.employee_id == employee_id).order_by(Credential.issued_at)
        )
    )


def get_credential(session: Session, credential_id: str) -> Credential:
    credential = session.get(Credential, credential_id)
    if credential is None:
        raise NotFound(f"no credential {credential_id!r}")
    return credential
