"""Signing in through the real identity provider never ends off-site, whatever `next` asked for,
and the sign-in writes no secret to the logs (ADR 0016).

The service runs in-process as a client of the test Keycloak; Keycloak's own login form is filled
over HTTP, as a browser would post it.
"""

import html
import logging
import re
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.conftest import service_config

pytestmark = pytest.mark.infra

DEMO_USER, DEMO_PASSWORD = "eve", "demo-password"  # deploy/keycloak/skillstack-realm.json
CLIENT_SECRET = "pathways-local-secret"
SECRET_KEY = "sign-in-redirects-session-key"
# `next` as it arrives in the query string: plain, encoded and double-encoded attempts to leave.
ATTACKS = [
    "https://evil.example", "//evil.example", "/%5Cevil.example", "%5C%5Cevil.example", "javascript:alert(1)",
    "%2F%2Fevil.example", "%252F%252Fevil.example", "%2F%09%2Fevil.example", "https%3A%2F%2Fevil.example",
    "/ok%0D%0ALocation:%20https://evil.example",
]


@pytest.fixture(scope="module")
def app(service_databases, kafka_bootstrap, identity):
    """The pathways app signing people in with the test Keycloak's `skillstack-pathways` client."""
    from services.pathways.app import create_app

    created = create_app(service_config("pathways", service_databases["pathways"], kafka_bootstrap) | {
        "OIDC_ISSUER": identity.issuer, "OIDC_JWKS": None, "OIDC_CLIENT_SECRET": CLIENT_SECRET, "SECRET_KEY": SECRET_KEY,
        "RATE_LIMIT_ENABLED": False,  # one address signs in many times here
    })
    yield created
    created.extensions["database"].dispose()


def sign_in(client, query: str) -> tuple[str, str]:
    """Start sign-in with this query string, log in at Keycloak, finish at the callback; where it sends the
    browser, and the authorization code it used."""
    start = client.get(f"/auth/login?{query}")
    assert start.status_code == 302, start.get_data(as_text=True)[:300]
    browser = requests.Session()
    form = browser.get(start.headers["Location"], timeout=30)
    action = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', form.text).group(1)
    for cookie in browser.cookies:  # Keycloak marks them Secure; a browser sends them to http://127.0.0.1 anyway
        cookie.secure = False
    logged_in = browser.post(html.unescape(action), data={"username": DEMO_USER, "password": DEMO_PASSWORD, "credentialId": ""},
                             allow_redirects=False, timeout=30)
    assert logged_in.status_code == 302, logged_in.text[:300]
    callback = urlsplit(logged_in.headers["Location"])
    finish = client.get(f"{callback.path}?{callback.query}")
    assert finish.status_code == 302, finish.get_data(as_text=True)[:300]
    return finish.headers["Location"], re.search(r"code=([^&]+)", callback.query).group(1)


def where_a_browser_goes(location: str) -> tuple[str, str]:
    cleaned = "".join(character for character in location if character not in "\t\r\n").replace("\\", "/")
    target = urlsplit(urljoin("http://localhost/auth/callback", cleaned))
    return target.scheme, target.netloc


@pytest.mark.parametrize("attack", ATTACKS)
def test_signing_in_never_ends_off_site(app, attack):
    location, _ = sign_in(app.test_client(), f"next={attack}")

    assert where_a_browser_goes(location) == ("http", "localhost")
    assert location == "/"


def test_signing_in_brings_the_person_back_to_the_page_they_asked_for(app):
    location, _ = sign_in(app.test_client(), "next=%2Fapprovals%3Ftab%3Dwaiting")

    assert location == "/approvals?tab=waiting"


def test_signing_in_logs_no_secret(app, caplog, capfd):
    caplog.set_level(logging.DEBUG)

    _, code = sign_in(app.test_client(), "next=/approvals")

    written = caplog.text + "".join(str(record.__dict__) for record in caplog.records) + capfd.readouterr().err
    assert "GET /auth/callback 302" in written  # the access log did see the sign-in
    for secret in (CLIENT_SECRET, SECRET_KEY, DEMO_PASSWORD, code):
        assert secret not in written
