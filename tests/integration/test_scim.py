"""The company's IdP provisions the directory through SCIM 2.0, against real PostgreSQL."""

import json

import pytest

from shared.auth import SCIM_SCOPE
from tests.integration.helpers import outbox_rows, rows, table_counts
from tests.integration.pathways_support import hr_admin, import_csv, org_chart
from tests.integration.test_directory_sync import announced_settings, settings_of
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"
DIRECTORY_TABLES = ("people", "outbox")


def idp() -> dict[str, str]:
    """The IdP's provisioning client: a machine client with the scim:provision scope."""
    return bearer("pathways", "okta", scopes=(SCIM_SCOPE,), employee_id=None, client_id="okta-scim")


def user(employee_id: str, name: str = "Alan Turing", manager_id: str | None = None, **attributes) -> dict:
    resource = {"schemas": [USER], "userName": employee_id, "externalId": f"00u-{employee_id}", "name": {"formatted": name},
                "emails": [{"value": f"{employee_id}@example.com", "type": "work", "primary": True}], "active": True}
    if manager_id:
        resource[ENTERPRISE] = {"manager": {"value": manager_id}}
    return resource | attributes


def scim(pathways, method: str, path: str, body: dict | None = None, headers: dict | None = None, query: dict | None = None):
    """Call the SCIM API as the IdP does (or with other headers)."""
    return pathways.test_client().open(
        f"/scim/v2{path}", method=method, data=None if body is None else json.dumps(body), query_string=query,
        content_type=SCIM_JSON, headers=idp() if headers is None else headers,
    )


def scim_error(response, status: int, scim_type: str | None = None) -> dict:
    """Assert a response is a SCIM error with this status (and scimType); return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    return body


def person(pathways, employee_id: str) -> dict:
    [found] = rows(pathways, "SELECT employee_id, email, name, manager_id, active FROM people WHERE employee_id = :e", e=employee_id)
    return found


def a_manager(pathways) -> str:
    boss = unique("boss")
    assert import_csv(pathways, org_chart((boss, "Charles Babbage", ""))).status_code == 200
    return boss


# --- provisioning ---------------------------------------------------------------------------


def test_the_idp_creates_a_person_who_is_stored_announced_and_read_back(pathways):
    boss, alan = a_manager(pathways), unique("alan")

    response = scim(pathways, "POST", "/Users", user(alan, manager_id=boss))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    created = response.get_json()
    assert created["id"] == created["userName"] == alan
    assert created["schemas"] == [USER, ENTERPRISE] and created[ENTERPRISE] == {"manager": {"value": boss}}
    assert created["emails"] == [{"value": f"{alan}@example.com", "type": "work", "primary": True}]
    assert created["name"]["formatted"] == "Alan Turing" and created["active"] is True
    assert created["meta"]["resourceType"] == "User" and created["meta"]["lastModified"]
    assert response.headers["Location"] == created["meta"]["location"]
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{alan}")
    assert person(pathways, alan) == {"employee_id": alan, "email": f"{alan}@example.com", "name": "Alan Turing",
                                      "manager_id": boss, "active": True}
    [announced] = outbox_rows(pathways, PERSON_UPSERTED, alan)
    assert announced["payload"]["data"] == {"employee_id": alan, "email": f"{alan}@example.com", "name": "Alan Turing",
                                            "manager_id": boss, "active": True, "locale": None, "time_zone": None, "department": None}
    assert "locale" not in created and "timezone" not in created  # unassigned: left out

    read = scim(pathways, "GET", f"/Users/{alan}")

    assert read.status_code == 200 and read.get_json() == created


def test_the_locale_and_timezone_are_stored_announced_and_read_back(pathways):
    alan = unique("alan")

    response = scim(pathways, "POST", "/Users", user(alan, locale="en_US", timezone="America/New_York"))

    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert (created["locale"], created["timezone"]) == ("en-US", "America/New_York")  # the tag as BCP 47 writes it
    assert settings_of(pathways, alan) == ("en-US", "America/New_York")
    assert announced_settings(pathways, alan) == [("en-US", "America/New_York")]
    assert scim(pathways, "GET", f"/Users/{alan}").get_json() == created


def test_a_patch_changes_and_removes_the_locale_and_timezone_and_a_put_without_them_clears_them(pathways):
    alan = unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan, locale="en-GB", timezone="Europe/London")).status_code == 201
    move = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"locale": "de-DE", "timezone": "Europe/Berlin"}}]}
    forget = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "timezone"}]}

    moved = scim(pathways, "PATCH", f"/Users/{alan}", move)
    forgotten = scim(pathways, "PATCH", f"/Users/{alan}", forget)

    assert (moved.status_code, moved.get_json()["locale"], moved.get_json()["timezone"]) == (200, "de-DE", "Europe/Berlin")
    assert forgotten.status_code == 200 and "timezone" not in forgotten.get_json()
    assert settings_of(pathways, alan) == ("de-DE", None)

    replaced = scim(pathways, "PUT", f"/Users/{alan}", user(alan))

    assert replaced.status_code == 200 and "locale" not in replaced.get_json()
    assert settings_of(pathways, alan) == (None, None)
    assert announced_settings(pathways, alan) == [
        ("en-GB", "Europe/London"), ("de-DE", "Europe/Berlin"), ("de-DE", None), (None, None)
    ]


def test_given_and_family_names_make_the_name(pathways):
    grace = unique("grace")
    resource = user(grace) | {"name": {"givenName": "Grace", "familyName": "Hopper"}}

    assert scim(pathways, "POST", "/Users", resource).status_code == 201

    assert person(pathways, grace)["name"] == "Grace Hopper"


def test_the_idp_finds_a_person_by_user_name_and_no_one_else(pathways):
    alan, other = unique("alan"), unique("other")
    for employee_id in (alan, other):
        assert scim(pathways, "POST", "/Users", user(employee_id)).status_code == 201

    found = scim(pathways, "GET", "/Users", query={"filter": f'userName eq "{alan}"'})
    missing = scim(pathways, "GET", "/Users", query={"filter": f'userName eq "{unique("nobody")}"'})

    assert found.status_code == 200 and found.mimetype == SCIM_JSON
    body = found.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (1, 1, 1)
    assert [resource["userName"] for resource in body["Resources"]] == [alan]
    assert missing.get_json()["totalResults"] == 0 and missing.get_json()["Resources"] == []


@pytest.mark.parametrize("text", ['emails.value eq "a@example.com"', 'userName sw "a"', "userName eq alan", 'userName eq "a" or active eq true'])
def test_any_other_filter_is_an_invalid_filter(pathways, text):
    scim_error(scim(pathways, "GET", "/Users", query={"filter": text}), 400, "invalidFilter")


def test_a_put_replaces_the_person_and_announces_the_change(pathways):
    boss, alan = a_manager(pathways), unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan, manager_id=boss)).status_code == 201

    response = scim(pathways, "PUT", f"/Users/{alan}", user(alan, "Alan M. Turing") | {"emails": [{"value": "alan@example.org"}]})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["name"]["formatted"] == "Alan M. Turing" and ENTERPRISE not in response.get_json()
    assert person(pathways, alan) == {"employee_id": alan, "email": "alan@example.org", "name": "Alan M. Turing",
                                      "manager_id": None, "active": True}  # left out of a PUT: cleared
    assert len(outbox_rows(pathways, PERSON_UPSERTED, alan)) == 2


def test_a_patch_deactivates_a_person_once_and_keeps_them(pathways):
    boss, alan = a_manager(pathways), unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan, manager_id=boss)).status_code == 201
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}

    response = scim(pathways, "PATCH", f"/Users/{alan}", deactivate)
    again = scim(pathways, "PATCH", f"/Users/{alan}", deactivate)

    assert response.status_code == 200 and response.get_json()["active"] is False
    assert again.status_code == 200
    assert person(pathways, alan) == {"employee_id": alan, "email": f"{alan}@example.com", "name": "Alan Turing",
                                      "manager_id": boss, "active": False}
    created, deactivated = outbox_rows(pathways, PERSON_UPSERTED, alan)  # the repeat changed nothing: no event
    assert deactivated["payload"]["data"]["active"] is False


def test_delete_deprovisions_by_deactivating_and_the_person_stays_readable(pathways):
    alan = unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan)).status_code == 201

    response = scim(pathways, "DELETE", f"/Users/{alan}")

    assert response.status_code == 204 and response.get_data() == b""
    assert person(pathways, alan)["active"] is False
    read = scim(pathways, "GET", f"/Users/{alan}")
    assert read.status_code == 200 and read.get_json()["active"] is False
    assert [event["payload"]["data"]["active"] for event in outbox_rows(pathways, PERSON_UPSERTED, alan)] == [True, False]


# --- refusals: nothing is written -------------------------------------------------------------


def test_a_user_name_that_exists_is_a_uniqueness_conflict(pathways):
    alan = unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan)).status_code == 201
    before = table_counts(pathways, *DIRECTORY_TABLES)

    scim_error(scim(pathways, "POST", "/Users", user(alan, "Someone Else")), 409, "uniqueness")

    assert table_counts(pathways, *DIRECTORY_TABLES) == before
    assert person(pathways, alan)["name"] == "Alan Turing"


@pytest.mark.parametrize("change, says", [
    ({ENTERPRISE: {"manager": {"value": "nobody-at-all"}}}, "unknown manager"),
    ({"emails": [{"value": "not-an-email", "primary": True}]}, "not an email"),
    ({"name": {"formatted": ""}}, "required"),
    ({"locale": "English (UK)"}, "language tag"),
    ({"locale": "xx-YY"}, "unknown locale"),
    ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
    ({"timezone": 120}, "time_zone has the wrong type"),
], ids=["unknown manager", "bad email", "no name", "not a language tag", "unknown locale", "unknown time zone",
        "offset not a zone"])
def test_a_user_that_breaks_the_org_chart_rules_is_an_invalid_value_and_writes_nothing(pathways, change, says):
    alan = unique("alan")
    before = table_counts(pathways, *DIRECTORY_TABLES)

    body = scim_error(scim(pathways, "POST", "/Users", user(alan) | change), 400, "invalidValue")

    assert says in body["detail"]
    assert table_counts(pathways, *DIRECTORY_TABLES) == before


def test_a_patch_to_an_unknown_time_zone_is_refused_and_writes_nothing(pathways):
    alan = unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan, timezone="Europe/Berlin")).status_code == 201
    before = table_counts(pathways, *DIRECTORY_TABLES)
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "timezone", "value": "Europe/Atlantis"}]}

    body = scim_error(scim(pathways, "PATCH", f"/Users/{alan}", patch), 400, "invalidValue")

    assert "Europe/Atlantis" in body["detail"]
    assert table_counts(pathways, *DIRECTORY_TABLES) == before
    assert settings_of(pathways, alan) == (None, "Europe/Berlin")


def test_a_manager_change_that_closes_a_loop_is_refused_and_writes_nothing(pathways):
    boss, alan = a_manager(pathways), unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan, manager_id=boss)).status_code == 201
    before = table_counts(pathways, *DIRECTORY_TABLES)
    boss_reports_to_alan = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": alan}]}

    body = scim_error(scim(pathways, "PATCH", f"/Users/{boss}", boss_reports_to_alan), 400, "invalidValue")

    assert "loops back" in body["detail"]
    assert table_counts(pathways, *DIRECTORY_TABLES) == before
    assert person(pathways, boss)["manager_id"] is None


def test_the_user_name_cannot_change_and_an_unknown_user_is_not_found(pathways):
    alan = unique("alan")
    assert scim(pathways, "POST", "/Users", user(alan)).status_code == 201

    scim_error(scim(pathways, "PUT", f"/Users/{alan}", user(unique("renamed"))), 400, "mutability")
    scim_error(scim(pathways, "GET", f"/Users/{unique('nobody')}"), 404)
    scim_error(scim(pathways, "DELETE", f"/Users/{unique('nobody')}"), 404)
    scim_error(scim(pathways, "POST", "/Users", None), 400, "invalidSyntax")


def test_only_a_token_with_the_provisioning_scope_may_call(pathways):
    alan = unique("alan")
    before = table_counts(pathways, *DIRECTORY_TABLES)

    anonymous = scim(pathways, "POST", "/Users", user(alan), headers={})
    hr = scim(pathways, "POST", "/Users", user(alan), headers=hr_admin())
    lms = scim(pathways, "GET", f"/Users/{alan}", headers=bearer("pathways", "lms", scopes=("completions:write",), employee_id=None,
                                                                  client_id="academy-lms"))

    scim_error(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    scim_error(hr, 403)
    scim_error(lms, 403)
    assert table_counts(pathways, *DIRECTORY_TABLES) == before
