"""The event pipeline, end to end: completions in, credentials, progress and notifications out.

    .venv/bin/python bench/pipeline.py [--events 20000] [--employees 2000] [--quick] [--profile]

1. Starts a private Kafka and PostgreSQL, the three workers (`python -m services.<name>.worker`)
   and an SMTP sink for the notification emails.
2. HR defines the credentials and two pathways through the services' APIs (a minted bearer
   token), and imports the org chart (employees in teams of ten, their managers, a head).
3. Peak: N `academy.assessment.completed` events go onto `academy.assessments` at once; the
   clock stops when every credential is issued (issuer), every progress update is done
   (pathways) and every inbox item is recorded (notifications), read from their databases.
4. Latency: fresh completions at half the measured peak rate; each one's time from being sent
   to its credential, its progress update and its inbox items.
5. The bus ceiling: the same N records through a consume-and-produce relay with no database
   (bench/bus_relay.py), with the workers stopped, measured the same way.
Peak resident memory (VmHWM) of each worker is read before they stop.
"""

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    add_run_options,
    LOGS,
    Process,
    Stack,
    bearer,
    fmt_ms,
    log,
    run_header,
    service_config,
    summary_ms,
    wait_for,
    worker,
    write_section,
)
from shared.auth import HR_ADMIN  # noqa: E402
from tests.support import free_port  # noqa: E402

COMPLETED = "skillstack.academy.assessment.completed.v1"
ISSUED = "skillstack.issuer.credential.issued.v1"
REQUESTED = "skillstack.pathways.advancement.requested.v1"
TEAM_SIZE = 10
PEAK_TIMEOUT = 3600


class Company:
    """The org chart and catalog of the bench: employees in teams, two pathways of credentials."""

    def __init__(self, employees: int, per_employee: int):
        self.employees = [f"e{n:06d}" for n in range(employees)]
        self.managers = [f"m{n:05d}" for n in range((employees + TEAM_SIZE - 1) // TEAM_SIZE)]
        self.manager_of = {employee: self.managers[n // TEAM_SIZE] for n, employee in enumerate(self.employees)}
        # Set A is earned at full speed, set B at the sustained rate: nobody holds a B credential before.
        self.sets = {name: [f"bench-{name.lower()}{n:02d}" for n in range(per_employee)] for name in ("A", "B")}

    def org_chart(self) -> str:
        rows = ["employee_id,email,name,manager_id", "head,head@example.com,Hana Head,"]
        rows += [f"{m},{m}@example.com,Manager {m},head" for m in self.managers]
        rows += [f"{e},{e}@example.com,Employee {e},{self.manager_of[e]}" for e in self.employees]
        return "\n".join(rows)

    def pathway(self, name: str) -> dict:
        """Levels of two credentials each; the two top levels need a manager's approval, so requests open."""
        achievements = self.sets[name]
        levels = [achievements[i : i + 2] for i in range(0, len(achievements), 2)]
        return {
            "id": f"bench-pathway-{name.lower()}",
            "name": f"Bench pathway {name}",
            "levels": [
                {"name": f"Level {n + 1}", "credentials": credentials, "requires_approval": n >= len(levels) - 2}
                for n, credentials in enumerate(levels)
            ],
        }

    def completions(self, name: str, tag: str) -> list[dict]:
        """One passed completion per employee and credential of a set, shuffled across employees."""
        pairs = [(employee, achievement) for employee in self.employees for achievement in self.sets[name]]
        random.Random(tag).shuffle(pairs)
        return [
            {
                "attempt_id": f"{tag}-{n:07d}",
                "employee_id": employee,
                "email": f"{employee}@example.com",
                "assessment_id": f"{achievement}-exam",
                "score": 91.0,
                "completed_at": datetime.now(UTC),
            }
            for n, (employee, achievement) in enumerate(pairs)
        ]


def record_of(completion: dict, at: datetime | None = None) -> tuple[bytes, bytes, list]:
    """A completion as an LMS publishing onto academy.assessments sends it (envelope and headers)."""
    from shared.events import new_event
    from shared.events.envelope import encode

    options = {"now": lambda: at} if at else {}
    _event, body = new_event(COMPLETED, completion, source="/bench/lms", **options)
    key, headers = encode(body)
    return key, body, headers


def define_company(stack: Stack, company: Company) -> None:
    """HR defines the credentials and pathways and imports the org chart, through the APIs."""
    from services.issuer.app import create_app as issuer_app
    from services.pathways.app import create_app as pathways_app

    issuer = issuer_app(service_config("issuer", stack)).test_client()
    for name, achievements in company.sets.items():
        for achievement in achievements:
            response = issuer.post(
                "/api/achievements",
                json={
                    "id": achievement, "name": f"Bench credential {achievement}", "description": "Measured by bench/pipeline.py.",
                    "assessment_id": f"{achievement}-exam", "min_score": 70, "validity_months": 24,
                },
                headers=bearer("issuer", "bench-hr", roles=(HR_ADMIN,)),
            )
            assert response.status_code == 201, response.get_data(as_text=True)
    pathways = pathways_app(service_config("pathways", stack)).test_client()
    for name in company.sets:
        def define():
            response = pathways.post("/api/pathways", json=company.pathway(name), headers=bearer("pathways", "bench-hr", roles=(HR_ADMIN,)))
            assert response.status_code in (201, 422), response.get_data(as_text=True)
            return response.status_code == 201

        wait_for(define, timeout=120, interval=0.5, message="the catalog to reach pathways")
    response = pathways.post(
        "/api/people/import", data=company.org_chart().encode(), content_type="text/csv",
        headers=bearer("pathways", "bench-hr", roles=(HR_ADMIN,)),
    )
    assert response.status_code == 200, response.get_data(as_text=True)


class Databases:
    """Counts and timestamps read from the services' databases."""

    def __init__(self, stack: Stack):
        import psycopg

        self.connections = {service: psycopg.connect(stack.libpq(service), autocommit=True) for service in stack.databases}

    def value(self, service: str, sql: str, *params):
        return self.connections[service].execute(sql, params).fetchone()[0]

    def rows(self, service: str, sql: str, *params) -> list[tuple]:
        return self.connections[service].execute(sql, params).fetchall()

    def issued(self, tag: str) -> int:
        return self.value("issuer", "SELECT count(*) FROM credentials WHERE attempt_id LIKE %s", f"{tag}-%")

    def progressed(self) -> int:
        return self.value("pathways", "SELECT count(*) FROM processed_events WHERE event_type = %s", ISSUED)

    def unpublished(self, service: str) -> int:
        return self.value(service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")

    def requests(self) -> int:
        return self.value("pathways", "SELECT count(*) FROM advancement_requests")

    def notified(self) -> int:
        """Events the notifications worker has handled (inbox items, emails... written in the same transaction)."""
        return self.value("notifications", "SELECT count(*) FROM processed_events WHERE event_type IN (%s, %s)", ISSUED, REQUESTED)

    def emails_waiting(self) -> int:
        table = "deliveries" if self.value("notifications", "SELECT to_regclass('deliveries') IS NOT NULL") else "email_deliveries"
        return self.value("notifications", f"SELECT count(*) FROM {table} WHERE status IN ('pending', 'retrying')")


def wait_until_done(db: Databases, tag: str, count: int, issued_before: int, timeout: float) -> None:
    """Every credential issued, every progress updated, every inbox item recorded."""
    wait_for(lambda: db.issued(tag) >= count, timeout=timeout, interval=0.5, message=f"{count} credentials ({tag})")
    wait_for(lambda: db.progressed() >= issued_before + count, timeout=timeout, interval=0.5, message="every progress update")
    wait_for(lambda: db.unpublished("pathways") == 0 and db.unpublished("issuer") == 0, timeout=timeout, interval=0.5, message="the outboxes to drain")
    expected = issued_before + count + db.requests()  # every credential issued and every advancement request
    wait_for(lambda: db.notified() >= expected, timeout=timeout, interval=0.5, message=f"{expected} events notified")


def finish_times(db: Databases, tag: str) -> dict[str, float]:
    """When each service finished its part of a phase, from its own timestamps (epoch seconds)."""
    issuer = db.value("issuer", "SELECT max(issued_at) FROM credentials WHERE attempt_id LIKE %s", f"{tag}-%")
    pathways = db.value("pathways", "SELECT max(processed_at) FROM processed_events WHERE event_type = %s", ISSUED)
    notifications = db.value("notifications", "SELECT max(processed_at) FROM processed_events WHERE event_type IN (%s, %s)", ISSUED, REQUESTED)
    return {"issuer": issuer.timestamp(), "pathways": pathways.timestamp(), "notifications": notifications.timestamp()}


def produce_all(bootstrap: str, topic: str, records: list) -> float:
    """Send records as fast as the producer goes; return when the first was sent (epoch)."""
    from shared.bus.kafka import make_producer

    producer = make_producer(bootstrap, "bench-lms")
    producer.partitions_for(topic)  # metadata first, so the clock measures sending only
    started = time.time()
    futures = [producer.send(topic, key=key, value=value, headers=headers) for key, value, headers in records]
    producer.flush(timeout=120)
    for future in futures:
        future.get(timeout=60)
    producer.close()
    return started


def paced(bootstrap: str, topic: str, completions: list[dict], rate: float) -> dict[str, float]:
    """Send completions at `rate` per second, each enveloped when sent; return each attempt's send time."""
    from shared.bus.kafka import make_producer

    producer = make_producer(bootstrap, "bench-lms")
    producer.partitions_for(topic)
    sent: dict[str, float] = {}
    start = time.monotonic()
    for n, completion in enumerate(completions):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        now = datetime.now(UTC)
        key, value, headers = record_of(completion, now)
        producer.send(topic, key=key, value=value, headers=headers)
        sent[completion["attempt_id"]] = now.timestamp()
    producer.flush(timeout=60)
    producer.close()
    achieved = len(completions) / (time.monotonic() - start)
    log(f"sent {len(completions)} completions at {achieved:.1f}/s (target {rate:.1f}/s)")
    return sent


def latencies(db: Databases, tag: str, sent: dict[str, float]) -> dict[str, dict]:
    """Per completion: sent → credential issued, → progress updated, → inbox items recorded."""
    credentials = db.rows("issuer", "SELECT id, attempt_id, issued_at FROM credentials WHERE attempt_id LIKE %s", f"{tag}-%")
    events = dict(db.rows("issuer", "SELECT payload::json->'data'->>'credential_id', event_id FROM outbox WHERE type = %s", ISSUED))
    progressed = dict(db.rows("pathways", "SELECT event_id, processed_at FROM processed_events WHERE event_type = %s", ISSUED))
    notified = dict(db.rows("notifications", "SELECT event_id, processed_at FROM processed_events WHERE event_type = %s", ISSUED))
    notified |= dict(db.rows("notifications", "SELECT event_id, max(created_at) FROM inbox_items GROUP BY event_id"))
    stages: dict[str, list[float]] = {"issued": [], "progress": [], "notified": []}
    for credential_id, attempt_id, issued_at in credentials:
        event_id = events[credential_id]
        stages["issued"].append(issued_at.timestamp() - sent[attempt_id])
        stages["progress"].append(progressed[event_id].timestamp() - sent[attempt_id])
        stages["notified"].append(notified[event_id].timestamp() - sent[attempt_id])
    return {stage: summary_ms(values) for stage, values in stages.items()}


class Profiler:
    """py-spy sampling each worker while it runs (collapsed stacks), summarised afterwards."""

    def __init__(self, workers: dict[str, Process], rate: int = 50):
        self.spies = {
            service: Process(
                f"py-spy-{service}",
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(process.pid), "--rate", str(rate), "--idle",
                 "--format", "raw", "--output", str(LOGS / f"{service}-worker.collapsed"), "--nonblocking"],
                {},
            )
            for service, process in workers.items()
        }

    def start(self) -> None:
        for spy in self.spies.values():
            spy.env = dict(os.environ)
            spy.start()

    def stop(self) -> dict[str, str]:
        import signal

        for spy in self.spies.values():
            spy.popen.send_signal(signal.SIGINT)
        for spy in self.spies.values():
            spy.popen.wait(timeout=60)
        return {service: top_frames(LOGS / f"{service}-worker.collapsed") for service in self.spies}


def top_frames(path: Path, top: int = 14) -> str:
    """Where the consumer thread's wall time went (py-spy --idle samples), and the project's functions inside handling."""
    if not path.exists():
        return "(no samples)"
    total, buckets, inclusive = 0, Counter(), Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        names = [frame.split(" (")[0] for frame in frames]
        if not any(name.endswith("EventConsumer.run") for name in names):
            continue  # the relay's, the scheduler's and the dispatcher's threads
        n = int(count)
        total += n
        handler_frame = next((name for name in ("EventConsumer._apply", "EventConsumer._handle_together") if name in names), None)
        if handler_frame:
            handling = frames[names.index(handler_frame):]
            buckets["handling: inside psycopg (round trips to PostgreSQL)" if "Connection.wait" in names else "handling: Python CPU"] += n
            for function in {frame.rsplit(":", 1)[0] + ")" for frame in handling if "(services/" in frame or "(shared/" in frame}:
                inclusive[function] += n  # per function, whatever line the sample was on
        elif "KafkaConsumer.poll" in names:
            buckets["polling Kafka (idle or fetching)"] += n
        elif "EventConsumer._commit" in names:
            buckets["committing offsets"] += n
        else:
            buckets["decoding and dispatch"] += n
    lines = [f"{100 * n / total:5.1f}%  {bucket}" for bucket, n in buckets.most_common()]
    lines += ["inside handling (inclusive):"] + [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return f"consumer thread, {total} samples:\n" + "\n".join(lines)


def ceiling(stack: Stack, records: list, timeout: float) -> dict:
    """The same records through bench/bus_relay.py: first send to last acknowledged relay."""
    from kafka import KafkaAdminClient

    source, target = "bench.ceiling.in", "bench.ceiling.out"
    admin = KafkaAdminClient(bootstrap_servers=stack.bootstrap)
    admin.create_topics({source: {"num_partitions": 3, "replication_factor": 1}, target: {"num_partitions": 3, "replication_factor": 1}})
    admin.close()
    ready, result = LOGS / "bus-relay.ready", LOGS / "bus-relay.result"
    for path in (ready, result):
        path.unlink(missing_ok=True)
    relay = Process(
        "bus-relay",
        [sys.executable, "bench/bus_relay.py", "--bootstrap", stack.bootstrap, "--source", source, "--target", target,
         "--count", str(len(records)), "--ready", str(ready), "--result", str(result)],
        dict(os.environ),
    ).start()
    wait_for(ready.exists, timeout=60, interval=0.1, message="the relay's partitions")
    started = produce_all(stack.bootstrap, source, records)
    wait_for(result.exists, timeout=timeout, interval=0.2, message="the relay to pass every record")
    relay.popen.wait(timeout=30)
    done = json.loads(result.read_text())
    seconds = done["last_acknowledged"] - started
    return {
        "seconds": seconds, "rate": len(records) / seconds, "memory_mb": done["peak_memory_mb"],
        "cpu_ms_per_event": 1000 * done["cpu_seconds"] / len(records),  # start-up included: an upper bound
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="completions at full speed (default 20000)")
    parser.add_argument("--employees", type=int, default=2_000, help="employees they are spread over (default 2000)")
    parser.add_argument("--latency-seconds", type=float, default=120, help="how long the half-peak phase sends (default 120)")
    parser.add_argument("--quick", action="store_true", help="1000 events over 100 employees, 30 s of latency: for developing")
    parser.add_argument("--profile", action="store_true", help="sample the workers with py-spy during the peak phase")
    parser.add_argument("--chunk", type=int, default=None,
                        help="the workers' SKILLSTACK_CONSUMER_CHUNK: records per transaction (default: the workers' own, 100; 1 is one per event)")
    add_run_options(parser, "Kafka and PostgreSQL")
    args = parser.parse_args()
    if args.quick:
        args.events, args.employees, args.latency_seconds = 1_000, 100, 30
    if args.events % args.employees:
        parser.error("--events must be a multiple of --employees (each employee completes the same number)")
    started_at = datetime.now(UTC)
    company = Company(args.employees, args.events // args.employees)
    stack = Stack(keep=args.keep).start()
    processes: list[Process] = []
    try:
        stack.create_databases()
        smtp_port = free_port()
        smtp = Process("smtp-sink", [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Sink"], dict(os.environ)).start()
        processes.append(smtp)
        chunk_env = {"SKILLSTACK_CONSUMER_CHUNK": str(args.chunk)} if args.chunk else {}
        workers = {service: worker(service, stack, SKILLSTACK_NOTIFICATIONS_SMTP_PORT=str(smtp_port), **chunk_env).start() for service in ("issuer", "pathways", "notifications")}
        processes.extend(workers.values())
        define_company(stack, company)
        db = Databases(stack)
        people = 1 + len(company.managers) + len(company.employees)
        wait_for(lambda: db.value("notifications", "SELECT count(*) FROM recipients") == people, timeout=300, interval=0.5, message="the org chart to reach notifications")
        wait_for(lambda: db.value("issuer", "SELECT count(*) FROM people") == people, timeout=300, interval=0.5, message="the org chart to reach the issuer")
        wait_for(lambda: db.emails_waiting() == 0, timeout=60, interval=0.5, message="no emails waiting")
        log(f"company defined: {len(company.employees)} employees, {len(company.managers)} managers, {2 * len(company.sets['A'])} credentials")

        # --- peak ---
        completions = company.completions("A", "peak")
        records = [record_of(completion) for completion in completions]
        cpu_before = {service: process.cpu_seconds() for service, process in workers.items()}
        profiler = Profiler(workers) if args.profile else None
        if profiler:
            profiler.start()
        log(f"peak: sending {len(records)} completions")
        sent_at = produce_all(stack.bootstrap, "academy.assessments", records)
        wait_until_done(db, "peak", len(records), 0, PEAK_TIMEOUT)
        profiles = profiler.stop() if profiler else {}
        cpu = {service: workers[service].cpu_seconds() - cpu_before[service] for service in workers}
        finished = finish_times(db, "peak")
        peak_seconds = max(finished.values()) - sent_at
        peak = len(records) / peak_seconds
        stage_rates = {service: len(records) / (at - sent_at) for service, at in finished.items()}
        requests_opened = db.requests()
        log(f"peak: {peak:.1f} completions/s end to end ({peak_seconds:.1f} s); per service " + ", ".join(f"{s} {r:.1f}/s" for s, r in stage_rates.items()))

        email_started = time.time()
        waiting = db.emails_waiting()
        wait_for(lambda: db.emails_waiting() == 0, timeout=PEAK_TIMEOUT, interval=1, message="the emails to be sent")
        email_rate = waiting / max(time.time() - email_started, 1e-9)
        log(f"emails: {waiting} still queued after the peak, sent at {email_rate:.1f}/s")

        # --- latency at half the peak ---
        rate = peak / 2
        count = min(len(company.employees) * len(company.sets["B"]), max(1, round(rate * args.latency_seconds)))
        paced_completions = company.completions("B", "steady")[:count]
        issued_before = db.progressed()
        log(f"latency: {count} completions at {rate:.1f}/s")
        sent = paced(stack.bootstrap, "academy.assessments", paced_completions, rate)
        wait_until_done(db, "steady", count, issued_before, PEAK_TIMEOUT)
        latency = latencies(db, "steady", sent)
        for stage, figures in latency.items():
            log(f"latency sent → {stage}: {fmt_ms(figures)}")

        memory = {service: process.peak_memory_mb() for service, process in workers.items()}
        log("peak resident memory: " + ", ".join(f"{s} {m:.0f} MB" for s, m in memory.items()))
        exit_codes = {service: process.stop() for service, process in workers.items()}

        # --- the bus ceiling, with the workers stopped ---
        bus = ceiling(stack, records, PEAK_TIMEOUT)
        log(f"bus ceiling: {bus['rate']:.0f} records/s ({bus['seconds']:.1f} s); pipeline/ceiling {100 * peak / bus['rate']:.1f} %")
    finally:
        for process in reversed(processes):
            process.stop()
        stack.stop()

    ratio = 100 * peak / bus["rate"]
    lines = [
        run_header("Pipeline: completions → credentials → progress → notifications", started_at),
        f"- workload: {len(records)} completions over {len(company.employees)} employees ({len(company.managers)} managers), "
        f"{len(company.sets['A'])} credentials each; 2 pathways; {requests_opened} advancement requests opened; 3 partitions per topic; one worker per service"
        + (f"; **workers with SKILLSTACK_CONSUMER_CHUNK={args.chunk}**" if args.chunk else ""),
        f"- worker exit codes: {exit_codes}",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
        f"| pipeline throughput at full speed (first send → last event notified) | **{peak:.1f} completions/s** ({peak_seconds:.1f} s) | |",
        *(f"| — {service} finished its part | {len(records) / rate_:.1f} s after the first send: {rate_:.1f}/s | |" for service, rate_ in stage_rates.items()),
        f"| bus ceiling (bench/bus_relay.py, same records, no database) | **{bus['rate']:.0f} records/s** ({bus['seconds']:.1f} s) | |",
        f"| pipeline / ceiling | **{ratio:.2f} %** | ≥ 50 % {'met' if ratio >= 50 else '**missed**'} |",
        "| CPU per completion (peak phase) | " + ", ".join(f"{s} {1000 * c / len(records):.1f} ms" for s, c in cpu.items())
        + f"; relay {bus['cpu_ms_per_event']:.2f} ms | |",
        f"| latency at {rate:.1f}/s (half the peak), {count} completions: sent → credential issued | {fmt_ms(latency['issued'])} | |",
        f"| — sent → progress updated (pathways) | {fmt_ms(latency['progress'])} | |",
        f"| — sent → notified: inbox items recorded (notifications) | {fmt_ms(latency['notified'])} | |",
        f"| emails queued after the peak, sent at | {waiting} at {email_rate:.1f}/s | |",
        *(f"| peak resident memory (VmHWM), {service} worker | {m:.0f} MB | < 300 MB {'met' if m < 300 else '**missed**'} |" for service, m in memory.items()),
        f"| peak resident memory (VmHWM), bus relay | {bus['memory_mb']:.0f} MB | |",
    ]
    if profiles:
        lines += ["", "py-spy (`--idle`, 50 Hz) on each worker during the peak: share of the consumer thread's wall time:", ""]
        for service, text in profiles.items():
            lines += [f"{service} worker:", "```", text, "```"]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("pipeline" + ("-quick" if args.quick else "") + (f"-chunk-{args.chunk}" if args.chunk else ""), body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
