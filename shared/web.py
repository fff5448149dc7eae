"""The web base every service is built on: app factory, errors (problem+json for APIs, the layout
for pages), health, metrics and request ids, CSRF, sign-in, and serving behind a gateway's prefix."""

from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import flask_smorest
from flask import Blueprint, Flask, Response, current_app, json, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from marshmallow import Schema, fields
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from shared.auth import JwksCache
from shared.config import load_config
from shared.db import Database
from shared.errors import DomainError
from shared.health import init_health
from shared.migrations import upgrade
from shared.observability import init_observability
from shared.security import init_security
from shared.sso import init_sso

csrf = CSRFProtect()

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(Schema):
    """RFC 9457 problem details, the error body of every API."""

    type = fields.String(metadata={"description": "A URI naming the problem type"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Raw(metadata={"description": "What is wrong, field by field or row by row"})


def problems(*statuses: int) -> dict:
    """The error answers of an API operation, for its documentation: RFC 9457 problems, as sent here."""
    return {status: {"description": HTTPStatus(status).phrase, "content": {PROBLEM_JSON: {"schema": ProblemSchema}}} for status in statuses}


def problem(status: int, title: str, detail: str | None = None, errors: Any = None, headers=None) -> Response:
    """Build an RFC 9457 problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON, headers=headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="skillstack"'
    return response


class JsonBodyParser(FlaskParser):
    """Refuses a request body that is not JSON, instead of reading it as an empty one."""

    def _raw_load_json(self, req):
        if req.content_length and not is_json_request(req):
            raise UnsupportedMediaType("send the request body as application/json")
        return super()._raw_load_json(req)


class ApiBlueprint(flask_smorest.Blueprint):
    """The services' API blueprint: flask-smorest's, with JSON-only bodies."""

    ARGUMENTS_PARSER = JsonBodyParser()


class ProblemApi(flask_smorest.Api):
    """flask-smorest's Api, answering every HTTP error with problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        if isinstance(errors, dict) and set(errors) == {"json"}:
            errors = errors["json"]  # webargs nests body errors under their location
        detail = data.get("message") or error.description
        if error.code == 422 and errors:
            detail = "The request is invalid; see errors."
        elif isinstance(errors, list) and errors:
            detail = " ".join(map(str, errors))
        return problem(error.code or 500, error.name, detail, errors, data.get("headers"))


def wants_page() -> bool:
    """Whether this request is for a page (HTML errors) rather than the API (problem+json)."""
    return not request.path.startswith(("/api/", "/healthz", "/readyz", "/metrics", "/verify", "/.well-known/"))


def handle_domain_error(error: DomainError) -> Response:
    if wants_page():
        return Response(render_template("shared/error.html", title=error.title, detail=error.detail), status=error.status)
    return problem(error.status, error.title, error.detail, error.errors)


def handle_page_http_error(error: HTTPException):
    """Pages answer errors with the layout, never a stack trace; the API keeps problem+json."""
    if not wants_page():
        return current_app.extensions["problem_api"].handle_http_exception(error)
    detail = error.description if (error.code or 500) < 500 else "Something went wrong on our side. Please try again later."
    return Response(render_template("shared/error.html", title=error.name, detail=detail), status=error.code or 500)


class PathSegment(BaseConverter):
    """A URL segment without NUL, which no id holds and PostgreSQL refuses: such a path is a 404."""

    regex = "[^/\x00]+"


class PrefixedSessionInterface(SecureCookieSessionInterface):
    """Scopes the session cookie to the prefix a gateway serves this service under (`/issuer`)."""

    def get_cookie_path(self, app: Flask) -> str:
        return app.config["SESSION_COOKIE_PATH"] or request.script_root or app.config["APPLICATION_ROOT"]

    def open_session(self, app: Flask, request):
        """An empty session when the request carries no session cookie, without building a signer for nothing.

        Most public requests (verification, shared credential pages) come without one; the answer
        is Flask's own: an empty session, or none when the app has no secret key.
        """
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def serve_behind_proxy(app: Flask) -> None:
    """Trust one gateway's X-Forwarded-For/-Proto/-Host/-Prefix, so links, redirects and cookies
    carry the public scheme, host and path prefix (`SKILLSTACK_BEHIND_PROXY=true`)."""
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)


def create_service_app(
    import_name: str, config_class: type, overrides: dict | None, *, migrations: Path
) -> tuple[Flask, ProblemApi]:
    """Create a service's Flask app with its config, database, clock, API, health and `migrate` command."""
    app = Flask(import_name)
    app.url_map.converters["default"] = app.url_map.converters["string"] = PathSegment
    load_config(app, config_class, overrides)
    init_observability(app)  # first: its request hook runs before any other
    if app.config.get("BEHIND_PROXY"):
        serve_behind_proxy(app)
    app.session_interface = PrefixedSessionInterface()
    app.extensions["jwks"] = JwksCache(app.config["OIDC_DISCOVERY_URL"], static_jwks=app.config["OIDC_JWKS"])
    csrf.init_app(app)
    app.config.setdefault("API_TITLE", f"Skillstack {config_class.SERVICE_NAME}")
    app.extensions["database"] = Database(app.config["DATABASE_URL"])
    app.extensions["clock"] = lambda: datetime.now(UTC)
    api = ProblemApi(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            }
        },
    )
    app.extensions["problem_api"] = api
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_page_http_error)
    init_health(app)
    app.register_blueprint(Blueprint("shared", __name__, template_folder="templates"))
    init_sso(app)
    init_security(app)  # after init_sso: it limits the sign-in routes

    @app.cli.command("migrate")
    def migrate() -> None:
        """Upgrade this service's database to the latest schema."""
        upgrade(migrations, app.config["DATABASE_URL"])

    return app, api


def register_api(app: Flask, api: ProblemApi, blueprint: flask_smorest.Blueprint) -> None:
    """Register an API blueprint. APIs take bearer tokens only, which a browser never sends on
    its own, so they need no CSRF token; pages do."""
    api.register_blueprint(blueprint)
    csrf.exempt(blueprint)


def database() -> Database:
    """The current app's database."""
    return current_app.extensions["database"]


def now() -> datetime:
    """The current app's time (a fixed clock in tests)."""
    return current_app.extensions["clock"]()


def event_source() -> str:
    """The CloudEvents `source` of the events this service publishes."""
    return current_app.config["EVENT_SOURCE"]
