"""Revocation: HR withdraws a credential, with a reason; its status-list bit is set."""

from datetime import datetime

from sqlalchemy.orm import Session

from services.issuer.issuance import get_credential
from services.issuer.models import Achievement
from shared.bus.outbox import publish
from shared.errors import Conflict

CREDENTIAL_REVOKED = "skillstack.issuer.credential.revoked.v1"


def revoke(session: Session, credential_id: str, *, reason: str, now: datetime, source: str):
    """Revoke an issued credential and announce it; revoking twice is a conflict."""
    credential = get_credential(session, credential_id)
    if credential.revoked_at is not None:
        raise Conflict(f"the credential was already revoked on {credential.revoked_at.date().isoformat()}")
    credential.revoked_at, credential.revocation_reason = now, reason
    achievement = session.get(Achievement, credential.achievement_id)
    publish(
        session,
        CREDENTIAL_REVOKED,
        {
            "credential_id": credential.id,
            "employee_id": credential.employee_id,
            "achievement_id": credential.achievement_id,
            "achievement_name": achievement.name,
            "revoked_at": now,
            "reason": reason,
        },
        source=source,
        now=lambda: now,
    )
    return credential
