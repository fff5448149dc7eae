"""Request and response bodies of the pathways API."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.validation import TEXT

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$", error="use 2-64 lowercase letters, digits and dashes")


class CredentialGroupInput(Schema):
    n = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"description": "How many of the group"})
    credentials = fields.List(
        fields.String(validate=[validate.Length(min=1, max=64), TEXT]), required=True, validate=validate.Length(min=1, max=50)
    )


class LevelInput(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    all_of = fields.List(fields.String(validate=[validate.Length(min=1, max=64), TEXT]), validate=validate.Length(max=50))
    credentials = fields.List(
        fields.String(validate=[validate.Length(min=1, max=64), TEXT]),
        validate=validate.Length(max=50),
        metadata={"description": "The same as all_of (the older name)"},
    )
    n_of = fields.List(fields.Nested(CredentialGroupInput), load_default=list, validate=validate.Length(max=20))
    min_months_at_previous_level = fields.Integer(load_default=0, validate=validate.Range(min=0, max=600))
    min_soft_skill_credentials = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=50), metadata={"description": "Among all credentials held"}
    )
    requires_approval = fields.Boolean(load_default=True)

    @validates_schema
    def one_name_for_all_of(self, data, **kwargs):
        if "all_of" in data and "credentials" in data:
            raise ValidationError("give all_of or credentials (the same thing), not both", "credentials")


class PathwayEditInput(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), TEXT])
    levels = fields.List(fields.Nested(LevelInput), required=True, validate=validate.Length(min=1, max=20))


class PathwayInput(PathwayEditInput):
    id = fields.String(validate=SLUG, metadata={"description": "Defaults to a slug of the name"})


class MigrationInput(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"description": "The version to move to"})
    employee_ids = fields.List(fields.String(validate=[validate.Length(min=1, max=200), TEXT]), validate=validate.Length(min=1, max=10000))
    all = fields.Boolean(metadata={"description": "Move everyone enrolled on the pathway"})

    @validates_schema
    def whom(self, data, **kwargs):
        if bool(data.get("employee_ids")) == bool(data.get("all")):
            raise ValidationError('give employee_ids or "all": true, not both', "employee_ids")


class LevelOutput(Schema):
    number = fields.Integer()
    name = fields.String()
    credentials = fields.List(fields.String(), attribute="required_achievements")
    all_of = fields.Function(lambda level: list(level.required_achievements))  # `credentials` under its own name
    n_of = fields.List(fields.Nested(CredentialGroupInput))
    min_months_at_previous_level = fields.Integer()
    min_soft_skill_credentials = fields.Integer()
    requires_approval = fields.Boolean()


class PathwayOutput(Schema):
    id = fields.String()
    name = fields.String()
    version = fields.Integer()
    levels = fields.List(fields.Nested(LevelOutput))


class MigrationOutput(Schema):
    pathway_id = fields.String()
    version = fields.Integer()
    employee_ids = fields.List(fields.String(), metadata={"description": "The employees now on the version"})
    opened_requests = fields.List(fields.Nested(lambda: AdvancementRequestOutput()), metadata={
        "description": "Requests opened because the new version's requirements are met"})


class ImportQuery(Schema):
    mode = fields.String(load_default="incremental", validate=validate.OneOf(["incremental", "full"]), metadata={
        "description": "incremental: only the rows in the file change; full: everyone active not in the file is deactivated"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "validate and report what would change; change nothing"})


class ImportReportOutput(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    deactivated = fields.Integer(metadata={"description": "full sync: active people not in the file, now inactive"})


class PersonOutput(Schema):
    employee_id = fields.String()
    email = fields.String()
    name = fields.String()
    manager_id = fields.String(allow_none=True)
    active = fields.Boolean()
    locale = fields.String(allow_none=True, metadata={"description": "BCP 47 language tag, e.g. en-GB; null: not known"})
    time_zone = fields.String(allow_none=True, metadata={"description": "IANA time zone, e.g. Europe/Berlin; null: not known"})


class LevelProgressOutput(Schema):
    number = fields.Integer()
    name = fields.String()
    required = fields.List(fields.String())
    held = fields.List(fields.String())
    missing = fields.List(fields.String())
    attained = fields.Boolean()
    request_status = fields.String(allow_none=True)
    requirements_met = fields.Boolean(metadata={"description": "Every requirement of the level is met now"})
    eligible_from = fields.DateTime(allow_none=True, metadata={"description": "When the time at the previous level is served"})


class PathwayProgressOutput(Schema):
    pathway_id = fields.String()
    pathway_name = fields.String()
    levels = fields.List(fields.Nested(LevelProgressOutput))


class RequestQuery(Schema):
    status = fields.String(validate=validate.OneOf(["open", "approved", "rejected", "withdrawn", "closed"]))


class DecisionInput(Schema):
    comment = fields.String(load_default="", validate=[validate.Length(max=2000), TEXT])


class WithdrawalInput(Schema):
    comment = fields.String(load_default="", validate=[validate.Length(max=2000), TEXT])


class RequestHistoryOutput(Schema):
    at = fields.DateTime()
    actor = fields.String(metadata={"description": 'An employee id, or "system" for a change an event caused'})
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    comment = fields.String(allow_none=True)


class AdvancementRequestOutput(Schema):
    id = fields.String()
    employee_id = fields.String()
    manager_id = fields.String(allow_none=True)
    pathway_id = fields.String()
    level = fields.Integer()
    status = fields.String()
    opened_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


class GapQuery(Schema):
    pathway_id = fields.String(required=True, validate=[validate.Length(min=1, max=64), TEXT])
    level = fields.Integer(required=True, validate=validate.Range(min=1), metadata={"description": "The target level, from 1"})
    horizon_days = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3650), metadata={
        "description": "How far ahead an expiring credential counts"})


class MissingCredentialOutput(Schema):
    achievement_id = fields.String()
    name = fields.String()
    category = fields.String(metadata={"description": "technical or soft"})
    effort_hours = fields.Float(allow_none=True, metadata={"description": "The catalog's estimate; null if it has none"})
    prerequisites_missing = fields.List(fields.String())
    reason = fields.String(metadata={"description": "required, one_of_group (the cheapest of an n-of group) or prerequisite"})


class WaitingOutput(Schema):
    level = fields.Integer()
    min_months = fields.Integer()
    eligible_from = fields.DateTime(allow_none=True, metadata={"description": "Null until the previous level is attained"})


class ExpiringCredentialOutput(Schema):
    achievement_id = fields.String()
    name = fields.String()
    valid_until = fields.DateTime()


class GapOutput(Schema):
    pathway_id = fields.String()
    pathway_name = fields.String()
    level = fields.Integer()
    level_name = fields.String()
    attained = fields.Boolean()
    missing = fields.List(fields.Nested(MissingCredentialOutput), metadata={"description": "Each after its prerequisites"})
    technical = fields.List(fields.Nested(MissingCredentialOutput), metadata={"description": "The technical ones of `missing`, in order"})
    soft = fields.List(fields.Nested(MissingCredentialOutput), metadata={"description": "The soft ones of `missing`, in order"})
    total_effort_hours = fields.Float(metadata={"description": "Of the credentials with an estimate"})
    effort_unknown = fields.List(fields.String())
    soft_credentials_needed = fields.Integer(metadata={"description": "Soft credentials still needed beyond those in `missing`"})
    waiting = fields.List(fields.Nested(WaitingOutput))
    expiring = fields.List(fields.Nested(ExpiringCredentialOutput), metadata={"description": "Held, needed, ending within the horizon"})
    next_recommended = fields.Nested(MissingCredentialOutput, allow_none=True)
