"""The Docker deployment (docker-compose.yml, deploy/Dockerfile) holds together, read as files.

No Docker engine is needed: the compose file is parsed with PyYAML and its `${...}` variables
are resolved here the way Compose resolves them.
"""

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("issuer", "pathways", "notifications")
WORKERS = tuple(f"{service}-worker" for service in SERVICES)
SECRETS = (
    "SKILLSTACK_SECRET_KEY",
    "POSTGRES_PASSWORD",
    "KEYCLOAK_ADMIN_PASSWORD",
    "SKILLSTACK_ISSUER_OIDC_CLIENT_SECRET",
    "SKILLSTACK_PATHWAYS_OIDC_CLIENT_SECRET",
    "SKILLSTACK_NOTIFICATIONS_OIDC_CLIENT_SECRET",
    "SKILLSTACK_ISSUER_SIGNING_KEYS",
)
TEST_ENV = {secret: f"test-{secret.lower()}" for secret in SECRETS}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE_KEY", re.IGNORECASE)
VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


def interpolate(value, env: dict[str, str]):
    """Resolve Compose's `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$$` in every string."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def resolve(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name is None:
            return "$"
        value = env.get(name)
        if op is None:
            return value or ""
        missing = not value if op.startswith(":") else value is None
        if not missing:
            return value
        if op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg

    return VARIABLE.sub(resolve, value)


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def compose(raw_compose) -> dict:
    """The compose file as Compose sees it with the required secrets set."""
    return interpolate(raw_compose, TEST_ENV)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def dependencies(service: dict) -> dict[str, dict]:
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return {name: {"condition": "service_started"} for name in depends_on}
    return depends_on


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def built_from_image(services: dict) -> dict[str, dict]:
    return {name: service for name, service in services.items() if "build" in service}


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def test_the_file_follows_the_compose_specification_without_a_version_key(raw_compose):
    assert "version" not in raw_compose
    assert set(raw_compose["services"]) >= {"kafka", "postgres", "mailpit", "init", *SERVICES, *WORKERS}


def test_every_dependency_names_a_service_of_the_file(services):
    for name, service in services.items():
        missing = set(dependencies(service)) - set(services)
        assert not missing, f"{name} depends on unknown services {missing}"


def test_every_process_of_the_image_has_a_healthcheck_except_the_one_shot_init(services):
    for name, service in built_from_image(services).items():
        if name == "init":
            assert service.get("restart", "no") == "no", "init runs once"
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert service.get("restart") in {"always", "unless-stopped", "on-failure"}, f"{name} is never restarted"


def test_web_services_and_workers_start_only_once_init_has_succeeded(services):
    for name in (*SERVICES, *WORKERS):
        assert dependencies(services[name]).get("init") == {"condition": "service_completed_successfully"}, name


def test_init_migrates_every_database_and_creates_the_topics_once_kafka_and_postgres_are_healthy(services):
    init = services["init"]
    assert dependencies(init)["kafka"]["condition"] == "service_healthy"
    assert dependencies(init)["postgres"]["condition"] == "service_healthy"
    script = " ".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert "migrate" in script and "skillstack create-topics" in script
    assert all(service in script for service in SERVICES)


def test_kafka_is_one_kraft_node_from_the_official_image_with_explicit_topics_only(services):
    kafka = services["kafka"]
    env = environment(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for setting in ("OFFSETS_TOPIC_REPLICATION_FACTOR", "TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[f"KAFKA_{setting}"] == "1"
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])


def test_postgres_creates_one_database_per_service_at_first_start(services):
    postgres = services["postgres"]
    mounts = [volume.split(":") for volume in postgres["volumes"]]
    [init_dir] = [source for source, target, *_ in mounts if target == "/docker-entrypoint-initdb.d"]
    script = "\n".join(path.read_text() for path in sorted((ROOT / init_dir).iterdir()))
    created = re.findall(r"CREATE DATABASE\s+\"?(\w+)", script, re.IGNORECASE)
    assert sorted(created) == sorted(f"skillstack_{service}" for service in SERVICES)
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_each_service_connects_to_its_own_database_only(services):
    created = {f"skillstack_{service}" for service in SERVICES}
    for service in SERVICES:
        for name in (service, f"{service}-worker"):
            urls = {key: value for key, value in environment(services[name]).items() if key.endswith("_DATABASE_URL")}
            assert list(urls) == [f"SKILLSTACK_{service.upper()}_DATABASE_URL"], name
            url = urls[f"SKILLSTACK_{service.upper()}_DATABASE_URL"]
            assert url.startswith("postgresql+psycopg://") and "@postgres:" in url
            assert database_name(url) == f"skillstack_{service}" and database_name(url) in created
    init_urls = [value for key, value in environment(services["init"]).items() if key.endswith("_DATABASE_URL")]
    assert sorted(map(database_name, init_urls)) == sorted(created)


def test_web_services_and_workers_run_the_right_code(services):
    for port, service in enumerate(SERVICES, start=8001):
        assert environment(services[service])["SKILLSTACK_SERVICE"] == service
        assert services[service]["ports"] == [f"127.0.0.1:{port}:8000"]
        assert (ROOT / "services" / service / "app.py").is_file()
        command = services[f"{service}-worker"]["command"]
        assert command == ["python", "-m", f"services.{service}.worker"]
        assert (ROOT / "services" / service / "worker.py").is_file()


def test_notifications_send_mail_to_the_mail_catcher(services):
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    for name in ("notifications", "notifications-worker"):
        env = environment(services[name])
        assert env["SKILLSTACK_NOTIFICATIONS_SMTP_HOST"] == "mailpit"
        assert env["SKILLSTACK_NOTIFICATIONS_SMTP_PORT"] == "1025"
    assert "127.0.0.1:8025:8025" in services["mailpit"]["ports"]


def test_no_port_is_published_beyond_the_loopback_interface(services):
    for name, service in services.items():
        for port in service.get("ports", []):
            if isinstance(port, dict):
                host_ip = port.get("host_ip")
            else:
                parts = str(port).split(":")
                host_ip = parts[0] if len(parts) == 3 else None
            assert host_ip == "127.0.0.1", f"{name} publishes {port} on every interface"


def test_broker_and_database_keep_their_data_in_named_volumes(compose, services):
    volumes = compose["volumes"]
    kafka_mounts = dict(volume.split(":")[:2][::-1] for volume in services["kafka"]["volumes"])
    assert kafka_mounts[environment(services["kafka"])["KAFKA_LOG_DIRS"]] in volumes
    postgres_mounts = dict(volume.split(":")[:2][::-1] for volume in services["postgres"]["volumes"])
    assert postgres_mounts["/var/lib/postgresql/data"] in volumes


def test_secrets_must_be_set_and_have_no_default(raw_compose):
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in SECRETS:
        uses = [match for match in VARIABLE.finditer(text) if match["name"] == secret]
        assert uses and all(match["op"] == ":?" for match in uses), f"{secret} must be `${{{secret}:?...}}`"
        with pytest.raises(KeyError, match=secret):
            interpolate(raw_compose, {key: value for key, value in TEST_ENV.items() if key != secret})
    for name, service in raw_compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value or ""), f"{name}: {key} has a literal value"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value or ""):
                assert password.startswith("${POSTGRES_PASSWORD:?"), f"{name}: {key} embeds a literal password"


def test_every_image_built_service_builds_deploy_dockerfile_from_the_repository_root(services):
    built = built_from_image(services)
    assert set(built) == {"init", *SERVICES, *WORKERS}
    for name, service in built.items():
        build = service["build"]
        context = ROOT / build["context"]
        assert context.resolve() == ROOT, name
        assert (context / build["dockerfile"]).resolve() == ROOT / "deploy" / "Dockerfile", name
    assert len({service["image"] for service in built.values()}) == 1, "one image for every process"


def test_the_dockerfile_runs_as_a_non_root_user_and_bakes_in_no_secret():
    dockerfile = re.sub(r"\\\n\s*", " ", (ROOT / "deploy" / "Dockerfile").read_text())  # join continued lines
    instructions = re.findall(r"^(FROM|USER|ENV|ARG|EXPOSE|HEALTHCHECK|CMD)\s+(.*)$", dockerfile, re.MULTILINE)
    runtime = instructions[max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM") :]
    users = [argument for keyword, argument in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any(keyword == "EXPOSE" and "8000" in argument for keyword, argument in runtime)
    assert any(keyword == "HEALTHCHECK" and "/healthz" in argument for keyword, argument in runtime)
    assert "python:3.11-slim" in dockerfile
    for keyword, argument in instructions:
        if keyword in {"ENV", "ARG"}:
            assert not SECRET_NAME.search(argument), f"{keyword} {argument} bakes in a secret"


def docker_ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last matching pattern wins)."""
    ancestors = ["/".join(path.split("/")[: depth + 1]) for depth in range(path.count("/") + 1)]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(ancestor, pattern) for ancestor in ancestors):
            ignored = not negated
    return ignored


def test_the_build_context_holds_the_packages_and_no_local_state_or_secrets():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for needed in ("pyproject.toml", "shared/web.py", "services/issuer/app.py", "services/issuer/migrations/env.py"):
        assert not docker_ignored(needed, patterns), needed
    for unwanted in (".env", ".git/config", ".venv/bin/python", ".local/issuer.db", "shared/__pycache__/web.pyc"):
        assert docker_ignored(unwanted, patterns), unwanted


def test_keycloak_imports_the_realm_and_the_services_trust_it(compose):
    keycloak = compose["services"]["keycloak"]
    assert "--import-realm" in keycloak["command"]
    assert any(volume.startswith("./deploy/keycloak/skillstack-realm.json:") for volume in keycloak["volumes"])
    for name in ("issuer", "pathways", "notifications"):
        environment = compose["services"][name]["environment"]
        assert environment["SKILLSTACK_OIDC_ISSUER"] == "http://127.0.0.1:8080/realms/skillstack"
        assert environment["SKILLSTACK_OIDC_DISCOVERY_URL"].startswith("http://keycloak:8080/realms/skillstack/")
        assert environment[f"SKILLSTACK_{name.upper()}_OIDC_CLIENT_SECRET"]
