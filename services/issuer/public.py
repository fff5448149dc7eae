"""What the issuer publishes to anyone: keys, its DID, status lists, credentials and verification.

No authentication here, by design; no private key ever leaves `signing.py`.
"""

import json

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from services.issuer.models import Achievement, Credential
from services.issuer.status_lists import status_list_credential
from services.issuer.verification import report, verify
from shared.errors import InvalidInput
from shared.web import csrf, database, now

bp = Blueprint("public", __name__, template_folder="templates")


def _keys():
    return current_app.extensions["signing_keys"]


def _issuer():
    return current_app.extensions["issuer_profile"]


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public keys that verify this issuer's credentials."""
    return jsonify(_keys().public_jwks())


@bp.get("/.well-known/did.json")
def did_document():
    """The did:web document of the issuer, listing the same keys."""
    did = _issuer().did
    methods = [
        {"id": f"{did}#{key['kid']}", "type": "JsonWebKey", "controller": did, "publicKeyJwk": key}
        for key in _keys().public_jwks()["keys"]
    ]
    document = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
    return Response(json.dumps(document), mimetype="application/did+json")


@bp.get("/status/<int:number>")
def status_list(number: int):
    """The signed Bitstring Status List credential of list `number`."""
    with database().transaction() as session:
        document = status_list_credential(session, number, _issuer(), now())
    claims = document | {"iss": _issuer().did, "jti": document["id"]}
    return Response(_keys().sign(claims), mimetype="application/vc+jwt", headers={"Cache-Control": "max-age=300"})


def _credential(credential_id: str) -> Credential:
    with database().transaction() as session:
        credential = session.get(Credential, credential_id)
    if credential is None or credential.jwt is None:
        abort(404, "no such credential")
    return credential


@bp.get("/credentials/<credential_id>.json")
def credential_json(credential_id):
    return Response(_credential(credential_id).document, mimetype="application/json")


@bp.get("/credentials/<credential_id>.jwt")
def credential_jwt(credential_id):
    return Response(_credential(credential_id).jwt, mimetype="application/vc+jwt")


@bp.get("/credentials/<credential_id>")
def credential_page(credential_id):
    """The public verification page of one credential."""
    credential = _credential(credential_id)
    with database().transaction() as session:
        checks = verify(credential.jwt, keys=_keys(), issuer=_issuer(), session=session, now=now())
        achievement = session.get(Achievement, credential.achievement_id)
    return render_template(
        "issuer/credential.html",
        credential=credential,
        document=json.loads(credential.document),
        achievement=achievement,
        verification=report(checks),
        page_url=request.url,
    )


@bp.post("/verify")
@csrf.exempt
def verify_presented():
    """Check any presented VC-JWT: proof, issuer, schema, validity window and revocation."""
    body = request.get_json(silent=True)
    token = body.get("credential") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise InvalidInput('send {"credential": "<the VC-JWT>"} as application/json')
    with database().transaction() as session:
        checks = verify(token.strip(), keys=_keys(), issuer=_issuer(), session=session, now=now())
    return jsonify(report(checks))
