"""The employee's wallet: their credentials with status, and the choice to share each one."""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from services.issuer.issuance import credentials_of, get_credential
from services.issuer.models import AchievementVersion, Credential
from services.issuer.openbadges import IssuerProfile
from shared.errors import Forbidden


def status_of(credential: Credential, now: datetime) -> str:
    """valid, expired or revoked, as a verifier would find it."""
    if credential.revoked_at is not None:
        return "revoked"
    if credential.valid_until is not None and credential.valid_until <= now:
        return "expired"
    return "valid"


def share_links(credential: Credential, achievement_name: str, issuer: IssuerProfile) -> dict:
    """The public verification page, and LinkedIn's add-to-profile link for it."""
    page = issuer.credential_url(credential.id)
    linkedin = {
        "startTask": "CERTIFICATION_NAME",
        "name": achievement_name,
        "organizationName": issuer.name,
        "issueYear": credential.issued_at.year,
        "issueMonth": credential.issued_at.month,
        "certUrl": page,
        "certId": credential.id,
    }
    if credential.valid_until is not None:
        linkedin |= {"expirationYear": credential.valid_until.year, "expirationMonth": credential.valid_until.month}
    return {"share_url": page, "linkedin_url": "https://www.linkedin.com/profile/add?" + urlencode(linkedin)}


def set_sharing(session: Session, credential_id: str, *, holder_id: str, public: bool) -> Credential:
    """Only the holder decides whether their credential is shared publicly."""
    credential = get_credential(session, credential_id)
    if credential.employee_id != holder_id:
        raise Forbidden("only the credential's holder can share it")
    credential.public = public
    return credential


@dataclass(frozen=True)
class WalletEntry:
    """One credential as its holder sees it: what it is, whether it holds, and how to share it."""

    credential: Credential
    achievement_name: str  # of the version it was issued under
    status: str
    share_url: str
    linkedin_url: str


def wallet_of(session: Session, employee_id: str, *, issuer: IssuerProfile, now: datetime) -> list[WalletEntry]:
    """The employee's credentials, newest first, each with its status and share links."""
    entries = []
    for credential in reversed(credentials_of(session, employee_id)):
        version = session.get(AchievementVersion, (credential.achievement_id, credential.achievement_version))
        name = version.name if version is not None else credential.achievement_id
        entries.append(WalletEntry(credential, name, status_of(credential, now), **share_links(credential, name, issuer)))
    return entries
