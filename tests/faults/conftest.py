"""The fault suite runs on the e2e platform (its fixtures, imported: one platform for this folder)
and stops and starts the servers deploy/test.sh started: the Kafka broker and PostgreSQL."""

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import identity, platform  # noqa: F401  (pytest finds fixtures by name)
from tests.faults.run import FIGURES


@dataclass
class Server:
    """A server managed by one of deploy/'s scripts (`stop` keeps its data, `start` waits until ready)."""

    name: str
    script: Path
    running: bool = True

    def _run(self, command: str) -> None:
        # The script reads its ports and homes from the environment deploy/test.sh exported.
        done = subprocess.run([str(self.script), command], capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{self.script.name} {command} failed: {done.stderr[-2000:]}"

    def stop(self) -> None:
        self._run("stop")
        self.running = False

    def start(self) -> None:
        self._run("start")
        self.running = True

    @contextmanager
    def down(self, seconds: float) -> Iterator[None]:
        """Stop the server, run the block, keep it down for at least `seconds` in all, start it again."""
        self.stop()
        stopped = time.monotonic()
        try:
            yield
            time.sleep(max(0.0, seconds - (time.monotonic() - stopped)))  # the fault's length, not a wait for a result
        finally:
            self.start()


def _server(name: str, script: Path) -> Iterator[Server]:
    if not script.is_file():
        pytest.fail(f"{script} is missing: run the fault suite with deploy/test.sh")
    server = Server(name, script)
    yield server
    if not server.running:  # a test failed while the server was down: leave it as deploy/test.sh expects
        server.start()


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[Server]:
    script = os.environ.get("SKILLSTACK_TEST_KAFKA_SCRIPT")
    if not script:
        pytest.fail("SKILLSTACK_TEST_KAFKA_SCRIPT is not set: run the fault suite with deploy/test.sh")
    yield from _server("kafka", Path(script))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    if not os.environ.get("PG_PORT"):
        pytest.fail("PG_PORT is not set: run the fault suite with deploy/test.sh, which starts PostgreSQL")
    yield from _server("postgres", ROOT / "deploy" / "postgres.sh")


def pytest_terminal_summary(terminalreporter) -> None:
    """Repeat each fault run's figures after the workers' logs, where they are easy to find."""
    if FIGURES:
        terminalreporter.section("fault suite figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
