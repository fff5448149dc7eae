"""What a consumer does with whatever arrives on a topic: only well-formed, valid events get through."""

import json
from datetime import UTC, datetime

import pytest

from shared.events import EventDecodeError, EventValidationError, decode, new_event

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
PERSON = {"employee_id": "emp-1042", "email": "ada@example.com", "name": "Ada Lovelace"}


def cloud_event(**changes) -> bytes:
    """A structured-mode CloudEvent body; a change to None removes that attribute."""
    document = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:skillstack:pathways",
        "type": PERSON_UPSERTED,
        "subject": "emp-1042",
        "time": "2025-03-14T09:30:00Z",
        "datacontenttype": "application/json",
        "data": PERSON,
    } | changes
    return json.dumps({name: value for name, value in document.items() if value is not None}).encode()


def test_a_well_formed_event_is_read_with_its_attributes_and_defaults():
    event = decode(cloud_event())

    assert (event.id, event.type, event.source, event.subject) == ("evt-1", PERSON_UPSERTED, "urn:skillstack:pathways", "emp-1042")
    assert event.time == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    assert event.data == PERSON | {"manager_id": None, "active": True, "locale": None, "time_zone": None, "department": None}


def test_an_event_made_by_new_event_reads_back_identically():
    created, body = new_event(PERSON_UPSERTED, PERSON, source="urn:test", new_id=lambda: "evt-9")

    assert decode(body) == created
    assert decode(body.decode()) == created


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b"{\"id\": ", b"[1, 2, 3]", b"\xff\xfe", b""],
    ids=["text", "truncated", "array", "not-utf8", "empty"],
)
def test_a_body_that_is_not_json_is_refused(body):
    with pytest.raises(EventDecodeError):
        decode(body)


@pytest.mark.parametrize("missing", ["id", "type", "source", "specversion"])
def test_json_missing_a_required_cloudevents_attribute_is_refused(missing):
    # Without this, a missing id would be replaced by a fresh random one on every delivery,
    # and the consumer's exactly-once bookkeeping could never recognise a redelivery.
    with pytest.raises(EventDecodeError):
        decode(cloud_event(**{missing: None}))


def test_an_unknown_event_type_is_refused_naming_it():
    with pytest.raises(EventDecodeError, match="skillstack.directory.person.cloned.v1"):
        decode(cloud_event(type="skillstack.directory.person.cloned.v1"))


@pytest.mark.parametrize("data", [["emp-1042"], "emp-1042", 42, None], ids=["list", "string", "number", "absent"])
def test_data_that_is_not_an_object_is_refused(data):
    with pytest.raises(EventValidationError) as refused:
        decode(cloud_event(data=data))

    assert "data" in refused.value.errors


@pytest.mark.parametrize(
    ("change", "field"),
    [({"email": "not-an-address"}, "email"), ({"name": ""}, "name"), ({"employee_id": None}, "employee_id")],
)
def test_data_failing_its_schema_is_refused_naming_the_field(change, field):
    data = {name: value for name, value in (PERSON | change).items() if value is not None}

    with pytest.raises(EventValidationError) as refused:
        decode(cloud_event(data=data))

    assert list(refused.value.errors) == [field]
    assert field in str(refused.value)


def test_a_tombstone_is_refused_as_unreadable():
    with pytest.raises(EventDecodeError):
        decode(None)


def test_fields_added_by_a_newer_producer_are_ignored():
    event = decode(cloud_event(data=PERSON | {"pronouns": "she/her", "cost_centre": "CC-12"}))

    assert "pronouns" not in event.data and "cost_centre" not in event.data
    assert event.data["name"] == "Ada Lovelace"
