"""Notifications as people choose them, against real PostgreSQL and a real HTTP webhook receiver:
preferences, webhooks, digests, HR's daily list, unsubscribe links, languages and the delivery log."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notifications.delivery import RetryPolicy
from services.notifications.webhook_delivery import WebhookDispatcher
from services.notifications.digests import send_digests, send_stuck_requests
from services.notifications.unsubscribe import unsubscribe_token
from tests.integration.helpers import handle, problem, rows, table_counts
from tests.integration.test_notifications_api import (
    SECRET_KEY, choose, credential_issued, digest_of, emails_to, handlers, inbox_of, join_directory, messenger,
)
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

CLOCK = datetime(2027, 5, 4, 9, tzinfo=UTC)
REQUESTED = "skillstack.pathways.advancement.requested.v1"
WITHDRAWN = "skillstack.pathways.advancement.withdrawn.v1"
EXPIRING = "skillstack.issuer.credential.expiring.v1"
RECERTIFICATION = "skillstack.pathways.recertification.needed.v1"
HOOK = "https://hooks.slack.com/services/T1/B2/secret-part"


def team(notifications, **employee_details):
    """A manager and one report in the directory; their ids."""
    employee, manager = unique("ada"), unique("boss")
    join_directory(notifications, manager, "Charles Babbage")
    join_directory(notifications, employee, "Ada Lovelace", manager, **employee_details)
    return employee, manager


def deliveries_of(notifications, recipient_id: str, channel: str) -> list[dict]:
    return rows(notifications, "SELECT * FROM deliveries WHERE recipient_id = :r AND channel = :c ORDER BY created_at", r=recipient_id, c=channel)


def request_data(employee: str, manager: str, *, requested_at: datetime) -> dict:
    return {"request_id": unique("req"), "employee_id": employee, "manager_id": manager, "pathway_id": "data-analyst",
            "pathway_name": "Data Analyst", "level": 1, "level_name": "Junior Analyst", "requested_at": requested_at}


# --- who hears what, as they chose ---------------------------------------------------------------


def test_an_employee_who_chose_the_digest_and_no_inbox_gets_neither_an_email_nor_an_item_at_once(notifications):
    employee, _ = team(notifications)
    choose(notifications, employee, "credential-issued", "email", "digest")
    choose(notifications, employee, "credential-issued", "inbox", "off")

    event = credential_issued(notifications, employee)

    assert (inbox_of(notifications, employee), emails_to(notifications, employee)) == ([], [])
    [entry] = digest_of(notifications, employee)
    assert (entry["event_id"], entry["kind"], entry["title"]) == (event.id, "credential-issued", 'You earned "SQL Foundations"')


def test_a_request_that_is_withdrawn_tells_the_manager_in_the_inbox_only(notifications):
    employee, manager = team(notifications)
    data = request_data(employee, manager, requested_at=CLOCK)
    handle(notifications, handlers(), REQUESTED, data)
    [asked] = emails_to(notifications, manager)
    assert asked["kind"] == "approval-requested" and f"/pathways/approvals#request-{data['request_id']}" in asked["text_body"]

    handle(notifications, handlers(), WITHDRAWN, {key: data[key] for key in ("request_id", "employee_id", "pathway_id", "pathway_name", "level", "level_name")}
           | {"decided_by": employee, "decided_at": CLOCK, "comment": ""})

    assert [item["kind"] for item in inbox_of(notifications, manager)] == ["approval-cancelled", "approval-requested"]
    assert [email["kind"] for email in emails_to(notifications, manager)] == ["approval-requested"]
    assert rows(notifications, "SELECT * FROM open_requests WHERE request_id = :r", r=data["request_id"]) == []


def test_a_manager_hears_when_a_level_of_their_report_needs_a_credential_renewed(notifications):
    employee, manager = team(notifications)

    handle(notifications, handlers(), RECERTIFICATION, {
        "employee_id": employee, "manager_id": manager, "pathway_id": "data-analyst", "pathway_name": "Data Analyst",
        "level": 1, "level_name": "Junior Analyst", "credential_id": unique("cred"), "achievement_id": "sql",
        "achievement_name": "SQL Foundations", "cause": "expired"})

    [email] = emails_to(notifications, manager)
    assert email["subject"] == 'Ada Lovelace needs to renew "SQL Foundations" for Junior Analyst'
    assert inbox_of(notifications, employee) == []


def test_people_who_left_are_told_nothing(notifications):
    employee, _ = team(notifications)
    join_directory(notifications, employee, "Ada Lovelace", None, active=False)

    credential_issued(notifications, employee)

    assert (inbox_of(notifications, employee), emails_to(notifications, employee)) == ([], [])


def test_dates_follow_the_directorys_language_and_time_zone_unless_the_person_chose_their_own(notifications):
    employee, _ = team(notifications, locale="de-DE", time_zone="Pacific/Auckland")
    expiring = {"credential_id": unique("cred"), "employee_id": employee, "achievement_id": "sql", "achievement_name": "SQL",
                "valid_until": datetime(2027, 6, 30, 22, 0, tzinfo=UTC)}  # already July 1st in Auckland

    handle(notifications, handlers(), EXPIRING, expiring)
    client = notifications.test_client()
    chose = client.patch("/api/preferences", json={"locale": "en-GB", "time_zone": "Europe/London"}, headers=bearer("notifications", employee))
    handle(notifications, handlers(), EXPIRING, expiring | {"credential_id": unique("cred")})

    assert chose.status_code == 200 and (chose.get_json()["locale"], chose.get_json()["directory_locale"]) == ("en-GB", "de-DE")
    assert sorted(email["subject"].rsplit(" on ", 1)[1] for email in emails_to(notifications, employee)) == ["1. Juli 2027", "30 June 2027"]


# --- preferences and webhooks through the API ---------------------------------------------------


def test_preferences_are_listed_with_defaults_changed_and_reset(notifications):
    client, employee = notifications.test_client(), unique("ada")
    me = bearer("notifications", employee)

    changed = client.patch("/api/preferences", headers=me, json={"preferences": [
        {"kind": "report-earned-credential", "channel": "email", "mode": "immediate"},
        {"kind": "credential-issued", "channel": "inbox", "mode": "off"}]})
    reset = client.patch("/api/preferences", headers=me, json={"preferences": [{"kind": "credential-issued", "channel": "inbox", "mode": None}]})

    modes = {(p["kind"], p["channel"]): (p["mode"], p["chosen"]) for p in changed.get_json()["preferences"]}
    assert modes["report-earned-credential", "email"] == ("immediate", True)
    assert modes["credential-issued", "inbox"] == ("off", True)
    assert modes["credential-revoked", "email"] == ("immediate", False)
    assert modes["credential-issued", "webhook"] == ("off", False)  # no webhook set
    after = {(p["kind"], p["channel"]): p["mode"] for p in reset.get_json()["preferences"]}
    assert after["credential-issued", "inbox"] == "immediate"


@pytest.mark.parametrize("body, field", [
    ({"preferences": [{"kind": "credential-issued", "channel": "inbox", "mode": "digest"}]}, "mode"),
    ({"preferences": [{"kind": "gossip", "channel": "email", "mode": "off"}]}, "kind"),
    ({"preferences": [{"kind": "credential-issued", "channel": "pigeon", "mode": "off"}]}, "channel"),
    ({"preferences": [{"kind": "credential-issued", "channel": "email", "mode": "off"}], "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"locale": "xx-NOPE"}, "locale"),
])
def test_invalid_preferences_are_refused_whole_and_change_nothing(notifications, body, field):
    client, employee = notifications.test_client(), unique("ada")
    before = table_counts(notifications, "preferences", "personal_settings")

    refused = problem(client.patch("/api/preferences", headers=bearer("notifications", employee), json=body), 422)

    assert field in json.dumps(refused)
    assert table_counts(notifications, "preferences", "personal_settings") == before


def test_a_webhook_url_is_checked_kept_secret_and_only_its_owner_or_hr_manage_it(notifications):
    client, employee, other = notifications.test_client(), unique("ada"), unique("grace")
    me, hr = bearer("notifications", employee), bearer("notifications", unique("hr"), roles=("hr-admin",))
    before = table_counts(notifications, "webhooks")

    for url in ("http://hooks.slack.com/x", "https://169.254.169.254/latest", "https://user:pw@hooks.slack.com/x"):
        problem(client.post("/api/webhooks", headers=me, json={"url": url}), 422)
    problem(client.post("/api/webhooks", headers=me, json={"url": HOOK, "owner_id": other}), 403)
    assert table_counts(notifications, "webhooks") == before

    created = client.post("/api/webhooks", headers=me, json={"url": HOOK, "format": "teams"})
    replaced = client.post("/api/webhooks", headers=me, json={"url": HOOK + "2"})

    assert created.status_code == 201 and HOOK not in created.get_data(as_text=True)
    assert replaced.get_json()["url_hint"] == "https://hooks.slack.com/…art2"
    assert [hook["id"] for hook in client.get("/api/webhooks", headers=me).get_json()] == [replaced.get_json()["id"]]
    problem(client.delete(f"/api/webhooks/{replaced.get_json()['id']}", headers=bearer("notifications", other)), 404)
    assert client.delete(f"/api/webhooks/{replaced.get_json()['id']}", headers=hr).status_code == 204
    assert client.get("/api/webhooks", headers=me).get_json() == []


def test_a_personal_webhook_and_a_team_channel_get_their_messages_queued(notifications):
    employee, manager = team(notifications)
    client = notifications.test_client()
    client.post("/api/webhooks", headers=bearer("notifications", employee), json={"url": HOOK})
    client.post("/api/webhooks", headers=bearer("notifications", manager), json={"url": HOOK, "scope": "team", "format": "teams"})

    event = credential_issued(notifications, employee, "SQL <Foundations>")

    [personal] = deliveries_of(notifications, employee, "webhook")
    [team_post] = deliveries_of(notifications, f"team:{manager}", "webhook")
    assert json.loads(personal["html_body"])["text"].startswith('You earned "SQL &lt;Foundations&gt;"\n<http://intranet.test/issuer/wallet#credential-')
    card = json.loads(team_post["html_body"])["attachments"][0]["content"]
    assert card["body"][0]["text"] == 'Ada Lovelace earned "SQL <Foundations>"'
    assert {personal["event_id"], team_post["event_id"]} == {event.id}
    assert deliveries_of(notifications, manager, "webhook") == []  # the manager has no webhook of their own


# --- sending webhooks to a real HTTP server --------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """An incoming-webhook endpoint on loopback answering each post with the next status of a script."""

    def __init__(self, statuses: list[int]):
        self.statuses, self.posts = statuses, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((dict(self.headers), json.loads(body)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/T1"


@pytest.mark.parametrize("statuses, outcome", [
    ([500, 503], ("sent", 3, 3)),  # retried until the receiver recovers
    ([404], ("failed", 1, 1)),  # gone: not retried
])
def test_webhook_posts_are_retried_while_the_receiver_fails_and_given_up_when_it_refuses(notifications, statuses, outcome):
    clock = datetime(2002, 2, 2, tzinfo=UTC) + timedelta(minutes=len(statuses))  # only this test's posts are due
    receiver = Receiver(list(statuses))
    employee, _ = team(notifications)
    with notifications.extensions["database"].transaction() as session:
        from services.notifications.webhooks import add_webhook
        add_webhook(session, owner_id=employee, scope="personal", url=receiver.url, format="slack", created_by=employee,
                    may_manage_others=False, now=clock)
    credential_issued(notifications, employee, clock=clock)
    dispatcher = WebhookDispatcher(notifications.extensions["database"], RetryPolicy(max_attempts=5, base_seconds=0.0), lambda: clock)
    try:
        for _ in range(4):
            dispatcher.send_due()
    finally:
        receiver.shutdown()

    [delivery] = deliveries_of(notifications, employee, "webhook")
    assert (delivery["status"], delivery["attempts"], len(receiver.posts)) == outcome
    assert {headers["X-Skillstack-Delivery"] for headers, _ in receiver.posts} == {delivery["id"]}
    assert receiver.posts[-1][1]["text"].startswith('You earned "SQL Foundations"')
    assert (delivery["last_error"] is None) == (outcome[0] == "sent")
    hr = bearer("notifications", unique("hr"), roles=("hr-admin",))
    logged = notifications.test_client().get("/api/deliveries", query_string={"recipient_id": employee, "channel": "webhook"}, headers=hr)
    assert [(row["status"], row["attempts"]) for row in logged.get_json()] == [outcome[:2]]


def test_two_workers_sending_at_once_never_post_the_same_message_twice(notifications):
    clock = datetime(2003, 3, 3, tzinfo=UTC)  # only this test's posts are due
    receiver = Receiver([])
    employees = [team(notifications)[0] for _ in range(6)]
    with notifications.extensions["database"].transaction() as session:
        from services.notifications.webhooks import add_webhook
        for employee in employees:
            add_webhook(session, owner_id=employee, scope="personal", url=receiver.url, format="slack", created_by=employee,
                        may_manage_others=False, now=clock)
    for employee in employees:
        credential_issued(notifications, employee, clock=clock)
    workers = [WebhookDispatcher(notifications.extensions["database"], RetryPolicy(), lambda: clock) for _ in range(2)]
    try:
        threads = [threading.Thread(target=worker.send_due) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        receiver.shutdown()

    posted = [headers["X-Skillstack-Delivery"] for headers, _ in receiver.posts]
    assert len(posted) == len(set(posted)) == len(employees)


# --- daily messages ----------------------------------------------------------------------------------


def test_the_daily_digest_goes_out_once_at_the_persons_morning_with_everything_held(notifications):
    employee, manager = team(notifications)
    join_directory(notifications, manager, "Charles Babbage", time_zone="America/New_York")
    credential_issued(notifications, employee, "SQL Foundations")
    credential_issued(notifications, employee, "Python Foundations")
    early = datetime(2027, 5, 5, 11, tzinfo=UTC)  # 7:00 in New York
    morning = early + timedelta(hours=1)

    with notifications.extensions["database"].transaction() as session:
        send_digests(session, messenger(), now=early, hour=8)
    assert emails_to(notifications, manager) == []
    for moment in (morning, morning + timedelta(hours=3)):
        with notifications.extensions["database"].transaction() as session:
            send_digests(session, messenger(), now=moment, hour=8)

    [digest] = emails_to(notifications, manager)
    assert (digest["kind"], digest["subject"]) == ("daily-digest", "Your Skillstack digest: 2 updates")
    assert 'Ada Lovelace earned "SQL Foundations"' in digest["text_body"] and "Python Foundations" in digest["html_body"]
    assert {entry["digest_id"] for entry in digest_of(notifications, manager)} == {digest["event_id"]}


def test_hr_hears_once_a_day_of_requests_waiting_longer_than_the_limit(notifications):
    employee, manager = team(notifications)
    hr = unique("hana")
    join_directory(notifications, hr, "Hana HR")
    now = datetime(2031, 1, 15, 9, tzinfo=UTC)
    stale = request_data(employee, manager, requested_at=now - timedelta(days=8))
    handle(notifications, handlers(), REQUESTED, stale)
    handle(notifications, handlers(), REQUESTED, request_data(employee, manager, requested_at=now - timedelta(days=2)) | {"level": 2, "level_name": "Analyst"})

    for moment in (now, now + timedelta(hours=2)):
        with notifications.extensions["database"].transaction() as session:
            send_stuck_requests(session, messenger(), now=moment, hour=8, hr_ids=[hr], after_days=7)

    [email] = emails_to(notifications, hr)
    [item] = inbox_of(notifications, hr)
    assert email["kind"] == item["kind"] == "stuck-requests"
    assert "Ada Lovelace: Junior Analyst (Data Analyst)" in email["text_body"] and "Analyst (Data Analyst), waiting" not in email["text_body"].replace("Junior Analyst (Data Analyst), waiting", "")
    assert "manager Charles Babbage" in email["text_body"]


# --- unsubscribe without signing in -------------------------------------------------------------------


def test_the_unsubscribe_link_stops_that_kind_of_email_without_signing_in(notifications):
    employee, _ = team(notifications)
    client = notifications.test_client()
    link = f"/unsubscribe/{unsubscribe_token(SECRET_KEY, employee, 'credential-issued')}"

    page = client.get(link)
    done = client.post(link)  # as a mail client's one-click unsubscribe does: no session, no CSRF token

    assert page.status_code == 200 and "I earn a credential" in page.get_data(as_text=True)
    assert done.status_code == 200 and "no longer receive emails" in done.get_data(as_text=True)
    credential_issued(notifications, employee)
    assert emails_to(notifications, employee) == [] and len(inbox_of(notifications, employee)) == 1
    assert client.get(link[:-3] + "xyz").status_code == 404


# --- pages --------------------------------------------------------------------------------------------


def test_the_preferences_page_saves_choices_and_the_delivery_log_is_for_hr(notifications):
    employee = unique("ada")
    browser = signed_in(notifications, employee)
    page = browser.get("/preferences").get_data(as_text=True)

    saved = browser.post("/preferences", data={"csrf_token": csrf_token(page), "credential-issued.email": "off", "time_zone": "Asia/Tokyo"})
    refused = browser.post("/preferences", data={"csrf_token": csrf_token(page), "credential-issued.email": "loud"})

    assert saved.status_code == 302
    assert refused.status_code == 422 and "email can be immediate, digest, off" in refused.get_data(as_text=True)
    shown = browser.get("/preferences").get_data(as_text=True)
    assert 'value="Asia/Tokyo"' in shown
    assert rows(notifications, "SELECT mode FROM preferences WHERE employee_id = :e", e=employee) == [{"mode": "off"}]
    assert browser.get("/deliveries").status_code == 403
    assert signed_in(notifications, unique("hana"), roles=("hr-admin",)).get("/deliveries?status=failed").status_code == 200


def test_inbox_titles_with_html_are_shown_as_text_on_the_inbox_page(notifications):
    employee, _ = team(notifications)
    credential_issued(notifications, employee, '<img src=x onerror=alert(1)>')

    page = signed_in(notifications, employee).get("/inbox").get_data(as_text=True)

    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
