"""Every event in the catalog round-trips through the envelope and keeps its published schema.

The snapshots in `snapshots/` are the contract other teams build against. A change that
alters one fails here; rewrite them deliberately with `UPDATE_SNAPSHOTS=1` and review the diff.
"""

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.events import CATALOG, EventDecodeError, EventValidationError, decode, new_event
from shared.events.envelope import encode

SNAPSHOTS = Path(__file__).parent / "snapshots"
SOURCE = "urn:skillstack:contract-tests"
ISSUED_AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))

DECISION = {
    "request_id": "req-7f3a",
    "employee_id": "emp-1042",
    "decided_by": "emp-0007",
    "pathway_id": "data-analyst",
    "pathway_name": "Data Analyst",
    "level": 1,
    "level_name": "Junior Analyst",
    "decided_at": ISSUED_AT,
}

# One realistic example of each event type, as its producer would publish it.
EXAMPLES = {
    "skillstack.academy.assessment.completed.v1": {
        "attempt_id": "lms-attempt-88121",
        "employee_id": "emp-1042",
        "email": "ada.lovelace@example.com",
        "assessment_id": "sql-101",
        "score": 86.5,
        "completed_at": datetime(2025, 3, 14, 10, 5, tzinfo=PARIS),
        "source": "moodle",
        "passed": True,
        "rubric_level": None,
        "evidence": [],
        "assessor_id": None,
    },
    "skillstack.issuer.credential.defined.v1": {
        "achievement_id": "sql-foundations",
        "version": 2,
        "name": "SQL Foundations",
        "description": "Writes correct SELECT queries with joins, grouping and window functions.",
        "category": "technical",
        "assessment_id": "sql-101",
        "min_score": 80.0,
        "validity_months": 24,
        "retired": False,
        "level": 2,
        "skills": [
            {
                "framework": "ESCO",
                "url": "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d",
                "code": "ccd0a1d9-afda-43d9-b901-96344886e14d",
                "name": "SQL",
            }
        ],
        "prerequisites": ["data-literacy"],
        "effort_hours": 12.5,
        "threshold": "percent",
        "rubric_levels": [],
        "min_rubric_level": None,
        "assessor_reviewed": False,
    },
    "skillstack.issuer.credential.issued.v1": {
        "credential_id": "cred-5d1c",
        "employee_id": "emp-1042",
        "achievement_id": "sql-foundations",
        "achievement_version": 2,
        "achievement_name": "SQL Foundations",
        "issued_at": ISSUED_AT,
        "valid_until": datetime(2027, 3, 14, 9, 30, tzinfo=UTC),
        "source_event_id": "3b0f5a9e-completion",
    },
    "skillstack.issuer.credential.revoked.v1": {
        "credential_id": "cred-5d1c",
        "employee_id": "emp-1042",
        "achievement_id": "sql-foundations",
        "achievement_name": "SQL Foundations",
        "revoked_at": ISSUED_AT + timedelta(days=30),
        "reason": "Issued to the wrong employee after an LMS account mix-up.",
    },
    "skillstack.issuer.credential.expiring.v1": {
        "credential_id": "cred-5d1c",
        "employee_id": "emp-1042",
        "achievement_id": "sql-foundations",
        "achievement_name": "SQL Foundations",
        "valid_until": datetime(2027, 3, 14, 9, 30, tzinfo=UTC),
    },
    "skillstack.issuer.credential.expired.v1": {
        "credential_id": "cred-5d1c",
        "employee_id": "emp-1042",
        "achievement_id": "sql-foundations",
        "achievement_name": "SQL Foundations",
        "valid_until": datetime(2027, 3, 14, 9, 30, tzinfo=UTC),
    },
    "skillstack.pathways.advancement.requested.v1": {
        "request_id": "req-7f3a",
        "employee_id": "emp-1042",
        "manager_id": "emp-0007",
        "pathway_id": "data-analyst",
        "pathway_name": "Data Analyst",
        "level": 1,
        "level_name": "Junior Analyst",
        "requested_at": ISSUED_AT,
    },
    "skillstack.pathways.advancement.approved.v1": DECISION | {"comment": "Well deserved."},
    "skillstack.pathways.advancement.rejected.v1": DECISION | {"comment": "Let's pair on a real report first."},
    "skillstack.pathways.advancement.withdrawn.v1": DECISION | {"decided_by": "emp-1042", "comment": "Applying next quarter."},
    "skillstack.pathways.advancement.closed.v1": DECISION | {
        "decided_by": "system",
        "comment": "credential cred-51c2 expired before the decision; the level's requirements are no longer met",
        "credential_id": "cred-51c2",
        "cause": "expired",
    },
    "skillstack.pathways.recertification.needed.v1": {
        "employee_id": "emp-1042", "manager_id": "emp-0007", "pathway_id": "data-analyst", "pathway_name": "Data Analyst",
        "level": 1, "level_name": "Junior Analyst", "credential_id": "cred-5d1c", "achievement_id": "sql-foundations",
        "achievement_name": "SQL Foundations", "cause": "expired",
    },
    "skillstack.directory.person.upserted.v1": {
        "employee_id": "emp-1042",
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace",
        "manager_id": "emp-0007",
        "active": True,
        "locale": "en-GB",
        "time_zone": "Europe/London",
        "department": "Data & Analytics",
    },
}

EVENT_TYPES = sorted(CATALOG)


def published(event_type: str):
    """Create the example event of a type: its Event and structured-mode body."""
    return new_event(event_type, EXAMPLES[event_type], source=SOURCE)


def schema_description(event_type: str) -> dict:
    """The OpenAPI 3.1 description of an event type's data schema."""
    # Nested schemas inline (no name resolver), so the snapshot holds their fields too.
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)
    spec = APISpec(title="Skillstack events", version="1", openapi_version="3.1.0", plugins=[plugin])
    spec.components.schema(event_type, schema=CATALOG[event_type].schema)
    return spec.to_dict()["components"]["schemas"][event_type]


def test_every_catalog_event_has_an_example():
    assert set(EXAMPLES) == set(CATALOG)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_an_event_decodes_to_what_its_producer_created(event_type):
    created, body = published(event_type)

    received = decode(body)

    assert (received.id, received.type, received.subject) == (created.id, event_type, created.subject)
    assert received.source == SOURCE
    assert received.subject == EXAMPLES[event_type][CATALOG[event_type].key_field]
    # Aware datetimes compare as instants, so an offset of +01:00 equals the same UTC moment.
    assert received.data == EXAMPLES[event_type]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_kafka_headers_mirror_the_envelope_and_the_key_is_the_data_key(event_type):
    _, body = published(event_type)
    document = json.loads(body)

    key, headers = encode(body)

    mirrored = {name.removeprefix("ce_"): value.decode() for name, value in headers if name.startswith("ce_")}
    assert mirrored == {name: str(document[name]) for name in ("id", "source", "type", "subject", "time", "specversion")}
    assert ("content-type", b"application/cloudevents+json") in headers
    assert key == EXAMPLES[event_type][CATALOG[event_type].key_field].encode()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_matches_its_published_snapshot(event_type):
    description = schema_description(event_type)
    snapshot = SNAPSHOTS / f"{event_type}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
        return
    assert snapshot.exists(), f"no snapshot for {event_type}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert description == json.loads(snapshot.read_text()), f"{event_type} schema changed from its snapshot"


def test_every_snapshot_belongs_to_a_catalog_event():
    assert {path.stem for path in SNAPSHOTS.glob("*.json")} == set(CATALOG)


@pytest.mark.parametrize(
    ("event_type", "change", "field"),
    [
        ("skillstack.issuer.credential.issued.v1", {"achievement_name": None}, "achievement_name"),
        ("skillstack.academy.assessment.completed.v1", {"score": 120}, "score"),
        ("skillstack.directory.person.upserted.v1", {"email": "not-an-address"}, "email"),
        ("skillstack.pathways.advancement.requested.v1", {"level": 0}, "level"),
    ],
)
def test_data_breaking_its_schema_is_refused_naming_the_field(event_type, change, field):
    data = {name: value for name, value in (EXAMPLES[event_type] | change).items() if value is not None}

    with pytest.raises(EventValidationError) as refused:
        new_event(event_type, data, source=SOURCE)

    assert field in refused.value.errors
    assert field in str(refused.value)


def test_a_credential_defined_by_an_older_producer_still_decodes_with_the_added_fields_empty():
    added = ("level", "skills", "prerequisites", "effort_hours")
    older = {name: value for name, value in EXAMPLES["skillstack.issuer.credential.defined.v1"].items() if name not in added}

    received = decode(new_event("skillstack.issuer.credential.defined.v1", older, source=SOURCE)[1])

    assert received.data == older | {"level": None, "skills": [], "prerequisites": [], "effort_hours": None}


def test_a_completion_from_an_older_producer_still_decodes_with_the_result_fields_empty():
    added = ("passed", "rubric_level", "evidence", "assessor_id")
    older = {name: value for name, value in EXAMPLES["skillstack.academy.assessment.completed.v1"].items() if name not in added}

    received = decode(new_event("skillstack.academy.assessment.completed.v1", older, source=SOURCE)[1])

    assert received.data == older | {"passed": None, "rubric_level": None, "evidence": [], "assessor_id": None}


def test_an_assessor_result_needs_no_score_but_some_result():
    reviewed = EXAMPLES["skillstack.academy.assessment.completed.v1"] | {
        "score": None, "passed": None, "rubric_level": "proficient", "assessor_id": "emp-0007", "source": "assessor",
        "evidence": [{"url": "https://git.example.com/ada/warehouse", "name": "Warehouse project"}],
    }

    assert decode(new_event("skillstack.academy.assessment.completed.v1", reviewed, source=SOURCE)[1]).data == reviewed
    with pytest.raises(EventValidationError) as refused:
        new_event("skillstack.academy.assessment.completed.v1", reviewed | {"rubric_level": None}, source=SOURCE)
    assert "score" in refused.value.errors


def test_a_credential_defined_by_an_older_producer_is_a_percent_rule_the_lms_reports():
    added = ("threshold", "rubric_levels", "min_rubric_level", "assessor_reviewed")
    older = {name: value for name, value in EXAMPLES["skillstack.issuer.credential.defined.v1"].items() if name not in added}

    received = decode(new_event("skillstack.issuer.credential.defined.v1", older, source=SOURCE)[1])

    assert received.data == older | {"threshold": "percent", "rubric_levels": [], "min_rubric_level": None, "assessor_reviewed": False}


def test_a_person_from_an_older_producer_still_decodes_with_no_locale_or_time_zone():
    person = EXAMPLES["skillstack.directory.person.upserted.v1"]
    older = {name: value for name, value in person.items() if name not in ("locale", "time_zone")}

    received = decode(new_event("skillstack.directory.person.upserted.v1", older, source=SOURCE)[1])

    assert received.data == older | {"locale": None, "time_zone": None}


def test_a_timestamp_without_a_timezone_is_refused():
    data = EXAMPLES["skillstack.issuer.credential.issued.v1"] | {"issued_at": datetime(2025, 3, 14, 9, 30)}

    with pytest.raises(EventValidationError) as refused:
        new_event("skillstack.issuer.credential.issued.v1", data, source=SOURCE)

    assert "issued_at" in refused.value.errors


def test_an_unknown_event_type_is_refused():
    with pytest.raises(EventDecodeError, match="skillstack.issuer.credential.stolen.v1"):
        new_event("skillstack.issuer.credential.stolen.v1", {"employee_id": "emp-1042"}, source=SOURCE)
