"""The issuer's xAPI endpoint: an LMS that speaks xAPI reports completions as statements.

`POST /api/xapi/statements` takes one statement or an array of them (xAPI 1.0.3 or 2.0), with
a bearer token holding the `completions:write` scope, like `/api/completions`. The statements
that report an assessment result (a score, a success, a rubric level) become completions
through the same intake (`intake.record_completion`); the others are acknowledged and ignored.
What counts and how it maps is decided in `services.issuer.xapi_statements`. They can earn
percent, pass/fail and rubric credentials, never an assessor-reviewed one.

The answer follows xAPI so an LMS's LRS client understands it: 200 with the array of
statement ids, in request order. What became of each statement is in the
`Skillstack-Statement-Outcomes` header, a list aligned with the ids (RFC 8941 tokens):
`accepted` (a new completion), `duplicate` (its id was recorded before, with the same
content) or `ignored` (another verb, or a `completed` statement stating no result).

Every statement is validated before anything is written, and all are recorded in one
transaction: an invalid statement is a 422 problem naming its index and fields, a statement
id reported before with different content a 409, and either way nothing is recorded.

Not a full LRS: no GET, no /about, no voiding (HR revokes a credential), no Basic auth.
"""

from flask import request

from services.issuer import intake
from services.issuer.xapi_statements import ReadStatement, read_statements
from shared.auth import COMPLETIONS_SCOPE, require
from shared.web import ApiBlueprint, database, event_source, now, problems

bp = ApiBlueprint("issuer_xapi", __name__, url_prefix="/api/xapi", description="xAPI statements from an LMS")

OUTCOMES_HEADER = "Skillstack-Statement-Outcomes"
VERSION_HEADER = "X-Experience-API-Version"

_BODY = {
    "required": True,
    "description": "One xAPI statement, or an array of statements",
    "content": {"application/json": {"schema": {"oneOf": [
        {"type": "object", "description": "An xAPI statement"},
        {"type": "array", "items": {"type": "object"}, "minItems": 1},
    ]}}},
}
_ANSWER = {
    "description": "The statement ids, in request order",
    "headers": {OUTCOMES_HEADER: {
        "description": "accepted, duplicate or ignored for each statement id, in the same order",
        "schema": {"type": "string"},
    }},
    "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string", "format": "uuid"}}}},
}


@bp.post("/statements")
@require(scope=COMPLETIONS_SCOPE)
@bp.doc(requestBody=_BODY, responses={"200": _ANSWER})
@bp.response(200)
@bp.doc(responses=problems(400, 401, 403, 409, 415, 422))
def post_statements():
    """Record the completions xAPI statements report (LMS clients); issuance follows asynchronously."""
    statements = read_statements(bp.ARGUMENTS_PARSER.load_json(request, None))
    with database().transaction() as session:
        outcomes = [_record(session, statement) for statement in statements]
    headers = {OUTCOMES_HEADER: ", ".join(outcomes), VERSION_HEADER: _version()}
    return [statement.id for statement in statements], headers


def _record(session, statement: ReadStatement) -> str:
    """Record one statement's completion; return its outcome."""
    if statement.completion is None:
        return "ignored"
    source = event_source()
    _, new = intake.record_completion(session, statement.completion, now=now(), source=source)
    return "accepted" if new else "duplicate"


def _version() -> str:
    """The xAPI version to answer with: 2.0.0 to a 2.0 client, else 1.0.3."""
    return "2.0.0" if request.headers.get(VERSION_HEADER, "").startswith("2.") else "1.0.3"
