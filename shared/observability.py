"""What a web process tells its operators: a request id in every log line and response, HTTP
metrics by route rule, and `/metrics`.

`/metrics` takes a bearer token with the `metrics:read` scope (Prometheus can fetch one with
the client-credentials grant), unless `METRICS_PUBLIC` is set for a deployment where only the
monitoring network reaches the process (docs/operations.md).
"""

import logging
import re
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, request

from shared.auth import require
from shared.logs import bind_log_context, configure_logging, unbind_log_context
from shared.metrics import exposition, observe_request

METRICS_SCOPE = "metrics:read"
REQUEST_ID_HEADER = "X-Request-ID"
# An id from the gateway is kept if it looks like one (a UUID, a trace id…), never arbitrary text in logs.
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
PROBES = ("/healthz", "/readyz", "/metrics")  # polled every few seconds: logged at DEBUG only

log = logging.getLogger("skillstack.access")
bp = Blueprint("metrics", __name__)


def request_id_from(header: str | None) -> str:
    """The caller's request id if well-formed, else a new one."""
    if header and WELL_FORMED_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def start_request() -> None:
    """Note when the request began and which request id its log lines carry."""
    g.request_started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.log_context = bind_log_context(request_id=g.request_id, service=current_app.config["SERVICE_NAME"])


def finish_request(response: Response) -> Response:
    """Echo the request id, count the request under its route rule, and write the access log line."""
    if "request_id" not in g:  # an earlier hook answered before start_request ran
        start_request()
    response.headers[REQUEST_ID_HEADER] = g.request_id
    seconds = time.perf_counter() - g.request_started
    rule = request.url_rule.rule if request.url_rule else None
    observe_request(current_app.config["SERVICE_NAME"], request.method, rule, response.status_code, seconds)
    level = logging.DEBUG if request.path in PROBES else logging.INFO
    log.log(
        level, "%s %s %d", request.method, request.path, response.status_code,
        extra={"method": request.method, "path": request.path, "status": response.status_code, "duration_ms": round(seconds * 1000, 1)},
    )
    return response


def end_request(_error: BaseException | None) -> None:
    """Leave the request's log context."""
    token = g.pop("log_context", None)
    if token is not None:
        unbind_log_context(token)


@require(scope=METRICS_SCOPE)
def _protected_metrics() -> Response:
    return _metrics_response()


def _metrics_response() -> Response:
    body, content_type = exposition()
    return Response(body, content_type=content_type)


@bp.get("/metrics")
def metrics():
    """This process's Prometheus metrics."""
    return _metrics_response() if current_app.config["METRICS_PUBLIC"] else _protected_metrics()


def init_observability(app: Flask) -> None:
    """Configure logging and install the request hooks; call it first, so its hook runs before any other."""
    app.config.setdefault("METRICS_PUBLIC", False)
    configure_logging(app.config["SERVICE_NAME"], app.config.get("LOG_FORMAT"), app.config.get("LOG_LEVEL"))
    app.before_request(start_request)
    app.after_request(finish_request)
    app.teardown_request(end_request)
    app.register_blueprint(bp)
