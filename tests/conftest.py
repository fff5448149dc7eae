"""Fixtures for the real infrastructure: the Kafka broker and PostgreSQL that deploy/test.sh starts.

Unit and contract tests need none of them. Integration and e2e tests fail (never skip) when
the servers are missing: run them through `deploy/test.sh`.
"""

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from shared.bus.kafka import ensure_topics
from shared.migrations import upgrade
from tests.support import auth_config, issuer_signing_keys

SERVICES = ("issuer", "pathways", "notifications")
ROOT = Path(__file__).resolve().parent.parent


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with deploy/test.sh, which starts Kafka and PostgreSQL")
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = _required_env("SKILLSTACK_TEST_KAFKA")
    ensure_topics(bootstrap, partitions=3)
    return bootstrap


@pytest.fixture(scope="session")
def service_databases() -> dict[str, str]:
    """A fresh PostgreSQL database per service for this test session, migrated to head."""
    base = _required_env("SKILLSTACK_TEST_POSTGRES")
    admin_url = make_url(f"{base}/postgres")
    suffix = uuid.uuid4().hex[:8]
    names = {service: f"test_{service}_{suffix}" for service in SERVICES}
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for name in names.values():
            connection.execute(f'CREATE DATABASE "{name}"')
    urls = {service: f"{base}/{name}" for service, name in names.items()}
    for service, url in urls.items():
        upgrade(ROOT / "services" / service / "migrations", url)
    yield urls
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for name in names.values():
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_config(service: str, database_url: str, kafka_bootstrap: str) -> dict:
    own = {"SIGNING_KEYS": issuer_signing_keys()} if service == "issuer" else {}
    return own | {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
    } | auth_config()


@pytest.fixture(scope="session")
def apps(service_databases, kafka_bootstrap):
    """The three Flask apps, on this session's databases."""
    from services.issuer.app import create_app as issuer
    from services.notifications.app import create_app as notifications
    from services.pathways.app import create_app as pathways

    factories = {"issuer": issuer, "pathways": pathways, "notifications": notifications}
    created = {name: factories[name](service_config(name, service_databases[name], kafka_bootstrap)) for name in SERVICES}
    yield created
    for app in created.values():
        app.extensions["database"].dispose()
