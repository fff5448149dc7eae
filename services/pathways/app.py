"""The pathways service's Flask app factory."""

from pathlib import Path

from flask import Flask

from services.pathways.config import Config
from shared.web import create_service_app, register_api


def create_app(config: dict | None = None) -> Flask:
    """Create the pathways app; `config` overrides the class defaults and the environment."""
    app, api = create_service_app(__name__, Config, config, migrations=Path(__file__).parent / "migrations")
    from services.pathways.api import bp
    from services.pathways.views import bp as pages

    register_api(app, api, bp)
    app.register_blueprint(pages)
    return app
