"""One fault scenario from start to verdict: a staffed academy, a stream of completions, the fault,
then the wait until everything has landed, and the figures printed and checked."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import create_engine

from tests.e2e.test_notification_outages import staffed_academy
from tests.faults.ledger import Ledger
from tests.faults.stream import Stream

FIGURES: list[str] = []  # each run's figures, repeated after the session's output (see conftest.py)


class FaultRun:
    """An academy of `employees` people (3 completions each), its stream and its ledger."""

    def __init__(self, name: str, platform, service_databases: dict[str, str], *, employees: int, seed: int):
        self.name = name
        self.platform = platform
        engine = create_engine(service_databases["notifications"])
        try:
            academy = staffed_academy(platform, engine, employees)
        finally:
            engine.dispose()
        self.stream = Stream(platform, academy, seed=seed)
        self.service_databases = service_databases
        self.fault_started = self.fault_ended = None

    @cached_property
    def ledger(self) -> Ledger:
        """What the stream must give, fixed once its duplicates and poison are added."""
        return Ledger(self.platform, self.service_databases, self.stream)

    @contextmanager
    def fault(self) -> Iterator[None]:
        """Mark the block as the fault: catching up is measured from its end."""
        self.fault_started = time.monotonic()
        try:
            yield
        finally:
            self.fault_ended = time.monotonic()

    def through_outage(self, server, seconds: float, *, over: float) -> None:
        """Stream over `over` seconds, and once part of the stream is out, stop `server` for `seconds`."""
        self.stream.start(over=over)
        self.stream.wait_sent(10)
        with self.fault(), server.down(seconds):
            pass  # the stream goes on meanwhile

    def finish(self, *, redelivery: bool = False, resent_allowed: int = 0, release_claims: bool = False,
               timeout: float = 150, note: str = "") -> None:
        """Wait for the stream and for every effect; print the figures; assert exactly once everywhere, but:

        - `redelivery`: the fault makes a consumer read records again (a kill before its offset commit, a
          commit lost in the rebalance after a broker restart); a poison record is then dead-lettered again
          (tests/faults/test_poison.py pins that bug), each copy naming the same source offset;
        - `resent_allowed`: SMTP cannot be idempotent, so an email sent but not recorded (a killed worker,
          ADR 0003) is sent again with its Message-ID: at most this many;
        - `release_claims`: emails a dispatcher claimed and never finished wait out the claim's one-minute
          lease; the test lets such claims run out at once and says how many."""
        stream = self.stream
        stream.join()
        ledger = self.ledger
        released: set[str] = set()

        def settled(tally) -> bool:
            stuck = ledger.stuck(tally)
            if stuck and release_claims:
                released.update(stuck)
                ledger.expire_claims(stuck)
                return False
            assert not stuck, (f"{len(stuck)} emails are held by a claim nobody will finish "
                               f"({len({f'<{d}@skillstack>' for d in stuck} & set(tally.received))} of them already received)")
            return ledger.complete(tally)

        try:
            since = self.fault_ended or time.monotonic()  # no fault: from the last completion sent
            tally, catch_up = ledger.wait_until(settled, since, timeout, "every effect, once")
        finally:
            ledger.close()
        if released:
            note += f"{'; ' if note else ''}{len(released)} emails held by an unfinished claim, released without waiting out the lease"
        figures = ledger.figures(tally)
        duplicates, losses = figures["duplicates"], figures["losses"]
        effects_doubled = sum(duplicates[name] for name in ("credentials", "requests", "inbox", "emails", "stray emails"))
        fault = f"fault {self.fault_ended - self.fault_started:.1f} s; " if self.fault_started else ""
        FIGURES.append(
            f"[faults] {self.name}: events sent {stream.total} (API {len(stream.sends['api'])}, Kafka {len(stream.sends['kafka'])}: "
            f"{len(stream.valid)} completions, {stream.total - len(stream.valid) - len(stream.markers)} repeats, "
            f"{len(stream.markers)} poison) | credentials issued {sum(tally.credentials.values())}/{len(stream.valid)} | "
            f"advancement requests {sum(tally.requests.values())}/{len(stream.academy.employees)} | "
            f"inbox items {sum(tally.inbox.values())} | emails {len(tally.received)} | duplicates {effects_doubled} | "
            f"losses {sum(losses.values())} | DLQ {sum(tally.dead_letters.values())} for {len(stream.markers)} poison "
            f"({duplicates['dead_letters']} resent) | emails resent {duplicates['emails received']} | "
            f"caught up {catch_up:.1f} s after the {'fault' if self.fault_started else 'last send'} "
            f"({fault}LMS retries: API {stream.api_retries}, Kafka {stream.kafka_resends})" + (f" | {note}" if note else "")
        )
        print("\n" + FIGURES[-1])
        assert sum(losses.values()) == 0 and effects_doubled == 0, figures
        assert tally.credentials == ledger.expected["credentials"]  # one credential per valid completion
        assert tally.requests == ledger.expected["requests"]  # one advancement request per eligible employee
        assert tally.inbox == ledger.expected["inbox"]  # one inbox item per (event, recipient)
        assert tally.emails == ledger.expected["emails"]  # one email delivery per (event, recipient)
        assert duplicates["emails received"] <= resent_allowed, figures
        # Each poison message on the DLQ once; copies only where records were read again, from the same source record.
        assert set(tally.dead_letters) == stream.markers and (redelivery or duplicates["dead_letters"] == 0), figures
        assert all(len(sources) == 1 for sources in tally.dead_letter_sources.values()), tally.dead_letter_sources
        assert tally.caught_up
