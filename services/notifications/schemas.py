"""Request and response bodies of the notifications API."""

from marshmallow import Schema, fields, validate

from services.notifications.preferences import KINDS, MODES
from services.notifications.webhooks import FORMATS, PERSONAL, TEAM
from shared.validation import TEXT


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


class PreferenceOutput(Schema):
    kind = fields.String()
    label = fields.String()
    channel = fields.String()
    mode = fields.String(metadata={"description": "immediate, digest (email only) or off"})
    choices = fields.List(fields.String())
    chosen = fields.Boolean(metadata={"description": "false: the default applies"})


class PreferencesOutput(Schema):
    preferences = fields.List(fields.Nested(PreferenceOutput))
    locale = fields.String(allow_none=True)
    time_zone = fields.String(allow_none=True)
    directory_locale = fields.String(allow_none=True)
    directory_time_zone = fields.String(allow_none=True)


class PreferenceInput(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)))
    channel = fields.String(required=True, validate=validate.OneOf(list(MODES)))
    mode = fields.String(required=True, allow_none=True, metadata={"description": "null: back to the default"})


class PreferencesInput(Schema):
    preferences = fields.List(fields.Nested(PreferenceInput), load_default=list, validate=validate.Length(max=200))
    locale = fields.String(allow_none=True, validate=[validate.Length(max=35), TEXT], metadata={"description": "absent: unchanged; null: the directory's"})
    time_zone = fields.String(allow_none=True, validate=[validate.Length(max=64), TEXT], metadata={"description": "absent: unchanged; null: the directory's"})


class WebhookInput(Schema):
    scope = fields.String(load_default=PERSONAL, validate=validate.OneOf([PERSONAL, TEAM]))
    owner_id = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=200), TEXT],
                             metadata={"description": "whose webhook (HR only for someone else); default: the caller"})
    url = fields.String(required=True, validate=[validate.Length(min=1, max=2000), TEXT])
    format = fields.String(load_default="slack", validate=validate.OneOf(FORMATS))


class WebhookOutput(Schema):
    id = fields.String()
    owner_id = fields.String()
    scope = fields.String()
    format = fields.String()
    url_hint = fields.String(metadata={"description": "the URL is a secret: only its host and last characters"})
    created_by = fields.String()
    created_at = fields.DateTime()


class DeliveryQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "retrying", "sent", "failed"]))
    channel = fields.String(load_default=None, validate=validate.OneOf(["email", "webhook"]))
    recipient_id = fields.String(load_default=None, validate=[validate.Length(max=200), TEXT])
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class DeliveryOutput(Schema):
    id = fields.String()
    recipient_id = fields.String()
    event_id = fields.String()
    channel = fields.String()
    kind = fields.String()
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
