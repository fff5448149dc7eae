"""Single sign-on for the intranet pages: OpenID Connect authorization code flow with PKCE.

authlib checks `state`, sends the PKCE challenge and verifies the ID token and its `nonce`.
The session keeps who signed in (employee id, name, email, roles) and the ID token, for
RP-initiated logout. Any standards-compliant IdP works by configuration alone.
"""

from urllib.parse import urlsplit

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, request, session, url_for

from shared.auth import principal_from_claims
from shared.errors import DomainError

bp = Blueprint("auth", __name__, url_prefix="/auth")


class SignInFailed(DomainError):
    status = 400
    title = "Sign-in failed"


class SignInUnavailable(DomainError):
    status = 503
    title = "Sign-in unavailable"


def _identity_provider_down(error: OSError) -> SignInUnavailable:
    return SignInUnavailable(f"the sign-in service does not answer ({error.__class__.__name__}); please try again in a moment")


def init_sso(app: Flask) -> None:
    """Register the IdP as this service's OpenID Connect client."""
    oauth = OAuth(app)
    oauth.register(
        "idp",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_DISCOVERY_URL"],
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )
    app.extensions["oauth"] = oauth
    app.register_blueprint(bp)


def _idp():
    return current_app.extensions["oauth"].idp


def safe_next(target: str | None) -> str:
    """A redirect target within this site only: a path, never another host or scheme."""
    # Browsers drop tabs and newlines from a URL (so "/\t/evil.example" is "//evil.example") and
    # a newline cannot go in a Location header: a target with a control character is refused whole.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or not target.isprintable():
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


@bp.get("/login")
def login():
    """Send the visitor to the IdP, remembering where to bring them back."""
    session["next"] = safe_next(request.args.get("next"))
    try:
        return _idp().authorize_redirect(url_for(".callback", _external=True))
    except OSError as error:  # requests' connection errors are OSErrors
        raise _identity_provider_down(error) from error


@bp.get("/callback")
def callback():
    """Finish sign-in: exchange the code, check the ID token, start a fresh session."""
    try:
        token = _idp().authorize_access_token()
    except (OAuthError, ValueError) as error:
        raise SignInFailed(f"sign-in could not be completed ({error.__class__.__name__}); please try again") from error
    except OSError as error:
        raise _identity_provider_down(error) from error
    destination = safe_next(session.get("next"))
    session.clear()  # nothing from before sign-in survives into the signed-in session
    session["principal"] = principal_from_claims(token["userinfo"], current_app.config).to_session()
    session["id_token"] = token["id_token"]
    return redirect(request.script_root + destination)  # `next` is a path within this app, below any gateway prefix


@bp.post("/logout")
def logout():
    """End the session here and at the IdP (RP-initiated logout)."""
    id_token = session.get("id_token")
    session.clear()
    try:
        return _idp().logout_redirect(post_logout_redirect_uri=url_for(".signed_out", _external=True), id_token_hint=id_token)
    except OSError:
        return redirect(url_for(".signed_out"))  # signed out here; the IdP session ends with its own timeout


@bp.get("/signed-out")
def signed_out():
    return redirect(request.script_root + "/")
