"""What a fault run must end with, counted where it lands: credentials per attempt (issuer), advancement
requests per employee (pathways), inbox items and email deliveries per kind (notifications), emails
received per Message-ID (the mail catcher) and dead letters per poison marker (`<topic>.dlq`)."""

import time
from collections import Counter
from dataclasses import dataclass

from kafka.errors import KafkaError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.e2e.test_exactly_once import caught_up
from tests.e2e.test_notification_outages import tag_of
from tests.faults.stream import ASSESSMENTS, MARKER, Stream
from tests.support import read_topic

DIGEST = "daily-digest"  # a manager's daily digest may go out during a run: at most one each


@dataclass
class Tally:
    """One look at every place a completion's effects land."""

    credentials: Counter  # attempt id -> credentials issued for it
    requests: Counter  # employee id -> advancement requests
    inbox: Counter  # kind -> inbox items
    emails: Counter  # kind -> email deliveries
    unsent_emails: int
    held: set[str]  # unsent email deliveries whose next attempt a dispatcher's claim pushed ahead (a one-minute lease)
    received: Counter  # Message-ID -> copies received
    expected_message_ids: set[str]
    dead_letters: Counter  # poison marker -> records on the DLQ
    dead_letter_sources: dict[str, set]  # poison marker -> the (partition, offset) its dead letters came from
    unpublished: int  # outbox rows of the three services not yet on Kafka
    caught_up: bool


def _excess(got: Counter, expected: Counter) -> int:
    """How many more than expected, summed over keys."""
    return sum(max(0, got[key] - expected[key]) for key in got)


def _missing(got: Counter, expected: Counter) -> int:
    """How many fewer than expected, summed over keys."""
    return sum(max(0, expected[key] - got[key]) for key in expected)


class Ledger:
    """Counts a stream's effects and compares them with what exactly-once processing must give."""

    def __init__(self, platform, service_databases: dict[str, str], stream: Stream):
        self.platform = platform
        self.stream = stream
        self.tag = tag_of(stream.academy)
        self.engines = {name: create_engine(url, pool_pre_ping=True) for name, url in service_databases.items()}
        self.held_since: dict[str, float] = {}
        employees = [person.employee_id for person in stream.academy.employees]
        people = len(employees)
        self.expected = {
            "credentials": Counter({attempt: 1 for attempt in stream.valid}),
            "requests": Counter({employee: 1 for employee in employees}),
            # earned (employee), a report earned (manager), review a request (manager)
            "inbox": Counter({"credential-issued": 3 * people, "report-earned-credential": 3 * people, "approval-requested": people}),
            # the manager's "report earned" waits for the daily digest
            "emails": Counter({"credential-issued": 3 * people, "approval-requested": people}),
            "dead_letters": Counter({marker: 1 for marker in stream.markers}),
        }

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def _rows(self, service: str, sql: str, **params) -> list:
        with self.engines[service].connect() as connection:
            return connection.execute(text(sql), params).all()

    def tally(self) -> Tally:
        """Count everything now (a few queries, a read of the dead-letter topic)."""
        like = f"%{self.tag}"
        # Read the outboxes and the lag before the effects: whatever was in flight then is counted below.
        unpublished = sum(
            self._rows(service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0] for service in self.engines
        )
        lag_zero = caught_up(self.platform)
        credentials = Counter(dict(self._rows(
            "issuer", "SELECT attempt_id, count(*) FROM credentials WHERE employee_id LIKE :p GROUP BY attempt_id", p=like)))
        requests = Counter(dict(self._rows(
            "pathways", "SELECT employee_id, count(*) FROM advancement_requests WHERE manager_id = :m GROUP BY employee_id",
            m=self.stream.academy.manager.employee_id)))
        inbox = Counter(dict(self._rows(
            "notifications", "SELECT kind, count(*) FROM inbox_items WHERE recipient_id LIKE :p GROUP BY kind", p=like)))
        deliveries = self._rows(
            "notifications",
            "SELECT id, kind, status, status <> 'sent' AND next_attempt_at > now() + interval '20 seconds' AS held "
            "FROM deliveries WHERE channel = 'email' AND recipient_id LIKE :p", p=like)
        held = {row.id for row in deliveries if row.held}
        self.held_since = {delivery: self.held_since.get(delivery, time.monotonic()) for delivery in held}
        received = Counter(message["Message-ID"] for message in self.platform.mail.to(self.tag))
        markers = self.stream.markers
        dead_letters, sources = Counter(), {}
        for record in read_topic(self.platform.kafka_bootstrap, ASSESSMENTS + ".dlq"):
            headers = dict(record.headers or [])
            marker = headers.get(MARKER, b"").decode()
            if marker in markers:
                dead_letters[marker] += 1
                sources.setdefault(marker, set()).add((headers["dlq.source.partition"], headers["dlq.source.offset"]))
        return Tally(
            credentials=credentials, requests=requests, inbox=inbox,
            emails=Counter(row.kind for row in deliveries if row.kind != DIGEST),
            unsent_emails=sum(1 for row in deliveries if row.status != "sent"), held=held,
            received=received, expected_message_ids={f"<{row.id}@skillstack>" for row in deliveries},
            dead_letters=dead_letters, dead_letter_sources=sources, unpublished=unpublished, caught_up=lag_zero,
        )

    def stuck(self, tally: Tally, after: float = 15.0) -> set[str]:
        """Deliveries held by a claim for `after` seconds: not a batch in flight but one nobody will finish."""
        return {delivery for delivery in tally.held if time.monotonic() - self.held_since[delivery] > after}

    def expire_claims(self, deliveries: set[str]) -> None:
        """Let these deliveries' claims run out now instead of within the minute, as time would."""
        with self.engines["notifications"].begin() as connection:
            connection.execute(
                text("UPDATE deliveries SET next_attempt_at = now() WHERE id = ANY(:ids) AND status <> 'sent'"), {"ids": list(deliveries)}
            )

    def complete(self, tally: Tally) -> bool:
        """Everything expected has landed, nothing is in flight any more, and the consumers caught up."""
        return (
            all(_missing(getattr(tally, name), expected) == 0 for name, expected in self.expected.items())
            and tally.unsent_emails == 0
            and tally.expected_message_ids <= set(tally.received)
            and tally.unpublished == 0
            and tally.caught_up
        )

    def wait_until(self, condition, since: float, timeout: float, message: str) -> tuple[Tally, float]:
        """Poll until `condition(tally)`; return the tally and the seconds from `since` until then.

        Fails early if a worker process died: the platform must recover without a supervisor's restart."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            for service, worker in self.platform.workers.items():
                code = worker.process.poll()
                assert code is None, f"the {service} worker exited with {code}: see {worker.log}"
            try:
                last = self.tally()
                if condition(last):
                    return last, time.monotonic() - since
            except (DBAPIError, KafkaError) as error:  # a server just restarted: look again
                last = last or error
            assert time.monotonic() < deadline, (
                f"{message}: not reached after {timeout} s: {self.describe(last) if isinstance(last, Tally) else last}"
            )
            time.sleep(0.5)

    def figures(self, tally: Tally) -> dict:
        """Duplicates and losses per layer, in one dictionary."""
        duplicates, losses = {}, {}
        for name, expected in self.expected.items():
            duplicates[name], losses[name] = _excess(getattr(tally, name), expected), _missing(getattr(tally, name), expected)
        # At-least-once copies, recognisable as such: an email's Message-ID, a dead letter's source offset.
        duplicates["emails received"] = sum(n - 1 for n in tally.received.values())
        losses["emails received"] = len(tally.expected_message_ids - set(tally.received))
        duplicates["stray emails"] = len(set(tally.received) - tally.expected_message_ids)
        return {"duplicates": duplicates, "losses": losses}

    def describe(self, tally: Tally) -> str:
        """A tally in one line, for a failure message."""
        figures = self.figures(tally)
        return (f"credentials {sum(tally.credentials.values())}/{len(self.expected['credentials'])}, "
                f"requests {sum(tally.requests.values())}/{len(self.expected['requests'])}, inbox {dict(tally.inbox)}, "
                f"emails {dict(tally.emails)} ({tally.unsent_emails} unsent, {len(tally.held)} held by a claim, {len(tally.received)} received), "
                f"dead letters {sum(tally.dead_letters.values())}/{len(self.expected['dead_letters'])}, "
                f"unpublished {tally.unpublished}, caught up {tally.caught_up}; {figures}")
