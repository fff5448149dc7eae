"""The web base every service is built on: app factory, problem+json errors, health."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_smorest
from flask import Blueprint, Flask, Response, current_app, json
from marshmallow import Schema, fields
from sqlalchemy import text
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from shared.config import load_config
from shared.db import Database
from shared.errors import DomainError
from shared.migrations import upgrade

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(Schema):
    """RFC 9457 problem details, the error body of every API."""

    type = fields.String(metadata={"description": "A URI naming the problem type"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Raw(metadata={"description": "What is wrong, field by field or row by row"})


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


class Blueprint(flask_smorest.Blueprint):
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


def handle_domain_error(error: DomainError) -> Response:
    return problem(error.status, error.title, error.detail, error.errors)


health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return {"status": "ok"}


@health.get("/readyz")
def readyz():
    """Readiness: the database answers."""
    try:
        with database().transaction() as session:
            session.execute(text("SELECT 1"))
    except Exception as error:  # any failure means not ready
        return problem(503, "Service Unavailable", f"database: {error.__class__.__name__}")
    return {"status": "ready"}


def create_service_app(
    import_name: str, config_class: type, overrides: dict | None, *, migrations: Path
) -> tuple[Flask, ProblemApi]:
    """Create a service's Flask app with its config, database, clock, API, health and `migrate` command."""
    app = Flask(import_name)
    load_config(app, config_class, overrides)
    app.config.setdefault("API_TITLE", f"Skillstack {config_class.SERVICE_NAME}")
    app.extensions["database"] = Database(app.config["DATABASE_URL"])
    app.extensions["clock"] = lambda: datetime.now(UTC)
    app.extensions["migrations"] = migrations
    api = ProblemApi(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            }
        },
    )
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_blueprint(health)

    @app.cli.command("migrate")
    def migrate() -> None:
        """Upgrade this service's database to the latest schema."""
        upgrade(migrations, app.config["DATABASE_URL"])

    return app, api


def database() -> Database:
    """The current app's database."""
    return current_app.extensions["database"]


def now() -> datetime:
    """The current app's time (a fixed clock in tests)."""
    return current_app.extensions["clock"]()
