"""Every API operation of each service, fuzzed from its own OpenAPI document by schemathesis.

Each operation gets valid (positive) and invalid (negative) requests generated from
`/api/openapi.json`, sent in-process to the Flask app on the test database as a caller who may
call it, with path parameters now random and now naming real objects. Every answer must be
no 5xx, a status the document names, its content type and schema, and invalid input refused
with a 4xx. The document's catch-all `default` response is dropped first, so every status an
operation can answer has to be named. Bounded and derandomized, so CI reruns the same requests.
"""

import copy
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.auth import ASSESSOR, COMPLETIONS_SCOPE, HR_ADMIN
from tests.integration.matrix_support import World, bulk_issuance
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance, content_type_conformance,
                              response_schema_conformance, response_headers_conformance],
    GenerationMode.NEGATIVE: [not_a_server_error, status_code_conformance, content_type_conformance,
                              response_schema_conformance, response_headers_conformance, negative_data_rejection],
}
LMS = "academy-lms"
# Operations another change is still building (the audit log, shared/audit.py): its 422 is sent as
# problem+json but documented as application/json, like every error before this file's fixes.
NOT_OURS = {"/api/audit-log"}


@schemathesis.serializer("text/csv")
def _csv(context, value) -> bytes:
    """A CSV body as generated: text (or bytes) on the wire."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def caller(service: str, path: str, world: World) -> dict[str, str]:
    """A bearer token of someone who may call the operation: the LMS, an assessor, HR, or the employee."""
    if path in ("/api/completions", "/api/xapi/statements"):
        return bearer(service, LMS, scopes=(COMPLETIONS_SCOPE,), employee_id=None, client_id=LMS)
    if path == "/api/assessor-results":
        return bearer(service, unique("assessor"), roles=(ASSESSOR,))
    if service == "notifications" and path != "/api/deliveries":
        return bearer(service, world.team.employee)
    if path.startswith("/api/advancement-requests/") and path.endswith(("/approve", "/reject")):
        return bearer(service, world.team.manager)
    if path.startswith("/api/advancement-requests/") and path.endswith("/withdraw"):
        return bearer(service, world.team.employee)
    return bearer(service, unique("hr"), roles=(HR_ADMIN,))


def real_objects(service: str, world: World) -> dict[str, str]:
    """Ids of objects that exist, for the path parameters of each service's operations."""
    if service == "issuer":
        return {"achievement_id": world.achievement()["id"], "credential_id": world.credential(), "job_id": bulk_issuance(world)}
    if service == "pathways":
        return {"pathway_id": world.team.pathway_id, "employee_id": world.team.employee, "request_id": world.open_request()}
    return {"item_id": world.inbox_item(), "webhook_id": world.webhook()}


def strict_document(app) -> dict:
    """The service's OpenAPI document without the catch-all `default` response of each operation."""
    document = copy.deepcopy(app.test_client().get("/api/openapi.json").get_json())
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("default", None)
    return document


class Run:
    """What one service's run sent and what broke: examples per operation, failures by kind."""

    def __init__(self):
        self.examples = Counter()
        self.failures: dict[tuple[str, str], str] = {}

    def record(self, label: str, kind: str, detail: str) -> None:
        self.failures.setdefault((label, kind), detail)

    def report(self) -> str:
        return "\n\n".join(f"{label} — {kind}\n{detail}" for (label, kind), detail in sorted(self.failures.items()))


def fuzz(app, service: str, world: World, run: Run) -> None:
    """Send every operation's generated requests and check each answer."""
    schema = schemathesis.openapi.from_dict(strict_document(app))
    known = real_objects(service, world)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in NOT_OURS:
            continue
        headers = caller(service, operation.path, world)
        real = {parameter.name: known[parameter.name] for parameter in operation.path_parameters if parameter.name in known}
        for mode, examples in EXAMPLES.items():
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)
            if real and mode is GenerationMode.POSITIVE:
                strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=real))
            _fuzz_operation(app, operation, strategy, mode, examples, run)


def _fuzz_operation(app, operation, strategy, mode, examples, run: Run) -> None:
    label = f"{operation.method.upper()} {operation.path} ({mode.value})"

    @hypothesis.settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def send(case):
        run.examples[label] += 1
        try:
            response = case.call(app=app)
        except Exception as error:  # an unhandled exception is the app's 500
            run.record(label, f"500 {type(error).__name__}", f"{error}\n{case.as_curl_command()}")
            return
        try:
            case.validate_response(response, checks=CHECKS[mode], transport_kwargs={"app": app})
        except FailureGroup as failures:
            for failure in failures.exceptions:
                run.record(label, f"{response.status_code} {failure.title}", str(failures)[:3000])

    try:
        send()
    except Unsatisfiable:
        pass  # nothing of the operation can be made invalid but the token, which stays valid here


@pytest.mark.parametrize("service", ["issuer", "pathways", "notifications"])
def test_every_operation_answers_as_its_document_says(apps, team, service):
    world = World(service, apps[service], team if service == "pathways" else None)
    run = Run()

    fuzz(apps[service], service, world, run)

    print(f"\n{service}: {len(run.examples)} operation runs, {sum(run.examples.values())} requests")
    assert not run.failures, run.report()
