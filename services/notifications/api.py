"""The notifications JSON API: the signed-in person's inbox."""


from services.notifications import inbox
from services.notifications.schemas import InboxItemOutput, InboxQuery, MarkedOutput, UnreadCountOutput
from shared.auth import current_principal, require
from shared.web import ApiBlueprint, database, now

bp = ApiBlueprint("notifications_api", __name__, url_prefix="/api", description="The in-app inbox")


@bp.get("/inbox")
@require()
@bp.arguments(InboxQuery, location="query")
@bp.response(200, InboxItemOutput(many=True))
def list_inbox(query):
    """The caller's newest inbox items."""
    with database().transaction() as session:
        return inbox.items_of(session, current_principal().subject, unread_only=query["unread"])


@bp.get("/inbox/unread-count")
@require()
@bp.response(200, UnreadCountOutput)
def count_unread():
    """How many of the caller's items are unread."""
    with database().transaction() as session:
        return {"unread": inbox.unread_count(session, current_principal().subject)}


@bp.post("/inbox/<item_id>/read")
@require()
@bp.response(200, InboxItemOutput)
def mark_read(item_id):
    """Mark one of the caller's items read."""
    with database().transaction() as session:
        return inbox.mark_read(session, current_principal().subject, item_id, now=now())


@bp.post("/inbox/read-all")
@require()
@bp.response(200, MarkedOutput)
def mark_all_read():
    """Mark all of the caller's items read."""
    with database().transaction() as session:
        return {"marked": inbox.mark_all_read(session, current_principal().subject, now=now())}
