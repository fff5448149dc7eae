"""The catalog's HTML form, translated to and from the JSON API's definition (AchievementInput's shape).

The form is only another way to write the same definition: these functions move values between
form fields and the API body, and every rule stays in the schema and in `catalog`.
"""

from itertools import zip_longest

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from services.issuer.badges import badge_svg
from services.issuer.catalog import DEFAULT_COLOUR, LEVELS
from shared.validation import flatten_messages

SKILL_ROWS = 3  # blank skill rows the form offers
SKILL_PARTS = ("framework", "url", "code", "name")
TEXT_FIELDS = (
    "id", "name", "description", "criteria_narrative", "category", "level", "issuing_unit", "validity_months",
    "effort_hours", "colour", "assessment_id", "threshold", "min_score", "min_rubric_level",
)
PREVIEW_NAME = "Credential name"  # drawn on the preview until the form has a name


def submitted_definition(form: MultiDict) -> dict:
    """The posted form as the API's body: blank fields absent (the schema's defaults apply), lists split."""
    definition = {name: form[name].strip() for name in TEXT_FIELDS if (form.get(name) or "").strip()}
    definition["rubric_levels"] = [line.strip() for line in (form.get("rubric_levels") or "").splitlines() if line.strip()]
    definition["assessor_reviewed"] = form.get("assessor_reviewed") == "yes"
    definition["prerequisites"] = [value for value in form.getlist("prerequisites") if value]
    definition["skills"] = [
        {part: value for part, value in zip(SKILL_PARTS, row) if value} for row in skill_rows(form) if any(row)
    ]
    return definition


def skill_rows(form: MultiDict) -> list[tuple[str, ...]]:
    """The posted skill rows that have any value, in order: the indexes of the schema's errors."""
    columns = [[value.strip() for value in form.getlist(f"skill_{part}")] for part in SKILL_PARTS]
    return [row for row in zip_longest(*columns, fillvalue="") if any(row)]


def rows_to_show(form: MultiDict) -> list[tuple[str, ...]]:
    """The skill rows to render: the filled ones, then blank ones to add more."""
    filled = skill_rows(form)
    return filled + [("",) * len(SKILL_PARTS)] * max(SKILL_ROWS - len(filled), 1)


def form_of(achievement) -> MultiDict:
    """An achievement's current definition as the form's fields, to edit it."""

    def text(value) -> str:
        return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    form = MultiDict({name: text(getattr(achievement, name)) for name in TEXT_FIELDS if name != "id"})
    form["level"] = LEVELS.get(achievement.level, "")
    form["rubric_levels"] = "\n".join(achievement.rubric_levels or [])
    form["assessor_reviewed"] = "yes" if achievement.assessor_reviewed else ""
    form.setlist("prerequisites", list(achievement.prerequisites or []))
    for part in SKILL_PARTS:
        form.setlist(f"skill_{part}", [skill.get(part, "") for skill in achievement.skills or []])
    return form


def load(schema: Schema, form: MultiDict) -> tuple[dict | None, dict[str, list[str]], dict]:
    """(definition or None, errors by dotted field, the values that did validate) of a posted form."""
    try:
        definition = schema.load(submitted_definition(form))
    except ValidationError as error:
        return None, flatten_messages(error.messages), error.valid_data or {}
    return definition, {}, definition


def preview_svg(valid: dict) -> str:
    """The generated badge for the form's valid values (defaults for the rest)."""
    level = valid.get("level")
    return badge_svg(valid.get("name") or PREVIEW_NAME, valid.get("colour") or DEFAULT_COLOUR, level, LEVELS.get(level))


LABELS = {
    "id": "Id", "name": "Name", "description": "Description", "criteria_narrative": "Criteria", "category": "Category",
    "level": "Level", "issuing_unit": "Issuing unit", "validity_months": "Validity (months)", "effort_hours": "Effort (hours)",
    "colour": "Badge colour", "assessment_id": "Assessment id", "threshold": "Threshold", "min_score": "Minimum score",
    "rubric_levels": "Rubric levels", "min_rubric_level": "Minimum rubric level", "assessor_reviewed": "Assessor-reviewed",
    "prerequisites": "Prerequisites", "skills": "Skills", "image": "Badge image", "confirm": "Retirement", "form": "Credential",
}


def label(name: str) -> str:
    """The label a field error is listed under: 'skills.0.url' is 'Skill 1 URL'."""
    if name.startswith("skills."):
        _, index, part = (name.split(".") + [""])[:3]
        return f"Skill {int(index) + 1} {part.upper() if part == 'url' else part}".strip() if index.isdigit() else "Skills"
    if name.startswith("rubric_levels."):
        return "Rubric levels"
    return LABELS.get(name, name)
