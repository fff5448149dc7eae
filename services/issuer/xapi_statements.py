"""xAPI statements read as assessment completions: which ones count, and what they say.

The xAPI endpoint (`services.issuer.xapi`) hands the parsed request body here; this module
validates every statement and maps the ones that report an assessment result to the same
completion `/api/completions` takes. Decisions, for an LMS that integrates:

- Verbs acted on: ADL's `passed`, `completed` and `scored` (http://adlnet.gov/expapi/verbs/…).
  ADL publishes no https://w3id.org/xapi/adl/verbs/ twins of these (that namespace holds only
  abandoned, satisfied, waived, logged-in and logged-out), so none are accepted. `failed` is
  ignored: an LMS-declared failure never leads to a credential. Every other verb (voided
  included) is acknowledged and ignored, the way an LRS stores what it does not act on.
- The result, each part only when the statement states it (ADR 0008; none is invented):
  - score, as a percent: `result.score.scaled` (0..1) × 100, else `raw` on `min` (default 0)
    to `max`. It alone decides a `percent` rule.
  - passed: `result.success`, true or false; a `passed` statement without it is passed. It
    alone decides a `pass_fail` rule: a success-only statement has no score, not 100 or 0.
  - rubric level: the string in the result extension `RUBRIC_LEVEL_EXTENSION`, a level's name
    exactly as HR spells it in the achievement's `rubric_levels`. It decides a `rubric` rule.
  A `completed` statement stating none of them (cmi5 sends one per session) is ignored; a
  `scored` one without a score is invalid.
- Never assessor-reviewed: a completion from xAPI carries no `assessor_id`, whatever the
  statement holds, so it never meets an `assessor_reviewed` rule (an LMS is not an assessor).
- Assessment id: the activity IRI `object.id`, kept whole. HR enters that IRI as the
  credential's assessment id; a last path segment ("quiz", "1") would collide across courses.
- Employee id: `actor.account.name` (the account on the company's HR or IdP system, at
  `homePage`). An mbox-only actor is invalid: an email's local part is no employee id and the
  issuer has no directory to look it up. An `mbox` sent alongside the account is the email.
- Attempt id: the statement `id`, required (none is generated), so a resubmitted statement is
  a duplicate; completed_at: the statement `timestamp`, required and with a time zone.
"""

from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from shared.errors import InvalidInput
from shared.validation import flatten_messages

ADL_VERBS = "http://adlnet.gov/expapi/verbs/"
PASSED, COMPLETED, SCORED = (ADL_VERBS + verb for verb in ("passed", "completed", "scored"))
COMPLETION_VERBS = frozenset({PASSED, COMPLETED, SCORED})
# Skillstack's own extension: xAPI defines no rubric level. Not configurable, so that every LMS
# and every issuer deployment speak the same IRI; an LMS that cannot set it sends success only.
RUBRIC_LEVEL_EXTENSION = "https://skillstack.example/xapi/extensions/rubric-level"
IRI = validate.Regexp(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", error="must be an absolute IRI")


class _Tolerant(Schema):
    """Strict about the properties it declares, silent about the rest of the xAPI structure."""

    class Meta:
        unknown = EXCLUDE


class Verb(_Tolerant):
    id = fields.String(required=True, validate=IRI)


class StatementEnvelope(_Tolerant):
    """What every statement needs, acted on or not: its id and its verb."""

    id = fields.UUID(required=True)
    verb = fields.Nested(Verb, required=True)


class Account(_Tolerant):
    homePage = fields.Url(required=True, require_tld=False)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"description": "Employee id"})


class Actor(_Tolerant):
    objectType = fields.String(validate=validate.Equal("Agent"))
    account = fields.Nested(
        Account, required=True, error_messages={"required": "an account whose name is the employee id is required"}
    )
    mbox = fields.String(validate=validate.Regexp(r"^mailto:[^@\s]+@[^@\s]+$", error="must be mailto:<email>"))


class Activity(_Tolerant):
    objectType = fields.String(validate=validate.Equal("Activity"))
    id = fields.String(required=True, validate=[IRI, validate.Length(max=200)], metadata={"description": "Assessment id"})


class Score(_Tolerant):
    scaled = fields.Float(validate=validate.Range(min=0, max=1))
    raw = fields.Float()
    min = fields.Float()
    max = fields.Float()

    @validates_schema
    def check_range(self, score: dict, **kwargs) -> None:
        """A raw score needs a max to become a percent, and must lie within min..max."""
        if "raw" not in score or "scaled" in score:
            return
        low, high = score.get("min", 0.0), score.get("max")
        if high is None:
            raise ValidationError("required with a raw score (or send scaled)", "max")
        if high <= low:
            raise ValidationError("must be above min (0 when absent)", "max")
        if not low <= score["raw"] <= high:
            raise ValidationError("must lie between min and max", "raw")


class Result(_Tolerant):
    score = fields.Nested(Score)
    success = fields.Boolean(truthy={True}, falsy={False})
    extensions = fields.Dict(keys=fields.String())

    @validates_schema
    def check_rubric_level(self, result: dict, **kwargs) -> None:
        """A rubric level, when sent, is a level's name: a string of 1 to 100 characters."""
        level = result.get("extensions", {}).get(RUBRIC_LEVEL_EXTENSION)
        if level is not None and not (isinstance(level, str) and 1 <= len(level) <= 100):
            raise ValidationError({RUBRIC_LEVEL_EXTENSION: ["must be a level's name, 1 to 100 characters"]}, "extensions")


class CompletionStatement(StatementEnvelope):
    """A statement with a completion verb: everything the completion is made of."""

    actor = fields.Nested(Actor, required=True)
    object = fields.Nested(Activity, required=True)
    result = fields.Nested(Result, load_default=dict)
    timestamp = fields.AwareDateTime(required=True)

    @validates_schema
    def check_result(self, statement: dict, **kwargs) -> None:
        """A scored statement needs a score; a passed one cannot be unsuccessful."""
        verb, result = statement["verb"]["id"], statement.get("result", {})
        if verb == SCORED and "score" not in result:
            raise ValidationError({"score": ["a scored statement needs a score"]}, "result")
        if verb == PASSED and result.get("success") is False:
            raise ValidationError({"success": ["a passed statement cannot be unsuccessful"]}, "result")


@dataclass(frozen=True)
class ReadStatement:
    """One statement of a request: its id and the completion it reports (None: ignored)."""

    id: str
    completion: dict | None


def read_statements(body: Any) -> list[ReadStatement]:
    """Validate one statement or an array of them; raise InvalidInput naming each bad index and field."""
    statements = [body] if isinstance(body, dict) else body
    if not isinstance(statements, list) or not statements:
        raise InvalidInput("Send one xAPI statement (a JSON object) or a non-empty array of them.")
    read, errors = [], {}
    for index, statement in enumerate(statements):
        try:
            read.append(_read(statement))
        except ValidationError as error:
            errors[str(index)] = flatten_messages(error.messages, whole="statement")
    if errors:
        raise InvalidInput(f"Invalid statements at index {', '.join(errors)}; nothing was recorded.", errors=errors)
    return read


def _read(statement: Any) -> ReadStatement:
    """Validate one statement and map it to a completion, or to None when it is not acted on."""
    if not isinstance(statement, dict):
        raise ValidationError("a statement is a JSON object")
    verb = statement.get("verb")
    if not (isinstance(verb, dict) and verb.get("id") in COMPLETION_VERBS):
        return ReadStatement(str(StatementEnvelope().load(statement)["id"]), None)
    loaded = CompletionStatement().load(statement)
    statement_id = str(loaded["id"])
    outcome = result_of(loaded["verb"]["id"], loaded["result"])
    if all(value is None for value in outcome.values()):
        return ReadStatement(statement_id, None)
    mbox = loaded["actor"].get("mbox")
    return ReadStatement(statement_id, {
        "attempt_id": statement_id,
        "employee_id": loaded["actor"]["account"]["name"],
        "email": mbox.removeprefix("mailto:") if mbox else None,
        "assessment_id": loaded["object"]["id"],
        **outcome,
        "completed_at": loaded["timestamp"],
    })


def result_of(verb: str, result: dict) -> dict:
    """The score, passed and rubric level a statement's result states; None for each it does not."""
    return {
        "score": percent(result.get("score", {})),
        "passed": result.get("success", True if verb == PASSED else None),
        "rubric_level": result.get("extensions", {}).get(RUBRIC_LEVEL_EXTENSION),
    }


def percent(score: dict) -> float | None:
    """A score as a percent; None when there is none."""
    if "scaled" in score:
        return round(score["scaled"] * 100, 4)  # rounded: 0.57 * 100 must not fall short of 57
    if "raw" in score:
        low = score.get("min", 0.0)
        return round((score["raw"] - low) / (score["max"] - low) * 100, 4)
    return None
