"""Public verification under load: `POST /verify` and the public credential page, against bare Flask.

    .venv/bin/python bench/verification.py [--connections 8] [--seconds 15] [--rounds 2] [--quick]

The issuer app and bench/bare_app.py each run under gunicorn with the same settings
(`--workers 2`, sync workers, as deploy/Procfile runs the services); Debian's `wrk` (C, one
thread) sends the load at a fixed number of connections. The issuer verifies real issued
credentials (VC-JWTs signed by its key, rotating over --credentials of them), so every request
does the proof, schema, validity and revocation checks (nothing is remembered between requests;
--credentials sets how many distinct credentials the load rotates over); the bare app answers the
same requests
(same bodies, same paths) without any of it. The ratio issuer/bare says how much of what Flask
and gunicorn can do on this machine the verification path keeps. Since the machine may be shared,
the CPU each request costs (the gunicorn workers', and PostgreSQL's for the issuer) is measured
too: it moves much less with the load of the moment than requests/s do.
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import LOGS, Process, Stack, add_run_options, bearer, log, run_header, service_config, service_env, wait_for, write_section  # noqa: E402
from shared.auth import HR_ADMIN  # noqa: E402
from tests.support import free_port  # noqa: E402

GUNICORN_SETTINGS = ["--workers", "2", "--graceful-timeout", "5", "--no-control-socket"]


def issue_credentials(stack: Stack, count: int) -> list[tuple[str, str]]:
    """Define a credential and issue it to `count` people through the issuer's own handler; (id, VC-JWT) of each."""
    from sqlalchemy import select

    from services.issuer.app import create_app
    from services.issuer.models import Credential, Person
    from tests.integration.helpers import handle, issuer_handlers

    app = create_app(service_config("issuer", stack))
    response = app.test_client().post(
        "/api/achievements",
        json={
            "id": "bench-sql-foundations", "name": "SQL Foundations", "description": "Can query and model relational data.",
            "assessment_id": "bench-sql-101", "min_score": 70, "validity_months": 24,
            "skills": [{"framework": "ESCO", "url": "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d", "code": "S1.4.1", "name": "SQL"}],
        },
        headers=bearer("issuer", "bench-hr", roles=(HR_ADMIN,)),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    now = datetime.now(UTC)
    handlers = issuer_handlers(app, now)
    for n in range(count):
        employee = f"e{n:05d}"
        handle(app, handlers, "skillstack.academy.assessment.completed.v1", {
            "attempt_id": f"bench-attempt-{n}", "employee_id": employee, "email": f"{employee}@example.com",
            "assessment_id": "bench-sql-101", "score": 88.0, "completed_at": now,
        })
    with app.extensions["database"].transaction() as session:
        credentials = list(session.scalars(select(Credential).order_by(Credential.employee_id)))
        for credential in credentials:  # shared by their holders, so the page names them and offers the share links
            credential.public = True
            session.merge(Person(employee_id=credential.employee_id, name=f"Employee {credential.employee_id}", email=credential.email, active=True))
        found = [(credential.id, credential.jwt) for credential in credentials]
    app.extensions["database"].dispose()
    return found


def lua_script(kind: str, credentials: list[tuple[str, str]]) -> Path:
    """A wrk script rotating over the credentials: POST bodies for /verify, paths for the page."""
    if kind == "verify":
        items = [json.dumps({"credential": token}) for _, token in credentials]
        request = 'return wrk.format("POST", "/verify", {["Content-Type"] = "application/json"}, items[i])'
    else:
        items = [f"/credentials/{credential_id}" for credential_id, _ in credentials]
        request = 'return wrk.format("GET", items[i])'
    path = LOGS / f"wrk-{kind}.lua"
    path.write_text(
        "local items = {" + ",".join(json.dumps(item) for item in items) + "}\n"
        "local i = 0\n"
        "request = function()\n  i = i % #items + 1\n  " + request + "\nend\n"
    )
    return path


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, script: Path, *, connections: int, seconds: float) -> dict:
    """Run wrk once; requests/s, latency percentiles (ms), errors, and the CPU seconds wrk itself used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        ["wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{seconds:g}s", "--latency", "--script", str(script), url],
        capture_output=True, text=True, check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = result.stdout
    latency = {
        f"p{p}": float(value) * UNITS[unit]
        for p, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if errors or socket_errors:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "latency": latency,
        "wrk_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "seconds": seconds,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gunicorn_workers(server: Process) -> list[int]:
    """The worker processes of a gunicorn master."""
    return [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]


def postgres_backends(stack: Stack) -> list[int]:
    """The server processes of the connections to the issuer's database (the apps' pools, open after warm-up)."""
    database = stack.libpq("issuer").rsplit("/", 1)[1]
    with stack._admin() as connection:
        return [pid for (pid,) in connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]


def gunicorn(name: str, app_path: str, env: dict, port: int, settings: list[str]) -> Process:
    return Process(name, [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *settings, app_path], env).start()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections of wrk (default 8)")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each measurement (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="bare/issuer pairs per endpoint, averaged (default 2)")
    parser.add_argument("--credentials", type=int, default=200, help="distinct issued credentials the load rotates over (default 200)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker: 1 is the sync worker deploy/Procfile runs (default 1)")
    parser.add_argument("--quick", action="store_true", help="5 s measurements, one round, 20 credentials")
    add_run_options(parser)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.credentials = 5, 1, 20
    if shutil.which("wrk") is None:
        parser.error("the load generator is Debian's wrk: apt-get install wrk")
    settings = GUNICORN_SETTINGS + (["--worker-class", "gthread", "--threads", str(args.threads)] if args.threads > 1 else ["--worker-class", "sync"])
    started_at = datetime.now(UTC)
    stack = Stack(kafka=False, keep=args.keep).start()
    servers: list[Process] = []
    results: dict[str, dict[str, list[dict]]] = {}
    try:
        stack.create_databases(["issuer"])
        credentials = issue_credentials(stack, args.credentials)
        log(f"issued {len(credentials)} credentials")
        ports = {"issuer": free_port(), "bare": free_port()}
        # One load generator is one client address: the per-address limit of the public endpoints
        # stays on (its bookkeeping is part of the cost) but high enough never to answer 429.
        env = service_env("issuer", stack) | {"SKILLSTACK_LOG_LEVEL": "WARNING", "SKILLSTACK_ISSUER_RATE_LIMIT_VERIFY": "100000000/minute"}
        servers.append(gunicorn("gunicorn-issuer", "services.issuer.app:create_app()", env, ports["issuer"], settings))
        servers.append(gunicorn("gunicorn-bare", "bench.bare_app:create_app()", env, ports["bare"], settings))
        for name, port in ports.items():
            wait_for(lambda: _answers(f"http://127.0.0.1:{port}/verify"), timeout=60, interval=0.3, message=f"gunicorn ({name})")
        scripts = {"verify": lua_script("verify", credentials), "page": lua_script("page", credentials)}
        for kind, script in scripts.items():
            for name, port in ports.items():  # warm up: imports, caches, connection pools
                wrk(f"http://127.0.0.1:{port}", script, connections=args.connections, seconds=2)
            results[kind] = {"bare": [], "issuer": []}
            for _ in range(args.rounds):
                for name, port in ports.items():
                    # CPU per request as well as requests/s: on a shared machine the rate follows the
                    # load of the moment, the CPU a request costs much less so.
                    workers = gunicorn_workers(next(server for server in servers if server.name == f"gunicorn-{name}"))
                    backends = postgres_backends(stack) if name == "issuer" else []
                    before = sum(map(cpu_seconds, workers)), sum(map(cpu_seconds, backends))
                    measured = wrk(f"http://127.0.0.1:{port}", script, connections=args.connections, seconds=args.seconds)
                    requests = measured["rps"] * measured["seconds"]
                    measured["cpu_ms"] = 1000 * (sum(map(cpu_seconds, workers)) - before[0]) / requests
                    measured["postgres_cpu_ms"] = 1000 * (sum(map(cpu_seconds, backends)) - before[1]) / requests
                    results[kind][name].append(measured)
                    postgres = f" (+{measured['postgres_cpu_ms']:.2f} ms PostgreSQL)" if backends else ""
                    log(f"{kind:6} {name:6}: {measured['rps']:8.1f} req/s, p50 {measured['latency']['p50']:.2f} ms, "
                        f"p99 {measured['latency']['p99']:.2f} ms; {measured['cpu_ms']:.2f} ms of worker CPU per request{postgres}; "
                        f"wrk used {100 * measured['wrk_cpu'] / args.seconds:.0f} % of a core, load {os.getloadavg()[0]:.1f}")
    finally:
        for server in servers:
            server.stop()
        stack.stop()

    def mean(kind: str, name: str, pick) -> float:
        values = [pick(run) for run in results[kind][name]]
        return sum(values) / len(values)

    labels = {"verify": "`POST /verify` (VC-JWT in a JSON body)", "page": "`GET /credentials/<id>` (public credential page)"}
    lines = [
        run_header("Verification: the issuer's public endpoints vs bare Flask", started_at),
        f"- set-up: gunicorn `{' '.join(settings)}` for both apps; `wrk --threads 1 --connections {args.connections}`, "
        f"{args.seconds:g} s per measurement, {args.rounds} round(s) alternating bare/issuer, averaged; "
        f"{len(credentials)} distinct issued credentials in rotation; the issuer's per-address rate limit raised to 100000000/minute "
        "(one wrk is one address) and its access log at WARNING",
        "",
        "| endpoint | bare Flask req/s | issuer req/s | issuer / bare | issuer p50 / p99 | CPU per request: bare / issuer (+PostgreSQL) | bare / issuer CPU | wrk CPU | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind in results:
        bare, issuer = mean(kind, "bare", lambda r: r["rps"]), mean(kind, "issuer", lambda r: r["rps"])
        ratio = 100 * issuer / bare
        wrk_cpu = max(100 * run["wrk_cpu"] / run["seconds"] for name in results[kind] for run in results[kind][name])
        bare_cpu, issuer_cpu = mean(kind, "bare", lambda r: r["cpu_ms"]), mean(kind, "issuer", lambda r: r["cpu_ms"])
        postgres_cpu = mean(kind, "issuer", lambda r: r["postgres_cpu_ms"])
        lines.append(
            f"| {labels[kind]} | {bare:.0f} | {issuer:.0f} | **{ratio:.1f} %** | "
            f"{mean(kind, 'issuer', lambda r: r['latency']['p50']):.1f} / {mean(kind, 'issuer', lambda r: r['latency']['p99']):.1f} ms | "
            f"{bare_cpu:.2f} / {issuer_cpu:.2f} (+{postgres_cpu:.2f}) ms | {100 * bare_cpu / (issuer_cpu + postgres_cpu):.1f} % | "
            f"≤ {wrk_cpu:.0f} % of a core | ≥ 60 % {'met' if ratio >= 60 else '**missed**'} |"
        )
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        variant = ("-quick" if args.quick else "") + (f"-threads{args.threads}" if args.threads > 1 else "")
        variant += f"-{args.credentials}-credentials" if not args.quick and args.credentials != 200 else ""
        write_section("verification" + variant, body)
    return 0


def _answers(url: str) -> bool:
    import requests

    try:
        requests.post(url, json={}, timeout=30)
        return True
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())
