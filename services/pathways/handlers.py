"""The pathways event handlers: the catalog and credential projections, and progress."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from services.pathways.models import CatalogEntry, HeldCredential
from services.pathways.progress import pathways_needing, update_progress
from shared.events import Event

TOPICS = ["issuer.catalog", "issuer.credentials"]


def build_handlers(*, source: str, clock: Callable[[], datetime]) -> dict[str, Callable[[Session, Event], None]]:
    """The handlers of the pathways worker, bound to its event source and clock."""

    def on_credential_defined(session: Session, event: Event) -> None:
        data = event.data
        entry = session.get(CatalogEntry, data["achievement_id"])
        if entry is not None and entry.version > data["version"]:
            return  # an older version arriving late
        session.merge(
            CatalogEntry(
                achievement_id=data["achievement_id"],
                version=data["version"],
                name=data["name"],
                category=data["category"],
                retired=data["retired"],
            )
        )

    def on_credential_issued(session: Session, event: Event) -> None:
        data = event.data
        if session.get(HeldCredential, data["credential_id"]) is None:
            session.add(
                HeldCredential(
                    credential_id=data["credential_id"],
                    employee_id=data["employee_id"],
                    achievement_id=data["achievement_id"],
                    issued_at=data["issued_at"],
                    valid_until=data["valid_until"],
                    status="valid",
                )
            )
            session.flush()
        pathways = pathways_needing(session, data["achievement_id"])
        update_progress(session, data["employee_id"], pathways, now=clock(), source=source)

    def mark(status: str):
        def on_credential_ended(session: Session, event: Event) -> None:
            held = session.get(HeldCredential, event.data["credential_id"])
            if held is not None:
                held.status = status

        return on_credential_ended

    return {
        "skillstack.issuer.credential.defined.v1": on_credential_defined,
        "skillstack.issuer.credential.issued.v1": on_credential_issued,
        "skillstack.issuer.credential.revoked.v1": mark("revoked"),
        "skillstack.issuer.credential.expired.v1": mark("expired"),
    }
