"""A credential that a level someone holds depends on ends: pathways asks for recertification, once.

Against real PostgreSQL, and for delivery and replay the real broker: the event reaches
`pathways.advancements`, a redelivered credential event adds nothing, and a rebuild of the
projections announces nothing again.
"""

import json

import pytest

from services.pathways.design import define_pathway
from services.pathways.handlers import build_handlers
from services.pathways.models import CatalogEntry, Person
from services.pathways.replay import rebuild_projections
from shared.bus.kafka import make_producer
from shared.bus.relay import OutboxRelay
from shared.events import new_event
from shared.events.envelope import encode
from tests.integration.helpers import handle, outbox_rows, rows
from tests.integration.pathways_support import CLOCK, Team, as_person, earn, hr_admin, requests_of, seed_catalog
from tests.integration.test_pathways_request_lifecycle import EXPIRED, REVOKED, credential_ended
from tests.integration.test_replay import (  # noqa: F401 - fresh_database is a fixture
    SOURCE,
    credential,
    defined,
    fresh_database,
    issued,
    process_incrementally,
    publish,
    start_at_the_end,
)
from tests.integration.test_replay import rows as database_rows
from tests.support import produce, read_topic, unique, wait_for

pytestmark = pytest.mark.infra

RECERTIFICATION_NEEDED = "skillstack.pathways.recertification.needed.v1"


def attain_level_one(pathways, team: Team) -> dict[str, str]:
    """The employee earns level one's credentials and their manager approves; the credential of each achievement."""
    credentials = {achievement_id: earn(pathways, team.employee, achievement_id) for achievement_id in team.level_one}
    [request] = requests_of(pathways, team.employee)
    approve = f"/api/advancement-requests/{request['id']}/approve"
    assert pathways.test_client().post(approve, json={}, headers=as_person(team.manager)).status_code == 200
    return credentials


def attained_levels(pathways, employee: str) -> list[int]:
    attained = rows(pathways, "SELECT level FROM level_attainments WHERE employee_id = :e ORDER BY level", e=employee)
    return [row["level"] for row in attained]


def needs(pathways, employee: str) -> list[dict]:
    """The recertification needs announced for an employee, oldest first."""
    return [row["payload"]["data"] for row in outbox_rows(pathways, RECERTIFICATION_NEEDED, employee)]


@pytest.mark.parametrize("event_type, cause", [(EXPIRED, "expired"), (REVOKED, "revoked")], ids=["expired", "revoked"])
def test_a_credential_of_an_attained_level_ending_asks_for_recertification(pathways, team, event_type, cause):
    credentials = attain_level_one(pathways, team)
    sql = team.level_one[0]

    credential_ended(pathways, event_type, team.employee, credentials[sql], sql)

    [announced] = outbox_rows(pathways, RECERTIFICATION_NEEDED, team.employee)
    assert (announced["topic"], announced["key"]) == ("pathways.advancements", team.employee)
    assert announced["payload"]["data"] == {
        "employee_id": team.employee, "manager_id": team.manager, "pathway_id": team.pathway_id, "pathway_name": "Data Analyst",
        "level": 1, "level_name": "Junior", "credential_id": credentials[sql], "achievement_id": sql, "achievement_name": "SQL",
        "cause": cause,
    }
    assert attained_levels(pathways, team.employee) == [1]  # the level stays attained


def test_it_is_announced_once_per_credential_and_level_however_often_the_credential_ends(pathways, team):
    credentials = attain_level_one(pathways, team)
    sql = team.level_one[0]
    credential_ended(pathways, EXPIRED, team.employee, credentials[sql], sql)

    credential_ended(pathways, EXPIRED, team.employee, credentials[sql], sql)  # the issuer says so again, as a new event
    credential_ended(pathways, REVOKED, team.employee, credentials[sql], sql)  # HR revokes it after it expired

    assert [(need["credential_id"], need["level"], need["cause"]) for need in needs(pathways, team.employee)] == [
        (credentials[sql], 1, "expired")
    ]
    python = team.level_one[1]

    credential_ended(pathways, EXPIRED, team.employee, credentials[python], python)  # another credential: its own need

    assert [need["achievement_id"] for need in needs(pathways, team.employee)] == [sql, python]


def test_no_recertification_is_asked_for_a_level_not_attained_or_not_naming_the_credential(pathways, team):
    credentials = {achievement_id: earn(pathways, team.employee, achievement_id) for achievement_id in team.level_one}
    [statistics] = seed_catalog(pathways, "Statistics")
    unrelated = earn(pathways, team.employee, statistics)
    sql = team.level_one[0]

    credential_ended(pathways, EXPIRED, team.employee, unrelated, statistics)
    credential_ended(pathways, REVOKED, team.employee, credentials[sql], sql)  # level one requested, not attained

    assert needs(pathways, team.employee) == []
    assert requests_of(pathways, team.employee)[0]["status"] == "closed"


def test_an_early_recertification_leaves_nothing_to_ask_for(pathways, team):
    credentials = attain_level_one(pathways, team)
    sql = team.level_one[0]
    earn(pathways, team.employee, sql)  # recertified before the old credential ended

    credential_ended(pathways, EXPIRED, team.employee, credentials[sql], sql)

    assert needs(pathways, team.employee) == []


def test_only_the_version_the_employee_is_enrolled_on_counts(pathways, team):
    credentials = attain_level_one(pathways, team)
    sql, python = team.level_one
    [statistics] = seed_catalog(pathways, "Statistics")
    statistics_credential = earn(pathways, team.employee, statistics)
    harder_junior = [{"name": "Junior", "all_of": [sql, python, statistics]}, {"name": "Associate", "all_of": team.level_two}]
    edited = pathways.test_client().put(f"/api/pathways/{team.pathway_id}", json={"name": "Data Analyst", "levels": harder_junior},
                                        headers=hr_admin())
    assert edited.status_code == 200, edited.get_data(as_text=True)

    credential_ended(pathways, EXPIRED, team.employee, statistics_credential, statistics)  # only version 2 names it
    credential_ended(pathways, EXPIRED, team.employee, credentials[python], python)  # version 1 does

    assert [need["achievement_id"] for need in needs(pathways, team.employee)] == [python]


def test_handlers_keeping_only_the_projections_as_a_replay_does_announce_nothing(pathways, team):
    credentials = attain_level_one(pathways, team)
    sql = team.level_one[0]
    data = {"credential_id": credentials[sql], "employee_id": team.employee, "achievement_id": sql, "achievement_name": "SQL",
            "valid_until": CLOCK}

    handle(pathways, build_handlers(source=SOURCE, clock=lambda: CLOCK, progress=False), EXPIRED, data)

    assert needs(pathways, team.employee) == []
    [held] = rows(pathways, "SELECT status FROM held_credentials WHERE credential_id = :c", c=credentials[sql])
    assert held["status"] == "expired"


# --- through the broker: delivery, redelivery and a rebuild -------------------------------------------


def test_the_need_reaches_the_topic_once_despite_redelivery_and_a_rebuild_does_not_announce_it_again(kafka_bootstrap, fresh_database):
    database = fresh_database()
    group = unique("pathways-recertification-test")
    start_at_the_end(kafka_bootstrap, group)
    sql, employee, manager = unique("sql-foundations"), unique("emp"), unique("mgr")
    with database.transaction() as session:  # the catalog as the worker will project it, a person, a pathway HR defined
        session.add(CatalogEntry(achievement_id=sql, version=1, name="SQL Foundations", category="technical"))
        session.add(Person(employee_id=employee, email=f"{employee}@example.com", name="Ada", manager_id=manager, updated_at=CLOCK))
        junior = {"name": "Junior", "all_of": [sql], "requires_approval": False}
        define_pathway(session, {"id": unique("data-analyst"), "name": "Data Analyst", "levels": [junior]}, now=CLOCK)
    held = unique("credential")
    publish(kafka_bootstrap, "issuer.catalog", [defined(sql, 1, "SQL Foundations")])
    publish(kafka_bootstrap, "issuer.credentials", [issued(held, employee, sql)])
    _event, ended = new_event(*credential(EXPIRED, held, employee, sql, valid_until=CLOCK), source="/skillstack/issuer")
    key, headers = encode(ended)
    produce(kafka_bootstrap, "issuer.credentials", [(key, ended, headers)] * 2)  # the same event, delivered twice
    process_incrementally(kafka_bootstrap, database, group)
    [attained] = database_rows(database, "SELECT level FROM level_attainments WHERE employee_id = :e", e=employee)
    assert attained["level"] == 1

    relay(database, kafka_bootstrap)
    [record] = wait_for(lambda: needs_on_topic(kafka_bootstrap, employee), timeout=20, message="the recertification need on the topic")

    body = json.loads(record.value)
    assert (body["type"], body["subject"]) == (RECERTIFICATION_NEEDED, employee)
    assert (body["data"]["credential_id"], body["data"]["manager_id"], body["data"]["cause"]) == (held, manager, "expired")
    outbox_before = database_rows(database, "SELECT * FROM outbox ORDER BY id")
    assert [row["type"] for row in outbox_before] == [RECERTIFICATION_NEEDED]

    rebuild_projections(database, kafka_bootstrap, source=SOURCE, clock=lambda: CLOCK)

    assert database_rows(database, "SELECT * FROM outbox ORDER BY id") == outbox_before
    assert database_rows(database, "SELECT status FROM held_credentials WHERE credential_id = :c", c=held) == [{"status": "expired"}]


def relay(database, bootstrap: str) -> None:
    """Publish a database's outbox to Kafka, as the pathways relay does."""
    producer = make_producer(bootstrap, unique("recertification-relay"))
    try:
        outbox = OutboxRelay(database, producer)
        wait_for(lambda: outbox.relay_once() == 0, timeout=20, message="the outbox to be relayed")
    finally:
        producer.close(timeout=5)


def needs_on_topic(bootstrap: str, employee: str) -> list:
    """The recertification needs for an employee on `pathways.advancements`."""
    return [
        record for record in read_topic(bootstrap, "pathways.advancements")
        if record.key == employee.encode() and dict(record.headers).get("ce_type") == RECERTIFICATION_NEEDED.encode()
    ]
