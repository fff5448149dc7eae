"""The local run's gateway: the three services under one origin, as deploy/nginx/ does in production.

Each service is reached under its prefix (stripped, and named in X-Forwarded-Prefix, which the
services trust with SKILLSTACK_BEHIND_PROXY=true); the issuer's public verification URLs stay at
the root, where issued credentials point. Served by gunicorn from deploy/Procfile:

    gunicorn --bind 127.0.0.1:8000 "deploy.gateway:create_gateway()"
"""

import os

from werkzeug.middleware.http_proxy import ProxyMiddleware
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

SERVICES = ("issuer", "pathways", "notifications")
ISSUER_PUBLIC = ("/.well-known/", "/verify", "/credentials/", "/status/", "/achievements/")


@Request.application
def root(request: Request) -> Response:
    """The origin's own pages: the start page is the employee's pathway; nothing else lives here."""
    if request.path == "/":
        return redirect("/pathways/")
    if request.path.lstrip("/") in SERVICES:
        return redirect(request.path + "/")
    if request.path == "/healthz":
        return Response("ok\n")
    return Response("Not found\n", status=404)


def create_gateway(ports: dict[str, str] | None = None):
    """The gateway's WSGI app, proxying to each service's local port (SKILLSTACK_<SERVICE>_PORT)."""
    ports = ports or {service: os.environ[f"SKILLSTACK_{service.upper()}_PORT"] for service in SERVICES}
    targets = {
        f"/{service}/": {
            "target": f"http://127.0.0.1:{ports[service]}/",
            "remove_prefix": True,
            "host": None,  # the browser's Host: links and redirects name the gateway
            "headers": {"X-Forwarded-Prefix": f"/{service}"},
        }
        for service in SERVICES
    }
    for path in ISSUER_PUBLIC:
        targets[path] = {"target": f"http://127.0.0.1:{ports['issuer']}", "remove_prefix": False, "host": None, "headers": {}}
    return forwarded_for(ProxyMiddleware(root, targets, timeout=60))


def forwarded_for(app):
    """Name the client in X-Forwarded-For, replacing whatever it claimed, as nginx does: the
    services key rate limits and the audit log by it."""

    def middleware(environ, start_response):
        environ["HTTP_X_FORWARDED_FOR"] = environ.get("REMOTE_ADDR", "")
        return app(environ, start_response)

    return middleware
