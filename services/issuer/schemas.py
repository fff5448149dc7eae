"""Request and response bodies of the issuer's API."""

from marshmallow import Schema, ValidationError, fields, validate

from services.issuer.catalog import DEFAULT_COLOUR, LEVELS, SKILL_FRAMEWORKS

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$", error="use 2-64 lowercase letters, digits and dashes")


class Skill(Schema):
    """A skill in a public framework that the achievement certifies."""

    framework = fields.String(required=True, validate=validate.OneOf(SKILL_FRAMEWORKS))
    url = fields.URL(required=True, schemes={"http", "https"}, validate=validate.Length(max=500))
    code = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


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


class AchievementDefinition(Schema):
    """What HR states about a credential; an edit sends all of it again."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    category = fields.String(load_default="technical", validate=validate.OneOf(["technical", "soft"]))
    assessment_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    min_score = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    validity_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=600))
    criteria_narrative = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=5000),
        metadata={"description": "What it takes to earn it (Markdown); defaults to the score rule"},
    )
    skills = fields.List(fields.Nested(Skill), load_default=list, validate=validate.Length(max=50))
    level = Level(load_default=None, allow_none=True, metadata={"description": "1-5, or " + ", ".join(LEVELS.values())})
    issuing_unit = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
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


class AchievementInput(AchievementDefinition):
    id = fields.String(validate=SLUG, metadata={"description": "Defaults to a slug of the name"})


class AchievementOutput(Schema):
    id = fields.String()
    version = fields.Integer()
    name = fields.String()
    description = fields.String()
    category = fields.String()
    assessment_id = fields.String()
    min_score = fields.Float()
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
    attempt_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    employee_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True)
    assessment_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    score = fields.Float(required=True, validate=validate.Range(min=0, max=100), metadata={"description": "Percent"})
    completed_at = fields.AwareDateTime(required=True)


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
    score = fields.Float()
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
    employee_id = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RevocationInput(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
