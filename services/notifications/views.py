"""The notifications pages: a person's inbox and preferences, the unsubscribe link, HR's delivery log."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from services.notifications import delivery_log, inbox, preferences, webhooks
from services.notifications.config import listed
from services.notifications.unsubscribe import read_unsubscribe_token
from shared.auth import HR_ADMIN, current_principal, sign_in_required
from shared.errors import InvalidInput
from shared.intranet import fragment
from shared.web import csrf, database, now

bp = Blueprint("notifications", __name__, template_folder="templates")
DELIVERY_STATUSES = ("pending", "retrying", "sent", "failed")
SUMMARY_ITEMS = 3  # the newest inbox items the start page shows


@bp.get("/inbox")
@sign_in_required()
def my_inbox():
    """The signed-in person's inbox, newest first."""
    with database().transaction() as session:
        items = inbox.items_of(session, current_principal().subject, unread_only=False)
        unread = inbox.unread_count(session, current_principal().subject)
    return render_template("notifications/inbox.html", items=items, unread=unread)


@bp.get("/inbox/unread")
@fragment()
def unread_badge(principal):
    """The navigation's unread count (an htmx fragment): empty when nothing is unread or nobody is signed in."""
    with database().transaction() as session:
        unread = inbox.unread_count(session, principal.subject)
    return render_template("notifications/_unread_badge.html", unread=unread)


@bp.get("/inbox/summary")
@fragment("notifications/_inbox_summary.html")
def inbox_summary(principal):
    """The start page's inbox card (an htmx fragment): the unread count and the newest items."""
    with database().transaction() as session:
        items = inbox.items_of(session, principal.subject, unread_only=False, limit=SUMMARY_ITEMS)
        unread = inbox.unread_count(session, principal.subject)
        return render_template("notifications/_inbox_summary.html", signed_in=True, items=items, unread=unread)


@bp.post("/inbox/<item_id>/read")
@sign_in_required()
def read_item(item_id):
    """Mark one item read and follow its link."""
    with database().transaction() as session:
        item = inbox.mark_read(session, current_principal().subject, item_id, now=now())
        link = item.link
    return redirect(current_app.config["INTRANET_URL"].rstrip("/") + link)


@bp.post("/inbox/read-all")
@sign_in_required()
def read_all():
    with database().transaction() as session:
        marked = inbox.mark_all_read(session, current_principal().subject, now=now())
    flash(f"{marked} message{'s' if marked != 1 else ''} marked read.")
    return redirect(url_for(".my_inbox"))


@bp.get("/preferences")
@sign_in_required()
def my_preferences():
    """Which messages reach the signed-in person on which channel; their webhooks."""
    employee_id = current_principal().subject
    with database().transaction() as session:
        chosen = preferences.preferences_of(session, employee_id)
        own = {
            webhook.scope: {"id": webhook.id, "hint": webhooks.url_hint(webhook.url), "format": webhook.format}
            for webhook in webhooks.webhooks_visible_to(session, employee_id, everyone=False)
        }
    rows = {}
    for preference in chosen["preferences"]:
        rows.setdefault(preference["kind"], {"label": preference["label"]})[preference["channel"]] = preference
    return render_template("notifications/preferences.html", rows=rows, settings=chosen, webhooks=own, channels=preferences.MODES)


@bp.post("/preferences")
@sign_in_required()
def save_preferences():
    """Save the preferences form: a mode per kind and channel, the language and the time zone."""
    form = request.form
    changes = [
        {"kind": kind, "channel": channel, "mode": form[f"{kind}.{channel}"]}
        for kind in preferences.KINDS
        for channel in preferences.MODES
        if f"{kind}.{channel}" in form
    ]
    settings = {field: form.get(field, "").strip() or None for field in ("locale", "time_zone")}
    with database().transaction() as session:
        preferences.set_preferences(session, current_principal().subject, changes)
        preferences.set_locale_and_time_zone(session, current_principal().subject, settings)
    flash("Your preferences are saved.")
    return redirect(url_for(".my_preferences"))


@bp.post("/webhooks")
@sign_in_required()
def add_webhook():
    """Set the signed-in person's own or team webhook from the preferences page."""
    form, config = request.form, current_app.config
    scope, format = form.get("scope", ""), form.get("format", "slack")
    if scope not in (webhooks.PERSONAL, webhooks.TEAM) or format not in webhooks.FORMATS:
        raise InvalidInput("choose a personal or team webhook, in Slack or Teams format")
    url = form.get("url", "").strip()
    webhooks.check_url(url, allowed_hosts=listed(config["WEBHOOK_ALLOWED_HOSTS"]), allow_http=bool(config["WEBHOOK_ALLOW_HTTP"]))
    principal = current_principal()
    with database().transaction() as session:
        webhooks.add_webhook(session, owner_id=principal.subject, scope=scope, url=url, format=format,
                             created_by=principal.subject, may_manage_others=False, now=now())
    flash("The webhook is set: new messages will be posted to it.")
    return redirect(url_for(".my_preferences", _anchor="webhooks"))


@bp.post("/webhooks/<webhook_id>/delete")
@sign_in_required()
def remove_webhook(webhook_id):
    with database().transaction() as session:
        webhooks.remove_webhook(session, webhook_id, employee_id=current_principal().subject, may_manage_others=False)
    flash("The webhook is removed.")
    return redirect(url_for(".my_preferences", _anchor="webhooks"))


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token):
    """The page an email's unsubscribe link opens, without signing in: a button to confirm."""
    _, kind = read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    return render_template("notifications/unsubscribe.html", token=token, label=_label(kind), done=False)


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # the signed token is the authority, not a cookie; mail clients post here (RFC 8058 one-click)
def unsubscribe(token):
    """Stop the emails the token names."""
    employee_id, kind = read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    with database().transaction() as session:
        preferences.unsubscribe(session, employee_id, kind)
    return render_template("notifications/unsubscribe.html", token=token, label=_label(kind), done=True)


def _label(kind: str | None) -> str:
    return f"“{preferences.KINDS[kind].label}”" if kind else "all messages"


@bp.get("/deliveries")
@sign_in_required(role=HR_ADMIN)
def deliveries():
    """HR's delivery log, newest first, filtered by status."""
    status = request.args.get("status") or None
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidInput(f"status is one of {', '.join(DELIVERY_STATUSES)}")
    with database().transaction() as session:
        found = delivery_log.recent_deliveries(session, status=status, limit=200)
        counts = delivery_log.counts_by_status(session)
    return render_template("notifications/deliveries.html", deliveries=found, counts=counts, status=status, statuses=DELIVERY_STATUSES)
