"""The Kubernetes manifests (deploy/k8s/) render, are valid Kubernetes objects, and hold together.

kustomize renders the base and the example overlay; kubeconform validates every object against
the Kubernetes API's JSON schemas in strict mode (an unknown or misspelt field fails), offline:
deploy/tools.sh installs both from the Go module proxy and the schemas from PyPI. The rest checks
what no schema can: probes, resources and security on every container, worker replicas within the
partition count, autoscalers, disruption budgets and Services that find their pods, and Ingress
routes that match the Docker gateway's.
"""

import copy
import functools
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.test_compose import ISSUER_PUBLIC_ROUTES, SERVICES, deployment_tools

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
LAYERS = ("base", "overlays/example")
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # as deploy/tools.sh installs their schemas
WORKLOADS = ("Deployment", "Job")


@functools.cache
def kustomize(directory: Path) -> str:
    """The manifests kustomize renders from a layer (rendered once per test session)."""
    result = subprocess.run(
        [deployment_tools() / "bin" / "kustomize", "build", directory], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def kubeconform(manifests: str, kubernetes_version: str) -> subprocess.CompletedProcess:
    """Validate rendered manifests strictly against one Kubernetes version's schemas, offline."""
    schemas = deployment_tools() / "kubernetes-json-schema"  # laid out as kubeconform expects: v<version>-standalone-strict/
    return subprocess.run(
        [deployment_tools() / "bin" / "kubeconform", "-strict", "-summary", "-output", "json",
         "-kubernetes-version", kubernetes_version, "-schema-location", schemas, "-"],
        input=manifests, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module", params=LAYERS)
def rendered(request) -> str:
    return kustomize(K8S / request.param)


@pytest.fixture(scope="module")
def objects(rendered) -> list[dict]:
    return [document for document in yaml.safe_load_all(rendered) if document]


@pytest.fixture(scope="module")
def base_objects() -> list[dict]:
    return [document for document in yaml.safe_load_all(kustomize(K8S / "base")) if document]


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def pod_specs(objects: list[dict]) -> dict[str, dict]:
    return {name: item["spec"]["template"]["spec"] for kind in WORKLOADS for name, item in of_kind(objects, kind).items()}


def containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod["containers"]


def component(objects: list[dict], name: str) -> dict[str, dict]:
    """The Deployments of one component (web or worker), by name."""
    return {
        deployment_name: deployment
        for deployment_name, deployment in of_kind(objects, "Deployment").items()
        if deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == name
    }


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def config(objects: list[dict]) -> dict[str, str]:
    [config_map] = [item for name, item in of_kind(objects, "ConfigMap").items() if name.startswith("skillstack-config")]
    return config_map["data"]


# --- the schemas ------------------------------------------------------------------------------


@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
def test_kubeconform_finds_every_rendered_object_valid(rendered, objects, kubernetes_version):
    result = kubeconform(rendered, kubernetes_version)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary == {"valid": len(objects), "invalid": 0, "errors": 0, "skipped": 0}


BREAKAGES = {
    # a misspelt field, which Kubernetes would silently drop
    "misspelt-probe-field": (
        lambda objects: of_kind(objects, "Deployment")["issuer-web"]["spec"]["template"]["spec"]["containers"][0]
        ["readinessProbe"].update(periodSecond=10),
        "additional properties 'periodSecond' not allowed",
    ),
    # a field of the wrong type
    "text-replica-count": (
        lambda objects: of_kind(objects, "HorizontalPodAutoscaler")["issuer-web"]["spec"].update(minReplicas="two"),
        "/spec/minReplicas",
    ),
    # a required field missing
    "ingress-path-without-type": (
        lambda objects: of_kind(objects, "Ingress")["issuer-web"]["spec"]["rules"][0]["http"]["paths"][0].pop("pathType"),
        "missing property 'pathType'",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_kubeconform_rejects_a_broken_manifest(base_objects, breakage):
    broken = copy.deepcopy(base_objects)
    break_it, complaint = BREAKAGES[breakage]
    break_it(broken)
    result = kubeconform(yaml.safe_dump_all(broken), KUBERNETES_VERSIONS[0])
    assert result.returncode != 0
    report = json.loads(result.stdout)
    assert report["summary"]["invalid"] == 1
    [invalid] = [resource for resource in report["resources"] if resource["status"] == "statusInvalid"]
    assert complaint in invalid["msg"]


def test_both_layers_render_every_service():
    for layer in LAYERS:
        names = set(of_kind([item for item in yaml.safe_load_all(kustomize(K8S / layer)) if item], "Deployment"))
        assert names == {f"{service}-{role}" for service in SERVICES for role in ("web", "worker")}, layer


# --- what every workload needs ----------------------------------------------------------------


def test_every_container_has_cpu_and_memory_requests_and_limits(objects):
    for name, pod in pod_specs(objects).items():
        for container in containers(pod):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{name}/{container['name']} has no {bound}"


def test_every_pod_runs_unprivileged_with_a_read_only_root_and_a_writable_tmp(objects):
    for name, pod in pod_specs(objects).items():
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] != 0, name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
        for container in containers(pod):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"] and "add" not in context["capabilities"], where
            [tmp] = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], where


def test_every_process_runs_the_one_image(objects):
    images = {container["image"] for pod in pod_specs(objects).values() for container in containers(pod)}
    assert len(images) == 1


def test_the_example_overlay_names_a_tagged_image_a_namespace_and_its_host():
    objects = [item for item in yaml.safe_load_all(kustomize(K8S / "overlays" / "example")) if item]
    [image] = {container["image"] for pod in pod_specs(objects).values() for container in containers(pod)}
    assert re.fullmatch(r"[\w.-]+(/[\w.-]+)+:[\w.-]+", image) and not image.endswith(":latest")
    [namespace] = of_kind(objects, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [item for item in objects if item["kind"] != "Namespace"]
    assert {item["metadata"].get("namespace") for item in namespaced} == {namespace["metadata"]["name"]}
    hosts = {rule["host"] for ingress in of_kind(objects, "Ingress").values() for rule in ingress["spec"]["rules"]}
    assert hosts == {"skills.acme.example"}
    assert config(objects)["SKILLSTACK_ISSUER_PUBLIC_URL"] == "https://skills.acme.example"


# --- web and worker Deployments -----------------------------------------------------------------


def probe_target(container: dict, probe: str) -> tuple[str, int]:
    """The path and container port an HTTP probe asks."""
    get = container[probe]["httpGet"]
    ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
    return get["path"], ports.get(get["port"], get["port"])


def test_web_pods_are_ready_when_their_dependencies_answer_and_live_while_they_answer(objects):
    web = component(objects, "web")
    assert len(web) == len(SERVICES)
    for name, deployment in web.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert probe_target(container, "readinessProbe") == ("/readyz", 8000), name
        assert probe_target(container, "livenessProbe") == ("/healthz", 8000), name
        assert probe_target(container, "startupProbe") == ("/healthz", 8000), name
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["SKILLSTACK_SERVICE"] == name.removesuffix("-web")


def test_workers_are_probed_on_their_metrics_endpoint_and_run_their_service(objects):
    workers = component(objects, "worker")
    assert len(workers) == len(SERVICES)
    for name, deployment in workers.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        port = int(config(objects)["SKILLSTACK_METRICS_PORT"])
        for probe in ("readinessProbe", "livenessProbe"):
            assert probe_target(container, probe) == ("/healthz", port), f"{name} {probe}"
        service = name.removesuffix("-worker")
        assert container["command"] == ["python", "-m", f"services.{service}.worker"]
        assert (ROOT / "services" / service / "worker.py").is_file()


def test_worker_replicas_stay_within_the_partition_count_and_never_overlap(objects):
    partitions = int(config(objects)["SKILLSTACK_KAFKA_TOPIC_PARTITIONS"])
    for name, deployment in component(objects, "worker").items():
        assert 1 <= deployment["spec"]["replicas"] <= partitions, name
        # one outbox relay per service (ADR 0003): a rollout stops the old worker before the new one
        assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate", name


def test_every_web_deployment_is_autoscaled_by_an_hpa_that_targets_it(objects):
    deployments = of_kind(objects, "Deployment")
    targets = {}
    for name, hpa in of_kind(objects, "HorizontalPodAutoscaler").items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments, f"{name} scales nothing"
        assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
        [metric] = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"  # utilisation is relative to the CPU request
        targets[target["name"]] = hpa
    assert set(targets) == set(component(objects, "web"))
    for name in targets:
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns its replica count"


def test_every_deployment_has_a_disruption_budget_that_selects_its_pods(objects):
    deployments = of_kind(objects, "Deployment")
    covered = set()
    for name, budget in of_kind(objects, "PodDisruptionBudget").items():
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = {
            deployment_name
            for deployment_name, deployment in deployments.items()
            if selects(selector, deployment["spec"]["template"]["metadata"]["labels"])
        }
        assert len(matched) == 1, f"{name} selects {matched or 'no pods'}"
        covered |= matched
    assert covered == set(deployments)


def test_every_selector_matches_its_own_pod_template(objects):
    for name, deployment in of_kind(objects, "Deployment").items():
        assert selects(deployment["spec"]["selector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"]), name


def test_every_service_reaches_a_named_port_of_exactly_one_deployment(objects):
    deployments = of_kind(objects, "Deployment")
    for name, service in of_kind(objects, "Service").items():
        [backend] = [
            deployment for deployment in deployments.values()
            if selects(service["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])
        ]
        port_names = {port["name"] for container in backend["spec"]["template"]["spec"]["containers"] for port in container["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names, name


# --- configuration and secrets ------------------------------------------------------------------


def environment_sources(container: dict) -> tuple[set[str], dict[str, dict]]:
    """The ConfigMaps a container reads whole, and its variables taken from Secrets."""
    config_maps = {source["configMapRef"]["name"] for source in container.get("envFrom", [])}
    secrets = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container.get("env", []) if "secretKeyRef" in item.get("valueFrom", {})}
    return config_maps, secrets


def test_no_secret_value_is_committed_and_every_secret_reference_is_documented(objects):
    assert not of_kind(objects, "Secret")
    documented = set(re.findall(r"`([a-z0-9-]+)`", (K8S / "README.md").read_text()))
    config_maps = set(of_kind(objects, "ConfigMap"))
    for name, pod in pod_specs(objects).items():
        for container in containers(pod):
            reads, secrets = environment_sources(container)
            assert reads <= config_maps, f"{name}/{container['name']} reads a missing ConfigMap"
            for variable, reference in secrets.items():
                assert reference["name"] == "skillstack-secrets", variable
                assert reference["key"] in documented, f"{reference['key']} is not in deploy/k8s/README.md"
    for key, value in config(objects).items():
        assert not re.search(r"SECRET(?!_KEY$)|PASSWORD|SIGNING_KEYS|DATABASE_URL", key), f"{key} belongs in the Secret"
        assert "://" not in value or "@" not in value, f"{key} embeds credentials"


def test_each_process_gets_its_own_services_database_and_the_required_settings(objects):
    settings = config(objects)
    assert settings["SKILLSTACK_OIDC_ISSUER"].startswith("https://")
    for name, pod in pod_specs(objects).items():
        for container in containers(pod):
            if container["name"] == "create-topics":
                continue
            _, secrets = environment_sources(container)
            databases = {variable for variable in secrets if variable.endswith("_DATABASE_URL")}
            service = next(service for service in SERVICES if service in f"{name}/{container['name']}")
            assert databases == {f"SKILLSTACK_{service.upper()}_DATABASE_URL"}, f"{name}/{container['name']}"
            assert "SKILLSTACK_SECRET_KEY" in secrets  # required by every service's configuration
            if service == "issuer":
                assert "SKILLSTACK_ISSUER_SIGNING_KEYS" in secrets  # the issuer's app refuses to start without


def test_the_job_migrates_every_database_then_creates_the_topics(objects):
    [job] = of_kind(objects, "Job").values()
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] >= 1
    migrations = [container["command"] for container in pod["initContainers"]]
    assert migrations == [["flask", "--app", f"services.{service}.app", "migrate"] for service in SERVICES]
    assert '@app.cli.command("migrate")' in (ROOT / "shared" / "web.py").read_text()
    [create_topics] = pod["containers"]
    assert create_topics["command"][:2] == ["skillstack", "create-topics"]
    replication = create_topics["command"][create_topics["command"].index("--replication-factor") + 1]
    assert replication == "$(SKILLSTACK_KAFKA_TOPIC_REPLICATION_FACTOR)"
    assert int(config(objects)["SKILLSTACK_KAFKA_TOPIC_REPLICATION_FACTOR"]) >= 1


# --- the Ingress --------------------------------------------------------------------------------


def ingress_paths(objects: list[dict]) -> dict[str, tuple[dict, dict]]:
    """Every Ingress path: its Ingress's annotations and the path entry."""
    return {
        path["path"]: (ingress["metadata"].get("annotations", {}), path)
        for ingress in of_kind(objects, "Ingress").values()
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }


def test_the_ingress_serves_each_service_under_its_prefix_stripped_and_forwarded(objects):
    paths = ingress_paths(objects)
    for service in SERVICES:
        annotations, path = paths[f"/{service}(/|$)(.*)"]
        assert path["backend"]["service"]["name"] == f"{service}-web"
        assert annotations["nginx.ingress.kubernetes.io/rewrite-target"] == "/$2"
        assert annotations["nginx.ingress.kubernetes.io/use-regex"] == "true"
        assert annotations["nginx.ingress.kubernetes.io/x-forwarded-prefix"] == f"/{service}"
        assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "32m"


def test_the_ingress_passes_the_gateways_public_issuer_urls_and_redirects_the_root(objects):
    paths = ingress_paths(objects)
    public = {
        path: entry for path, (annotations, entry) in paths.items()
        if "nginx.ingress.kubernetes.io/rewrite-target" not in annotations and entry["backend"]["service"]["name"] == "issuer-web"
        and "denylist-source-range" not in " ".join(annotations)
    }
    as_nginx = {
        f"= {path}" if entry["pathType"] == "Exact" else next(
            (route for route in ISSUER_PUBLIC_ROUTES if route == path or route.startswith(f"~ ^{path}")), path
        )
        for path, entry in public.items()
    }
    assert as_nginx == ISSUER_PUBLIC_ROUTES
    [annotations] = {json.dumps(annotations) for annotations, entry in (paths[path] for path in public)}
    assert json.loads(annotations)["nginx.ingress.kubernetes.io/app-root"] == "/pathways/"


def test_the_ingress_refuses_metrics_to_everyone(objects):
    annotations, path = paths_matching(objects, "metrics")
    assert annotations["nginx.ingress.kubernetes.io/denylist-source-range"] == "0.0.0.0/0,::/0"
    for service in SERVICES:
        assert re.match(f"^{path['path']}", f"/{service}/metrics")
    longest = max(ingress_paths(objects), key=len)
    assert longest == path["path"], "ingress-nginx tries regex paths longest first"


def paths_matching(objects: list[dict], word: str) -> tuple[dict, dict]:
    [found] = [entry for path, entry in ingress_paths(objects).items() if word in path]
    return found


def test_every_ingress_backend_is_a_service_port_and_every_ingress_has_tls(objects):
    services = of_kind(objects, "Service")
    for name, ingress in of_kind(objects, "Ingress").items():
        assert ingress["spec"]["ingressClassName"] == "nginx", name
        [tls] = ingress["spec"]["tls"]
        assert tls["secretName"] == "skillstack-tls" and tls["hosts"] == [rule["host"] for rule in ingress["spec"]["rules"]]
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in {port["name"] for port in services[backend["name"]]["spec"]["ports"]}, name
