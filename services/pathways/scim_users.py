"""SCIM 2.0 User resources (RFC 7643) as the directory holds people: to and from a person, PATCH, filters.

The mapping, which the company's IdP is configured against:

- `userName` is the employee id, and so is the resource `id`: the org chart and every event key
  people by it, and the IdP looks people up by `userName`. It cannot change (`mutability`).
- `name.formatted`, else `name.givenName` + `name.familyName`, else `displayName`, is the name.
- The primary email (else the first) is the email.
- The enterprise extension's `manager.value` is the manager's employee id, and its `department`
  the person's department (HR's analytics group people by it); left out, it is unknown.
- `locale` (a BCP 47 tag; `en_US` as some IdPs send it is stored as `en-US`) and `timezone` (an
  IANA name) are the person's locale and time zone (RFC 7643 section 4.1.1); left out, they are unknown.
- `active` false is someone who left. `externalId` and other attributes are accepted, not stored.
"""

import json
import re
from collections.abc import Callable

from services.pathways.models import Person

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
MANAGER_PATH = f"{ENTERPRISE_SCHEMA}:manager".lower()
DEPARTMENT_PATH = f"{ENTERPRISE_SCHEMA}:department".lower()
USER_NAME_EQ = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)
BOOLEANS = {True: True, False: False, "true": True, "false": False, "True": True, "False": False}  # some IdPs send strings


class ScimError(Exception):
    """A request refused with a SCIM error type (RFC 7644 section 3.12)."""

    def __init__(self, status: int, scim_type: str | None, detail: str):
        super().__init__(detail)
        self.status, self.scim_type, self.detail = status, scim_type, detail


def resource_of(person: Person, location: str) -> dict:
    """A person as a SCIM User resource."""
    resource = {
        "schemas": [USER_SCHEMA] + ([ENTERPRISE_SCHEMA] if person.manager_id or person.department else []),
        "id": person.employee_id,
        "userName": person.employee_id,
        "name": {"formatted": person.name},
        "displayName": person.name,
        "emails": [{"value": person.email, "type": "work", "primary": True}],
        "active": person.active,
        # `created` is not kept by the directory; `lastModified` is the last change.
        "meta": {"resourceType": "User", "lastModified": person.updated_at.isoformat(), "location": location},
    }
    enterprise = {"manager": {"value": person.manager_id}} if person.manager_id else {}
    if person.department:
        enterprise["department"] = person.department
    if enterprise:
        resource[ENTERPRISE_SCHEMA] = enterprise
    # Unassigned attributes are left out of a representation (RFC 7643 section 2.5).
    resource |= {name: value for name, value in (("locale", person.locale), ("timezone", person.time_zone)) if value}
    return resource


def values_of(resource: dict) -> tuple[str, dict]:
    """The employee id and the directory values (email, name, manager_id, active, locale, time_zone, department) of a User resource."""
    user_name = resource.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "invalidValue", "userName (the employee id) is required")
    name = _object(resource, "name")
    full_name = name.get("formatted") or " ".join(part for part in (name.get("givenName"), name.get("familyName")) if part)
    emails = resource.get("emails") or []
    if not isinstance(emails, list) or not all(isinstance(email, dict) for email in emails):
        raise ScimError(400, "invalidSyntax", "emails must be a list of objects")
    email = next((email for email in emails if email.get("primary") is True), emails[0] if emails else {})
    enterprise = _object(resource, ENTERPRISE_SCHEMA)
    manager = enterprise.get("manager")
    manager_id = manager.get("value") if isinstance(manager, dict) else manager
    active = resource.get("active", True)
    if not isinstance(active, bool | str) or active not in BOOLEANS:
        raise ScimError(400, "invalidValue", "active must be true or false")
    values = {"email": email.get("value"), "name": full_name or resource.get("displayName"), "manager_id": manager_id or None,
              "active": BOOLEANS[active], "locale": resource.get("locale") or None, "time_zone": resource.get("timezone") or None,
              "department": enterprise.get("department") or None}
    for key, value in values.items():
        if value is not None and not isinstance(value, bool if key == "active" else str):
            raise ScimError(400, "invalidValue", f"{key} has the wrong type")
    return user_name.strip(), values


def _object(resource: dict, key: str) -> dict:
    value = resource.get(key) or {}
    if not isinstance(value, dict):
        raise ScimError(400, "invalidSyntax", f"{key} must be an object")
    return value


def patched(resource: dict, body: dict) -> dict:
    """A User resource with a PATCH request's operations applied (add, replace, remove of simple attributes)."""
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "invalidSyntax", "a PatchOp request needs a list of Operations")
    resource = json.loads(json.dumps(resource))  # a copy the operations may change
    for operation in operations:
        kind = str(operation.get("op", "")).lower() if isinstance(operation, dict) else ""
        if kind not in ("add", "replace", "remove"):
            raise ScimError(400, "invalidSyntax", "op must be add, replace or remove")
        path, value = operation.get("path"), operation.get("value")
        if kind == "remove":
            if not path:
                raise ScimError(400, "noTarget", "remove needs a path")
            _setter(path)(resource, None)
        elif path:
            _setter(path)(resource, value)
        elif isinstance(value, dict):
            for key, each in value.items():
                _setter(key)(resource, each)
        else:
            raise ScimError(400, "invalidValue", "an operation without a path needs an object value")
    return resource


def _setter(path: str) -> Callable[[dict, object], None]:
    """How to set the attribute a PATCH path names, for the attributes the directory keeps."""
    setters = {
        "active": lambda resource, value: resource.__setitem__("active", value),
        "locale": lambda resource, value: resource.__setitem__("locale", value),
        "timezone": lambda resource, value: resource.__setitem__("timezone", value),
        "username": lambda resource, value: resource.__setitem__("userName", value),
        "displayname": lambda resource, value: _set_name(resource, {"formatted": value}),
        "name": lambda resource, value: _set_name(resource, value if isinstance(value, dict) else {}),
        "name.formatted": lambda resource, value: _set_name(resource, {"formatted": value}),
        "name.givenname": lambda resource, value: _set_name(resource, {"givenName": value}),
        "name.familyname": lambda resource, value: _set_name(resource, {"familyName": value}),
        "emails": lambda resource, value: resource.__setitem__("emails", value or []),
        'emails[type eq "work"].value': _set_email,
        "emails[primary eq true].value": _set_email,
        MANAGER_PATH: _set_manager,
        f"{MANAGER_PATH}.value": _set_manager,
        DEPARTMENT_PATH: _set_department,
    }
    setter = setters.get(path.strip().lower())
    if setter is None:
        raise ScimError(400, "invalidPath", f"the directory does not keep {path!r}")
    return setter


def _set_name(resource: dict, parts: dict) -> None:
    name = dict(resource.get("name") or {})
    if "formatted" not in parts:  # given or family name changed: the formatted name is theirs
        name.pop("formatted", None)
    resource["name"] = name | parts
    resource.pop("displayName", None)


def _set_email(resource: dict, value) -> None:
    resource["emails"] = [{"value": value, "type": "work", "primary": True}]


def _set_manager(resource: dict, value) -> None:
    _set_enterprise(resource, "manager", value)


def _set_department(resource: dict, value) -> None:
    _set_enterprise(resource, "department", value)


def _set_enterprise(resource: dict, attribute: str, value) -> None:
    extension = dict(resource.get(ENTERPRISE_SCHEMA) or {})
    resource[ENTERPRISE_SCHEMA] = extension | {attribute: value}


def user_name_filter(text: str) -> str:
    """The user name of a `userName eq "..."` filter, the one filter the directory answers."""
    match = USER_NAME_EQ.match(text)
    if match is None:
        raise ScimError(400, "invalidFilter", 'only the filter userName eq "<employee id>" is supported')
    try:
        return json.loads(f'"{match.group(1)}"')
    except ValueError as error:
        raise ScimError(400, "invalidFilter", f"the filter's string is not valid: {error}") from error
