"""Outages of the mail server and of a webhook, as the notifications issue asked to see them: events
go on being handled, messages wait and are retried, and once the outage ends every message
arrives, once. A webhook that is gone fails at once, and HR can see why."""

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.scenario import Academy, Person
from tests.support import completion_record, produce, wait_for


@dataclass(frozen=True)
class Post:
    """One POST the webhook receiver saw, and the status it answered."""

    path: str
    headers: dict
    body: dict
    status: int

    @property
    def owner(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def headline(self) -> str:
        """The first line of a Slack message: the notification's subject."""
        return self.body["text"].split("\n", 1)[0]


class WebhookReceiver:
    """A Slack-style incoming webhook on loopback: answers 500 while `failing` is set, 404 under /gone/."""

    def __init__(self):
        self.posts: list[Post] = []
        self.failing = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 404 if self.path.startswith("/gone/") else 500 if receiver.failing.is_set() else 200
                with receiver._lock:
                    receiver.posts.append(Post(self.path, dict(self.headers), body, status))
                answer = {200: b"ok", 404: b"no_service", 500: b"internal_error"}[status]
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass  # the test reads `posts`, not a log

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def url(self, person: Person, *, gone: bool = False) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{'gone' if gone else 'hooks'}/{person.employee_id}"

    def seen(self, tag: str, status: int | None = None) -> list[Post]:
        """The posts for one academy's people, optionally only those answered with `status`."""
        with self._lock:
            return [post for post in self.posts if tag in post.path and status in (None, post.status)]


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def notifications_db(service_databases):
    engine = create_engine(service_databases["notifications"])
    yield engine
    engine.dispose()


def tag_of(academy: Academy) -> str:
    """The suffix every id and address of one academy's people ends with."""
    return academy.manager.employee_id.removeprefix("mgr-")


def scalar(engine, sql: str, **params):
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def deliveries(engine, tag: str, channel: str) -> list:
    """The academy's deliveries on one channel, as rows."""
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT id, recipient_id, kind, status, attempts, last_error FROM deliveries WHERE channel = :c AND recipient_id LIKE :p"),
            {"c": channel, "p": f"%{tag}"},
        ).all()


def all_sent(engine, tag: str, channel: str) -> list | None:
    """The academy's deliveries on one channel once every one of them is sent."""
    rows = deliveries(engine, tag, channel)
    return rows if rows and all(row.status == "sent" for row in rows) else None


def staffed_academy(platform, engine, employees: int, *, pathway: bool = True) -> Academy:
    """An academy with its catalog, pathway and org chart, once notifications knows everyone."""
    academy = Academy(platform, employees=employees)
    academy.define_catalog()
    if pathway:
        academy.define_pathway()
    academy.import_org_chart()
    people = employees + 2  # and the manager and their manager
    wait_for(
        lambda: scalar(engine, "SELECT count(*) FROM recipients WHERE employee_id LIKE :p", p=f"%{tag_of(academy)}") == people,
        timeout=30, message="the directory to reach notifications",
    )
    return academy


def burst(platform, academy: Academy) -> None:
    """Every employee passes SQL and Python at once: level 1 is complete, the manager must decide."""
    records = [
        completion_record(academy.completion(person, achievement_id, 90))
        for person in academy.employees
        for achievement_id in (academy.sql, academy.python)
    ]
    produce(platform.kafka_bootstrap, "academy.assessments", records)


def waiting_for_retry(rows: list, expected: int) -> bool:
    """All expected deliveries exist and each has failed at least once and waits for its next try."""
    return len(rows) >= expected and all(row.status == "retrying" and row.attempts >= 1 for row in rows)


def test_emails_wait_out_a_mail_server_outage_and_then_arrive_once(platform, notifications_db):
    employees = 40
    academy = staffed_academy(platform, notifications_db, employees)
    tag = tag_of(academy)
    # Immediate emails by default: the employee's earned credentials and the manager's request to
    # review. The manager's "report earned a credential" waits for the daily digest.
    expected_emails = {"credential-issued": employees * 2, "approval-requested": employees}
    expected_inbox = employees * 2 + employees * 2 + employees  # earned (employee), earned (manager), review
    inbox_items = lambda: scalar(notifications_db, "SELECT count(*) FROM inbox_items WHERE recipient_id LIKE :p", p=f"%{tag}")

    platform.mail.stop()
    stopped = time.monotonic()
    try:
        burst(platform, academy)
        # Events are handled while the mail server is down: every inbox item is written...
        wait_for(lambda: inbox_items() == expected_inbox, timeout=40, interval=0.2, message="every inbox item while SMTP is down")
        # ...and every email was tried, refused, and waits for its retry.
        wait_for(
            lambda: waiting_for_retry(deliveries(notifications_db, tag, "email"), sum(expected_emails.values())),
            timeout=20, interval=0.2, message="every email to be tried and scheduled for a retry",
        )
        inbox_while_down = inbox_items()
    finally:
        platform.mail.start()
    down_for = time.monotonic() - stopped
    assert inbox_while_down == expected_inbox

    def settled():
        messages = platform.mail.to(tag)  # every address of the academy contains its tag; read before the rows
        rows = all_sent(notifications_db, tag, "email")
        return (messages, rows) if rows and len({m["Message-ID"] for m in messages}) >= len(rows) else None

    messages, rows = wait_for(settled, timeout=30, interval=0.2, message="every email once the mail server is back")
    by_message_id = Counter(message["Message-ID"] for message in messages)
    by_recipient_and_subject = Counter((message["To"], message["Subject"]) for message in messages)
    duplicates = sum(n - 1 for n in by_message_id.values())
    kinds = Counter(row.kind for row in rows)
    digests = kinds.pop("daily-digest", 0)  # the manager's digest, if their local hour came during the test
    print(f"emails: {len(rows)} expected, {len(messages)} received, {duplicates} duplicates, down for {down_for:.1f} s")
    assert kinds == expected_emails and digests <= 1
    assert set(by_message_id) == {f"<{row.id}@skillstack>" for row in rows}  # a message for every row, no stray one
    assert duplicates == 0
    assert max(by_recipient_and_subject.values()) == 1
    assert all(row.status == "sent" and row.attempts >= 2 for row in rows if row.kind != "daily-digest")


def test_webhook_posts_wait_out_a_receiver_answering_500_and_then_arrive_once(platform, notifications_db, webhook_receiver):
    employees = 20
    academy = staffed_academy(platform, notifications_db, employees)
    tag, manager = tag_of(academy), academy.manager
    for person in (*academy.employees, manager):
        response = platform.post(
            "notifications", "/api/webhooks",
            json={"url": webhook_receiver.url(person), "format": "slack", "scope": "personal"},
            headers=academy.as_person("notifications", person),
        )
        assert response.status_code == 201, response.text
    # A personal webhook hears every kind at once: the employee's two credentials; the manager's
    # two reports of a report's credentials and one request to review.
    expected = Counter(
        [(person.employee_id, f'You earned "{name}"') for person in academy.employees for name in ("SQL Foundations", "Python Foundations")]
        + [(manager.employee_id, f'{person.name} earned "{name}"') for person in academy.employees for name in ("SQL Foundations", "Python Foundations")]
        + [(manager.employee_id, f"{person.name} is ready for Junior Analyst: please review") for person in academy.employees]
    )

    webhook_receiver.failing.set()
    failing_since = time.monotonic()
    burst(platform, academy)
    wait_for(
        lambda: waiting_for_retry(deliveries(notifications_db, tag, "webhook"), sum(expected.values())),
        timeout=40, interval=0.2, message="every webhook post to be refused and scheduled for a retry",
    )
    webhook_receiver.failing.clear()
    failed_for = time.monotonic() - failing_since

    rows = wait_for(
        lambda: all_sent(notifications_db, tag, "webhook"),
        timeout=30, interval=0.2, message="every webhook post once the receiver recovers",
    )
    delivered, refused = webhook_receiver.seen(tag, 200), webhook_receiver.seen(tag, 500)
    by_delivery = Counter(post.headers["X-Skillstack-Delivery"] for post in delivered)
    by_text = Counter((post.owner, post.headline) for post in delivered)
    refusals = Counter(post.headers["X-Skillstack-Delivery"] for post in refused)
    duplicates = sum(n - 1 for n in by_delivery.values())
    print(f"webhook posts: {len(rows)} expected, {len(delivered)} delivered, {duplicates} duplicates, "
          f"{len(refused)} answered 500 over {failed_for:.1f} s")
    assert len(rows) == sum(expected.values())
    assert duplicates == 0 and set(by_delivery) == {row.id for row in rows}
    assert by_text == expected
    # Every post was refused at least once, and each row counts exactly the attempts the receiver saw.
    assert set(refusals) == {row.id for row in rows}
    assert {row.id: row.attempts for row in rows} == {row_id: refusals[row_id] + 1 for row_id in by_delivery}
    assert all(post.headers["Content-Type"] == "application/json" for post in delivered)


def test_a_webhook_that_is_gone_fails_after_one_attempt_and_hr_sees_why(platform, notifications_db, webhook_receiver):
    academy = staffed_academy(platform, notifications_db, 1, pathway=False)
    employee = academy.employee
    response = platform.post(
        "notifications", "/api/webhooks",
        json={"url": webhook_receiver.url(employee, gone=True), "format": "slack", "scope": "personal"},
        headers=academy.as_person("notifications", employee),
    )
    assert response.status_code == 201, response.text

    assert academy.post_completion(academy.completion(employee, academy.sql, 90)).status_code == 202
    [row] = wait_for(
        lambda: [row for row in deliveries(notifications_db, tag_of(academy), "webhook") if row.status == "failed"],
        timeout=30, interval=0.2, message="the webhook delivery to fail",
    )
    assert (row.kind, row.attempts) == ("credential-issued", 1)
    assert row.last_error.startswith("DeliveryFailed: HTTP 404"), row.last_error
    [post] = webhook_receiver.seen(tag_of(academy))
    assert (post.status, post.headers["X-Skillstack-Delivery"]) == (404, row.id)

    log = platform.get(
        "notifications", f"/api/deliveries?status=failed&recipient_id={employee.employee_id}", headers=academy.hr("notifications")
    )
    assert log.status_code == 200, log.text
    assert [(d["id"], d["channel"], d["status"], d["attempts"], d["last_error"]) for d in log.json()] == [
        (row.id, "webhook", "failed", 1, row.last_error)
    ]
    print(f"gone webhook: {row.attempts} attempt, failed with {row.last_error!r}")
    not_hr = platform.get("notifications", "/api/deliveries?status=failed", headers=academy.as_person("notifications", employee))
    assert not_hr.status_code == 403
