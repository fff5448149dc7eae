"""The whole platform for end-to-end tests: three services over HTTP, their workers as real
processes, the real Kafka broker and PostgreSQL, and a real SMTP server on loopback."""

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from tests.conftest import ROOT, SERVICES, service_config
from tests.mail import MailCatcher
from tests.e2e.identity import Keycloak
from tests.support import free_port, issuer_signing_keys

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
# Webhooks in the tests post to a receiver on loopback, over plain HTTP (API and worker alike).
LOOPBACK_WEBHOOKS = {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WEBHOOK_ALLOW_HTTP": True}


@dataclass
class Worker:
    """A service's worker process, which tests may kill and restart."""

    service: str
    env: dict
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.service}.worker"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no commit, like a crashed machine."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait for a graceful exit; return the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@dataclass
class Platform:
    urls: dict[str, str]
    mail: MailCatcher
    identity: Keycloak
    workers: dict[str, Worker] = field(default_factory=dict)
    kafka_bootstrap: str = ""

    def get(self, service: str, path: str, **kwargs) -> requests.Response:
        return requests.get(self.urls[service] + path, timeout=10, **kwargs)

    def post(self, service: str, path: str, **kwargs) -> requests.Response:
        return requests.post(self.urls[service] + path, timeout=10, **kwargs)


def _identity_config(service: str, identity: Keycloak) -> dict:
    """Trust the real identity provider, with this service's web client."""
    return {
        "SECRET_KEY": f"e2e-session-key-{service}",
        "OIDC_ISSUER": identity.issuer,
        "OIDC_JWKS": None,
        "OIDC_CLIENT_SECRET": f"{service}-local-secret",
        "OIDC_CLOCK_SKEW_SECONDS": "1",  # so a real, short-lived token expires within the test
    }


def _worker_env(service: str, database_url: str, kafka_bootstrap: str, smtp_port: int, identity: Keycloak) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SKILLSTACK_")}
    prefix = f"SKILLSTACK_{service.upper()}_"
    env |= {f"SKILLSTACK_{name}": value for name, value in _identity_config(service, identity).items() if value}
    env["SKILLSTACK_ISSUER_SIGNING_KEYS"] = json.dumps(issuer_signing_keys())
    env |= {
        "SKILLSTACK_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SKILLSTACK_INTRANET_URL": "http://intranet.test",
        "SKILLSTACK_METRICS_PORT": "0",  # no metrics server: parallel workers would contend for its port
        prefix + "DATABASE_URL": database_url,
        "SKILLSTACK_NOTIFICATIONS_SMTP_PORT": str(smtp_port),
        "SKILLSTACK_NOTIFICATIONS_DELIVERY_RETRY_BASE_SECONDS": "0.2",
        "SKILLSTACK_NOTIFICATIONS_DELIVERY_RETRY_MAX_SECONDS": "2",
        "SKILLSTACK_NOTIFICATIONS_DIGEST_CHECK_SECONDS": "86400",  # no daily digests mid-test: counts stay exact
        **{f"SKILLSTACK_NOTIFICATIONS_{name}": json.dumps(value) for name, value in LOOPBACK_WEBHOOKS.items()},
        "SKILLSTACK_ISSUER_EXPIRY_CHECK_SECONDS": "1",  # so an expiry is announced within the test
        "PYTHONUNBUFFERED": "1",
    }
    return env


@pytest.fixture(scope="session")
def identity() -> Keycloak:
    base_url = os.environ.get("SKILLSTACK_TEST_KEYCLOAK")
    if not base_url:
        pytest.fail("SKILLSTACK_TEST_KEYCLOAK is not set: run the suite with deploy/test.sh, which starts Keycloak")
    return Keycloak(base_url, os.environ["SKILLSTACK_TEST_KEYCLOAK_ADMIN_PASSWORD"])


def _service_app(service: str, database_url: str, kafka_bootstrap: str, identity: Keycloak, **overrides):
    """One service's Flask app on this session's database and broker, trusting the real identity provider."""
    from services.issuer.app import create_app as issuer
    from services.notifications.app import create_app as notifications
    from services.pathways.app import create_app as pathways

    factories = {"issuer": issuer, "pathways": pathways, "notifications": notifications}
    config = service_config(service, database_url, kafka_bootstrap) | _identity_config(service, identity)
    if service == "notifications":
        config |= LOOPBACK_WEBHOOKS
    return factories[service](config | overrides)


def _serve(app, port: int = 0):
    """Serve a WSGI app on loopback in a background thread; the server (stop it with shutdown())."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="package")
def platform(service_databases, kafka_bootstrap, identity):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    mail = MailCatcher(free_port())
    mail.start()
    servers, urls = [], {}
    for service in SERVICES:
        server = _serve(_service_app(service, service_databases[service], kafka_bootstrap, identity))
        servers.append(server)
        urls[service] = f"http://127.0.0.1:{server.server_port}"
    running = Platform(urls=urls, mail=mail, identity=identity, kafka_bootstrap=kafka_bootstrap)
    for service in SERVICES:
        worker = Worker(
            service,
            _worker_env(service, service_databases[service], kafka_bootstrap, mail.port, identity),
            ARTIFACTS / f"{service}-worker.log",
        )
        worker.start()
        running.workers[service] = worker
    yield running
    exit_codes = {service: worker.stop() for service, worker in running.workers.items()}
    for server in servers:
        server.shutdown()
    mail.stop()
    assert exit_codes == {service: 0 for service in SERVICES}, f"workers did not stop gracefully: {exit_codes}"


@pytest.fixture(scope="package")
def intranet(platform, service_databases, kafka_bootstrap, identity) -> str:
    """The intranet as people reach it: the three services under one origin behind the local gateway
    (deploy/gateway.py: /issuer/, /pathways/, /notifications/, the issuer's public pages at the root),
    with the platform's workers doing their background work. Its origin, e.g. http://127.0.0.1:41234."""
    from deploy.gateway import create_gateway

    gateway_port = free_port()
    origin = f"http://127.0.0.1:{gateway_port}"
    servers = {
        service: _serve(_service_app(service, service_databases[service], kafka_bootstrap, identity, BEHIND_PROXY=True, INTRANET_URL=origin))
        for service in SERVICES
    }
    gateway = _serve(create_gateway({service: str(server.server_port) for service, server in servers.items()}), gateway_port)
    yield origin
    for server in (gateway, *servers.values()):
        server.shutdown()
