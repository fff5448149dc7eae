"""Request and response bodies of the issuer's API."""

from marshmallow import Schema, fields, validate

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$", error="use 2-64 lowercase letters, digits and dashes")


class AchievementInput(Schema):
    id = fields.String(validate=SLUG, metadata={"description": "Defaults to a slug of the name"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    category = fields.String(load_default="technical", validate=validate.OneOf(["technical", "soft"]))
    assessment_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    min_score = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    validity_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=600))


class AchievementOutput(Schema):
    id = fields.String()
    version = fields.Integer()
    name = fields.String()
    description = fields.String()
    category = fields.String()
    assessment_id = fields.String()
    min_score = fields.Float()
    validity_months = fields.Integer(allow_none=True)
    retired = fields.Boolean()
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
