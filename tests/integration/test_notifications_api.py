"""Notifications against real PostgreSQL: events become inbox items and queued emails, once; the inbox API."""

from datetime import UTC, datetime

import pytest

from services.notifications.handlers import build_handlers
from services.notifications.messages import MessageRenderer
from services.notifications.notify import Messenger
from services.notifications.preferences import set_preferences
from tests.integration.helpers import handle, handle_event, problem, rows, table_counts
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
ISSUED = "skillstack.issuer.credential.issued.v1"
CLOCK = datetime(2027, 5, 4, 9, tzinfo=UTC)
WRITTEN_TABLES = ("inbox_items", "deliveries", "digest_entries")
SECRET_KEY = "test-session-signing-key"  # the apps' (tests/support.py): unsubscribe links are signed with it


def messenger() -> Messenger:
    return Messenger(MessageRenderer("http://intranet.test"), SECRET_KEY)


def handlers(clock=CLOCK):
    return build_handlers(clock=lambda: clock, messenger=messenger())


def choose(notifications, employee_id: str, kind: str, channel: str, mode: str | None) -> None:
    """Record a person's preference, as their preferences page does."""
    with notifications.extensions["database"].transaction() as session:
        set_preferences(session, employee_id, [{"kind": kind, "channel": channel, "mode": mode}])


def join_directory(notifications, employee_id: str, name: str, manager_id: str | None = None, *, clock=CLOCK, **more) -> None:
    """Project a person.upserted event, as the worker does."""
    data = {"employee_id": employee_id, "email": f"{employee_id}@example.com", "name": name, "manager_id": manager_id} | more
    handle(notifications, handlers(clock), PERSON_UPSERTED, data)


def credential_issued(notifications, employee_id: str, achievement_name: str = "SQL Foundations", *, clock=CLOCK):
    """Handle a credential.issued event for the employee; return the event."""
    data = {
        "credential_id": unique("credential"),
        "employee_id": employee_id,
        "achievement_id": unique("sql-foundations"),
        "achievement_version": 1,
        "achievement_name": achievement_name,
        "issued_at": clock,
        "valid_until": datetime(2029, 5, 4, tzinfo=UTC),
        "source_event_id": unique("completion"),
    }
    return handle(notifications, handlers(clock), ISSUED, data)


def inbox_of(notifications, recipient_id: str) -> list[dict]:
    return rows(notifications, "SELECT * FROM inbox_items WHERE recipient_id = :r ORDER BY kind", r=recipient_id)


def emails_to(notifications, recipient_id: str) -> list[dict]:
    return rows(notifications, "SELECT * FROM deliveries WHERE recipient_id = :r AND channel = 'email' ORDER BY kind", r=recipient_id)


def digest_of(notifications, recipient_id: str) -> list[dict]:
    return rows(notifications, "SELECT * FROM digest_entries WHERE recipient_id = :r ORDER BY created_at, kind", r=recipient_id)


def test_a_credential_issued_tells_the_employee_at_once_and_their_manager_in_the_inbox_and_digest_once(notifications):
    employee, manager = unique("ada"), unique("boss")
    join_directory(notifications, manager, "Charles Babbage")
    join_directory(notifications, employee, "Ada Lovelace", manager)

    event = credential_issued(notifications, employee)

    [employee_item] = inbox_of(notifications, employee)
    [manager_item] = inbox_of(notifications, manager)
    assert (employee_item["kind"], employee_item["event_id"], employee_item["read_at"]) == ("credential-issued", event.id, None)
    assert employee_item["title"] == 'You earned "SQL Foundations"'
    assert employee_item["link"] == f"/issuer/wallet#credential-{event.data['credential_id']}"
    assert (manager_item["kind"], manager_item["event_id"]) == ("report-earned-credential", event.id)
    assert "Ada Lovelace" in manager_item["title"]
    [employee_email] = emails_to(notifications, employee)
    assert (employee_email["status"], employee_email["attempts"], employee_email["event_id"]) == ("pending", 0, event.id)
    assert employee_email["next_attempt_at"] == CLOCK
    assert "http://intranet.test/issuer/wallet#credential-" in employee_email["html_body"]
    assert "http://intranet.test/notifications/unsubscribe/" in employee_email["text_body"]
    assert "valid until May 4, 2029" in employee_email["text_body"]
    assert emails_to(notifications, manager) == []  # a manager's pride waits for their daily digest by default
    [entry] = digest_of(notifications, manager)
    assert (entry["kind"], entry["event_id"], entry["digest_id"]) == ("report-earned-credential", event.id, None)
    before = table_counts(notifications, *WRITTEN_TABLES)

    handle_event(notifications, handlers(), event)

    assert table_counts(notifications, *WRITTEN_TABLES) == before


def test_a_credential_name_with_html_is_escaped_in_the_email(notifications):
    employee = unique("ada")
    join_directory(notifications, employee, "Ada <b>Lovelace</b>")

    credential_issued(notifications, employee, '<script>alert("owned")</script> & <i>SQL</i>')

    [email] = emails_to(notifications, employee)
    assert "<script>" not in email["html_body"] and "<i>" not in email["html_body"] and "<b>" not in email["html_body"]
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt; &amp; &lt;i&gt;SQL&lt;/i&gt;" in email["html_body"]
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in email["html_body"]


def test_the_inbox_shows_and_marks_only_the_callers_items(notifications):
    client = notifications.test_client()
    employee, manager = unique("ada"), unique("boss")
    join_directory(notifications, manager, "Charles Babbage")
    join_directory(notifications, employee, "Ada Lovelace", manager)
    credential_issued(notifications, employee, "SQL Foundations")
    credential_issued(notifications, employee, "Python Foundations")
    mine = {row["id"] for row in inbox_of(notifications, employee)}
    managers = {row["id"] for row in inbox_of(notifications, manager)}
    assert len(mine) == 2 and len(managers) == 2
    me = bearer("notifications", employee)

    listed = client.get("/api/inbox", headers=me)

    assert listed.status_code == 200
    assert {item["id"] for item in listed.get_json()} == mine
    assert {item["title"] for item in listed.get_json()} == {'You earned "SQL Foundations"', 'You earned "Python Foundations"'}
    assert client.get("/api/inbox/unread-count", headers=me).get_json() == {"unread": 2}

    first, second = sorted(mine)
    marked = client.post(f"/api/inbox/{first}/read", headers=me)

    assert marked.status_code == 200 and marked.get_json()["id"] == first and marked.get_json()["read_at"]
    assert client.get("/api/inbox/unread-count", headers=me).get_json() == {"unread": 1}
    assert [item["id"] for item in client.get("/api/inbox?unread=true", headers=me).get_json()] == [second]

    someone_elses = sorted(managers)[0]
    problem(client.post(f"/api/inbox/{someone_elses}/read", headers=me), 404)
    assert all(row["read_at"] is None for row in inbox_of(notifications, manager))

    everything = client.post("/api/inbox/read-all", headers=me)

    assert everything.status_code == 200 and everything.get_json() == {"marked": 1}
    assert client.get("/api/inbox/unread-count", headers=me).get_json() == {"unread": 0}
    assert all(row["read_at"] is not None for row in inbox_of(notifications, employee))
    assert client.get("/api/inbox/unread-count", headers=bearer("notifications", manager)).get_json() == {"unread": 2}


def test_the_inbox_needs_a_token_for_this_service(notifications):
    client = notifications.test_client()

    problem(client.get("/api/inbox"), 401)
    problem(client.get("/api/inbox", headers=bearer("issuer", unique("ada"))), 401)
