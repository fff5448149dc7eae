"""The notifications service's Flask app factory."""

from pathlib import Path

from flask import Flask

from services.notifications.config import Config
from shared import audit
from shared.intranet import init_intranet
from shared.web import create_service_app, register_api


def create_app(config: dict | None = None) -> Flask:
    """Create the notifications app; `config` overrides the class defaults and the environment."""
    app, api = create_service_app(__name__, Config, config, migrations=Path(__file__).parent / "migrations")
    init_intranet(app)
    from services.notifications.api import bp
    from services.notifications.views import bp as pages

    register_api(app, api, bp)
    register_api(app, api, audit.bp)
    app.register_blueprint(pages)
    return app
