"""The event catalog: every event Skillstack publishes, its topic, key and data schema.

One entry per event type. Producers and consumers validate against the same schema;
`tests/contract/` keeps a snapshot of each so a breaking change cannot slip in unnoticed.
Type names are `skillstack.<producer>.<subject>.<action>.v<major>`; additive changes keep
the major version, so consumers ignore fields they do not know (`unknown = EXCLUDE`).
"""

from dataclasses import dataclass

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema


class EventData(Schema):
    """Base of every event data schema: tolerant of fields added by newer producers."""

    class Meta:
        unknown = EXCLUDE


def _id(**kwargs):
    """A required identifier field: a non-empty string of at most 200 characters."""
    return fields.String(required=True, validate=validate.Length(min=1, max=200), **kwargs)


def _text(max_length=500, **kwargs):
    """A required human-readable text field."""
    return fields.String(required=True, validate=validate.Length(min=1, max=max_length), **kwargs)


# --- academy.assessments ---------------------------------------------------------------


class EvidenceLink(EventData):
    """A link to what an assessor reviewed (https), and its name."""

    url = _text(2000)
    name = _text(200)


class AssessmentCompleted(EventData):
    """An employee completed an assessment in the academy, or an assessor recorded their result.

    Key: employee_id. Producer: the issuer's intake API and its assessor pages, or an LMS
    publishing directly. A result states a score, a pass or fail, a rubric level, or several.
    """

    attempt_id = _id()
    employee_id = _id()
    email = fields.Email(load_default=None, allow_none=True)
    assessment_id = _id()
    # Optional within v1 since pass/fail and rubric results have no percent: see ADR 0008.
    score = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    completed_at = fields.AwareDateTime(required=True)
    source = fields.String(load_default="lms", validate=validate.Length(max=200))
    # Added within v1 (older producers omit them): pass/fail and rubric results, an assessor's review.
    passed = fields.Boolean(load_default=None, allow_none=True)
    rubric_level = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    evidence = fields.List(fields.Nested(EvidenceLink), load_default=list)
    assessor_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def check_result(self, data: dict, **kwargs) -> None:
        """A completion states some result: a score, a pass or fail, or a rubric level."""
        if all(data.get(name) is None for name in ("score", "passed", "rubric_level")):
            raise ValidationError("state a score, passed or a rubric_level", "score")


# --- issuer.catalog --------------------------------------------------------------------


class SkillAlignment(EventData):
    """A skill of a public framework (ESCO, O*NET) that an achievement certifies."""

    framework = _text(50)
    url = _text(500)
    code = _text(100)
    name = _text(200)


class CredentialDefined(EventData):
    """HR defined, edited or retired an internal credential (one version of an achievement).

    Key: achievement_id. Producer: issuer.
    """

    achievement_id = _id()
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    name = _text(200)
    description = _text(5000)
    category = fields.String(load_default="technical", validate=validate.OneOf(["technical", "soft"]))
    assessment_id = _id()
    # None for pass/fail and rubric thresholds (within v1: consumers do not act on it; see ADR 0008).
    min_score = fields.Float(required=True, allow_none=True, validate=validate.Range(min=0, max=100))
    validity_months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    retired = fields.Boolean(load_default=False)
    # Added within v1 (older producers omit them): the catalog's level, skills and prerequisites.
    level = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=5))
    skills = fields.List(fields.Nested(SkillAlignment), load_default=list)
    prerequisites = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list)
    effort_hours = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0))
    # Added within v1: the kind of threshold, and who records results (older producers: percent, the LMS).
    threshold = fields.String(load_default="percent", validate=validate.OneOf(["percent", "pass_fail", "rubric"]))
    rubric_levels = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)
    min_rubric_level = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    assessor_reviewed = fields.Boolean(load_default=False)


# --- issuer.credentials ----------------------------------------------------------------


class CredentialEvent(EventData):
    """Base of the events about one issued credential: which, whose, of what."""

    credential_id = _id()
    employee_id = _id()
    achievement_id = _id()
    achievement_name = _text(200)


class CredentialIssued(CredentialEvent):
    """A credential was issued to an employee.

    Key: employee_id. Producer: issuer. `source_event_id` is the completion that caused it.
    """

    achievement_version = fields.Integer(required=True, validate=validate.Range(min=1))
    issued_at = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(load_default=None, allow_none=True)
    source_event_id = _id()


class CredentialRevoked(CredentialEvent):
    """HR revoked an issued credential.

    Key: employee_id. Producer: issuer.
    """

    revoked_at = fields.AwareDateTime(required=True)
    reason = _text(2000)


class CredentialValidityEvent(CredentialEvent):
    """Base of the events about a credential's validity period ending."""

    valid_until = fields.AwareDateTime(required=True)


class CredentialExpiring(CredentialValidityEvent):
    """A credential will expire soon (sent once, a configurable number of days before).

    Key: employee_id. Producer: issuer.
    """


class CredentialExpired(CredentialValidityEvent):
    """A credential reached its `validUntil` date.

    Key: employee_id. Producer: issuer.
    """


# --- pathways.advancements -------------------------------------------------------------


class AdvancementRequested(EventData):
    """An employee met a pathway level's requirements; their manager is asked to approve.

    Key: employee_id. Producer: pathways.
    """

    request_id = _id()
    employee_id = _id()
    manager_id = fields.String(load_default=None, allow_none=True)
    pathway_id = _id()
    pathway_name = _text(200)
    level = fields.Integer(required=True, validate=validate.Range(min=1))
    level_name = _text(200)
    requested_at = fields.AwareDateTime(required=True)


class AdvancementDecided(EventData):
    """Base of a manager's decision on an advancement request."""

    request_id = _id()
    employee_id = _id()
    decided_by = _id()
    pathway_id = _id()
    pathway_name = _text(200)
    level = fields.Integer(required=True, validate=validate.Range(min=1))
    level_name = _text(200)
    decided_at = fields.AwareDateTime(required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class AdvancementApproved(AdvancementDecided):
    """The manager approved an advancement request; the employee holds the level.

    Key: employee_id. Producer: pathways.
    """


class AdvancementRejected(AdvancementDecided):
    """The manager rejected an advancement request, with a comment.

    Key: employee_id. Producer: pathways.
    """


class AdvancementWithdrawn(AdvancementDecided):
    """The employee withdrew their open advancement request before a decision (`decided_by`: the employee).

    Key: employee_id. Producer: pathways.
    """


class AdvancementClosed(AdvancementDecided):
    """A credential the requested level needs expired or was revoked before the decision, so the
    request closed unanswered (`decided_by`: "system"; `comment`: why). Earning it again opens a new one.

    Key: employee_id. Producer: pathways.
    """

    credential_id = _id()  # the credential whose end re-opened the gap
    cause = fields.String(required=True, validate=validate.OneOf(["expired", "revoked"]))


class RecertificationNeeded(EventData):
    """A credential named by a level the employee holds expired or was revoked, and nothing else they
    hold meets the level's credential rules: to stay current at it they earn the achievement again.
    The level stays attained. Sent once per credential and level.

    Key: employee_id. Producer: pathways.
    """

    employee_id = _id()
    manager_id = fields.String(load_default=None, allow_none=True)  # the employee's manager now, if any
    pathway_id = _id()
    pathway_name = _text(200)
    level = fields.Integer(required=True, validate=validate.Range(min=1))
    level_name = _text(200)
    credential_id = _id()  # the credential that ended
    achievement_id = _id()
    achievement_name = _text(200)
    cause = fields.String(required=True, validate=validate.OneOf(["expired", "revoked"]))


# --- directory.people ------------------------------------------------------------------


class PersonUpserted(EventData):
    """A person was added to or changed in the org directory (including leaving: active false).

    Key: employee_id. Producer: pathways.
    """

    employee_id = _id()
    email = fields.Email(required=True)
    name = _text(200)
    manager_id = fields.String(load_default=None, allow_none=True)
    active = fields.Boolean(load_default=True)
    # Added within v1 (older producers omit them; null: not known, use defaults): a BCP 47 tag, e.g. en-GB,
    # and an IANA time zone, e.g. Europe/Berlin.
    locale = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=35))
    time_zone = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    # Added within v1 (older producers omit it; null: not known): the department HR's analytics group people by.
    department = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


@dataclass(frozen=True)
class EventSpec:
    """Where an event type travels and how it is keyed and validated."""

    type: str
    topic: str
    schema: type[EventData]
    key_field: str = "employee_id"


_SPECS = [
    EventSpec("skillstack.academy.assessment.completed.v1", "academy.assessments", AssessmentCompleted),
    EventSpec("skillstack.issuer.credential.defined.v1", "issuer.catalog", CredentialDefined, "achievement_id"),
    EventSpec("skillstack.issuer.credential.issued.v1", "issuer.credentials", CredentialIssued),
    EventSpec("skillstack.issuer.credential.revoked.v1", "issuer.credentials", CredentialRevoked),
    EventSpec("skillstack.issuer.credential.expiring.v1", "issuer.credentials", CredentialExpiring),
    EventSpec("skillstack.issuer.credential.expired.v1", "issuer.credentials", CredentialExpired),
    EventSpec("skillstack.pathways.advancement.requested.v1", "pathways.advancements", AdvancementRequested),
    EventSpec("skillstack.pathways.advancement.approved.v1", "pathways.advancements", AdvancementApproved),
    EventSpec("skillstack.pathways.advancement.rejected.v1", "pathways.advancements", AdvancementRejected),
    EventSpec("skillstack.pathways.advancement.withdrawn.v1", "pathways.advancements", AdvancementWithdrawn),
    EventSpec("skillstack.pathways.advancement.closed.v1", "pathways.advancements", AdvancementClosed),
    EventSpec("skillstack.pathways.recertification.needed.v1", "pathways.advancements", RecertificationNeeded),
    EventSpec("skillstack.directory.person.upserted.v1", "directory.people", PersonUpserted),
]

CATALOG: dict[str, EventSpec] = {spec.type: spec for spec in _SPECS}
TOPICS: tuple[str, ...] = tuple(dict.fromkeys(spec.topic for spec in _SPECS))


def spec_for(event_type: str) -> EventSpec:
    """Return the catalog entry of an event type, or raise KeyError for an unknown type."""
    return CATALOG[event_type]
