"""What the issuer publishes to anyone: keys, its DID, status lists, credentials and verification.

No authentication here, by design; no private key ever leaves `signing.py`. Everything here only
reads, through the database's read-only sessions (`Database.read`): one round trip per query.
"""

import base64
import json

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services.issuer.baking import badge_png, bake_png, bake_svg
from services.issuer import catalog, wallet
from services.issuer.models import Achievement, Credential, Person
from services.issuer.status_lists import status_list_credential
from services.issuer.verification import report, verify
from shared.errors import InvalidInput
from shared.security import rate_limited
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
    with database().read() as session:
        document = status_list_credential(session, number, _issuer(), now())
    claims = document | {"iss": _issuer().did, "jti": document["id"]}
    return Response(_keys().sign(claims), mimetype="application/vc+jwt", headers={"Cache-Control": "max-age=300"})


@bp.get("/achievements/<achievement_id>/v<int:version>/image")
def achievement_image(achievement_id: str, version: int):
    """The badge image of one version of an achievement: uploaded, or generated from its definition."""
    with database().read() as session:
        media_type, image = catalog.badge_image(session, achievement_id, version)
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if media_type == "image/svg+xml":  # opened directly, an SVG is a document: let it run and fetch nothing
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return Response(image, mimetype=media_type, headers=headers)


def _credential(credential_id: str) -> Credential:
    with database().read() as session:
        credential = session.get(Credential, credential_id)
    if credential is None or credential.jwt is None:
        abort(404, "no such credential")
    return credential


@bp.get("/credentials/<credential_id>.json")
@rate_limited("RATE_LIMIT_VERIFY")
def credential_json(credential_id):
    return Response(_credential(credential_id).document, mimetype="application/json")


@bp.get("/credentials/<credential_id>.jwt")
@rate_limited("RATE_LIMIT_VERIFY")
def credential_jwt(credential_id):
    return Response(_credential(credential_id).jwt, mimetype="application/vc+jwt")


def _badge_of(credential: Credential) -> tuple[str, bytes, Achievement]:
    """The image of the achievement version the credential was issued under."""
    with database().read() as session:
        media_type, image = catalog.badge_image(session, credential.achievement_id, credential.achievement_version)
        return media_type, image, session.get(Achievement, credential.achievement_id)


@bp.get("/credentials/<credential_id>/badge.png")
def baked_png(credential_id):
    """The badge as a PNG with the signed credential baked in, to download and share."""
    credential = _credential(credential_id)
    media_type, image, achievement = _badge_of(credential)
    png = image if media_type == "image/png" else badge_png(achievement.name, achievement.colour)
    return Response(bake_png(png, credential.jwt), mimetype="image/png", headers=_download(f"{achievement.id}.png"))


@bp.get("/credentials/<credential_id>/badge.svg")
def baked_svg(credential_id):
    """The badge as an SVG with the signed credential baked in."""
    credential = _credential(credential_id)
    media_type, image, achievement = _badge_of(credential)
    if media_type == "image/svg+xml":
        svg = image.decode()
    else:  # an uploaded PNG, wrapped so the credential can travel in SVG too
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><image width="400" height="400" '
            f'href="data:image/png;base64,{base64.b64encode(image).decode()}"/></svg>'
        )
    headers = _download(f"{achievement.id}.svg") | {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}
    return Response(bake_svg(svg, credential.jwt), mimetype="image/svg+xml", headers=headers)


def _download(filename: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"}


# Built once: the page is read by anyone a holder shares it with, and building the statement (and
# its cache key) on every request cost about as much CPU as running it.
CREDENTIAL_WITH_ACHIEVEMENT_AND_HOLDER = (
    select(Credential, Achievement, Person.name)
    .join(Achievement, Achievement.id == Credential.achievement_id)
    .outerjoin(Person, Person.employee_id == Credential.employee_id)
    .where(Credential.id == bindparam("credential_id"))
)


def _credential_with_achievement_and_holder(session: Session, credential_id: str) -> tuple[Credential, Achievement, str | None] | None:
    """The credential, its achievement and its holder's name (None if not shared or unknown), in one query."""
    found = session.execute(CREDENTIAL_WITH_ACHIEVEMENT_AND_HOLDER, {"credential_id": credential_id}).first()
    if found is None:
        return None
    credential, achievement, name = found
    return credential, achievement, name if credential.public else None


@bp.get("/credentials/<credential_id>")
@rate_limited("RATE_LIMIT_VERIFY")
def credential_page(credential_id):
    """The public verification page of one credential; it names the holder only if they shared it."""
    with database().read() as session:  # one query: the revocation check reads the same row
        found = _credential_with_achievement_and_holder(session, credential_id)
        if found is None or found[0].jwt is None:
            abort(404, "no such credential")
        credential, achievement, holder_name = found
        checks = verify(credential.jwt, keys=_keys(), issuer=_issuer(), session=session, now=now(), stored=credential)
    return render_template(
        "issuer/credential.html",
        credential=credential,
        document=json.loads(credential.document),
        achievement=achievement,
        verification=report(checks),
        page_url=request.url,
        holder_name=holder_name,
        issuer_name=_issuer().name,
        share=wallet.share_links(credential, achievement.name, _issuer()) if credential.public else None,
    )


@bp.post("/verify")
@csrf.exempt
@rate_limited("RATE_LIMIT_VERIFY")
def verify_presented():
    """Check any presented VC-JWT: proof, issuer, schema, validity window and revocation."""
    body = request.get_json(silent=True)
    token = body.get("credential") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise InvalidInput('send {"credential": "<the VC-JWT>"} as application/json')
    with database().read() as session:
        checks = verify(token.strip(), keys=_keys(), issuer=_issuer(), session=session, now=now())
    return jsonify(report(checks))
