"""The pathways service's Flask app factory."""

from pathlib import Path

from flask import Flask

from services.pathways.config import Config
from shared import audit
from shared.intranet import init_intranet
from shared.web import create_service_app, csrf, register_api


def create_app(config: dict | None = None) -> Flask:
    """Create the pathways app; `config` overrides the class defaults and the environment."""
    app, api = create_service_app(__name__, Config, config, migrations=Path(__file__).parent / "migrations")
    init_intranet(app)
    from services.pathways.analytics_views import bp as analytics_pages
    from services.pathways.api import bp
    from services.pathways.designer_views import bp as designer
    from services.pathways.import_views import bp as org_chart
    from services.pathways.replay import replay_projections_command
    from services.pathways.scim import bp as scim
    from services.pathways.views import bp as pages

    register_api(app, api, bp)
    register_api(app, api, audit.bp)
    app.register_blueprint(pages)
    app.register_blueprint(designer)
    app.register_blueprint(analytics_pages)
    app.register_blueprint(org_chart)
    app.register_blueprint(scim)
    csrf.exempt(scim)  # bearer tokens only, which a browser never sends on its own
    app.cli.add_command(replay_projections_command)
    return app
