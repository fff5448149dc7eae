"""The notifications event handlers: the recipients and open-requests projections, and messages for people."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from services.notifications.digests import track_request
from services.notifications.notify import Messenger, notify, upsert_recipient
from shared.events import Event

TOPICS = ["directory.people", "issuer.credentials", "pathways.advancements"]
NOTIFIED_TYPES = (
    "skillstack.issuer.credential.issued.v1",
    "skillstack.issuer.credential.revoked.v1",
    "skillstack.issuer.credential.expiring.v1",
    "skillstack.issuer.credential.expired.v1",
    "skillstack.pathways.recertification.needed.v1",
)
REQUEST_TYPES = (
    "skillstack.pathways.advancement.requested.v1",
    "skillstack.pathways.advancement.approved.v1",
    "skillstack.pathways.advancement.rejected.v1",
    "skillstack.pathways.advancement.withdrawn.v1",
    "skillstack.pathways.advancement.closed.v1",
)


def build_handlers(*, clock: Callable[[], datetime], messenger: Messenger) -> dict[str, Callable[[Session, Event], None]]:
    """The handlers of the notifications worker, bound to its clock and messenger."""

    def on_person_upserted(session: Session, event: Event) -> None:
        upsert_recipient(session, event.data)

    def on_notable_event(session: Session, event: Event) -> None:
        notify(session, event, messenger, now=clock())

    def on_request_event(session: Session, event: Event) -> None:
        track_request(session, event)
        notify(session, event, messenger, now=clock())

    return (
        {"skillstack.directory.person.upserted.v1": on_person_upserted}
        | {event_type: on_notable_event for event_type in NOTIFIED_TYPES}
        | {event_type: on_request_event for event_type in REQUEST_TYPES}
    )
