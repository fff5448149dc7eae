"""Request and response bodies of the pathways API."""

from marshmallow import Schema, fields, validate

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,63}$", error="use 2-64 lowercase letters, digits and dashes")


class LevelInput(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    credentials = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)), required=True, validate=validate.Length(min=1, max=50)
    )
    requires_approval = fields.Boolean(load_default=True)


class PathwayInput(Schema):
    id = fields.String(validate=SLUG, metadata={"description": "Defaults to a slug of the name"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    levels = fields.List(fields.Nested(LevelInput), required=True, validate=validate.Length(min=1, max=20))


class LevelOutput(Schema):
    number = fields.Integer()
    name = fields.String()
    credentials = fields.List(fields.String(), attribute="required_achievements")
    requires_approval = fields.Boolean()


class PathwayOutput(Schema):
    id = fields.String()
    name = fields.String()
    version = fields.Integer()
    levels = fields.List(fields.Nested(LevelOutput))


class ImportReportOutput(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class PersonOutput(Schema):
    employee_id = fields.String()
    email = fields.String()
    name = fields.String()
    manager_id = fields.String(allow_none=True)
    active = fields.Boolean()


class LevelProgressOutput(Schema):
    number = fields.Integer()
    name = fields.String()
    required = fields.List(fields.String())
    held = fields.List(fields.String())
    missing = fields.List(fields.String())
    attained = fields.Boolean()
    request_status = fields.String(allow_none=True)


class PathwayProgressOutput(Schema):
    pathway_id = fields.String()
    pathway_name = fields.String()
    levels = fields.List(fields.Nested(LevelProgressOutput))


class RequestQuery(Schema):
    status = fields.String(validate=validate.OneOf(["open", "approved", "rejected"]))


class DecisionInput(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


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
