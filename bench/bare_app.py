"""The baseline of bench/verification.py: bare Flask endpoints shaped like the issuer's public ones.

`POST /verify` parses the same JSON body and answers a small JSON report; `GET /credentials/<id>`
renders a one-line template (compiled once, as Flask caches a template file). No database, no
signature, no schema: what Flask under gunicorn costs by itself on this machine.
"""

from flask import Flask, jsonify, request

PAGE = "<!doctype html><title>{{ credential_id }}</title><p>Credential {{ credential_id }} is valid.</p>"


def create_app() -> Flask:
    app = Flask(__name__)
    page = app.jinja_env.from_string(PAGE)

    @app.post("/verify")
    def verify():
        body = request.get_json(silent=True) or {}
        return jsonify({"valid": bool(body.get("credential")), "checks": []})

    @app.get("/credentials/<credential_id>")
    def credential_page(credential_id: str):
        return page.render(credential_id=credential_id)

    return app
