"""Request and response bodies of the issuer's API."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.issuer.catalog import DEFAULT_COLOUR, LEVELS, SKILL_FRAMEWORKS
from services.issuer.rules import PERCENT, RUBRIC, THRESHOLDS
from shared.validation import TEXT

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$", error="use 2-64 lowercase letters, digits and dashes")


class Skill(Schema):
    """A skill in a public framework that the achievement certifies."""

    framework = fields.String(required=True, validate=validate.OneOf(SKILL_FRAMEWORKS))
    url = fields.URL(required=True, schemes={"http", "https"}, validate=[validate.Length(max=500), TEXT])
    code = fields.String(required=True, validate=[validate.Length(min=1, max=100), TEXT])
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])


class Level(fields.Field):
    """A level from 1 to 5, sent as its number or its name (Foundation ... Master); read as its number."""

    default_error_messages = {"invalid": "use a level from 1 to 5 or one of: " + ", ".join(LEVELS.values())}

    def _deserialize(self, value, attr, data, **kwargs):
        by_name = {name.lower(): number for number, name in LEVELS.items()}
        if isinstance(value, int) and not isinstance(value, bool) and value in LEVELS:
            return value
        if isinstance(value, str) and value.strip().lower() in by_name:
            return by_name[value.strip().lower()]
        raise self.make_error("invalid")


def _distinct(values: list) -> None:
    if len(values) != len(set(values)):
        raise ValidationError("list each credential once")


def _distinct_levels(values: list) -> None:
    if len({value.strip().lower() for value in values}) != len(values):
        raise ValidationError("list each level once")


class AchievementDefinition(Schema):
    """What HR states about a credential; an edit sends all of it again."""

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    description = fields.String(required=True, validate=[validate.Length(min=1, max=5000), TEXT])
    category = fields.String(load_default="technical", validate=validate.OneOf(["technical", "soft"]))
    assessment_id = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    threshold = fields.String(
        load_default=PERCENT, validate=validate.OneOf(THRESHOLDS),
        metadata={"description": "percent (min_score), pass_fail (the attempt is passed) or rubric (min_rubric_level)"},
    )
    min_score = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=100),
        metadata={"description": "Percent; required by a percent threshold, and only there"},
    )
    rubric_levels = fields.List(
        fields.String(validate=[validate.Length(min=1, max=100), TEXT]), load_default=list,
        validate=[validate.Length(max=20), _distinct_levels],
        metadata={"description": "A rubric threshold's level names, lowest first"},
    )
    min_rubric_level = fields.String(
        load_default=None, allow_none=True, validate=TEXT, metadata={"description": "The lowest of rubric_levels that earns the credential"}
    )
    assessor_reviewed = fields.Boolean(
        load_default=False, metadata={"description": "Results are recorded by assessors (projects, portfolios, practicals), not the LMS"}
    )
    validity_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=600))
    criteria_narrative = fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(min=1, max=5000), TEXT],
        metadata={"description": "What it takes to earn it (Markdown); defaults to the score rule"},
    )
    skills = fields.List(fields.Nested(Skill), load_default=list, validate=validate.Length(max=50))
    level = Level(load_default=None, allow_none=True, metadata={"description": "1-5, or " + ", ".join(LEVELS.values())})
    issuing_unit = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=200), TEXT])
    prerequisites = fields.List(
        fields.String(validate=SLUG), load_default=list,
        validate=[validate.Length(max=50), _distinct],
        metadata={"description": "Ids of active credentials this one builds on"},
    )
    effort_hours = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, min_inclusive=False, max=10000))
    colour = fields.String(
        load_default=DEFAULT_COLOUR, validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$", error="use a hex colour such as #1f5f8b"),
        metadata={"description": "Background of the generated badge image"},
    )

    @validates_schema
    def check_rule(self, definition: dict, **kwargs) -> None:
        """Each threshold kind needs its own fields, and takes no other kind's."""
        errors: dict[str, list[str]] = {}
        threshold = definition.get("threshold", PERCENT)
        if threshold == PERCENT and definition.get("min_score") is None:
            errors["min_score"] = ["required by a percent threshold"]
        if threshold != PERCENT and definition.get("min_score") is not None:
            errors["min_score"] = [f"only for a percent threshold, not {threshold}"]
        levels, minimum = definition.get("rubric_levels") or [], definition.get("min_rubric_level")
        if threshold == RUBRIC:
            if len(levels) < 2:
                errors["rubric_levels"] = ["a rubric threshold needs at least two levels, lowest first"]
            if minimum is None:
                errors["min_rubric_level"] = ["required by a rubric threshold"]
            elif minimum not in levels:
                errors["min_rubric_level"] = [f"must be one of rubric_levels, not {minimum!r}"]
        else:
            if levels:
                errors["rubric_levels"] = [f"only for a rubric threshold, not {threshold}"]
            if minimum is not None:
                errors["min_rubric_level"] = [f"only for a rubric threshold, not {threshold}"]
        if errors:
            raise ValidationError(errors)


class AchievementInput(AchievementDefinition):
    id = fields.String(validate=SLUG, metadata={"description": "Defaults to a slug of the name"})


class AchievementOutput(Schema):
    id = fields.String()
    version = fields.Integer()
    name = fields.String()
    description = fields.String()
    category = fields.String()
    assessment_id = fields.String()
    threshold = fields.String()
    min_score = fields.Float(allow_none=True)
    rubric_levels = fields.List(fields.String())
    min_rubric_level = fields.String(allow_none=True)
    assessor_reviewed = fields.Boolean()
    validity_months = fields.Integer(allow_none=True)
    criteria_narrative = fields.String(allow_none=True)
    skills = fields.List(fields.Nested(Skill))
    level = fields.Integer(allow_none=True)
    level_name = fields.Function(lambda achievement: LEVELS.get(achievement.level))
    issuing_unit = fields.String(allow_none=True)
    prerequisites = fields.List(fields.String())
    effort_hours = fields.Float(allow_none=True)
    colour = fields.String()
    image_path = fields.String(metadata={"description": "This version's badge image, on the public site"})
    retired = fields.Boolean()
    created_at = fields.DateTime()


class AchievementVersionOutput(AchievementDefinition):
    achievement_id = fields.String()
    version = fields.Integer()
    level = fields.Integer(allow_none=True)
    image_media_type = fields.String(allow_none=True, metadata={"description": "None: the generated SVG"})
    created_at = fields.DateTime()


class CompletionInput(Schema):
    attempt_id = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    employee_id = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    email = fields.Email(load_default=None, allow_none=True)
    assessment_id = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    score = fields.Float(required=True, validate=validate.Range(min=0, max=100), metadata={"description": "Percent"})
    completed_at = fields.AwareDateTime(required=True)


class EvidenceLink(Schema):
    """A link to what an assessor reviewed: the project, portfolio or recording."""

    url = fields.URL(
        required=True, schemes={"https"}, validate=[validate.Length(max=2000), TEXT],
        error_messages={"invalid": "use a full https:// link"},
    )
    name = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=200), TEXT])


class AssessorResultInput(Schema):
    """An assessor's result of a project, portfolio or practical assessment; the attempt id is made for it."""

    employee_id = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    email = fields.Email(load_default=None, allow_none=True)
    assessment_id = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    score = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100),
                         metadata={"description": "Percent, for a percent threshold"})
    passed = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "For a pass/fail threshold"})
    rubric_level = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=100), TEXT],
                                 metadata={"description": "For a rubric threshold: one of the achievement's levels"})
    evidence = fields.List(
        fields.Nested(EvidenceLink), required=True,
        validate=validate.Length(min=1, max=10, error="give between {min} and {max} evidence links"),
    )
    completed_on = fields.Date(required=True, metadata={"description": "The day the assessment took place"})


class AssessorResultAccepted(Schema):
    attempt_id = fields.String()
    event_id = fields.String()


class CompletionAccepted(Schema):
    attempt_id = fields.String()
    event_id = fields.String()
    status = fields.String(metadata={"description": "accepted, or duplicate for a resubmission"})


class CredentialOutput(Schema):
    id = fields.String()
    employee_id = fields.String()
    achievement_id = fields.String()
    achievement_version = fields.Integer()
    attempt_id = fields.String()
    score = fields.Float(allow_none=True)
    issued_at = fields.DateTime()
    valid_until = fields.DateTime(allow_none=True)
    source_event_id = fields.String()
    revoked_at = fields.DateTime(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    public = fields.Boolean()


class WalletEntryOutput(CredentialOutput):
    achievement_name = fields.String()
    status = fields.String(metadata={"description": "valid, expired or revoked"})
    share_url = fields.String()
    linkedin_url = fields.String()


class SharingInput(Schema):
    public = fields.Boolean(required=True)


class CredentialQuery(Schema):
    employee_id = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])


class RevocationInput(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), TEXT])


class BulkIssuanceProblem(Schema):
    column = fields.String(allow_none=True, metadata={"description": "None: the row as a whole"})
    message = fields.String()
    severity = fields.String(metadata={"description": "error: the row is not issued; warning: it is issued or skipped"})


class BulkIssuanceRowReport(Schema):
    row = fields.Integer(attribute="row_number", metadata={"description": "As a spreadsheet numbers it: the header is row 1"})
    employee_id = fields.String()
    credential = fields.String(attribute="achievement_id")
    valid = fields.Boolean()
    outcome = fields.String(metadata={"description": "invalid, pending, issued or skipped"})
    problems = fields.List(fields.Nested(BulkIssuanceProblem))


class BulkIssuanceOutput(Schema):
    """A bulk issuance's state and progress: what a progress bar polls."""

    id = fields.String()
    status = fields.String(metadata={"description": "ready, rejected (no valid row), issuing or done"})
    created_by = fields.String()
    created_at = fields.DateTime()
    total_rows = fields.Integer()
    valid_rows = fields.Integer()
    invalid_rows = fields.Integer()
    warned_rows = fields.Integer(metadata={"description": "Valid rows with a warning (e.g. already held: skipped)"})
    problem_count = fields.Integer(metadata={"description": "Errors and warnings over all rows"})
    issued = fields.Integer()
    skipped = fields.Integer()
    remaining = fields.Integer(metadata={"description": "Valid rows not yet issued or skipped"})
    percent = fields.Float(metadata={"description": "Of the valid rows, settled so far"})
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class BulkIssuanceReport(BulkIssuanceOutput):
    """The validation report of an upload."""

    rows_with_problems = fields.Integer()
    problems = fields.List(
        fields.Nested(BulkIssuanceRowReport), metadata={"description": "The first rows with problems, in file order; all are in /problems"}
    )


class ProblemsQuery(Schema):
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ProblemsPage(Schema):
    total = fields.Integer(metadata={"description": "Rows with problems"})
    offset = fields.Integer()
    limit = fields.Integer()
    rows = fields.List(fields.Nested(BulkIssuanceRowReport))
