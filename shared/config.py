"""Configuration: a class of defaults per service, then the environment, then test overrides."""

from typing import Any

from flask import Flask

REQUIRED = ("SECRET_KEY", "OIDC_ISSUER")


class BaseConfig:
    """Defaults common to every service. Secrets have no default: they come from the environment."""

    SERVICE_NAME = "skillstack"
    DATABASE_URL = "sqlite:///.local/skillstack.db"
    KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
    KAFKA_TOPIC_PARTITIONS = 3
    MAX_CONTENT_LENGTH = 1024 * 1024
    INTRANET_URL = "http://127.0.0.1:8000"
    SECRET_KEY: str | None = None  # signs session cookies
    # The company's OpenID Connect provider (ADR 0006).
    OIDC_ISSUER: str | None = None
    OIDC_DISCOVERY_URL: str | None = None  # where to fetch the discovery document, if not at the issuer
    OIDC_AUDIENCE: str | None = None  # the `aud` API tokens must carry; defaults to the service name
    OIDC_CLIENT_ID: str | None = None  # this service's web client; defaults to skillstack-<service>
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_ROLE_GROUPS = {"hr-admin": "hr-admins", "assessor": "assessors"}  # role -> IdP group
    OIDC_GROUPS_CLAIM = "groups"
    OIDC_EMPLOYEE_ID_CLAIM = "employee_id"
    OIDC_JWKS: dict | None = None  # fixed signing keys instead of fetching them (offline sites, tests)
    OIDC_CLOCK_SKEW_SECONDS = 30  # tolerated clock difference with the IdP for exp and nbf
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"


def load_config(app: Flask, defaults: type, overrides: dict[str, Any] | None) -> None:
    """Fill app.config from the defaults class, SKILLSTACK_* and SKILLSTACK_<SERVICE>_* variables, then overrides."""
    service = defaults.SERVICE_NAME
    app.config.from_object(defaults)
    app.config.from_prefixed_env("SKILLSTACK")
    app.config.from_prefixed_env(f"SKILLSTACK_{service.upper()}")
    if overrides:
        app.config.update(overrides)
    missing = [name for name in REQUIRED if not app.config.get(name)]
    if missing:
        raise RuntimeError("missing configuration: " + ", ".join(f"SKILLSTACK_{name}" for name in missing))
    app.config["OIDC_AUDIENCE"] = app.config["OIDC_AUDIENCE"] or service
    app.config["OIDC_CLIENT_ID"] = app.config["OIDC_CLIENT_ID"] or f"skillstack-{service}"
    app.config["OIDC_DISCOVERY_URL"] = (
        app.config["OIDC_DISCOVERY_URL"] or app.config["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration"
    )
    if app.config["SESSION_COOKIE_NAME"] == "session":  # Flask's default: one cookie per service instead
        app.config["SESSION_COOKIE_NAME"] = f"skillstack_{service}"
    app.config.setdefault("SESSION_COOKIE_SECURE", app.config["INTRANET_URL"].startswith("https://"))
