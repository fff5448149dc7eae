"""What every bench shares: a private Kafka and PostgreSQL, worker processes, tokens, timing and RESULTS.md.

The benches run from the repository root as plain scripts (`.venv/bin/python bench/<name>.py`).
They start their own servers on ports of their own (Kafka 29192/29193, PostgreSQL 25482: below
Linux's ephemeral range 32768-60999, so no outgoing connection holds them) so a
bench never touches the test suite's or the local run's servers, and stop them at the end.
"""

import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/x.py`: make `shared`, `services`, `tests` importable
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.support import auth_config, bearer, issuer_signing_keys, wait_for  # noqa: E402,F401 - re-exported for the benches

SERVICES = ("issuer", "pathways", "notifications")
RESULTS = ROOT / "bench" / "RESULTS.md"
LOGS = ROOT / ".local" / "bench-logs"
KAFKA_PORT = int(os.environ.get("BENCH_KAFKA_PORT", "29192"))
KAFKA_CONTROLLER_PORT = int(os.environ.get("BENCH_KAFKA_CONTROLLER_PORT", "29193"))
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "25482"))
KAFKA_HOME = ROOT / ".local" / "bench-kafka"


def _stop_on_term(_signum, _frame) -> None:
    raise SystemExit(143)  # so `finally` blocks stop the servers and processes a bench started


signal.signal(signal.SIGTERM, _stop_on_term)


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# --- servers ------------------------------------------------------------------------------


def _deploy(script: str, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(ROOT / "deploy" / script), *args], env=os.environ | env, cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"deploy/{script} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def _kafka_env() -> dict[str, str]:
    return {
        "KAFKA_HOME": str(KAFKA_HOME),
        "KAFKA_PORT": str(KAFKA_PORT),
        "KAFKA_CONTROLLER_PORT": str(KAFKA_CONTROLLER_PORT),
        "KAFKA_PARTITIONS": "3",
    }


def _pg_env() -> dict[str, str]:
    return {"PG_PORT": str(PG_PORT)}


def _reuse_kafka_jars() -> None:
    """Copy already fetched broker jars (deploy/kafka.sh checks they match its POM) instead of running Maven."""
    if (KAFKA_HOME / "libs").exists():
        return
    for candidate in (ROOT / ".local" / "test-kafka" / "libs", ROOT / ".local" / "kafka" / "libs"):
        if (candidate / ".pom.sha256").exists():
            KAFKA_HOME.mkdir(parents=True, exist_ok=True)
            shutil.copytree(candidate, KAFKA_HOME / "libs")
            return


@dataclass
class Stack:
    """A private Kafka broker (empty topics) and PostgreSQL server, and fresh databases on it."""

    kafka: bool = True
    keep: bool = False  # leave the servers running afterwards (developing a bench)
    databases: dict[str, str] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{KAFKA_PORT}"

    @property
    def postgres_base(self) -> str:
        return _deploy("postgres.sh", "url", "postgres", env=_pg_env()).rsplit("/", 1)[0]

    def start(self) -> "Stack":
        LOGS.mkdir(parents=True, exist_ok=True)
        if self.kafka:
            _reuse_kafka_jars()
            _deploy("kafka.sh", "reset", env=_kafka_env())  # every run starts from empty topics
            started = time.monotonic()
            _deploy("kafka.sh", "start", env=_kafka_env())
            log(f"Kafka ready on {self.bootstrap} in {time.monotonic() - started:.0f} s")
        _deploy("postgres.sh", "start", env=_pg_env())
        log(f"PostgreSQL ready on 127.0.0.1:{PG_PORT}")
        if self.kafka:
            from shared.bus.kafka import ensure_topics

            ensure_topics(self.bootstrap, partitions=3)
        return self

    def create_databases(self, services: Iterable[str] = SERVICES, *, migrate: bool = True) -> dict[str, str]:
        """A fresh database per service (dropping this bench's older ones), migrated to head.

        A name `service:copy` makes another database of that service (keyed by the whole name)."""
        from shared.migrations import upgrade

        suffix = uuid.uuid4().hex[:6]
        with self._admin() as connection:
            for (name,) in connection.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'").fetchall():
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for name in services:
                database = f"bench_{name.replace(':', '_')}_{suffix}"
                connection.execute(f'CREATE DATABASE "{database}"')
                self.databases[name] = f"{self.postgres_base}/{database}"
        if migrate:
            for name in services:
                upgrade(ROOT / "services" / name.split(":")[0] / "migrations", self.databases[name])
        return self.databases

    def _admin(self):
        url = make_url(f"{self.postgres_base}/postgres").set(drivername="postgresql")
        return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)

    def libpq(self, service: str) -> str:
        """The plain libpq connection string of a service's database (for psycopg and COPY)."""
        return make_url(self.databases[service]).set(drivername="postgresql").render_as_string(hide_password=False)

    def stop(self) -> None:
        if self.keep:
            log("leaving Kafka and PostgreSQL running (--keep)")
            return
        if self.kafka:
            _deploy("kafka.sh", "stop", env=_kafka_env())
        _deploy("postgres.sh", "stop", env=_pg_env())


def service_config(name: str, stack: Stack) -> dict:
    """An in-process app's config: this bench's database (`service` or `service:copy`) and broker, the test identity provider's keys."""
    own = {"SIGNING_KEYS": issuer_signing_keys()} if name.split(":")[0] == "issuer" else {}
    return own | {"DATABASE_URL": stack.databases[name], "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap} | auth_config()


def service_env(service: str, stack: Stack, **extra: str) -> dict[str, str]:
    """The environment of a service's worker or gunicorn process, as an operator would set it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SKILLSTACK_")}
    config = auth_config()
    env |= {
        "SKILLSTACK_SECRET_KEY": config["SECRET_KEY"],
        "SKILLSTACK_OIDC_ISSUER": config["OIDC_ISSUER"],
        "SKILLSTACK_OIDC_JWKS": json.dumps(config["OIDC_JWKS"]),
        "SKILLSTACK_ISSUER_SIGNING_KEYS": json.dumps(issuer_signing_keys()),
        "SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        f"SKILLSTACK_{service.upper()}_DATABASE_URL": stack.databases[service],
        "SKILLSTACK_METRICS_PORT": "0",  # no /metrics listener: several processes would want port 9100
        "PYTHONUNBUFFERED": "1",
    }
    return env | extra


# --- processes ----------------------------------------------------------------------------


@dataclass
class Process:
    """A child process of the bench (a worker, gunicorn, a relay), with its log and memory."""

    name: str
    argv: list[str]
    env: dict[str, str]
    popen: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return LOGS / f"{self.name}.log"

    def start(self) -> "Process":
        LOGS.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as out:
            self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def peak_memory_mb(self) -> float:
        """VmHWM: the most resident memory the process ever had, in MB."""
        return status_field(self.pid, "VmHWM") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 60) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()


def status_field(pid: int, name: str) -> int:
    """A kB figure of /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def worker(service: str, stack: Stack, **extra_env: str) -> Process:
    """`python -m services.<service>.worker`, as deployed."""
    return Process(f"{service}-worker", [sys.executable, "-m", f"services.{service}.worker"], service_env(service, stack, **extra_env))


# --- timing -------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of durations in seconds, in milliseconds."""
    return {
        "n": len(seconds),
        "p50": percentile(seconds, 50) * 1000,
        "p95": percentile(seconds, 95) * 1000,
        "p99": percentile(seconds, 99) * 1000,
        "max": max(seconds) * 1000 if seconds else math.nan,
        "mean": statistics.fmean(seconds) * 1000 if seconds else math.nan,
    }


def fmt_ms(summary: dict[str, float]) -> str:
    return f"p50 {summary['p50']:.1f} ms, p95 {summary['p95']:.1f} ms, p99 {summary['p99']:.1f} ms (max {summary['max']:.1f}, n={summary['n']})"


# --- reporting ----------------------------------------------------------------------------


def machine() -> str:
    """What ran the bench: cores, CPU model, memory, load at the start."""
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    memory_gb = status_meminfo("MemTotal") / 1024 / 1024
    load = os.getloadavg()
    return f"{os.cpu_count()} cores ({model}), {memory_gb:.0f} GB RAM, load average at start {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, Python {platform.python_version()}"


def status_meminfo(name: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def add_run_options(parser, servers: str = "PostgreSQL") -> None:
    """The options every bench has: keep the servers for the next run, leave RESULTS.md alone."""
    parser.add_argument("--keep", action="store_true", help=f"leave {servers} running afterwards")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")


def command_line() -> str:
    return ".venv/bin/python " + shlex.join(["bench/" + Path(sys.argv[0]).name, *sys.argv[1:]])


def write_section(name: str, body: str) -> None:
    """Replace (or append) this bench's section of bench/RESULTS.md, between its markers."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Bench results\n\nEach section is rewritten by its bench; see bench/README.md.\n"
    section = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    log(f"wrote the {name} section of {RESULTS.relative_to(ROOT)}")


def run_header(title: str, started: datetime) -> str:
    return (
        f"## {title}\n\n"
        f"- command: `{command_line()}`\n"
        f"- run: {started.astimezone().strftime('%Y-%m-%d %H:%M %Z')}, took {(datetime.now(UTC) - started).total_seconds() / 60:.1f} min\n"
        f"- machine: {MACHINE}\n"
    )


MACHINE = machine()
