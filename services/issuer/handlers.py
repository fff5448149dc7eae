"""The issuer's event handlers: event type -> function(session, event).

Completions issue credentials; the directory's person events keep the `people` projection.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from services.issuer.intake import ASSESSMENT_COMPLETED
from services.issuer.issuance import issue_for_completion
from services.issuer.models import Credential
from services.issuer.openbadges import IssuerProfile
from services.issuer.people import PERSON_UPSERTED, upsert_person
from services.issuer.signing import SigningKeys
from shared.events import Event


def build_handlers(
    *, source: str, clock: Callable[[], datetime], issuer: IssuerProfile, keys: SigningKeys,
    on_issued: Callable[[Session, Event, list[Credential]], None] = lambda session, event, issued: None,
) -> dict[str, Callable[[Session, Event], None]]:
    """The handlers of the issuer's worker, bound to its event source, clock, profile and keys;
    `on_issued` hears of the credentials a completion caused (the worker measures issuance latency)."""

    def on_assessment_completed(session: Session, event: Event) -> None:
        issued = issue_for_completion(
            session, event.data, source_event_id=event.id, now=clock(), source=source, issuer=issuer, keys=keys
        )
        if issued:
            on_issued(session, event, issued)

    def on_person_upserted(session: Session, event: Event) -> None:
        upsert_person(session, event.data)

    return {ASSESSMENT_COMPLETED: on_assessment_completed, PERSON_UPSERTED: on_person_upserted}


TOPICS = ["academy.assessments", "directory.people"]
