"""The Docker deployment (docker-compose.yml, deploy/Dockerfile, deploy/nginx/) holds together.

No Docker engine is needed: compose-go, the library `docker compose` is built on, loads the file
as `docker compose config` does (deploy/tools.sh installs it from the Go module proxy); the file is
also parsed with PyYAML and its `${...}` variables resolved here the way Compose resolves them, and
the nginx gateway's configuration is read with a small parser of nginx's syntax.
"""

import fnmatch
import functools
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("issuer", "pathways", "notifications")
WORKERS = tuple(f"{service}-worker" for service in SERVICES)
GATEWAY_ORIGIN = "http://127.0.0.1:8000"
# The gateway's locations for the issuer's URLs that verifiers reach at the origin's root.
ISSUER_PUBLIC_ROUTES = {
    "= /.well-known/did.json",
    "= /.well-known/jwks.json",
    "= /verify",
    "/credentials/",
    "/status/",
    "~ ^/achievements/[^/]+/v[0-9]+/image$",
}
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


@functools.cache
def deployment_tools() -> Path:
    """Where deploy/tools.sh installed compose-config, kustomize, kubeconform and the schemas (cached)."""
    result = subprocess.run([ROOT / "deploy" / "tools.sh"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"deploy/tools.sh failed:\n{result.stderr}"
    return Path(result.stdout.strip().splitlines()[-1])


def compose_config(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load a compose file as `docker compose config` does, with exactly `env` as the environment."""
    tool = deployment_tools() / "bin" / "compose-config"
    return subprocess.run([tool, path], capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"], **env})


def test_the_file_follows_the_compose_specification_without_a_version_key(raw_compose):
    assert "version" not in raw_compose
    assert set(raw_compose["services"]) >= {"kafka", "postgres", "keycloak", "mailpit", "init", "gateway", *SERVICES, *WORKERS}


def test_compose_loads_the_file_with_the_secrets_set_and_interpolates_them():
    result = compose_config(ROOT / "docker-compose.yml", TEST_ENV)
    assert result.returncode == 0, result.stderr
    project = yaml.safe_load(result.stdout)
    assert project["name"] == "skillstack"
    assert set(project["services"]) >= {"gateway", "init", *SERVICES, *WORKERS}
    url = project["services"]["issuer"]["environment"]["SKILLSTACK_ISSUER_DATABASE_URL"]
    assert url == f"postgresql+psycopg://skillstack:{TEST_ENV['POSTGRES_PASSWORD']}@postgres:5432/skillstack_issuer"


def test_compose_refuses_the_file_when_a_secret_is_missing():
    env = {key: value for key, value in TEST_ENV.items() if key != "POSTGRES_PASSWORD"}
    result = compose_config(ROOT / "docker-compose.yml", env)
    assert result.returncode != 0
    assert "required variable POSTGRES_PASSWORD is missing" in result.stderr


@pytest.mark.parametrize(
    ("breakage", "complaint"),
    [
        # a misspelt key: the Compose Specification's schema allows no unknown properties
        (lambda services: services["issuer"]["healthcheck"].update(intervall="15s"), "additional properties 'intervall' not allowed"),
        # a dependency on a service that does not exist
        (lambda services: services["gateway"]["depends_on"].update(issuers={"condition": "service_healthy"}), 'undefined service "issuers"'),
        # a resource limit that is not a size
        (lambda services: services["kafka"]["deploy"]["resources"]["limits"].update(memory="a lot"), "services[kafka].deploy.resources.limits.memory"),
    ],
    ids=["unknown-key", "unknown-dependency", "bad-memory-limit"],
)
def test_compose_rejects_a_broken_copy_of_the_file(raw_compose, tmp_path, breakage, complaint):
    broken = json.loads(json.dumps(raw_compose))  # a deep copy, anchors already merged by PyYAML
    breakage(broken["services"])
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = compose_config(path, TEST_ENV)
    assert result.returncode != 0 and complaint in result.stderr


def limits(service: dict) -> dict:
    return ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}


def test_every_container_has_cpu_and_memory_limits(services):
    for name, service in services.items():
        assert limits(service).get("cpus") and limits(service).get("memory"), f"{name} has no resource limits"
        assert float(limits(service)["cpus"]) <= 2, f"{name} may take more than the host's two cores"


def test_every_long_running_container_has_a_healthcheck_and_is_restarted(services):
    for name, service in services.items():
        if name == "init":
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", f"{name} is not restarted"


def test_every_dependency_waits_for_health_or_completion_of_a_checked_service(services):
    for name, service in services.items():
        for dependency, condition in dependencies(service).items():
            assert condition["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dependency)
            if condition["condition"] == "service_healthy":
                assert services[dependency].get("healthcheck", {}).get("test"), f"{name} waits for {dependency}'s health, which is never checked"
    for web in SERVICES:
        assert {"init", "postgres", "keycloak"} <= set(dependencies(services[web])), web
    for worker in WORKERS:
        assert {"init", "kafka", "postgres"} <= set(dependencies(services[worker])), worker
    assert dependencies(services["notifications-worker"])["mailpit"]["condition"] == "service_healthy"
    assert set(dependencies(services["gateway"])) == set(SERVICES)


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
    for service in SERVICES:
        assert environment(services[service])["SKILLSTACK_SERVICE"] == service
        assert "ports" not in services[service], f"{service} is reached through the gateway only"
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


def test_workers_are_probed_on_their_metrics_port_and_run_once_per_service(services):
    for worker in WORKERS:
        assert environment(services[worker])["SKILLSTACK_METRICS_PORT"] == "9100"
        assert "http://127.0.0.1:9100/healthz" in " ".join(services[worker]["healthcheck"]["test"])
        assert services[worker].get("deploy", {}).get("replicas", 1) == 1, "the outbox relay runs once per service"


def test_image_built_containers_run_read_only_without_capabilities(services):
    for name, service in built_from_image(services).items():
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name
        assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"], name


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
    exposed = {port for keyword, argument in runtime if keyword == "EXPOSE" for port in argument.split()}
    assert {"8000", "9100"} <= exposed, "the web port and the workers' metrics port"
    assert any(keyword == "HEALTHCHECK" and "/healthz" in argument for keyword, argument in runtime)
    for keyword, argument in runtime:  # exec form: JSON arrays, or Docker runs them through a shell
        if keyword == "CMD" or keyword == "HEALTHCHECK":
            command = json.loads(argument.split("CMD", 1)[1] if keyword == "HEALTHCHECK" else argument)
            assert isinstance(command, list) and command
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


# --- the nginx gateway ------------------------------------------------------------------------

NGINX = ROOT / "deploy" / "nginx"


def parse_nginx(text: str) -> list[tuple[str, list[str], list | None]]:
    """nginx's configuration syntax as (directive, arguments, block or None) triples."""
    tokens = re.findall(r'"[^"]*"|[{};]|[^\s{};"]+', re.sub(r"#[^\n]*", "", text))

    def block(position: int) -> tuple[list, int]:
        items, words = [], []
        while position < len(tokens):
            token, position = tokens[position], position + 1
            if token == "}":
                return items, position
            if token in ";{":
                children, position = block(position) if token == "{" else (None, position)
                items.append((words[0], words[1:], children))
                words = []
            else:
                words.append(token.strip('"'))
        assert not words, f"unterminated directive {words}"
        return items, position

    items, _ = block(0)
    return items


def directives(items: list, name: str) -> list[tuple[list[str], list | None]]:
    return [(arguments, children) for directive, arguments, children in items if directive == name]


def value(items: list, name: str) -> list[str]:
    [(arguments, _)] = directives(items, name)
    return arguments


def value_or_none(items: list, name: str) -> list[str] | None:
    found = directives(items, name)
    return found[0][0] if found else None


@pytest.fixture(scope="module")
def gateway_config() -> list:
    return parse_nginx((NGINX / "skillstack.conf").read_text())


@pytest.fixture(scope="module")
def gateway_routes() -> dict[str, list]:
    """Each location of skillstack-routes.conf by its match (`/issuer/`, `= /verify`, `~ ^/...`)."""
    items = parse_nginx((NGINX / "skillstack-routes.conf").read_text())
    return {" ".join(arguments): children for arguments, children in directives(items, "location")}


def test_the_gateway_serves_its_configuration_unprivileged_on_the_loopback_interface(services):
    gateway = services["gateway"]
    assert gateway["image"].startswith("nginxinc/nginx-unprivileged:")
    mounts = dict(volume.split(":")[:2] for volume in gateway["volumes"])
    assert mounts == {
        "./deploy/nginx/skillstack.conf": "/etc/nginx/conf.d/default.conf",
        "./deploy/nginx/skillstack-routes.conf": "/etc/nginx/skillstack-routes.conf",
    }
    assert all((ROOT / source).is_file() for source in mounts)
    assert gateway["ports"] == [f"127.0.0.1:{GATEWAY_ORIGIN.rsplit(':', 1)[1]}:8080"]
    assert "http://127.0.0.1:8080/healthz" in gateway["healthcheck"]["test"]


def test_the_gateway_listens_where_compose_publishes_it_and_includes_the_routes(gateway_config):
    [(_, server)] = directives(gateway_config, "server")
    assert value(server, "listen") == ["8080"]
    assert value(server, "include") == ["skillstack-routes.conf"]


def test_each_upstream_is_a_web_service_of_the_compose_file_on_gunicorns_port(gateway_config, services):
    upstreams = {arguments[0]: block for arguments, block in directives(gateway_config, "upstream")}
    assert set(upstreams) == {f"skillstack_{service}" for service in SERVICES}
    for service in SERVICES:
        [(server, *_)] = [arguments for arguments, _ in directives(upstreams[f"skillstack_{service}"], "server")]
        assert server == f"{service}:8000" and service in services
    assert value(gateway_config, "client_max_body_size") == ["32m"]
    assert value(gateway_config, "gzip") == ["on"]
    for timeout in ("proxy_connect_timeout", "proxy_read_timeout", "proxy_send_timeout"):
        assert value(gateway_config, timeout)


def test_each_service_is_served_under_its_prefix_with_the_prefix_stripped_and_forwarded(gateway_routes):
    for service in SERVICES:
        route = gateway_routes[f"/{service}/"]
        assert value(route, "set") == ["$skillstack_prefix", f"/{service}"]
        assert value(route, "proxy_pass") == [f"http://skillstack_{service}/"], "a trailing / strips the prefix"


def test_every_proxied_request_carries_the_forwarded_headers():
    items = parse_nginx((NGINX / "skillstack-routes.conf").read_text())
    headers = {arguments[0]: arguments[1] for arguments, _ in directives(items, "proxy_set_header")}
    assert headers["X-Forwarded-Prefix"] == "$skillstack_prefix"
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == headers["Host"] == "$http_host"
    assert value(items, "set") == ["$skillstack_prefix", ""], "no prefix outside the service locations"
    # nginx drops inherited proxy_set_header from a location that sets its own
    assert not [route for route in directives(items, "location") if directives(route[1], "proxy_set_header")]


def test_the_root_redirects_to_pathways_and_the_issuers_public_urls_pass_unprefixed(gateway_routes):
    assert value(gateway_routes["= /"], "return") == ["302", "/pathways/"]
    public = {match for match, route in gateway_routes.items() if value_or_none(route, "proxy_pass") == ["http://skillstack_issuer"]}
    assert public == ISSUER_PUBLIC_ROUTES
    assert value(gateway_routes["~ ^/(issuer|pathways|notifications)/metrics(/|$)"], "return") == ["404"]
    assert value(gateway_routes["/"], "return") == ["404"]
    assert value(gateway_routes["= /healthz"], "return")[0] == "200"


def test_the_production_tls_server_is_ready_to_uncomment_with_hsts(gateway_config):
    text = (NGINX / "skillstack.conf").read_text()
    commented = re.search(r"^# server \{\n(?:#.*\n)*?# \}$", text, re.MULTILINE)
    assert commented, "a commented TLS server block"
    [(_, server)] = directives(parse_nginx(re.sub(r"^# ?", "", commented.group(0), flags=re.MULTILINE)), "server")
    assert value(server, "listen") == ["8443", "ssl"]
    assert value(server, "ssl_certificate") and value(server, "ssl_certificate_key")
    assert value(server, "ssl_protocols") == ["TLSv1.2", "TLSv1.3"]
    header, hsts, *_ = value(server, "add_header")
    assert header == "Strict-Transport-Security" and "max-age=63072000" in hsts
    assert value(server, "include") == ["skillstack-routes.conf"]


def test_the_services_know_the_gateway_as_their_origin(services):
    for name in (*SERVICES, *WORKERS):
        assert environment(services[name])["SKILLSTACK_INTRANET_URL"] == GATEWAY_ORIGIN, name
    for name in ("issuer", "issuer-worker"):
        assert environment(services[name])["SKILLSTACK_ISSUER_PUBLIC_URL"] == GATEWAY_ORIGIN, "did:web lives at the origin"
