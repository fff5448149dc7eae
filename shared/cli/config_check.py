"""`skillstack check-config --service <name>`: is this environment fit to run that service?

Reads the service's settings as its processes would (class defaults, SKILLSTACK_*,
SKILLSTACK_<SERVICE>_*), reports what is missing or malformed, builds the service's app to
let it refuse what it refuses, then checks that the database answers at the latest schema and
that Kafka answers with every topic. Secret values are never printed: a secret is only "set",
and every message is scrubbed of them. Exit code 1 when anything failed.
"""

import importlib
import json
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.bus.kafka import all_topics, check_broker
from shared.config import REQUIRED
from shared.db import Database

SECRET = re.compile(r"SECRET|PASSWORD|TOKEN|SIGNING_KEYS|PRIVATE")
URL_SETTINGS = ("OIDC_ISSUER", "INTRANET_URL", "PUBLIC_URL")
SERVICE_NAME = re.compile(r"[a-z][a-z_]*")
PRIVATE_JWK_FIELDS = ("d", "p", "q", "dp", "dq", "qi", "k")


def add_command(commands) -> None:
    check = commands.add_parser("check-config", help="check a service's settings, database and Kafka from this environment")
    check.add_argument("--service", required=True, help="issuer, pathways or notifications")
    check.set_defaults(run=check_config_command)


class Report:
    """The findings, printed as they come, with every secret value scrubbed."""

    def __init__(self, secrets: list[str]):
        self.secrets = sorted((value for value in secrets if len(value) >= 4), key=len, reverse=True)
        self.failed = False

    def ok(self, message: str) -> None:
        print("ok    " + self.scrub(message))

    def fail(self, message: str) -> None:
        self.failed = True
        print("FAIL  " + self.scrub(message))

    def scrub(self, message: str) -> str:
        for secret in self.secrets:
            message = message.replace(secret, "***")
        return message


def read_settings(service: str) -> dict:
    """The service's settings from its config class and the environment, as `load_config` reads them."""
    config_class = importlib.import_module(f"services.{service}.config").Config
    probe = Flask(f"check-config-{service}")
    probe.config.from_object(config_class)
    probe.config.from_prefixed_env("SKILLSTACK")
    probe.config.from_prefixed_env(f"SKILLSTACK_{service.upper()}")
    return dict(probe.config)


def secret_values(settings: dict) -> list[str]:
    """Every secret value, and the private parts of JWK sets and database URLs, to scrub from output."""
    values = []
    for name, value in settings.items():
        if SECRET.search(name) and value:
            values.append(value if isinstance(value, str) else json.dumps(value))
            keys = json.loads(value) if isinstance(value, str) and value.lstrip().startswith("{") else value
            if isinstance(keys, dict):
                values += [str(key[field]) for key in keys.get("keys", []) for field in PRIVATE_JWK_FIELDS if field in key]
    password = _database_password(settings.get("DATABASE_URL"))
    return values + ([password] if password else [])


def _database_password(url) -> str | None:
    try:
        return make_url(url).password if url else None
    except Exception:  # an unparsable URL is reported by check_settings; scrub it whole
        return str(url)


def check_settings(settings: dict, service: str, report: Report) -> None:
    """Required settings present, secrets only said to be set, URLs and addresses well-formed."""
    prefix = f"SKILLSTACK_{service.upper()}_"
    for name in REQUIRED:
        if not settings.get(name):
            report.fail(f"SKILLSTACK_{name} (or {prefix}{name}) is missing")
    own = [name for name in settings if not name.startswith(f"{service.upper()}_")]  # not the SKILLSTACK_<SERVICE>_ copies
    for name in sorted(name for name in own if SECRET.search(name) and settings[name]):
        report.ok(f"{name} is set")
    if settings.get("SECRET_KEY") and len(str(settings["SECRET_KEY"])) < 16:
        report.fail("SECRET_KEY is too short: use at least 16 random characters (e.g. openssl rand -hex 32)")
    for name in URL_SETTINGS:
        value = settings.get(name)
        if value and not (urlsplit(str(value)).scheme in ("http", "https") and urlsplit(str(value)).netloc):
            report.fail(f"{name} is not an http(s) URL: {value}")
    servers = str(settings.get("KAFKA_BOOTSTRAP_SERVERS") or "")
    if not all(re.fullmatch(r"[^\s:,]+:\d{1,5}", server) for server in servers.split(",")):
        report.fail(f"KAFKA_BOOTSTRAP_SERVERS is not a comma-separated list of host:port: {servers}")
    if not str(settings.get("METRICS_PORT", 9100)).isdigit() or int(settings.get("METRICS_PORT", 9100)) > 65535:
        report.fail(f"METRICS_PORT is not a port number: {settings.get('METRICS_PORT')}")


def check_app(service: str, settings: dict, report: Report) -> None:
    """Build the service's app, so that it refuses what it would refuse at start (signing keys…)."""
    placeholders = {name: "placeholder-for-check-config" for name in REQUIRED if not settings.get(name)}
    try:
        app = importlib.import_module(f"services.{service}.app").create_app(placeholders)
    except Exception as error:  # whatever the factory refuses is a configuration problem
        first_line = (str(error).splitlines() or [""])[0][:300]
        report.fail(f"the {service} app does not start: {error.__class__.__name__}: {first_line}")
        return
    app.extensions["database"].dispose()
    report.ok(f"the {service} app starts with these settings")


def check_database(service: str, url: str, report: Report) -> None:
    """The database answers, and its schema is at the latest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from shared.migrations import alembic_config

    shown = _shown_url(url)
    options = {} if url.startswith("sqlite") else {"connect_args": {"connect_timeout": 5}}
    database = Database(url, **options)
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # any failure to connect or read is the finding
        report.fail(f"database {shown} does not answer: {error.__class__.__name__}")
        return
    finally:
        database.dispose()
    migrations = Path(importlib.import_module(f"services.{service}").__file__).parent / "migrations"
    heads = set(ScriptDirectory.from_config(alembic_config(migrations, url)).get_heads())
    if current == heads:
        report.ok(f"database {shown} answers, schema at the latest migration")
    else:
        report.fail(f"database {shown} answers, but its schema is not the latest: run `flask --app services.{service}.app migrate`")


def _shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def check_kafka(servers: str, report: Report) -> None:
    """A bootstrap server answers, and every Skillstack topic exists."""
    from kafka import KafkaAdminClient

    try:
        check_broker(servers, timeout_seconds=5)
        admin = KafkaAdminClient(bootstrap_servers=servers.split(","), client_id="skillstack-check-config")
        missing = sorted(set(all_topics()) - set(admin.list_topics()))
        admin.close()
    except Exception as error:  # unreachable, refused, timed out…
        report.fail(f"Kafka at {servers} does not answer: {error.__class__.__name__}")
        return
    if missing:
        report.fail(f"Kafka answers, but topics are missing (run `skillstack create-topics`): {', '.join(missing)}")
    else:
        report.ok(f"Kafka at {servers} answers, every topic exists")


def check_config_command(arguments) -> int:
    """Run every check for one service; 0 if all passed, 1 otherwise."""
    service = arguments.service
    try:
        settings = read_settings(service) if SERVICE_NAME.fullmatch(service) else None
    except ModuleNotFoundError:
        settings = None
    if settings is None:
        print(f"FAIL  no service named {service!r} (services/<name>/config.py)")
        return 1
    report = Report(secret_values(settings))
    check_settings(settings, service, report)
    check_app(service, settings, report)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # the report says it once; the client would say it ten times
    if settings.get("DATABASE_URL"):
        check_database(service, str(settings["DATABASE_URL"]), report)
    check_kafka(str(settings.get("KAFKA_BOOTSTRAP_SERVERS") or ""), report)
    print("configuration has problems" if report.failed else "configuration ok")
    return 1 if report.failed else 0
