"""The issuer's JSON API: the catalog (HR), completion intake (LMS) and credentials."""

from flask import current_app, request
from werkzeug.exceptions import UnsupportedMediaType

from services.issuer import assessor_results, badge_uploads, catalog, intake, issuance, revocation, wallet
from services.issuer.schemas import (
    AchievementDefinition,
    AchievementInput,
    AchievementOutput,
    AchievementVersionOutput,
    AssessorResultAccepted,
    AssessorResultInput,
    CompletionAccepted,
    CompletionInput,
    CredentialOutput,
    CredentialQuery,
    RevocationInput,
    SharingInput,
    WalletEntryOutput,
)
from shared import audit
from shared.auth import ASSESSOR, COMPLETIONS_SCOPE, HR_ADMIN, current_principal, require
from shared.errors import Forbidden
from shared.web import ApiBlueprint, database, event_source, now, problems

bp = ApiBlueprint("issuer_api", __name__, url_prefix="/api", description="Credential catalog, intake and credentials")



def _check_owner_or_hr(employee_id: str) -> None:
    """An employee sees only their own credentials; HR sees everyone's."""
    principal = current_principal()
    if principal.subject != employee_id and not principal.has_role(HR_ADMIN):
        raise Forbidden("you may only see your own credentials")


@bp.post("/achievements")
@require(role=HR_ADMIN)
@bp.arguments(AchievementInput)
@bp.response(201, AchievementOutput)
@bp.doc(responses=problems(400, 401, 403, 409, 415, 422))
def define_achievement(definition):
    """Define a new internal credential (HR admins)."""
    with database().transaction() as session:
        achievement = catalog.define_achievement(session, definition, now=now(), source=event_source())
        audit.record(session, "achievement.defined", "achievement", achievement.id, {"version": achievement.version})
        return achievement


@bp.get("/achievements")
@require()
@bp.response(200, AchievementOutput(many=True))
@bp.doc(responses=problems(401))
def list_achievements():
    """The credential catalog."""
    with database().transaction() as session:
        return catalog.list_achievements(session)


@bp.get("/achievements/<achievement_id>")
@require()
@bp.response(200, AchievementOutput)
@bp.doc(responses=problems(401, 404))
def get_achievement(achievement_id):
    """One credential definition."""
    with database().transaction() as session:
        return catalog.get_achievement(session, achievement_id)


@bp.put("/achievements/<achievement_id>")
@require(role=HR_ADMIN)
@bp.arguments(AchievementDefinition)
@bp.response(200, AchievementOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 409, 415, 422))
def edit_achievement(definition, achievement_id):
    """Replace a credential's definition (HR admins): a new version; credentials issued keep theirs."""
    with database().transaction() as session:
        achievement = catalog.edit_achievement(session, achievement_id, definition, now=now(), source=event_source())
        audit.record(session, "achievement.edited", "achievement", achievement.id, {"version": achievement.version})
        return achievement


@bp.post("/achievements/<achievement_id>/retire")
@require(role=HR_ADMIN)
@bp.response(200, AchievementOutput)
@bp.doc(responses=problems(401, 403, 404, 409))
def retire_achievement(achievement_id):
    """Stop issuing a credential (HR admins); credentials already issued stay valid."""
    with database().transaction() as session:
        achievement = catalog.retire_achievement(session, achievement_id, now=now(), source=event_source())
        audit.record(session, "achievement.retired", "achievement", achievement.id, {"version": achievement.version})
        return achievement


@bp.put("/achievements/<achievement_id>/image")
@require(role=HR_ADMIN)
@bp.doc(requestBody={"required": True, "content": dict.fromkeys(badge_uploads.MEDIA_TYPES, {"schema": {"type": "string", "format": "binary"}})})
@bp.response(200, AchievementOutput)
@bp.doc(responses=problems(401, 403, 404, 409, 413, 415, 422))
def upload_achievement_image(achievement_id):
    """Upload a badge image (HR admins): a PNG or SVG of at most 256 KiB, as a new version."""
    if request.mimetype not in badge_uploads.MEDIA_TYPES:
        raise UnsupportedMediaType("send the image as image/png or image/svg+xml")
    badge_uploads.check_size(request.content_length)
    image = badge_uploads.validated_image(request.mimetype, request.get_data(cache=False))
    with database().transaction() as session:
        achievement = catalog.replace_image(session, achievement_id, request.mimetype, image, now=now(), source=event_source())
        audit.record(session, "achievement.image_replaced", "achievement", achievement.id,
                     {"version": achievement.version, "media_type": request.mimetype})
        return achievement


@bp.get("/achievements/<achievement_id>/versions")
@require()
@bp.response(200, AchievementVersionOutput(many=True))
@bp.doc(responses=problems(401, 404))
def list_achievement_versions(achievement_id):
    """Every version of a credential's definition, oldest first."""
    with database().transaction() as session:
        return catalog.versions_of(session, achievement_id)


@bp.post("/completions")
@require(scope=COMPLETIONS_SCOPE)
@bp.arguments(CompletionInput)
@bp.response(202, CompletionAccepted)
@bp.doc(responses=problems(400, 401, 403, 409, 415, 422))
def post_completion(completion):
    """Report an assessment completion (LMS clients); issuance follows asynchronously."""
    with database().transaction() as session:
        attempt, new = intake.record_completion(session, completion, now=now(), source=event_source())
        return {"attempt_id": attempt.attempt_id, "event_id": attempt.event_id, "status": "accepted" if new else "duplicate"}


@bp.post("/assessor-results")
@require(role=ASSESSOR)
@bp.arguments(AssessorResultInput)
@bp.response(202, AssessorResultAccepted)
@bp.doc(responses=problems(400, 401, 403, 415, 422))
def post_assessor_result(result):
    """Record a project, portfolio or practical result (assessors, never their own); issuance follows asynchronously."""
    with database().transaction() as session:
        attempt = assessor_results.record_result(
            session, result, assessor_id=current_principal().subject, now=now(), source=event_source()
        )
        audit.record(session, "assessment_result.recorded", "assessment_attempt", attempt.attempt_id,
                     {"employee_id": result["employee_id"], "assessment_id": result["assessment_id"]})
        return {"attempt_id": attempt.attempt_id, "event_id": attempt.event_id}


@bp.get("/credentials")
@require()
@bp.arguments(CredentialQuery, location="query")
@bp.response(200, WalletEntryOutput(many=True))
@bp.doc(responses=problems(401, 403, 422))
def list_credentials(query):
    """An employee's wallet, newest first: credentials with status and share links (the employee, or HR)."""
    _check_owner_or_hr(query["employee_id"])
    with database().transaction() as session:
        entries = wallet.wallet_of(session, query["employee_id"], issuer=current_app.extensions["issuer_profile"], now=now())
    return [
        _fields(entry.credential)
        | {"achievement_name": entry.achievement_name, "status": entry.status, "share_url": entry.share_url, "linkedin_url": entry.linkedin_url}
        for entry in entries
    ]


@bp.put("/credentials/<credential_id>/sharing")
@require()
@bp.arguments(SharingInput)
@bp.response(200, CredentialOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 415, 422))
def share_credential(sharing, credential_id):
    """Share a credential publicly, or stop sharing it (its holder only)."""
    with database().transaction() as session:
        return wallet.set_sharing(session, credential_id, holder_id=current_principal().subject, public=sharing["public"])


def _fields(credential) -> dict:
    return {column: getattr(credential, column) for column in CredentialOutput().fields}


@bp.get("/credentials/<credential_id>")
@require()
@bp.response(200, CredentialOutput)
@bp.doc(responses=problems(401, 403, 404))
def get_credential(credential_id):
    """One issued credential (its holder, or HR)."""
    with database().transaction() as session:
        credential = issuance.get_credential(session, credential_id)
        _check_owner_or_hr(credential.employee_id)
        return credential


@bp.post("/credentials/<credential_id>/revoke")
@require(role=HR_ADMIN)
@bp.arguments(RevocationInput)
@bp.response(200, CredentialOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 409, 415, 422))
def revoke_credential(revocation_request, credential_id):
    """Revoke a credential with a reason (HR admins); verifiers see it in the status list."""
    with database().transaction() as session:
        credential = revocation.revoke(session, credential_id, reason=revocation_request["reason"], now=now(), source=event_source())
        audit.record(session, "credential.revoked", "credential", credential.id,
                     {"employee_id": credential.employee_id, "reason": revocation_request["reason"]})
        return credential
