"""What every intranet page shares besides the layout: the navigation across the three services,
their static files (the vendored design system and Skillstack's own styles), and htmx fragments.

The services live under one origin, each under its prefix (`/issuer`, `/pathways`,
`/notifications`: `INTRANET_PATHS`, below the path of `INTRANET_URL`). A link to a page of this
service is built with `url_for`, so it carries the prefix the gateway names; a link to another
service's page is that service's prefix plus the page's path, on the same origin.

Who sees which link: everyone signed in sees their own areas and "My team" and "Approvals" (only
pathways knows who manages whom, and those pages say what to do when nobody reports to you);
HR admins see HR's pages and assessors the assessment form, by the roles of their session.
"""

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, render_template, request, session, url_for
from werkzeug.routing import BuildError

from shared.auth import ASSESSOR, HR_ADMIN, Principal
from shared.web import csrf

bp = Blueprint("intranet", __name__, static_folder="static", static_url_path="/assets")

DEFAULT_PATHS = {"issuer": "/issuer", "pathways": "/pathways", "notifications": "/notifications"}


@dataclass(frozen=True)
class Link:
    """One page of the intranet: the service serving it, its endpoint there, its path and its label."""

    service: str
    endpoint: str | None  # None: its path is enough
    path: str
    label: str
    testid: str


EVERYONE = (
    Link("pathways", "pathways.my_pathway", "/", "My pathway", "nav-pathway"),
    Link("issuer", "wallet.my_wallet", "/wallet", "My credentials", "nav-wallet"),
    Link("notifications", "notifications.my_inbox", "/inbox", "Inbox", "nav-inbox"),
    Link("pathways", "pathways.team", "/team", "My team", "nav-team"),
    Link("pathways", "pathways.approvals", "/approvals", "Approvals", "nav-approvals"),
)
ASSESSORS = (Link("issuer", "issuer_pages.record_assessment_form", "/assessments/record", "Record a result", "nav-record"),)
HR_ADMINS = (
    Link("issuer", "catalog_pages.catalog_page", "/catalog", "Catalog", "nav-catalog"),
    Link("issuer", "bulk_pages.bulk_issuances", "/bulk-issuances", "Bulk issuance", "nav-bulk"),
    Link("pathways", "designer.designer", "/designer", "Designer", "nav-designer"),
    Link("pathways", "org_chart.import_form", "/people/import", "Org chart", "nav-org-chart"),
    Link("pathways", "pathways.overview", "/overview", "Overview", "nav-overview"),
    Link("pathways", "analytics.analytics_page", "/analytics", "Analytics", "nav-analytics"),
    Link("notifications", "notifications.deliveries", "/deliveries", "Delivery log", "nav-deliveries"),
)
ACCOUNT = (Link("notifications", "notifications.my_preferences", "/preferences", "Preferences", "nav-preferences"),)


def init_intranet(app: Flask) -> None:
    """Serve the shared static files under this service's prefix and give templates the navigation."""
    app.config.setdefault("INTRANET_PATHS", DEFAULT_PATHS)
    app.register_blueprint(bp)
    app.context_processor(lambda: {"intranet_url": intranet_url, "asset_url": asset_url, "navigation": navigation,
                                   "is_fragment_request": is_fragment_request})


def _origin_path() -> str:
    """The path the intranet's origin puts the services under: '' for https://skills.example.com."""
    return urlsplit(current_app.config["INTRANET_URL"]).path.rstrip("/")


def intranet_url(service: str, path: str = "/", endpoint: str | None = None) -> str:
    """A page's link: `url_for` within this service, the service's gateway path for another one."""
    if service == current_app.config["SERVICE_NAME"]:
        if endpoint:
            try:
                return url_for(endpoint)
            except BuildError:  # a page another team has not added yet
                pass
        return request.script_root + path
    return _origin_path() + current_app.config["INTRANET_PATHS"][service] + path


def asset_url(filename: str) -> str:
    """A shared static file, fetched under this service's prefix.

    Behind the gateway a request without a prefix is one of the issuer's public pages at the
    origin's root (`/credentials/<id>`), where nothing else is served: its styles are fetched under
    the service's own prefix then.
    """
    if request.script_root or not current_app.config.get("BEHIND_PROXY"):
        return url_for("intranet.static", filename=filename)
    service = current_app.config["SERVICE_NAME"]
    return _origin_path() + current_app.config["INTRANET_PATHS"][service] + url_for("intranet.static", filename=filename)


def _is_current(link: Link) -> str | None:
    """aria-current for a link: "page" on its own page, "true" on a page below it (a form of the catalog)."""
    if link.service != current_app.config["SERVICE_NAME"]:
        return None
    if link.endpoint and request.endpoint == link.endpoint:
        return "page"
    if link.path != "/" and request.path.startswith(link.path + "/"):
        return "true"
    if link.path == request.path:
        return "page"
    return None


def navigation(principal: Principal | None) -> dict[str, list[dict]]:
    """The links the signed-in person sees, by group, each with its href and aria-current."""
    if not isinstance(principal, Principal):  # signed out, or a page without sign-in (jinja's Undefined)
        return {}

    def entries(links) -> list[dict]:
        return [{"href": intranet_url(link.service, link.path, link.endpoint), "label": link.label,
                 "current": _is_current(link), "testid": link.testid} for link in links]

    groups = {"main": entries(EVERYONE + (ASSESSORS if principal.has_role(ASSESSOR) else ())), "account": entries(ACCOUNT)}
    if principal.has_role(HR_ADMIN):
        groups["hr"] = entries(HR_ADMINS)
    return groups


def is_fragment_request() -> bool:
    """Whether htmx asked for this (a fragment to swap in) rather than the browser for a whole page."""
    return request.headers.get("HX-Request") == "true"


def fragment(signed_out_template: str | None = None):
    """Decorate an htmx fragment of a page: it never redirects to sign in (the page that loads it may
    be another service's): signed out, it is `signed_out_template` (with signed_in=False), or empty.
    The view gets the signed-in principal."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            data = session.get("principal")
            if data is None:
                return render_template(signed_out_template, signed_in=False) if signed_out_template else ""
            g.principal = Principal.from_session(data)
            return view(g.principal, *args, **kwargs)

        return wrapper

    return decorator


def raise_upload_limit(setting: str):
    """Decorate a page taking a file bigger than MAX_CONTENT_LENGTH (an org chart, awards): the limit
    is raised to `setting` before the form is read, which the CSRF check does first."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            request.max_content_length = current_app.config[setting]
            request.max_form_memory_size = current_app.config[setting]
            csrf.protect()
            return view(*args, **kwargs)

        csrf.exempt(wrapper)  # checked in the wrapper instead, once the limit is raised
        return wrapper

    return decorator
