"""Logs are JSON lines an aggregator can index: who wrote them, for which request or event."""

import json
import logging

import pytest

from shared.health import CachedProbe
from shared.logs import configure_logging, log_context
from shared.observability import request_id_from
from tests.unit.test_consumer import PERSON_UPSERTED, TOPIC, Worker, person_upserted, record


@pytest.fixture
def json_logs(capsys):
    """This process logging JSON lines as the issuer; the lines written so far, parsed."""
    configure_logging("issuer", "json", "INFO")
    yield lambda: [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    configure_logging("issuer", "text", "INFO")


def test_a_line_has_time_level_logger_message_service_and_the_context(json_logs):
    with log_context(request_id="req-1234abcd"):
        logging.getLogger("services.issuer.api").warning("credential %s revoked", "cred-1", extra={"reason": "fraud"})
    logging.getLogger("services.issuer.api").info("outside the request")

    first, second = json_logs()
    assert first["message"] == "credential cred-1 revoked"
    assert (first["level"], first["logger"], first["service"]) == ("WARNING", "services.issuer.api", "issuer")
    assert first["request_id"] == "req-1234abcd" and first["reason"] == "fraud"
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert "request_id" not in second


def test_while_an_event_is_handled_its_lines_name_the_event_topic_and_type(database, json_logs):
    def handler(session, event):
        logging.getLogger("services.notifications.handlers").info("welcoming %s", event.data["employee_id"])

    Worker(database, handler).run(record(person_upserted("evt-42")))

    [line] = [line for line in json_logs() if line["message"] == "welcoming emp-1042"]
    assert (line["event_id"], line["event_type"], line["topic"]) == ("evt-42", PERSON_UPSERTED, TOPIC)


def test_the_text_format_stays_readable_for_the_local_run(capsys):
    configure_logging("pathways", "text", "INFO")
    logging.getLogger("shared.worker").info("pathways worker: consuming issuer.credentials")

    assert "INFO shared.worker [pathways]: pathways worker: consuming issuer.credentials" in capsys.readouterr().err


@pytest.mark.parametrize("header", ["3f2b9c1e-8d4a-4b7e-9c2d-1a2b3c4d5e6f", "00-4bf92f3577b34da6a3ce929d0e0e4736", "req.2027:01_ab"])
def test_a_well_formed_request_id_from_the_gateway_is_kept(header):
    assert request_id_from(header) == header


@pytest.mark.parametrize("header", [None, "", "short", "has spaces in it", 'quote"injection', "x" * 200, "line\nbreak-12345"])
def test_anything_else_gets_a_new_request_id(header):
    generated = request_id_from(header)
    assert generated != header and len(generated) == 32


def test_a_readiness_check_is_reused_for_its_time_to_live():
    calls, now = [], [0.0]

    def broker_down():
        calls.append(now[0])
        raise ConnectionRefusedError("127.0.0.1:9092")

    probe = CachedProbe(broker_down, ttl=5, clock=lambda: now[0])
    assert probe() == "ConnectionRefusedError"  # the class only: the message may name hosts
    now[0] = 4.9
    assert probe() == "ConnectionRefusedError"
    now[0] = 5.0
    probe()
    assert calls == [0.0, 5.0]
