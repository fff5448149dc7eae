"""Issuance: turn a completed assessment into credentials under the catalog's rules."""

import calendar
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.issuer import rules
from services.issuer.models import Achievement, Credential, WithheldIssuance
from services.issuer.openbadges import IssuerProfile, build_credential, sign_credential
from services.issuer.signing import SigningKeys
from services.issuer.status_lists import allocate_entry
from shared.bus.outbox import publish
from shared.errors import NotFound

CREDENTIAL_ISSUED = "skillstack.issuer.credential.issued.v1"
log = logging.getLogger(__name__)


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
    An achievement whose prerequisites the employee does not validly hold is withheld, and
    the attempt, achievement and missing prerequisites are recorded in `withheld_issuances`.
    """
    candidates = session.scalars(
        select(Achievement).where(
            Achievement.assessment_id == completion["assessment_id"], Achievement.retired.is_(False)
        ).order_by(Achievement.id)
    )
    issued = []
    for achievement in _prerequisites_first([found for found in candidates if rules.meets(found, completion)]):
        already = session.scalar(
            select(Credential.id).where(
                Credential.attempt_id == completion["attempt_id"], Credential.achievement_id == achievement.id
            )
        )
        if already or holds_valid(session, completion["employee_id"], achievement.id, now):
            continue
        missing = [needed for needed in achievement.prerequisites if not holds_valid(session, completion["employee_id"], needed, now)]
        if missing:
            _withhold(session, achievement, completion, missing, source_event_id=source_event_id, now=now)
            continue
        credential = issue_credential(
            session, achievement, employee_id=completion["employee_id"], email=completion.get("email"),
            attempt_id=completion["attempt_id"], score=completion.get("score"), completed_at=completion["completed_at"],
            source_event_id=source_event_id, now=now, source=source, issuer=issuer, keys=keys, new_id=new_id,
            outcome=completion,
        )
        issued.append(credential)
    return issued


def _prerequisites_first(achievements: list[Achievement]) -> list[Achievement]:
    """Order achievements met by one attempt so that one another requires is issued before it."""
    by_id = {achievement.id: achievement for achievement in achievements}

    def depth(achievement: Achievement) -> int:  # the catalog refuses cycles
        return 1 + max((depth(by_id[needed]) for needed in achievement.prerequisites if needed in by_id), default=0)

    return sorted(achievements, key=depth)


def _withhold(session: Session, achievement: Achievement, completion: dict, missing: list[str], *, source_event_id: str, now: datetime) -> None:
    """Record, once per attempt and achievement, that missing prerequisites withheld a credential."""
    log.warning(
        "not issuing %s to %s for attempt %s: missing prerequisites %s",
        achievement.id, completion["employee_id"], completion["attempt_id"], ", ".join(missing),
    )
    if session.get(WithheldIssuance, (completion["attempt_id"], achievement.id)) is None:
        session.add(WithheldIssuance(
            attempt_id=completion["attempt_id"], achievement_id=achievement.id, achievement_version=achievement.version,
            employee_id=completion["employee_id"], missing_prerequisites=missing, source_event_id=source_event_id, recorded_at=now,
        ))
        session.flush()


def withheld_for(session: Session, employee_id: str) -> list[WithheldIssuance]:
    """The credentials withheld from an employee for missing prerequisites, oldest first."""
    return list(
        session.scalars(
            select(WithheldIssuance).where(WithheldIssuance.employee_id == employee_id).order_by(WithheldIssuance.recorded_at)
        )
    )


def issue_credential(
    session: Session,
    achievement: Achievement,
    *,
    employee_id: str,
    email: str | None,
    attempt_id: str,
    score: float | None,
    completed_at: datetime,
    source_event_id: str,
    now: datetime,
    source: str,
    issuer: IssuerProfile,
    keys: SigningKeys,
    evidence: list[dict] | None = None,
    outcome: dict | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> Credential:
    """Create, sign and announce one credential of an achievement; the caller has checked it is due."""
    credential = Credential(
        id=new_id(),
        employee_id=employee_id,
        email=email,
        achievement_id=achievement.id,
        achievement_version=achievement.version,
        attempt_id=attempt_id,
        score=score,
        issued_at=now,
        valid_until=add_months(now, achievement.validity_months) if achievement.validity_months else None,
        source_event_id=source_event_id,
        recipient_salt=secrets.token_hex(16),
    )
    credential.status_list, credential.status_index = allocate_entry(session)
    document = build_credential(credential, achievement, issuer, completed_at=completed_at, evidence=evidence, outcome=outcome)
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
    return credential


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
