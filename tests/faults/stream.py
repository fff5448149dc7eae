"""A stream of assessment completions through both doors of the issuer, as an LMS sends them: the
intake API (`POST /api/completions`, retried until answered) and records produced straight onto
`academy.assessments` (retried until acknowledged), shuffled across employees, with duplicates and
poison messages mixed in on demand."""

import json
import random
import threading
import time
from dataclasses import dataclass, field

import requests
from kafka import KafkaProducer
from kafka.errors import KafkaError

from tests.e2e.scenario import Academy
from tests.support import completion_record, unique, wait_for

ASSESSMENTS = "academy.assessments"
MARKER = "x-fault-marker"  # a header on every poison message, so its dead letter can be found
SCORES = {"sql": 90, "python": 85, "viz": 95}  # each above its credential's pass mark


@dataclass
class Send:
    """One thing sent: a completion posted to the API, or a record produced onto the topic."""

    channel: str  # "api" | "kafka"
    kind: str  # completion | repost | same-event-id | other-door | poison
    completion: dict | None = None  # api: the body posted
    record: tuple[bytes | None, bytes | None, list] | None = None  # kafka: (key, value, headers)
    marker: str | None = None  # poison: what identifies its dead letter


def poison(academy: Academy, kind: str) -> Send:
    """A poison record of one kind for one of the academy's employees (same key, same partition as their events)."""
    marker = unique(f"poison-{kind}")
    employee = academy.employees[0]
    key = employee.employee_id.encode()
    _key, valid_body, valid_headers = completion_record(academy.completion(employee, academy.sql, 95))
    envelope = json.loads(valid_body)
    envelope["id"] = marker
    if kind == "not-json":
        value = f"not json {marker}".encode()
    elif kind == "binary":
        value = b"\xff\xfe\x00\x81" + random.Random(marker).randbytes(256)
    elif kind == "not-a-cloudevent":
        value = json.dumps({"hello": marker, "data": envelope["data"]}).encode()
    elif kind == "wrong-schema":
        envelope["data"]["score"] = "high"
        value = json.dumps(envelope).encode()
    elif kind == "unknown-type":
        envelope["type"] = "skillstack.academy.assessment.graded.v9"
        value = json.dumps(envelope).encode()
    elif kind == "tombstone":
        value = None
    elif kind == "overlong-id":
        # Valid data, but an id longer than processed_events can hold: the handler's transaction
        # fails every time, so it is dead-lettered after the bounded retries.
        envelope["id"] = marker + "-" + "x" * 300
        value = json.dumps(envelope).encode()
    elif kind == "large-invalid":
        # Invalid: a score of 900 KB of text.
        envelope["data"]["score"] = "x" * 900_000
        value = json.dumps(envelope).encode()
    elif kind == "huge-invalid":
        # 3 MB once decompressed: the broker takes it, as it checks the compressed batch against its 1 MB
        # limit, but it is too big to dead-letter whole (the dead-letter producer allows 2 MiB).
        envelope["data"]["score"] = "x" * 3_000_000
        value = json.dumps(envelope).encode()
    else:
        raise ValueError(kind)
    headers = ([] if kind in ("not-json", "binary", "not-a-cloudevent") else valid_headers) + [(MARKER, marker.encode())]
    return Send("kafka", "poison", record=(key, value, headers), marker=marker)


@dataclass
class Stream:
    """Every employee passes the three assessments; half the completions reach the API, half the topic."""

    platform: object
    academy: Academy
    seed: int = 0
    sends: dict[str, list[Send]] = field(default_factory=lambda: {"api": [], "kafka": []})
    valid: dict[str, dict] = field(default_factory=dict)  # attempt id -> completion
    sent: dict[str, int] = field(default_factory=lambda: {"api": 0, "kafka": 0})
    api_retries: int = 0  # answers other than 202 (5xx, refused connections) that the LMS retried
    api_answers: dict[str, int] = field(default_factory=dict)  # accepted | duplicate
    kafka_resends: int = 0  # records the LMS produced again after a failed acknowledgement
    errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.random = random.Random(self.seed)
        academy = self.academy
        completions = [
            academy.completion(person, achievement, SCORES[name])
            for person in academy.employees
            for name, achievement in (("sql", academy.sql), ("python", academy.python), ("viz", academy.viz))
        ]
        self.random.shuffle(completions)  # out of order across employees
        self.valid = {completion["attempt_id"]: completion for completion in completions}
        for number, completion in enumerate(completions):
            if number % 2:
                self.sends["kafka"].append(Send("kafka", "completion", completion, completion_record(completion)))
            else:
                self.sends["api"].append(Send("api", "completion", completion))
        self._threads: list[threading.Thread] = []

    def _insert_later(self, channel: str, after: Send, send: Send) -> None:
        """Put `send` somewhere after `after` in its channel's order."""
        sends = self.sends[channel]
        start = sends.index(after) + 1 if after in sends else 0
        sends.insert(self.random.randint(start, len(sends)), send)

    def add_duplicates(self, count: int) -> None:
        """The LMS repeats itself: `count` attempts posted twice, `count` records produced twice under one
        event id, and `count` attempts sent through both doors (a new event id on the topic)."""
        posted = self.random.sample([s for s in self.sends["api"] if s.kind == "completion"], 2 * count)
        for send in posted[:count]:
            self._insert_later("api", send, Send("api", "repost", send.completion))
        for send in posted[count:]:
            self._insert_later("kafka", send, Send("kafka", "other-door", send.completion, completion_record(send.completion)))
        for send in self.random.sample([s for s in self.sends["kafka"] if s.kind == "completion"], count):
            self._insert_later("kafka", send, Send("kafka", "same-event-id", send.completion, send.record))

    def add_poison(self, *kinds: str) -> list[Send]:
        """Mix poison records of these kinds into the topic's stream; return them."""
        added = [poison(self.academy, kind) for kind in kinds]
        for send in added:
            self.sends["kafka"].insert(self.random.randint(0, len(self.sends["kafka"])), send)
        return added

    @property
    def markers(self) -> set[str]:
        """The markers of the poison records in the stream."""
        return {send.marker for send in self.sends["kafka"] if send.marker}

    @property
    def total(self) -> int:
        """Everything sent: completions, their repeats and poison."""
        return sum(len(sends) for sends in self.sends.values())

    def start(self, over: float) -> None:
        """Send both channels' items concurrently, spread evenly over `over` seconds."""
        self._threads = [
            threading.Thread(target=self._guard(self._post_all), args=(over,), daemon=True),
            threading.Thread(target=self._guard(self._produce_all), args=(over,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def wait_sent(self, count: int, timeout: float = 60) -> None:
        """Wait until at least `count` items went out (posted and answered, or handed to the producer)."""
        wait_for(lambda: sum(self.sent.values()) >= count or self.errors, timeout=timeout, interval=0.1, message=f"{count} items sent")
        assert not self.errors, self.errors

    def join(self, timeout: float = 240) -> None:
        """Wait until every item was answered or acknowledged."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(thread.is_alive() for thread in self._threads), "the LMS could not deliver its completions in time"
        assert not self.errors, self.errors

    def _guard(self, send_all):
        """Run a channel's sending, keeping its error for join() and wait_sent() to report."""

        def run(over: float) -> None:
            try:
                send_all(over)
            except Exception as error:
                self.errors.append(f"{send_all.__name__}: {error!r}")

        return run

    def _paced(self, channel: str, over: float):
        """The channel's items, each released at its turn in an even spread over `over` seconds."""
        sends = self.sends[channel]
        started = time.monotonic()
        for number, send in enumerate(sends):
            time.sleep(max(0.0, started + over * number / max(len(sends), 1) - time.monotonic()))
            yield send

    def _post_all(self, over: float) -> None:
        """Post each completion, retrying (like an LMS) until the API answers 202."""
        for send in self._paced("api", over):
            self._post(send.completion)
            self.sent["api"] += 1

    def _post(self, completion: dict, timeout: float = 180) -> None:
        """Post one completion until answered 202 (accepted, or a duplicate of an earlier post)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = self.academy.post_completion(completion)
                if response.status_code == 202:
                    status = response.json()["status"]
                    self.api_answers[status] = self.api_answers.get(status, 0) + 1
                    return
                if response.status_code < 500:
                    raise AssertionError(f"intake refused a valid completion: {response.status_code} {response.text}")
            except requests.RequestException:
                pass
            self.api_retries += 1
            assert time.monotonic() < deadline, "the intake API did not accept a completion within 3 minutes"
            time.sleep(0.5)

    def _produce_all(self, over: float) -> None:
        """Produce each record; once all are out, produce again any whose acknowledgement failed."""
        producer = KafkaProducer(  # an LMS that compresses, as the broker's 1 MB limit applies to compressed batches
            bootstrap_servers=self.platform.kafka_bootstrap, acks="all", linger_ms=5, compression_type="gzip",
            max_request_size=8_000_000, delivery_timeout_ms=240_000, request_timeout_ms=30_000, max_block_ms=240_000,
            reconnect_backoff_max_ms=2_000,
        )
        try:
            pending = []
            for send in self._paced("kafka", over):
                key, value, headers = send.record
                pending.append((send, producer.send(ASSESSMENTS, key=key, value=value, headers=headers)))
                self.sent["kafka"] += 1
            producer.flush(timeout=240)
            for send, future in pending:
                try:
                    future.get(timeout=240)
                except KafkaError:
                    self.kafka_resends += 1
                    key, value, headers = send.record
                    producer.send(ASSESSMENTS, key=key, value=value, headers=headers).get(timeout=240)
        finally:
            producer.close(timeout=10)
