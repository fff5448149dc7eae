"""Expiry announcements against real PostgreSQL: once per credential, through the outbox, in batches.

The issuer's database is shared with the other tests of the session, so each test issues its
credentials in an era of its own, centuries ahead, where no other test's credentials fall due.
"""

import json
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.issuer.expiry import ExpiryScheduler, announce_expiries
from services.issuer.issuance import add_months
from services.issuer.revocation import revoke
from shared.auth import HR_ADMIN
from shared.db import Database
from shared.events import decode
from tests.integration.helpers import handle, issuer_handlers, outbox_rows, rows
from tests.support import bearer, unique, wait_for

pytestmark = pytest.mark.infra

COMPLETED = "skillstack.academy.assessment.completed.v1"
EXPIRING = "skillstack.issuer.credential.expiring.v1"
EXPIRED = "skillstack.issuer.credential.expired.v1"
SOURCE = "/skillstack/issuer"


@pytest.fixture
def era() -> datetime:
    """A moment of this test's own, centuries ahead, at which it issues its credentials."""
    return datetime(2300, 1, 1, 9, tzinfo=UTC) + timedelta(days=random.randrange(200 * 365), minutes=random.randrange(1440))


def define(issuer, validity_months: int | None = 12) -> dict:
    """HR defines a credential through the API."""
    definition = {
        "id": unique("sql-foundations"),
        "name": "SQL Foundations",
        "description": "Writes correct joins, aggregates and window functions.",
        "assessment_id": unique("sql-101"),
        "min_score": 80,
        "validity_months": validity_months,
    }
    response = issuer.test_client().post("/api/achievements", json=definition, headers=bearer("issuer", unique("hr"), roles=(HR_ADMIN,)))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def issue(issuer, achievement: dict, *, at: datetime, employee_id: str | None = None) -> dict:
    """Issue a credential by handling a passing completion with the issuer's handler, its clock at `at`."""
    employee_id = employee_id or unique("emp")
    data = {
        "attempt_id": unique("attempt"),
        "employee_id": employee_id,
        "email": "ada@example.com",
        "assessment_id": achievement["assessment_id"],
        "score": 90.0,
        "completed_at": at,
        "source": "lms",
    }
    handle(issuer, issuer_handlers(issuer, at), COMPLETED, data)
    return rows(issuer, "SELECT * FROM credentials WHERE attempt_id = :a", a=data["attempt_id"])[0]


def announce(issuer, *, at: datetime, notice_days: int = 30, batch_size: int = 100) -> int:
    """One run of the announcement in one of the issuer's transactions, its clock at `at`."""
    with issuer.extensions["database"].transaction() as session:
        return announce_expiries(session, now=at, notice_days=notice_days, source=SOURCE, batch_size=batch_size)


def scheduler(database: Database, at: datetime, **options) -> ExpiryScheduler:
    """The worker's loop, its clock stopped at `at`."""
    return ExpiryScheduler(database, lambda: at, notice_days=30, source=SOURCE, interval_seconds=0.05, **options)


def announced(issuer, *employee_ids: str) -> list[tuple[str, str]]:
    """The expiry events in the issuer's outbox for employees: (kind, credential id), oldest first."""
    found = [row for event_type in (EXPIRING, EXPIRED) for employee_id in employee_ids for row in outbox_rows(issuer, event_type, employee_id)]
    return [(row["type"].split(".")[-2], row["payload"]["data"]["credential_id"]) for row in sorted(found, key=lambda row: row["id"])]


def issue_several(issuer, count: int, *, at: datetime) -> list[dict]:
    """Credentials for `count` employees, issued a minute apart (one employee holds one valid credential)."""
    achievement = define(issuer)
    return [issue(issuer, achievement, at=at + timedelta(minutes=n)) for n in range(count)]


def marks(issuer, credential_id: str) -> tuple[datetime | None, datetime | None]:
    [row] = rows(issuer, "SELECT expiring_announced_at, expired_announced_at FROM credentials WHERE id = :id", id=credential_id)
    return row["expiring_announced_at"], row["expired_announced_at"]


def test_a_credential_is_announced_expiring_30_days_before_and_expired_after_once_each(issuer, era):
    credential = issue(issuer, define(issuer, validity_months=12), at=era)
    employee, valid_until = credential["employee_id"], credential["valid_until"]
    assert valid_until == add_months(era, 12)

    announce(issuer, at=valid_until - timedelta(days=30, seconds=1))
    assert announced(issuer, employee) == []

    announce(issuer, at=valid_until - timedelta(days=30))
    announce(issuer, at=valid_until - timedelta(days=1))
    assert announced(issuer, employee) == [("expiring", credential["id"])]
    assert marks(issuer, credential["id"]) == (valid_until - timedelta(days=30), None)

    announce(issuer, at=valid_until)
    assert announced(issuer, employee) == [("expiring", credential["id"]), ("expired", credential["id"])]
    assert marks(issuer, credential["id"]) == (valid_until - timedelta(days=30), valid_until)


def test_running_again_after_a_restart_publishes_nothing_more(issuer, era):
    credential = issue(issuer, define(issuer), at=era)
    employee, valid_until = credential["employee_id"], credential["valid_until"]
    database = issuer.extensions["database"]
    scheduler(database, valid_until - timedelta(days=10)).announce_due()
    scheduler(database, valid_until + timedelta(days=1)).announce_due()

    # A new worker process: a new scheduler on a new engine, later still.
    restarted = Database(issuer.config["DATABASE_URL"])
    try:
        scheduler(restarted, valid_until + timedelta(days=1)).announce_due()
        scheduler(restarted, valid_until + timedelta(days=400)).announce_due()
    finally:
        restarted.dispose()

    assert announced(issuer, employee) == [("expiring", credential["id"]), ("expired", credential["id"])]


def test_the_events_carry_the_catalog_data_on_the_credentials_topic(issuer, era):
    achievement = define(issuer)
    credential = issue(issuer, achievement, at=era)
    valid_until = credential["valid_until"]
    announce(issuer, at=valid_until - timedelta(days=30))
    announce(issuer, at=valid_until + timedelta(hours=1))

    for event_type, at in ((EXPIRING, valid_until - timedelta(days=30)), (EXPIRED, valid_until + timedelta(hours=1))):
        [row] = outbox_rows(issuer, event_type, credential["employee_id"])
        assert row["topic"] == "issuer.credentials"
        event = decode(json.dumps(row["payload"]))  # validated against the catalog schema
        assert event.id == row["event_id"]
        assert (event.type, event.source, event.subject, event.time) == (event_type, SOURCE, credential["employee_id"], at)
        assert event.data == {
            "credential_id": credential["id"],
            "employee_id": credential["employee_id"],
            "achievement_id": achievement["id"],
            "achievement_name": "SQL Foundations",
            "valid_until": valid_until,
        }


def test_a_revoked_credential_is_never_announced(issuer, era):
    credential = issue(issuer, define(issuer), at=era)
    with issuer.extensions["database"].transaction() as session:
        revoke(session, credential["id"], reason="Exam irregularity.", now=era + timedelta(days=1), source=SOURCE)

    announce(issuer, at=credential["valid_until"] - timedelta(days=30))
    announce(issuer, at=credential["valid_until"] + timedelta(days=1))

    assert announced(issuer, credential["employee_id"]) == []
    assert marks(issuer, credential["id"]) == (None, None)


def test_a_credential_without_validity_is_never_announced(issuer, era):
    credential = issue(issuer, define(issuer, validity_months=None), at=era)
    assert credential["valid_until"] is None

    announce(issuer, at=era + timedelta(days=365 * 500))

    assert announced(issuer, credential["employee_id"]) == []
    assert marks(issuer, credential["id"]) == (None, None)


def test_the_notice_period_is_configurable(issuer, era):
    credential = issue(issuer, define(issuer), at=era)
    valid_until = credential["valid_until"]

    announce(issuer, at=valid_until - timedelta(days=30), notice_days=7)
    assert announced(issuer, credential["employee_id"]) == []

    announce(issuer, at=valid_until - timedelta(days=7), notice_days=7)
    assert announced(issuer, credential["employee_id"]) == [("expiring", credential["id"])]


def test_a_credential_found_already_expired_is_announced_expired_only(issuer, era):
    credential = issue(issuer, define(issuer), at=era)
    valid_until = credential["valid_until"]

    # The worker was down through the whole notice period.
    announce(issuer, at=valid_until + timedelta(days=3))
    announce(issuer, at=valid_until + timedelta(days=4))

    assert announced(issuer, credential["employee_id"]) == [("expired", credential["id"])]
    assert marks(issuer, credential["id"]) == (None, valid_until + timedelta(days=3))


def test_a_recertified_credential_is_announced_on_its_own(issuer, era):
    achievement = define(issuer, validity_months=1)
    first = issue(issuer, achievement, at=era)
    employee = first["employee_id"]
    announce(issuer, at=first["valid_until"] - timedelta(days=30))
    announce(issuer, at=first["valid_until"])

    # The employee passes again after expiry and is re-issued the credential.
    second = issue(issuer, achievement, at=first["valid_until"] + timedelta(days=2), employee_id=employee)
    announce(issuer, at=second["valid_until"] - timedelta(days=30))
    announce(issuer, at=second["valid_until"] + timedelta(days=1))

    assert second["id"] != first["id"]
    assert announced(issuer, employee) == [
        ("expiring", first["id"]), ("expired", first["id"]), ("expiring", second["id"]), ("expired", second["id"])
    ]


def test_a_run_announces_at_most_a_batch_and_the_next_run_the_rest(issuer, era):
    credentials = issue_several(issuer, 5, at=era)
    employees = [credential["employee_id"] for credential in credentials]
    # Other tests' credentials due before ours are announced first, so only ours are left to count.
    last_second_before = credentials[0]["valid_until"] - timedelta(days=30, seconds=1)
    scheduler(issuer.extensions["database"], last_second_before).announce_due()
    due = credentials[-1]["valid_until"] - timedelta(days=30)

    assert [announce(issuer, at=due, batch_size=2) for _ in range(4)] == [2, 2, 1, 0]
    assert sorted(announced(issuer, *employees)) == sorted(("expiring", credential["id"]) for credential in credentials)
    # Earliest expiry first.
    assert [credential_id for _, credential_id in announced(issuer, *employees)] == [c["id"] for c in credentials]


def test_the_scheduler_catches_up_batch_after_batch(issuer, era):
    credentials = issue_several(issuer, 5, at=era)
    employees = [credential["employee_id"] for credential in credentials]

    scheduler(issuer.extensions["database"], credentials[-1]["valid_until"], batch_size=2).announce_due()

    assert sorted(announced(issuer, *employees)) == sorted(("expired", credential["id"]) for credential in credentials)


def test_two_workers_never_announce_the_same_credential(issuer, era):
    credentials = issue_several(issuer, 3, at=era)
    employees = [credential["employee_id"] for credential in credentials]
    database = issuer.extensions["database"]
    scheduler(database, credentials[0]["valid_until"] - timedelta(days=30, seconds=1)).announce_due()
    due = credentials[-1]["valid_until"] - timedelta(days=30)

    with database.transaction() as first:
        assert announce_expiries(first, now=due, notice_days=30, source=SOURCE, batch_size=100) == 3
        # While the first worker's transaction holds the rows, a second one skips them instead of waiting.
        with database.transaction() as second:
            second.execute(text("SET LOCAL lock_timeout = '5s'"))
            assert announce_expiries(second, now=due, notice_days=30, source=SOURCE, batch_size=100) == 0
    assert announce(issuer, at=due) == 0

    assert sorted(announced(issuer, *employees)) == sorted(("expiring", credential["id"]) for credential in credentials)


def test_the_loop_survives_database_errors_and_announces_once_the_database_is_back(issuer, era):
    credential = issue(issuer, define(issuer), at=era)
    unreachable = Database(issuer.config["DATABASE_URL"].rsplit("/", 1)[0] + "/" + unique("missing_database"))
    loop = scheduler(unreachable, credential["valid_until"])
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        threading.Event().wait(0.3)  # several failed rounds
        assert thread.is_alive()
        assert announced(issuer, credential["employee_id"]) == []

        loop.database = issuer.extensions["database"]  # the database comes back

        wait_for(lambda: announced(issuer, credential["employee_id"]), timeout=10, message="the expiry announcement")
    finally:
        stop.set()
        thread.join(timeout=10)
        unreachable.dispose()
    assert not thread.is_alive()
    assert announced(issuer, credential["employee_id"]) == [("expired", credential["id"])]
