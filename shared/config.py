"""Configuration: a class of defaults per service, then the environment, then test overrides."""

from typing import Any

from flask import Flask


class BaseConfig:
    """Defaults common to every service. Secrets have no default: they come from the environment."""

    SERVICE_NAME = "skillstack"
    DATABASE_URL = "sqlite:///.local/skillstack.db"
    KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
    KAFKA_TOPIC_PARTITIONS = 3
    MAX_CONTENT_LENGTH = 1024 * 1024
    # Until SSO lands, tokens are HS256 JWTs signed with this secret (ADR 0004).
    AUTH_TOKEN_SECRET: str | None = None
    AUTH_ISSUER = "skillstack-dev"
    INTRANET_URL = "http://127.0.0.1:8000"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"


def load_config(app: Flask, defaults: type, overrides: dict[str, Any] | None) -> None:
    """Fill app.config from the defaults class, SKILLSTACK_* and SKILLSTACK_<SERVICE>_* variables, then overrides."""
    app.config.from_object(defaults)
    app.config.from_prefixed_env("SKILLSTACK")
    app.config.from_prefixed_env(f"SKILLSTACK_{defaults.SERVICE_NAME.upper()}")
    if overrides:
        app.config.update(overrides)
    if not app.config.get("AUTH_TOKEN_SECRET"):
        raise RuntimeError("SKILLSTACK_AUTH_TOKEN_SECRET is not set")
