"""Daily messages: each person's digest of the messages they chose to receive once a day, and HR's
list of advancement requests waiting too long. Each is composed once per person per local day."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.notifications.messages import Notice
from services.notifications.models import Delivery, DigestEntry, InboxItem, OpenRequest, Recipient
from services.notifications.notify import Messenger, deliver, queue_email
from shared.db import insert_if_absent
from shared.events import Event

DIGEST_NAMESPACE = uuid.UUID("5b0f2a4e-3c1d-4e8b-9a57-2f6d9c1e7a30")
OVERVIEW = "/pathways/overview"
HOME = "/pathways/"


def track_request(session: Session, event: Event) -> None:
    """Keep the open-requests projection: a request is open from its request until any ending."""
    data = event.data
    if event.type == "skillstack.pathways.advancement.requested.v1":
        insert_if_absent(session, OpenRequest.__table__, dict(
            request_id=data["request_id"], employee_id=data["employee_id"], manager_id=data["manager_id"],
            pathway_name=data["pathway_name"], level_name=data["level_name"], requested_at=data["requested_at"],
        ))
    else:
        session.execute(delete(OpenRequest).where(OpenRequest.request_id == data["request_id"]))


def daily_id(name: str, recipient_id: str, local_now: datetime) -> str:
    """The id of a daily message: the same all day long, so it is composed once."""
    return str(uuid.uuid5(DIGEST_NAMESPACE, f"{name}:{recipient_id}:{local_now.date().isoformat()}"))


def local_time(messenger: Messenger, session: Session, recipient_id: str, now: datetime) -> tuple[datetime, object]:
    audience = messenger.audience(session, recipient_id, None)
    return now.astimezone(ZoneInfo(audience.time_zone)), audience


def send_digests(session: Session, messenger: Messenger, *, now: datetime, hour: int) -> int:
    """Email each person whose local time has reached `hour` today the messages held for their digest."""
    waiting = session.scalars(select(DigestEntry.recipient_id).where(DigestEntry.digest_id.is_(None)).distinct()).all()
    sent = 0
    for recipient_id in waiting:
        local_now, audience = local_time(messenger, session, recipient_id, now)
        if local_now.hour < hour:
            continue
        digest_id = daily_id("digest", recipient_id, local_now)
        entries = session.scalars(
            select(DigestEntry)
            .where(DigestEntry.recipient_id == recipient_id, DigestEntry.digest_id.is_(None))
            .order_by(DigestEntry.created_at, DigestEntry.id)
        ).all()
        message = messenger.renderer.render_kind("daily-digest", audience, link=HOME, entries=entries)
        if queue_email(session, messenger, recipient_id, "daily-digest", digest_id, message, now=now):
            session.execute(update(DigestEntry).where(DigestEntry.id.in_([entry.id for entry in entries])).values(digest_id=digest_id))
            sent += 1
    return sent


def send_stuck_requests(session: Session, messenger: Messenger, *, now: datetime, hour: int, hr_ids: list[str], after_days: int) -> int:
    """Tell each HR recipient, once a day, which requests have waited more than `after_days` days."""
    stuck = session.scalars(
        select(OpenRequest).where(OpenRequest.requested_at <= now - timedelta(days=after_days)).order_by(OpenRequest.requested_at)
    ).all()
    if not stuck:
        return 0
    names = dict(session.execute(select(Recipient.employee_id, Recipient.name).where(
        Recipient.employee_id.in_({r.employee_id for r in stuck} | {r.manager_id for r in stuck if r.manager_id})
    )).all())
    requests = [
        {"employee_name": names.get(r.employee_id, r.employee_id), "manager_name": names.get(r.manager_id, r.manager_id or "none"),
         "pathway_name": r.pathway_name, "level_name": r.level_name, "requested_at": r.requested_at}
        for r in stuck
    ]
    told = 0
    for hr_id in hr_ids:
        local_now, _ = local_time(messenger, session, hr_id, now)
        event_id = daily_id("stuck-requests", hr_id, local_now)
        if local_now.hour < hour or _already_told(session, event_id):
            continue
        notice = Notice(hr_id, "stuck-requests", OVERVIEW)
        audience = messenger.audience(session, hr_id, notice.kind)
        message = messenger.renderer.render_kind(notice.kind, audience, link=OVERVIEW, requests=requests, days=after_days)
        deliver(session, messenger, notice, event_id, message, now=now)
        told += 1
    return told


def _already_told(session: Session, event_id: str) -> bool:
    return any(
        session.scalar(select(model.id).where(model.event_id == event_id).limit(1)) is not None
        for model in (InboxItem, Delivery, DigestEntry)
    )
