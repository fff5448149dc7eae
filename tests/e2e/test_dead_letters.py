"""Poison messages land on the dead-letter topic, and the events behind them are still handled."""

import json

from tests.e2e.scenario import Academy
from tests.support import completion_record, produce, read_topic, unique, wait_for


def test_poison_messages_are_dead_lettered_and_the_consumer_moves_on(platform):
    academy = Academy(platform)
    employee = academy.employee
    academy.define_catalog()
    marker = unique("poison")
    key = employee.employee_id.encode()
    valid_key, valid_body, valid_headers = completion_record(academy.completion(employee, academy.sql, 95))
    wrong_schema = json.loads(valid_body)
    wrong_schema["id"], wrong_schema["data"]["score"], wrong_schema["data"]["marker"] = unique("e"), "high", marker
    unknown_type = json.loads(valid_body)
    unknown_type["id"], unknown_type["type"], unknown_type["data"]["marker"] = unique("e"), "skillstack.academy.assessment.graded.v9", marker
    produce(
        platform.kafka_bootstrap,
        "academy.assessments",
        [
            (key, f"not json {marker}".encode(), []),
            (key, json.dumps(wrong_schema).encode(), []),
            (key, json.dumps(unknown_type).encode(), []),
            (valid_key, valid_body, valid_headers),  # same key, same partition: behind the poison
        ],
    )

    def credentials():
        response = platform.get(
            "issuer", f"/api/credentials?employee_id={employee.employee_id}", headers=academy.as_person("issuer", employee)
        )
        return response.json()

    assert [c["achievement_id"] for c in wait_for(credentials, timeout=30, message="the valid event issued")] == [academy.sql]

    def dead_letters():
        records = [r for r in read_topic(platform.kafka_bootstrap, "academy.assessments.dlq") if marker.encode() in (r.value or b"")]
        return records if len(records) == 3 else None

    records = wait_for(dead_letters, timeout=30, message="three dead letters")
    errors = {dict(r.headers)["dlq.error.class"].decode(): dict(r.headers)["dlq.error"].decode() for r in records}
    assert set(errors) == {"EventDecodeError", "EventValidationError"}
    assert "score" in errors["EventValidationError"]
    for record in records:
        headers = dict(record.headers)
        assert headers["dlq.source.topic"] == b"academy.assessments"
        assert headers["dlq.consumer.group"] == b"issuer"
        assert record.key == key
    assert any(b"not json" in r.value for r in records)
    assert any("unknown event type" in dict(r.headers)["dlq.error"].decode() for r in records)
