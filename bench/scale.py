"""The pages and the per-event work at company scale: 100 000 employees, 1 000 000 credentials.

    .venv/bin/python bench/scale.py [--employees 100000] [--first 10000] [--quick] [--explain]

The catalog and three pathways are defined through the services' APIs and handlers; the
directory, held and issued credentials, processed events, enrolments, attained levels and
requests are bulk-loaded with INSERT … SELECT generate_series straight into the pathways and
issuer databases after their migrations (fast, not through events), then ANALYZEd.

Two copies of the company are loaded side by side: --first employees (10 per cent) and --employees.
1. The per-event cost of the pathways handler for `credential.issued` (progress update) and of
   the issuer's for `assessment.completed` (issuance), each in its own transaction with its
   processed-event row, as the consumer runs them, the two copies taking turns event by event
   (so a busy machine slows both alike): the ratio large/small says whether the work per event
   grows with the company.
2. p95 of the pages (Flask test client with a signed-in session, as tests/integration does),
   each over many different people: PAGES below, one line per page.
With --explain, the slowest SQL statements of one request per page are shown with EXPLAIN ANALYZE.
"""

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Stack, add_run_options, bearer, fmt_ms, log, run_header, service_config, summary_ms, write_section  # noqa: E402
from shared.auth import HR_ADMIN  # noqa: E402

TEAM_SIZE = 10  # everyone but the head has a manager; person n manages persons 10n+1 … 10n+10
CREDENTIALS_PER_EMPLOYEE = 10
ACHIEVEMENTS = [f"ach-{n:02d}" for n in range(30)]
PATHWAYS = {f"path-{p}": ACHIEVEMENTS[8 * p : 8 * p + 8] for p in range(3)}  # 4 levels of 2 credentials each
NOW = datetime.now(UTC)


def person(n: int) -> str:
    return f"p{n:06d}"


@dataclass(frozen=True)
class Page:
    """A page to time: its path, who requests it (a random pick per request), with which roles."""

    name: str
    path: str
    who: Callable[[random.Random, int], str]
    roles: tuple[str, ...] = ()


PAGES = [
    Page("employee pathway", "/", lambda rng, employees: person(rng.randrange(1, employees))),
    Page("manager team (10 reports)", "/team", lambda rng, employees: person(rng.randrange(1, (employees - 1) // TEAM_SIZE))),
    Page("manager approvals", "/approvals", lambda rng, employees: person((100 * rng.randrange(employees // 100) + 6) // TEAM_SIZE)),
    Page("HR overview", "/overview", lambda rng, employees: "hr-admin", (HR_ADMIN,)),
    Page("HR analytics", "/analytics", lambda rng, employees: "hr-admin", (HR_ADMIN,)),  # the first request computes the snapshot
]


# --- set-up through the services --------------------------------------------------------


def define_catalog(issuer, pathways) -> None:
    """30 credentials (issuer API and the pathways catalog projection) and 3 pathways of 4 levels."""
    from services.pathways.handlers import build_handlers
    from tests.integration.helpers import handle

    client = issuer.test_client()
    for achievement in ACHIEVEMENTS:
        response = client.post(
            "/api/achievements",
            json={"id": achievement, "name": f"Credential {achievement}", "description": "Bench.", "assessment_id": f"{achievement}-exam",
                  "min_score": 70, "validity_months": 24},
            headers=bearer("issuer", "hr-admin", roles=(HR_ADMIN,)),
        )
        assert response.status_code == 201, response.get_data(as_text=True)
    handlers = build_handlers(source="/bench", clock=lambda: NOW)
    for achievement in ACHIEVEMENTS:  # what the pathways worker would project from issuer.catalog
        handle(pathways, handlers, "skillstack.issuer.credential.defined.v1", {
            "achievement_id": achievement, "version": 1, "name": f"Credential {achievement}", "category": "technical",
            "description": "Bench.", "assessment_id": f"{achievement}-exam", "min_score": 70, "validity_months": 24, "retired": False,
        })
    client = pathways.test_client()
    for pathway_id, achievements in PATHWAYS.items():
        levels = [
            {"name": f"Level {n + 1}", "credentials": achievements[2 * n : 2 * n + 2], "requires_approval": n > 0} for n in range(4)
        ]
        response = client.post("/api/pathways", json={"id": pathway_id, "name": f"Pathway {pathway_id}", "levels": levels},
                               headers=bearer("pathways", "hr-admin", roles=(HR_ADMIN,)))
        assert response.status_code == 201, response.get_data(as_text=True)


# --- bulk load ----------------------------------------------------------------------------

# Person n: p<n>, managed by p<(n-1)/10>; holds the 10 achievements starting at (7n mod 30);
# is enrolled on path-(n mod 3) and attained its levels 1..min(n mod 5, 4); 1 % have an open
# request for the next level, opened 0-19 days ago (by n/100 mod 20); 1 % of credentials are revoked.
PATHWAYS_SQL = [
    """INSERT INTO people (employee_id, email, name, manager_id, active, updated_at)
       SELECT 'p' || lpad(n::text, 6, '0'), 'p' || n || '@example.com', 'Person ' || n,
              CASE WHEN n = 0 THEN NULL ELSE 'p' || lpad(((n - 1) / 10)::text, 6, '0') END, true, %(now)s
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n""",
    """INSERT INTO held_credentials (credential_id, employee_id, achievement_id, issued_at, valid_until, status)
       SELECT md5('c' || n || '-' || j)::uuid::text, 'p' || lpad(n::text, 6, '0'), 'ach-' || lpad(((7 * n + j) % 30)::text, 2, '0'),
              %(now)s - make_interval(days => (n % 700) + j), %(now)s - make_interval(days => (n % 700) + j) + interval '24 months',
              CASE WHEN (n * 10 + j) % 100 = 0 THEN 'revoked' ELSE 'valid' END
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n, generate_series(0, 9) AS j""",
    """INSERT INTO processed_events (consumer_group, event_id, event_type, processed_at)
       SELECT 'pathways', md5('e' || n || '-' || j)::uuid::text, 'skillstack.issuer.credential.issued.v1', %(now)s
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n, generate_series(0, 9) AS j""",
    """INSERT INTO pathway_enrollments (employee_id, pathway_id, version, enrolled_at)
       SELECT 'p' || lpad(n::text, 6, '0'), 'path-' || (n % 3), 1, %(now)s - interval '800 days'
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n""",
    """INSERT INTO level_attainments (employee_id, pathway_id, level, attained_at)
       SELECT 'p' || lpad(n::text, 6, '0'), 'path-' || (n % 3), l, %(now)s - make_interval(days => 400 - 50 * l)
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n, generate_series(1, 4) AS l WHERE l <= n % 5""",
    """INSERT INTO advancement_requests (id, employee_id, manager_id, pathway_id, level, status, opened_at)
       SELECT md5('r' || n)::uuid::text, 'p' || lpad(n::text, 6, '0'), 'p' || lpad(((n - 1) / 10)::text, 6, '0'),
              'path-' || (n % 3), n % 5 + 1, 'open', %(now)s - make_interval(days => (n / 100) % 20, hours => 1)
       FROM generate_series(greatest(%(lo)s, 1), %(hi)s - 1) AS n WHERE n % 100 = 7 AND n % 5 < 4""",
]
ISSUER_SQL = [
    """INSERT INTO people (employee_id, name, email, active)
       SELECT 'p' || lpad(n::text, 6, '0'), 'Person ' || n, 'p' || n || '@example.com', true
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n""",
    # Bulk rows keep document and jwt NULL (like credentials issued before signing): real ones are
    # TOASTed out of line, so the heap that queries scan has the same width either way.
    """INSERT INTO credentials (id, employee_id, email, achievement_id, achievement_version, attempt_id, score, issued_at, valid_until,
                                source_event_id, revoked_at, revocation_reason, recipient_salt, status_list, status_index, public)
       SELECT md5('c' || n || '-' || j)::uuid::text, 'p' || lpad(n::text, 6, '0'), 'p' || n || '@example.com',
              'ach-' || lpad(((7 * n + j) % 30)::text, 2, '0'), 1, 'att-' || n || '-' || j, 90,
              %(now)s - make_interval(days => (n % 700) + j), %(now)s - make_interval(days => (n % 700) + j) + interval '24 months',
              md5('s' || n || '-' || j)::uuid::text,
              CASE WHEN (n * 10 + j) % 100 = 0 THEN %(now)s END, CASE WHEN (n * 10 + j) % 100 = 0 THEN 'Bench' END,
              md5('salt' || n || j), (n * 10 + j) / 65536 + 1, ((n * 10 + j) % 65536) * 2, (n * 10 + j) % 7 = 0
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n, generate_series(0, 9) AS j
       ON CONFLICT DO NOTHING""",  # a status entry the timed issuances drew at random meanwhile: that one row is skipped
    """INSERT INTO processed_events (consumer_group, event_id, event_type, processed_at)
       SELECT 'issuer', md5('a' || n || '-' || j)::uuid::text, 'skillstack.academy.assessment.completed.v1', %(now)s
       FROM generate_series(%(lo)s, %(hi)s - 1) AS n, generate_series(0, 9) AS j""",
]


def bulk_load(stack: Stack, copy: str, people: int) -> float:
    """People 0…people-1 and everything they hold, in one copy's two databases; then ANALYZE. Returns seconds."""
    import psycopg

    started, lo, hi = time.monotonic(), 0, people
    for service, statements in (("pathways", PATHWAYS_SQL), ("issuer", ISSUER_SQL)):
        with psycopg.connect(stack.libpq(f"{service}:{copy}"), autocommit=True) as connection:
            for statement in statements:
                # modulo signs doubled for psycopg's %(name)s placeholders
                connection.execute(re.sub(r"%(?!\()", "%%", statement), {"lo": lo, "hi": hi, "now": NOW})
            connection.execute("VACUUM ANALYZE")
    return time.monotonic() - started


# --- per-event cost -----------------------------------------------------------------------


@dataclass
class Company:
    """One copy of the company: its size and its two apps (pathways, issuer) on their own databases."""

    people: int
    pathways: object
    issuer: object


def event_costs(companies: list[Company], count: int) -> list[dict[str, dict]]:
    """Per company, mean and percentiles of one event's handling (handler + processed-event row, one
    transaction), the companies taking turns event by event so they share the machine's load alike."""
    from services.issuer.handlers import build_handlers as issuer_handlers
    from services.pathways.handlers import build_handlers as pathways_handlers
    from shared.bus.tables import processed_events
    from shared.db import insert_if_absent
    from shared.events import new_event

    rng = random.Random(1)
    pathway_handler = pathways_handlers(source="/bench", clock=lambda: datetime.now(UTC))["skillstack.issuer.credential.issued.v1"]
    issuer_handler = {
        id(company): issuer_handlers(
            source="/bench", clock=lambda: datetime.now(UTC),
            issuer=company.issuer.extensions["issuer_profile"], keys=company.issuer.extensions["signing_keys"],
        )["skillstack.academy.assessment.completed.v1"]
        for company in companies
    }

    def timed(app, handler, event, group: str) -> float:
        started = time.perf_counter()
        with app.extensions["database"].transaction() as session:
            if insert_if_absent(session, processed_events, {"consumer_group": group, "event_id": event.id, "event_type": event.type, "processed_at": datetime.now(UTC)}):
                handler(session, event)
        return time.perf_counter() - started

    costs = [{PROGRESS: [], ISSUANCE: []} for _ in companies]
    for n in range(count + count // 10):  # the first tenth warms up caches and pools
        turns = list(enumerate(companies))
        rng.shuffle(turns)  # neither copy always goes first
        for index, company in turns:
            employee = rng.randrange(1, company.people)
            issued, _ = new_event("skillstack.issuer.credential.issued.v1", {
                "credential_id": f"bench-{index}-{n}", "employee_id": person(employee), "achievement_id": rng.choice(PATHWAYS[f"path-{employee % 3}"]),
                "achievement_version": 1, "achievement_name": "Bench", "issued_at": datetime.now(UTC), "valid_until": None,
                "source_event_id": f"bench-source-{index}-{n}",
            }, source="/bench")
            not_held = ACHIEVEMENTS[(7 * employee + 10 + rng.randrange(20)) % 30]
            completed, _ = new_event("skillstack.academy.assessment.completed.v1", {
                "attempt_id": f"bench-attempt-{index}-{n}", "employee_id": person(employee), "email": f"p{employee}@example.com",
                "assessment_id": f"{not_held}-exam", "score": 88.0, "completed_at": datetime.now(UTC),
            }, source="/bench")
            progress = timed(company.pathways, pathway_handler, issued, "pathways")
            issuance = timed(company.issuer, issuer_handler[id(company)], completed, "issuer")
            if n >= count // 10:
                costs[index][PROGRESS].append(progress)
                costs[index][ISSUANCE].append(issuance)
    return [{name: summary_ms(values) for name, values in found.items()} for found in costs]


PROGRESS, ISSUANCE = "progress (pathways, credential.issued)", "issuance (issuer, assessment.completed)"


# --- pages --------------------------------------------------------------------------------


class StatementTimer:
    """The SQL statements one request runs, with their parameters and durations."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.statements, self.active = engine, [], False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append((time.perf_counter() - conn.info.pop("bench_started"), statement, parameters))

    def explain(self, top: int = 3) -> list[str]:
        """EXPLAIN ANALYZE of the slowest statements recorded."""
        out = []
        with self.engine.connect() as connection:
            raw = connection.connection.driver_connection
            for seconds, statement, parameters in sorted(self.statements, key=lambda found: -found[0])[:top]:
                plan = raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
                out.append(f"{1000 * seconds:.1f} ms: {' '.join(statement.split())[:300]}\n" + "\n".join(row[0] for row in plan))
        return out


def time_pages(pathways, employees: int, requests: int, explain: bool) -> tuple[dict[str, dict], dict[str, list[str]], dict[str, int]]:
    """p50/p95/p99 of each page over `requests` requests by different people; statement counts and plans."""
    timer = StatementTimer(pathways.extensions["database"].engine)
    rng = random.Random(7)
    results, plans, statements = {}, {}, {}
    for page in PAGES:
        durations = []
        for n in range(requests + requests // 10):
            client = pathways.test_client()
            with client.session_transaction() as session:
                session["principal"] = {"subject": page.who(rng, employees), "name": "Bench", "email": "bench@example.com", "roles": list(page.roles)}
            started = time.perf_counter()
            response = client.get(page.path)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (page.path, response.status_code, response.get_data(as_text=True)[:500])
            if n >= requests // 10:
                durations.append(elapsed)
        timer.statements, timer.active = [], True
        client = pathways.test_client()
        with client.session_transaction() as session:
            session["principal"] = {"subject": page.who(rng, employees), "name": "Bench", "email": "bench@example.com", "roles": list(page.roles)}
        client.get(page.path)
        timer.active = False
        statements[page.name] = len(timer.statements)
        if explain:
            plans[page.name] = timer.explain()
        results[page.name] = summary_ms(durations)
        log(f"{page.name:28} {page.path:10} {fmt_ms(results[page.name])}, {statements[page.name]} SQL statements")
    return results, plans, statements


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=100_000, help="people at full scale, 10 credentials each (default 100000)")
    parser.add_argument("--first", type=int, default=10_000, help="people in the small copy (default 10000)")
    parser.add_argument("--events", type=int, default=1_000, help="events timed per scale and handler (default 1000)")
    parser.add_argument("--requests", type=int, default=200, help="requests timed per page (default 200)")
    parser.add_argument("--quick", action="store_true", help="1000 and 10000 people, 200 events, 50 requests")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest statements of each page")
    parser.add_argument("--try-index", action="append", default=[], metavar="SQL",
                        help="CREATE INDEX … on the pathways database after the pages are timed, then time them again (repeatable)")
    add_run_options(parser)
    args = parser.parse_args()
    if args.quick:
        args.first, args.employees, args.events, args.requests = 1_000, 10_000, 200, 50
    started_at = datetime.now(UTC)
    stack = Stack(kafka=False, keep=args.keep).start()
    try:
        from services.issuer.app import create_app as issuer_app
        from services.pathways.app import create_app as pathways_app

        stack.create_databases(["issuer:small", "pathways:small", "issuer:large", "pathways:large"])
        companies = []
        for copy, people in (("small", args.first), ("large", args.employees)):
            company = Company(people, pathways_app(service_config(f"pathways:{copy}", stack)), issuer_app(service_config(f"issuer:{copy}", stack)))
            define_catalog(company.issuer, company.pathways)
            loaded = bulk_load(stack, copy, people)
            log(f"loaded {people} people, {CREDENTIALS_PER_EMPLOYEE * people} credentials in {loaded:.0f} s")
            companies.append(company)
        small, large = event_costs(companies, args.events)
        for people, costs in ((args.first, small), (args.employees, large)):
            for name, figures in costs.items():
                log(f"at {people:>7} people, {name}: mean {figures['mean']:.2f} ms, {fmt_ms(figures)}")
        pathways = companies[1].pathways
        pages, plans, statements = time_pages(pathways, args.employees, args.requests, args.explain)
        indexed = None
        if args.try_index:
            import psycopg

            with psycopg.connect(stack.libpq("pathways:large"), autocommit=True) as connection:
                for statement in args.try_index:
                    connection.execute(statement)
                connection.execute("ANALYZE")
            log("with " + "; ".join(args.try_index))
            indexed, indexed_plans, _ = time_pages(pathways, args.employees, args.requests, args.explain)
            plans = {f"{page} (with the tried indexes)": found for page, found in indexed_plans.items()} | plans
        for company in companies:
            company.issuer.extensions["database"].dispose()
            company.pathways.extensions["database"].dispose()
    finally:
        stack.stop()

    lines = [
        run_header(f"Scale: {args.employees} employees, {CREDENTIALS_PER_EMPLOYEE * args.employees} credentials", started_at),
        f"- data: bulk-loaded people in teams of {TEAM_SIZE}, {CREDENTIALS_PER_EMPLOYEE} held/issued credentials each (1 % revoked), "
        "as many processed events, an enrolment each, ~2 attained levels each, an open request for 1 % (for 60 % of them older than 7 days: the overview lists them); "
        f"30 credentials, 3 pathways of 4 levels; loaded with INSERT … SELECT generate_series and ANALYZEd",
        "- pages: Flask test client with a signed-in session, server time only (no network), a different person per request",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
    ]
    for page in PAGES:
        figures = pages[page.name]
        lines.append(f"| `{page.path}` {page.name} ({statements[page.name]} SQL statements) | {fmt_ms(figures)} | p95 < 100 ms {'met' if figures['p95'] < 100 else '**missed**'} |")
    if indexed:
        lines.append(f"| with `{'; '.join(args.try_index)}` | | |")
        for page in PAGES:
            lines.append(f"| — `{page.path}` {page.name} | {fmt_ms(indexed[page.name])} | p95 < 100 ms {'met' if indexed[page.name]['p95'] < 100 else '**missed**'} |")
    for name in small:
        ratio = large[name]["mean"] / small[name]["mean"]
        target = f"≤ 1.2 {'met' if ratio <= 1.2 else '**missed**'}" if name.startswith("progress") else ""
        lines.append(f"| {name} per event at {args.first} people | mean {small[name]['mean']:.2f} ms, {fmt_ms(small[name])} | |")
        lines.append(f"| — at {args.employees} people | mean {large[name]['mean']:.2f} ms, {fmt_ms(large[name])} | |")
        lines.append(f"| — ratio {args.employees} / {args.first} (means) | **{ratio:.2f}** | {target} |")
    if plans:
        lines += ["", "Slowest statements of one request per page (EXPLAIN ANALYZE):", ""]
        for page, found in plans.items():
            lines += [f"{page}:", "```", *found, "```"]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("scale" + ("-quick" if args.quick else ""), body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
