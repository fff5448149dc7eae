"""What the cheaper public path keeps: read sessions cannot write, the session cookie is still read
when sent, security headers are added once and never over a view's own, the report is unchanged."""

from dataclasses import asdict

import pytest
from flask import Flask, Response, session
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from services.issuer.verification import Check, report
from shared.db import Database
from shared.security import DOCUMENT_POLICY, HEADERS, add_security_headers
from shared.web import PrefixedSessionInterface


@pytest.fixture
def sqlite_database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'service.db'}")
    with database.transaction() as writing:
        writing.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        writing.execute(text("INSERT INTO notes (body) VALUES ('first')"))
    yield database
    database.dispose()


def test_a_read_session_sees_what_was_committed_and_refuses_to_write(sqlite_database):
    with sqlite_database.read() as session:
        assert session.execute(text("SELECT body FROM notes")).scalars().all() == ["first"]
        with pytest.raises(OperationalError, match="readonly"):
            session.execute(text("INSERT INTO notes (body) VALUES ('second')"))

    with sqlite_database.transaction() as writing:  # the write path is untouched
        writing.execute(text("INSERT INTO notes (body) VALUES ('second')"))
    with sqlite_database.read() as session:
        assert session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 2


def cookie_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "unit-test-secret"
    app.session_interface = PrefixedSessionInterface()

    @app.get("/remember/<value>")
    def remember(value):
        session["value"] = value
        return "ok"

    @app.get("/recall")
    def recall():
        return session.get("value", "(nothing)")

    return app


def test_without_a_cookie_the_session_is_empty_and_no_cookie_is_set():
    response = cookie_app().test_client().get("/recall")

    assert response.get_data(as_text=True) == "(nothing)"
    assert "Set-Cookie" not in response.headers


def test_a_session_cookie_is_still_read_and_a_forged_one_ignored():
    client = cookie_app().test_client()
    client.get("/remember/ada")

    assert client.get("/recall").get_data(as_text=True) == "ada"
    client.set_cookie("session", "forged.value.signature")
    assert client.get("/recall").get_data(as_text=True) == "(nothing)"


def headers_app() -> Flask:
    app = Flask(__name__)
    app.extensions["page_policy"] = "default-src 'self'"
    app.after_request(add_security_headers)

    @app.get("/json")
    def document():
        return {"ok": True}

    @app.get("/svg")
    def svg():
        return Response("<svg/>", mimetype="image/svg+xml", headers={"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "SAMEORIGIN"})

    return app


def test_security_headers_are_added_once_and_never_over_a_views_own():
    client = headers_app().test_client()
    document, svg = client.get("/json"), client.get("/svg")

    for name, value in HEADERS.items():
        assert document.headers.getlist(name) == [value]
    assert document.headers.getlist("Content-Security-Policy") == [DOCUMENT_POLICY]
    assert svg.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert svg.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]


def test_the_report_is_the_same_as_before():
    checks = [Check("proof", True, "signed"), Check("status", False, "revoked on 2026-01-02: error")]

    assert report(checks) == {"valid": False, "checks": [asdict(check) for check in checks]}
