"""SCIM 2.0 `/scim/v2/Users` (RFC 7643/7644, a core subset): the company's IdP provisions the directory.

Callers: a machine client of the IdP with the `scim:provision` scope, by bearer token only (no
session, so no CSRF token). Every change goes through `directory.upsert_person`, the rules and
the `person.upserted` event of the CSV import; nothing is written when a request is refused.

- `POST /Users` creates (409 `uniqueness` if the userName exists), `PUT /Users/<id>` replaces,
  `PATCH /Users/<id>` applies add/replace/remove of the attributes the directory keeps (`active`
  above all: IdPs deactivate with PATCH; `locale` and `timezone` too), `GET /Users/<id>` reads,
  `GET /Users` lists, filtered by `userName eq "..."` only (any other filter: 400 `invalidFilter`).
- `DELETE /Users/<id>` deprovisions by deactivating (`active` false), never deleting: the
  directory keeps people's history, so a later GET still returns the user, with `active` false.
- See `scim_users` for how attributes map onto a person.

Errors: this API alone does not answer with RFC 9457 problem+json but with the SCIM error
shape (`urn:ietf:params:scim:api:messages:2.0:Error`: status, scimType, detail), because that
is what IdPs parse. Bodies are `application/scim+json`.
"""

from flask import Blueprint, Response, json, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from services.pathways import directory
from services.pathways.scim_users import ERROR_SCHEMA, LIST_SCHEMA, ScimError, patched, resource_of, user_name_filter, values_of
from shared import audit
from shared.auth import SCIM_SCOPE, require
from shared.errors import Conflict, DomainError, InvalidInput
from shared.web import database, event_source, now

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

SCIM_JSON = "application/scim+json"
MAX_PAGE = 200


def _scim(body: dict | None, status: int = 200, headers: dict | None = None) -> Response:
    data = "" if body is None else json.dumps(body)
    return Response(data, status=status, mimetype=None if body is None else SCIM_JSON, headers=headers)


def _error(status: int, scim_type: str | None, detail: str) -> Response:
    body = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}  # RFC 7644: status is a string
    if scim_type:
        body["scimType"] = scim_type
    response = _scim(body, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="skillstack"'
    return response


@bp.errorhandler(ScimError)
def _scim_error(error: ScimError) -> Response:
    return _error(error.status, error.scim_type, error.detail)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    """Domain refusals in SCIM terms: a broken rule is 400 invalidValue, a taken userName 409 uniqueness."""
    if isinstance(error, InvalidInput):
        return _error(400, "invalidValue", error.detail)
    if isinstance(error, Conflict):
        return _error(409, "uniqueness", error.detail)
    return _error(error.status, None, error.detail)


@bp.errorhandler(IntegrityError)
def _integrity_error(error: IntegrityError) -> Response:
    """Two creations of one userName at once: the database's primary key lets only one through."""
    return _error(409, "uniqueness", "a person with this userName already exists")


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return _error(error.code or 500, None, error.description or error.name)



def _location(employee_id: str) -> str:
    return url_for("scim.get_user", user_id=employee_id, _external=True)


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ScimError(400, "invalidSyntax", "send a JSON object as application/scim+json")
    return body


def _same_user(user_id: str, employee_id: str) -> None:
    if employee_id != user_id:
        raise ScimError(400, "mutability", "userName is the employee id and cannot change")


def _int_argument(name: str, default: int) -> int:
    try:
        return max(int(request.args.get(name, default)), 0)
    except ValueError as error:
        raise ScimError(400, "invalidValue", f"{name} must be a number") from error


@bp.post("/Users")
@require(scope=SCIM_SCOPE)
def create_user():
    """Provision a new person."""
    employee_id, values = values_of(_body())
    with database().transaction() as session:
        person = directory.add_person(session, employee_id, values, now=now(), source=event_source())
        audit.record(session, "person.provisioned", "person", employee_id, {"active": person.active})
        resource = resource_of(person, _location(employee_id))
    return _scim(resource, 201, {"Location": resource["meta"]["location"]})


@bp.get("/Users")
@require(scope=SCIM_SCOPE)
def list_users():
    """Everyone, a page at a time, or the one person a `userName eq` filter names."""
    text = request.args.get("filter")
    employee_id = user_name_filter(text) if text is not None else None
    start_index = max(_int_argument("startIndex", 1), 1)
    count = min(_int_argument("count", 100), MAX_PAGE)
    with database().transaction() as session:
        people, total = directory.list_people(session, employee_id=employee_id, offset=start_index - 1, limit=count)
        resources = [resource_of(person, _location(person.employee_id)) for person in people]
    return _scim({"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start_index, "itemsPerPage": len(resources),
                  "Resources": resources})


@bp.get("/Users/<user_id>")
@require(scope=SCIM_SCOPE)
def get_user(user_id):
    """One person, active or not."""
    with database().transaction() as session:
        return _scim(resource_of(directory.get_person(session, user_id), _location(user_id)))


@bp.put("/Users/<user_id>")
@require(scope=SCIM_SCOPE)
def replace_user(user_id):
    """Replace a person's attributes with the ones sent (attributes left out are cleared)."""
    employee_id, values = values_of(_body())
    _same_user(user_id, employee_id)
    with database().transaction() as session:
        directory.get_person(session, user_id)
        person, change = directory.upsert_person(session, user_id, values, now=now(), source=event_source())
        audit.record(session, "person.updated", "person", user_id, {"active": person.active, "outcome": change})
        return _scim(resource_of(person, _location(user_id)))


@bp.patch("/Users/<user_id>")
@require(scope=SCIM_SCOPE)
def patch_user(user_id):
    """Change some of a person's attributes (deactivating them with `active` false, above all)."""
    body = _body()
    with database().transaction() as session:
        current = resource_of(directory.get_person(session, user_id), _location(user_id))
        employee_id, values = values_of(patched(current, body))
        _same_user(user_id, employee_id)
        person, change = directory.upsert_person(session, user_id, values, now=now(), source=event_source())
        audit.record(session, "person.updated", "person", user_id, {"active": person.active, "outcome": change})
        return _scim(resource_of(person, _location(user_id)))


@bp.delete("/Users/<user_id>")
@require(scope=SCIM_SCOPE)
def deprovision_user(user_id):
    """Deprovision a person: they are deactivated, never deleted (their history stays)."""
    with database().transaction() as session:
        person = directory.get_person(session, user_id)
        values = directory.person_values(person) | {"active": False}
        _, change = directory.upsert_person(session, user_id, values, now=now(), source=event_source())
        audit.record(session, "person.deactivated", "person", user_id, {"outcome": change})
    return _scim(None, 204)
