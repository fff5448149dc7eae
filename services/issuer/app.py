"""The issuer service's Flask app factory."""

from pathlib import Path

from flask import Flask

from services.issuer.config import Config
from services.issuer.openbadges import IssuerProfile
from services.issuer.signing import SigningKeys, did_web
from shared import audit
from shared.intranet import init_intranet
from shared.web import create_service_app, register_api


def create_app(config: dict | None = None) -> Flask:
    """Create the issuer app; `config` overrides the class defaults and the environment."""
    app, api = create_service_app(__name__, Config, config, migrations=Path(__file__).parent / "migrations")
    init_intranet(app)
    url = app.config["PUBLIC_URL"].rstrip("/")
    app.extensions["signing_keys"] = SigningKeys(app.config["SIGNING_KEYS"])
    app.extensions["issuer_profile"] = IssuerProfile(did_web(url), url, app.config["PROFILE_NAME"], app.config["PROFILE_EMAIL"])
    from services.issuer.analytics_views import bp as analytics_pages
    from services.issuer.api import bp
    from services.issuer.bulk_api import bp as bulk_api
    from services.issuer.bulk_views import bp as bulk_pages
    from services.issuer.catalog_views import bp as catalog_pages
    from services.issuer.public import bp as public
    from services.issuer.views import bp as pages
    from services.issuer.wallet_views import bp as wallet_pages
    from services.issuer.xapi import bp as xapi

    register_api(app, api, bp)
    register_api(app, api, audit.bp)
    register_api(app, api, xapi)
    register_api(app, api, bulk_api)
    app.register_blueprint(public)
    app.register_blueprint(pages)
    app.register_blueprint(catalog_pages)
    app.register_blueprint(analytics_pages)
    app.register_blueprint(wallet_pages)
    app.register_blueprint(bulk_pages)
    return app
