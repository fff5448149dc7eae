"""The notifications JSON API: the caller's inbox, preferences and webhooks; HR's delivery log."""

from flask import current_app

from services.notifications import delivery_log, inbox, preferences, webhooks
from services.notifications.config import listed
from services.notifications.schemas import (
    DeliveryOutput, DeliveryQuery, InboxItemOutput, InboxQuery, MarkedOutput, PreferencesInput, PreferencesOutput,
    UnreadCountOutput, WebhookInput, WebhookOutput,
)
from shared import audit
from shared.auth import HR_ADMIN, current_principal, require
from shared.web import ApiBlueprint, database, now, problems

bp = ApiBlueprint("notifications_api", __name__, url_prefix="/api", description="Inbox, preferences, webhooks and the delivery log")


@bp.get("/inbox")
@require()
@bp.arguments(InboxQuery, location="query")
@bp.response(200, InboxItemOutput(many=True))
@bp.doc(responses=problems(401, 422))
def list_inbox(query):
    """The caller's newest inbox items."""
    with database().transaction() as session:
        return inbox.items_of(session, current_principal().subject, unread_only=query["unread"])


@bp.get("/inbox/unread-count")
@require()
@bp.response(200, UnreadCountOutput)
@bp.doc(responses=problems(401))
def count_unread():
    """How many of the caller's items are unread."""
    with database().transaction() as session:
        return {"unread": inbox.unread_count(session, current_principal().subject)}


@bp.post("/inbox/<item_id>/read")
@require()
@bp.response(200, InboxItemOutput)
@bp.doc(responses=problems(401, 404))
def mark_read(item_id):
    """Mark one of the caller's items read."""
    with database().transaction() as session:
        return inbox.mark_read(session, current_principal().subject, item_id, now=now())


@bp.post("/inbox/read-all")
@require()
@bp.response(200, MarkedOutput)
@bp.doc(responses=problems(401))
def mark_all_read():
    """Mark all of the caller's items read."""
    with database().transaction() as session:
        return {"marked": inbox.mark_all_read(session, current_principal().subject, now=now())}


@bp.get("/preferences")
@require()
@bp.response(200, PreferencesOutput)
@bp.doc(responses=problems(401))
def get_preferences():
    """Which messages reach the caller on which channel, and in which language and time zone."""
    with database().transaction() as session:
        return preferences.preferences_of(session, current_principal().subject)


@bp.patch("/preferences")
@require()
@bp.arguments(PreferencesInput)
@bp.response(200, PreferencesOutput)
@bp.doc(responses=problems(400, 401, 415, 422))
def put_preferences(changes):
    """Change some of the caller's choices (`mode: null` restores a default) and their language and time zone."""
    employee_id = current_principal().subject
    with database().transaction() as session:
        preferences.set_preferences(session, employee_id, changes["preferences"])
        preferences.set_locale_and_time_zone(session, employee_id, changes)
    with database().transaction() as session:
        return preferences.preferences_of(session, employee_id)


def webhook_output(webhook) -> dict:
    return {field: getattr(webhook, field) for field in ("id", "owner_id", "scope", "format", "created_by", "created_at")} | {
        "url_hint": webhooks.url_hint(webhook.url)
    }


@bp.get("/webhooks")
@require()
@bp.response(200, WebhookOutput(many=True))
@bp.doc(responses=problems(401))
def list_webhooks():
    """The caller's webhooks (HR: everyone's)."""
    principal = current_principal()
    with database().transaction() as session:
        found = webhooks.webhooks_visible_to(session, principal.subject, everyone=principal.has_role(HR_ADMIN))
        return [webhook_output(webhook) for webhook in found]


@bp.post("/webhooks")
@require()
@bp.arguments(WebhookInput)
@bp.response(201, WebhookOutput)
@bp.doc(responses=problems(400, 401, 403, 415, 422))
def add_webhook(body):
    """Set the caller's own webhook, or their team's (a manager's reports' news); HR may set anyone's."""
    principal, config = current_principal(), current_app.config
    webhooks.check_url(body["url"], allowed_hosts=listed(config["WEBHOOK_ALLOWED_HOSTS"]), allow_http=bool(config["WEBHOOK_ALLOW_HTTP"]))
    with database().transaction() as session:
        webhook = webhooks.add_webhook(
            session, owner_id=body["owner_id"] or principal.subject, scope=body["scope"], url=body["url"], format=body["format"],
            created_by=principal.subject, may_manage_others=principal.has_role(HR_ADMIN), now=now(),
        )
        if webhook.owner_id != principal.subject:  # HR acting for someone else; a person's own webhook is their preference
            audit.record(session, "webhook.set", "webhook", webhook.id,
                         {"owner_id": webhook.owner_id, "scope": webhook.scope, "format": webhook.format})
        return webhook_output(webhook)


@bp.delete("/webhooks/<webhook_id>")
@require()
@bp.response(204)
@bp.doc(responses=problems(401, 403, 404))
def remove_webhook(webhook_id):
    """Remove one of the caller's webhooks (HR: anyone's)."""
    principal = current_principal()
    with database().transaction() as session:
        webhook = webhooks.remove_webhook(
            session, webhook_id, employee_id=principal.subject, may_manage_others=principal.has_role(HR_ADMIN)
        )
        if webhook.owner_id != principal.subject:  # HR acting for someone else
            audit.record(session, "webhook.removed", "webhook", webhook.id, {"owner_id": webhook.owner_id, "scope": webhook.scope})


@bp.get("/deliveries")
@require(role=HR_ADMIN)
@bp.arguments(DeliveryQuery, location="query")
@bp.response(200, DeliveryOutput(many=True))
@bp.doc(responses=problems(401, 403, 422))
def list_deliveries(query):
    """The delivery log: the newest emails and webhook posts, with their status and last error."""
    with database().transaction() as session:
        return delivery_log.recent_deliveries(session, **query)
