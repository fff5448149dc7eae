"""What every response tells the browser, and how often one address may call the public endpoints.

Headers (ADR 0016): pages may load only this origin's resources (inline styles allowed, never
inline scripts), may not be framed, and post forms only here or to the IdP (the sign-out form's
redirect goes there); JSON, JWTs and images get a policy that runs nothing. HSTS is sent over
HTTPS only: `request.is_secure`, which behind the gateway follows X-Forwarded-Proto
(`BEHIND_PROXY`). What a signed-in caller receives is never stored by a cache (`no-store`).

Rate limits (Flask-Limiter, one limiter per app, keyed by client address: `request.remote_addr`,
which ProxyFix sets from the gateway's X-Forwarded-For): the sign-in routes of every service
(`RATE_LIMIT_SIGN_IN`) and the views a service marks with `rate_limited(setting)`. Counters live
in `RATE_LIMIT_STORAGE_URI` (memory by default, so per process; `redis://…` shares them between
processes); `RATE_LIMIT_ENABLED=false` turns limiting off (benchmarks). A refused call is 429
with `Retry-After`, as problem+json on the API and the error page on pages.
"""

import functools
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

SIGN_IN_ENDPOINTS = ("auth.login", "auth.callback")
HSTS = "max-age=31536000; includeSubDomains"
PAGE_POLICY = (
    "default-src 'self'",
    "img-src 'self' data:",  # the catalog form previews the badge as a data: URL
    "style-src 'self' 'unsafe-inline'",  # the layout's <style> block and style= attributes; scripts stay strict
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)
DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"  # JSON, JWTs, images: nothing runs
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",  # other sites learn the origin, never a credential's path
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def page_policy(oidc_issuer: str) -> str:
    """The pages' Content-Security-Policy: forms post here, or to the IdP that signing out redirects to."""
    issuer = urlsplit(oidc_issuer)
    return "; ".join((*PAGE_POLICY, f"form-action 'self' {issuer.scheme}://{issuer.netloc}"))


def add_security_headers(response: Response) -> Response:
    """Set the security headers a view has not set itself (an SVG keeps its own stricter policy)."""
    present = {name.lower() for name in response.headers.keys()}  # one pass, rather than a lookup per header
    response.headers.extend([(name, value) for name, value in HEADERS.items() if name.lower() not in present])
    if "content-security-policy" not in present:
        page = response.mimetype == "text/html"
        response.headers["Content-Security-Policy"] = current_app.extensions["page_policy"] if page else DOCUMENT_POLICY
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    if "principal" in g:  # someone's own data: neither the browser nor a proxy keeps a copy
        response.headers.setdefault("Cache-Control", "no-store")
    if response.status_code not in (429, 503):  # Flask-Limiter sends it on every limited answer; it means something on these
        response.headers.pop("Retry-After", None)
    return response


class RateLimits:
    """This app's limiter and the views it guards, each wrapped by Flask-Limiter once, on first call."""

    def __init__(self, app: Flask):
        self.limiter = Limiter(
            get_remote_address,
            storage_uri=app.config["RATE_LIMIT_STORAGE_URI"],
            key_prefix=f"skillstack-{app.config['SERVICE_NAME']}",
            enabled=bool(app.config["RATE_LIMIT_ENABLED"]),
            headers_enabled=True,
            swallow_errors=True,  # a storage outage lets requests through rather than failing sign-in and verification
        )
        self.limiter.init_app(app)
        self._guarded: dict[Callable, Callable] = {}
        self._lock = threading.Lock()

    def guarded(self, view: Callable, setting: str) -> Callable:
        """`view` under the limit that the app's config names by `setting`."""
        if view not in self._guarded:
            with self._lock:  # wrapping registers the limit with the limiter: exactly once per view
                if view not in self._guarded:
                    # The limit as a string, read from this app's config once: a callable would be
                    # called and its result parsed again on every request.
                    value = current_app.config[setting]
                    limit = self.limiter.limit(
                        value, error_message=f"too many requests from your address (at most {value}); please wait a moment and try again"
                    )
                    self._guarded[view] = limit(view)
        return self._guarded[view]


def rate_limited(setting: str):
    """Decorate a view: one client address may call it at most `app.config[setting]` times (e.g. "120/minute")."""

    def decorator(view):
        @functools.wraps(view)
        def limited(*args, **kwargs):
            return current_app.extensions["rate_limits"].guarded(view, setting)(*args, **kwargs)

        return limited

    return decorator


def init_security(app: Flask) -> None:
    """Send the security headers on every response and limit the sign-in routes; call it after `init_sso`."""
    app.config.setdefault("RATE_LIMIT_ENABLED", True)
    app.config.setdefault("RATE_LIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATE_LIMIT_SIGN_IN", "30/minute")
    app.config.setdefault("RATE_LIMIT_VERIFY", "120/minute")
    app.extensions["page_policy"] = page_policy(app.config["OIDC_ISSUER"])
    app.after_request(add_security_headers)  # registered before the limiter's, so it runs after it
    app.extensions["rate_limits"] = RateLimits(app)
    for endpoint in SIGN_IN_ENDPOINTS:
        app.view_functions[endpoint] = rate_limited("RATE_LIMIT_SIGN_IN")(app.view_functions[endpoint])
