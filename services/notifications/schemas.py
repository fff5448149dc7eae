"""Response bodies of the notifications API."""

from marshmallow import Schema, fields


class InboxQuery(Schema):
    unread = fields.Boolean(load_default=False)


class InboxItemOutput(Schema):
    id = fields.String()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    link = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class UnreadCountOutput(Schema):
    unread = fields.Integer()


class MarkedOutput(Schema):
    marked = fields.Integer()
