"""The pathways event handlers: the catalog and credential projections, progress and recertification."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from services.pathways.analytics import replace_skill_alignments
from services.pathways.models import CatalogEntry, HeldCredential
from services.pathways.progress import pathways_needing, update_progress
from services.pathways.recertification import announce_recertification_needs
from services.pathways.request_lifecycle import close_unmet_requests
from shared.events import Event

TOPICS = ["issuer.catalog", "issuer.credentials"]


def build_handlers(
    *, source: str, clock: Callable[[], datetime], progress: bool = True
) -> dict[str, Callable[[Session, Event], None]]:
    """The handlers of the pathways worker, bound to its event source and clock.

    With `progress=False` they keep the projections (catalog, held credentials) only and never
    touch progress or requests, nor publish: what a replay rebuilds (see replay.py).
    """

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
                prerequisites=list(data.get("prerequisites") or []),
                effort_hours=data.get("effort_hours"),
            )
        )
        replace_skill_alignments(session, data["achievement_id"], data.get("skills") or [])

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
        if not progress:
            return
        pathways = pathways_needing(session, data["achievement_id"])
        update_progress(session, data["employee_id"], pathways, now=clock(), source=source)

    def mark(status: str):
        def on_credential_ended(session: Session, event: Event) -> None:
            held = session.get(HeldCredential, event.data["credential_id"])
            if held is not None:
                was_valid = held.status == "valid"
                held.status = status
                if not progress:
                    return
                session.flush()
                # A level is decided on what the employee holds at decision time: a lost credential re-opens the gap.
                close_unmet_requests(
                    session, held.employee_id, credential_id=held.credential_id, cause=status, now=clock(), source=source
                )
                if was_valid:  # a credential revoked after it expired was announced at its expiry
                    announce_recertification_needs(
                        session, held, achievement_name=event.data["achievement_name"], cause=status, now=clock(), source=source
                    )

        return on_credential_ended

    return {
        "skillstack.issuer.credential.defined.v1": on_credential_defined,
        "skillstack.issuer.credential.issued.v1": on_credential_issued,
        "skillstack.issuer.credential.revoked.v1": mark("revoked"),
        "skillstack.issuer.credential.expired.v1": mark("expired"),
    }
