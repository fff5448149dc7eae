"""SCIM User resources: what an IdP sends becomes directory values, PATCH changes what it names, one filter."""

from datetime import UTC, datetime

import pytest

from services.pathways.models import Person
from services.pathways.scim_users import ENTERPRISE_SCHEMA, ScimError, patched, resource_of, user_name_filter, values_of

LOCATION = "https://pathways.example.com/scim/v2/Users/e-1"


def ada() -> Person:
    return Person(employee_id="e-1", email="ada@example.com", name="Ada Lovelace", manager_id="e-0", active=True,
                  updated_at=datetime(2027, 5, 4, 9, tzinfo=UTC), locale="en-GB", time_zone="Europe/London")


def ada_values(**changes) -> dict:
    """Ada's directory values, with some changed."""
    return {"email": "ada@example.com", "name": "Ada Lovelace", "manager_id": "e-0", "active": True, "locale": "en-GB",
            "time_zone": "Europe/London", "department": None} | changes


def test_a_user_as_an_idp_sends_it_becomes_directory_values():
    resource = {"userName": "e-2", "externalId": "00u1", "name": {"givenName": "Grace", "familyName": "Hopper"},
                "emails": [{"value": "home@example.com"}, {"value": "grace@example.com", "primary": True}],
                ENTERPRISE_SCHEMA: {"manager": {"value": "e-0"}}, "active": "False"}

    assert values_of(resource) == ("e-2", {"email": "grace@example.com", "name": "Grace Hopper", "manager_id": "e-0", "active": False,
                                           "locale": None, "time_zone": None, "department": None})


def test_the_core_locale_and_timezone_attributes_are_the_persons_locale_and_time_zone():
    resource = {"userName": "e-3", "name": {"formatted": "Emmy Noether"}, "emails": [{"value": "emmy@example.com"}],
                "locale": "de-DE", "timezone": "Europe/Berlin"}
    empty = resource | {"locale": "", "timezone": None}

    assert values_of(resource)[1] == {"email": "emmy@example.com", "name": "Emmy Noether", "manager_id": None, "active": True,
                                      "locale": "de-DE", "time_zone": "Europe/Berlin", "department": None}
    assert values_of(empty)[1] == values_of(resource)[1] | {"locale": None, "time_zone": None}


def test_a_person_round_trips_through_their_resource():
    resource = resource_of(ada(), LOCATION)

    assert resource["id"] == resource["userName"] == "e-1"
    assert resource["meta"] == {"resourceType": "User", "lastModified": "2027-05-04T09:00:00+00:00", "location": LOCATION}
    assert (resource["locale"], resource["timezone"]) == ("en-GB", "Europe/London")
    assert values_of(resource) == ("e-1", ada_values())


def test_the_enterprise_department_is_the_persons_department_and_a_patch_changes_it():
    person = ada()
    person.department = "Data & Analytics"

    resource = resource_of(person, LOCATION)
    moved = patched(resource, {"Operations": [{"op": "replace", "path": f"{ENTERPRISE_SCHEMA}:department", "value": "Research"}]})

    assert resource[ENTERPRISE_SCHEMA] == {"manager": {"value": "e-0"}, "department": "Data & Analytics"}
    assert values_of(resource)[1] == ada_values(department="Data & Analytics")
    assert values_of(moved)[1] == ada_values(department="Research")


def test_a_person_without_locale_or_time_zone_has_neither_attribute():
    person = ada()
    person.locale = person.time_zone = None

    resource = resource_of(person, LOCATION)

    assert "locale" not in resource and "timezone" not in resource
    assert values_of(resource)[1] == ada_values(locale=None, time_zone=None)


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": "active", "value": False},
    {"op": "Replace", "value": {"active": "False"}},  # Entra ID's way
])
def test_a_patch_deactivates_and_keeps_everything_else(operation):
    resource = patched(resource_of(ada(), LOCATION), {"Operations": [operation]})

    assert values_of(resource)[1] == ada_values(active=False)


def test_a_patch_changes_the_name_email_and_removes_the_manager():
    operations = [{"op": "replace", "path": "displayName", "value": "Ada King"},
                  {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ada.king@example.com"},
                  {"op": "remove", "path": f"{ENTERPRISE_SCHEMA}:manager"}]

    resource = patched(resource_of(ada(), LOCATION), {"Operations": operations})

    assert values_of(resource)[1] == ada_values(email="ada.king@example.com", name="Ada King", manager_id=None)


@pytest.mark.parametrize("operations, changes", [
    ([{"op": "replace", "path": "locale", "value": "fr-FR"}, {"op": "add", "path": "timezone", "value": "Europe/Paris"}],
     {"locale": "fr-FR", "time_zone": "Europe/Paris"}),
    ([{"op": "replace", "value": {"locale": "de-DE", "timezone": "Europe/Berlin"}}],
     {"locale": "de-DE", "time_zone": "Europe/Berlin"}),
    ([{"op": "remove", "path": "locale"}, {"op": "remove", "path": "timezone"}], {"locale": None, "time_zone": None}),
], ids=["with paths", "without a path", "removed"])
def test_a_patch_changes_or_removes_the_locale_and_time_zone(operations, changes):
    resource = patched(resource_of(ada(), LOCATION), {"Operations": operations})

    assert values_of(resource)[1] == ada_values(**changes)


@pytest.mark.parametrize(("body", "scim_type"), [
    ({"Operations": [{"op": "replace", "path": "phoneNumbers", "value": []}]}, "invalidPath"),
    ({"Operations": [{"op": "move", "path": "active"}]}, "invalidSyntax"),
    ({"Operations": [{"op": "remove"}]}, "noTarget"),
    ({}, "invalidSyntax"),
])
def test_a_patch_the_directory_cannot_apply_is_refused(body, scim_type):
    with pytest.raises(ScimError) as refused:
        patched(resource_of(ada(), LOCATION), body)

    assert (refused.value.status, refused.value.scim_type) == (400, scim_type)


def test_only_the_user_name_filter_is_answered():
    assert user_name_filter('userName eq "ada \\"the\\" first"') == 'ada "the" first'
    assert user_name_filter('USERNAME EQ "e-1"') == "e-1"
    for unsupported in ('emails.value eq "ada@example.com"', 'userName sw "a"', 'userName eq "a" or userName eq "b"'):
        with pytest.raises(ScimError) as refused:
            user_name_filter(unsupported)
        assert refused.value.scim_type == "invalidFilter"


@pytest.mark.parametrize("resource", [{"name": {"formatted": "Ada"}}, {"userName": "e-1", "active": [1]},
                                      {"userName": "e-1", "name": "Ada"}, {"userName": "e-1", "locale": True},
                                      {"userName": "e-1", "timezone": {"id": "Europe/Berlin"}}])
def test_a_resource_without_a_user_name_or_with_wrong_types_is_refused(resource):
    with pytest.raises(ScimError):
        values_of(resource)
