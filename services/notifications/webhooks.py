"""Webhooks: Slack- or Teams-compatible incoming-webhook URLs, a person's own or a manager's team
channel, and the JSON each receives. A webhook URL is a credential: it is stored to be used and
never shown again in full."""

import json
import uuid
from datetime import datetime
from fnmatch import fnmatch
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notifications.models import Webhook
from shared.errors import Forbidden, InvalidInput, NotFound

PERSONAL, TEAM = "personal", "team"
FORMATS = ("slack", "teams")


def check_url(url: str, *, allowed_hosts: list[str], allow_http: bool) -> None:
    """Refuse URLs that are not HTTPS to an allowed webhook host, so the worker can't be aimed at the intranet."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if len(url) > 2000 or parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise InvalidInput("the webhook URL must be an https:// URL without credentials, at most 2000 characters",
                           errors={"url": ["not a valid webhook URL"]})
    if not any(fnmatch(parts.hostname.lower(), pattern.lower()) for pattern in allowed_hosts):
        raise InvalidInput(f"webhooks may only go to {', '.join(allowed_hosts)}", errors={"url": ["host not allowed"]})


def add_webhook(
    session: Session, *, owner_id: str, scope: str, url: str, format: str, created_by: str, may_manage_others: bool, now: datetime
) -> Webhook:
    """Set a person's own webhook or a manager's team webhook (replacing the previous one)."""
    if owner_id != created_by and not may_manage_others:
        raise Forbidden("you may only set your own webhooks")
    for existing in session.scalars(select(Webhook).where(Webhook.owner_id == owner_id, Webhook.scope == scope)):
        session.delete(existing)
    session.flush()
    webhook = Webhook(id=str(uuid.uuid4()), owner_id=owner_id, scope=scope, url=url, format=format, created_by=created_by, created_at=now)
    session.add(webhook)
    session.flush()
    return webhook


def webhooks_visible_to(session: Session, employee_id: str, *, everyone: bool) -> list[Webhook]:
    query = select(Webhook).order_by(Webhook.owner_id, Webhook.scope)
    return list(session.scalars(query if everyone else query.where(Webhook.owner_id == employee_id)))


def remove_webhook(session: Session, webhook_id: str, *, employee_id: str, may_manage_others: bool) -> Webhook:
    """Remove one of the person's webhooks (anyone's, for HR); the webhook removed."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or (webhook.owner_id != employee_id and not may_manage_others):
        raise NotFound(f"no webhook {webhook_id!r}")
    session.delete(webhook)
    return webhook


def url_hint(url: str) -> str:
    """Enough of a webhook URL to recognise it, not enough to post to it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…{url[-4:]}"


def payload(format: str, subject: str, link: str) -> str:
    """The JSON body an incoming webhook of `format` expects for one message."""
    if format == "teams":
        card = {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": subject, "wrap": True}],
            "actions": [{"type": "Action.OpenUrl", "title": "Open in Skillstack", "url": link}],
        }
        return json.dumps({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]})
    # Slack's mrkdwn: &, < and > are control characters and must be escaped in text.
    text = subject.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return json.dumps({"text": f"{text}\n<{link}|Open in Skillstack>"})
