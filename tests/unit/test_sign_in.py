"""Sign-in rules that need no identity provider: safe redirects and claims to principal."""

import pytest

from shared.auth import principal_from_claims
from shared.sso import safe_next

CONFIG = {"OIDC_GROUPS_CLAIM": "groups", "OIDC_EMPLOYEE_ID_CLAIM": "employee_id", "OIDC_ROLE_GROUPS": {"hr-admin": "hr-admins", "assessor": "assessors"}}


@pytest.mark.parametrize("target", ["/approvals", "/?tab=team", "/pathways/data-analyst"])
def test_next_stays_on_the_intranet(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [None, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil.example", "http:/evil"],
)
def test_next_never_leaves_the_intranet(target):
    assert safe_next(target) == "/"


def test_a_person_is_known_by_employee_id_with_roles_from_groups():
    principal = principal_from_claims(
        {"sub": "f81d4fae", "employee_id": "hana", "name": "Hana Suzuki", "email": "hana@example.com", "groups": ["hr-admins", "staff"]},
        CONFIG,
    )
    assert (principal.subject, principal.name, principal.roles) == ("hana", "Hana Suzuki", frozenset({"hr-admin"}))


def test_a_machine_client_is_never_mistaken_for_a_person():
    principal = principal_from_claims({"sub": "9b2c", "client_id": "academy-lms", "scope": "profile completions:write"}, CONFIG)
    assert principal.subject == "client:academy-lms"
    assert principal.scopes == frozenset({"profile", "completions:write"})
    assert principal.roles == frozenset()


def test_a_person_without_an_employee_id_sees_nobody_elses_data():
    principal = principal_from_claims({"sub": "9b2c", "name": "Unknown"}, CONFIG)
    assert principal.subject == "sub:9b2c"


def test_a_group_of_the_same_name_elsewhere_in_the_tree_grants_nothing():
    principal = principal_from_claims({"sub": "1", "employee_id": "sly", "groups": ["/sales/hr-admins", "hr-admins-fans"]}, CONFIG)
    assert principal.roles == frozenset()
