"""The credential catalog's intranet pages: HR defines, edits, illustrates and retires credentials.

The pages go through the JSON API's schema (AchievementInput / AchievementDefinition) and the
same `catalog` functions, so a definition means the same whichever way HR writes it.
"""

import base64
import mimetypes

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from services.issuer import badge_uploads, catalog
from services.issuer.catalog import LEVELS, SKILL_FRAMEWORKS
from services.issuer.catalog_forms import SKILL_PARTS, form_of, label, load, preview_svg, rows_to_show
from services.issuer.rules import THRESHOLDS
from services.issuer.schemas import AchievementDefinition, AchievementInput
from shared import audit
from shared.auth import HR_ADMIN, sign_in_required
from shared.errors import Conflict, DomainError, InvalidInput
from shared.web import database, event_source, now

bp = Blueprint("catalog_pages", __name__, url_prefix="/catalog", template_folder="templates")
PREVIEW = "preview"  # the value of the form's "Preview" submit button



@bp.get("")
@sign_in_required(role=HR_ADMIN)
def catalog_page():
    """Every credential of the catalog with its badge, rule summary and state."""
    with database().transaction() as session:
        return render_template("issuer/catalog/index.html", achievements=catalog.list_achievements(session), levels=LEVELS)


@bp.get("/new")
@sign_in_required(role=HR_ADMIN)
def new_achievement_form():
    """The form HR defines a new credential with, previewing the default badge."""
    return _form(MultiDict(), {})


@bp.post("/new")
@sign_in_required(role=HR_ADMIN)
def define_achievement():
    """Define the posted credential as version 1, or re-render the form (a preview, or errors with 422)."""
    definition, errors, valid = load(AchievementInput(), request.form)
    if request.form.get("action") == PREVIEW:
        return _form(request.form, {}, valid)
    if errors:
        return _form(request.form, errors, valid), 422
    try:
        with database().transaction() as session:
            achievement = catalog.define_achievement(session, definition, now=now(), source=event_source())
            audit.record(session, "achievement.defined", "achievement", achievement.id, {"version": achievement.version})
            saved = f"{achievement.name} ({achievement.id}) is in the catalog as version 1."
    except Conflict as error:
        return _form(request.form, {"id": [error.detail]}, valid), error.status
    except InvalidInput as error:
        return _form(request.form, error.errors or {"form": [error.detail]}, valid), error.status
    flash(saved)
    return redirect(url_for(".catalog_page"))


@bp.post("/preview")
@sign_in_required(role=HR_ADMIN)
def badge_preview():
    """The badge the posted form would draw (an htmx fragment of the form page), from its valid values."""
    _, _, valid = load(AchievementInput(), request.form)
    return render_template(
        "issuer/catalog/_preview.html", preview=base64.b64encode(preview_svg(valid).encode()).decode(), preview_name=valid.get("name")
    )


@bp.get("/<achievement_id>/edit")
@sign_in_required(role=HR_ADMIN)
def edit_achievement_form(achievement_id: str):
    """The form prefilled with the credential's current version, its image upload and retirement."""
    with database().transaction() as session:
        values = form_of(catalog.get_achievement(session, achievement_id))
    return _form(values, {}, achievement_id=achievement_id)


@bp.post("/<achievement_id>/edit")
@sign_in_required(role=HR_ADMIN)
def edit_achievement(achievement_id: str):
    """Save the posted definition as a new version, or re-render the form (a preview, or errors)."""
    definition, errors, valid = load(AchievementDefinition(), request.form)
    if request.form.get("action") == PREVIEW:
        return _form(request.form, {}, valid, achievement_id=achievement_id)
    if errors:
        return _form(request.form, errors, valid, achievement_id=achievement_id), 422
    try:
        with database().transaction() as session:
            achievement = catalog.edit_achievement(session, achievement_id, definition, now=now(), source=event_source())
            audit.record(session, "achievement.edited", "achievement", achievement.id, {"version": achievement.version})
            saved = f"{achievement.name} is now at version {achievement.version}."
    except (InvalidInput, Conflict) as error:
        return _form(request.form, error.errors or {"form": [error.detail]}, valid, achievement_id=achievement_id), error.status
    flash(saved)
    return redirect(url_for(".catalog_page"))


@bp.post("/<achievement_id>/retire")
@sign_in_required(role=HR_ADMIN)
def retire_achievement(achievement_id: str):
    """Retire the credential once HR ticked the confirmation; credentials already issued stay valid."""
    if request.form.get("confirm") != "yes":
        return _edit_page(achievement_id, {"confirm": ["tick the box to confirm the retirement"]}), 422
    try:
        with database().transaction() as session:
            achievement = catalog.retire_achievement(session, achievement_id, now=now(), source=event_source())
            audit.record(session, "achievement.retired", "achievement", achievement.id, {"version": achievement.version})
            retired = f"{achievement.name} is retired: it is no longer issued; credentials already issued stay valid."
    except Conflict as error:
        return _edit_page(achievement_id, {"form": [error.detail]}), error.status
    flash(retired)
    return redirect(url_for(".catalog_page"))


@bp.post("/<achievement_id>/image")
@sign_in_required(role=HR_ADMIN)
def upload_image(achievement_id: str):
    """Give the credential an uploaded PNG or SVG, checked as the API checks it, as a new version."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return _edit_page(achievement_id, {"image": ["choose a PNG or SVG file"]}), 422
    media_type = upload.mimetype if upload.mimetype in badge_uploads.MEDIA_TYPES else mimetypes.guess_type(upload.filename)[0]
    if media_type not in badge_uploads.MEDIA_TYPES:
        return _edit_page(achievement_id, {"image": ["a badge image is a PNG or an SVG file"]}), 415
    try:
        image = badge_uploads.validated_image(media_type, upload.read(badge_uploads.MAX_BYTES + 1))
        with database().transaction() as session:
            achievement = catalog.replace_image(session, achievement_id, media_type, image, now=now(), source=event_source())
            audit.record(session, "achievement.image_replaced", "achievement", achievement.id,
                         {"version": achievement.version, "media_type": media_type})
            saved = f"The new badge image of {achievement.name} is version {achievement.version}."
    except (InvalidInput, badge_uploads.ImageTooLarge, Conflict) as error:
        return _edit_page(achievement_id, _image_errors(error)), error.status
    flash(saved)
    return redirect(url_for(".edit_achievement_form", achievement_id=achievement_id))


def _image_errors(error: DomainError) -> dict[str, list[str]]:
    reasons = error.errors.get("image") if isinstance(error.errors, dict) else None
    return {"image": [error.detail] if not reasons or len(reasons) == 1 else reasons}


def _edit_page(achievement_id: str, errors: dict[str, list[str]]) -> str:
    """The edit page with the current definition and errors of its image or retirement form."""
    with database().transaction() as session:
        values = form_of(catalog.get_achievement(session, achievement_id))
    return _form(values, errors, achievement_id=achievement_id)


def _form(values: MultiDict, errors: dict[str, list[str]], valid: dict | None = None, *, achievement_id: str | None = None) -> str:
    """The definition form (new or edit) with its values, errors and the badge preview of the valid values."""
    if valid is None:
        _, _, valid = load(AchievementInput(), values)
    with database().transaction() as session:
        achievements = catalog.list_achievements(session)
        achievement = catalog.get_achievement(session, achievement_id) if achievement_id else None
        chosen = set(values.getlist("prerequisites"))
        prerequisites = [other for other in achievements if other.id != achievement_id and (not other.retired or other.id in chosen)]
        return render_template(
            "issuer/catalog/form.html", achievement=achievement, values=values, errors=errors,
            prerequisites=prerequisites, chosen=chosen, skill_rows=rows_to_show(values), skill_parts=SKILL_PARTS,
            frameworks=SKILL_FRAMEWORKS, levels=LEVELS, thresholds=THRESHOLDS,
            labels={name: label(name) for name in errors},
            preview=base64.b64encode(preview_svg(valid).encode()).decode(), preview_name=valid.get("name"),
        )
