"""Golden path step 8: a credential nears its date, then passes it; the employee is told once, and the
pathway shows the need to recertify. Through the real issuer worker, Kafka, pathways and SMTP."""

from datetime import UTC, datetime, timedelta

from babel.dates import format_date
from sqlalchemy import create_engine, text

from tests.e2e.scenario import Academy
from tests.support import wait_for

EXPIRED = "skillstack.issuer.credential.expired.v1"


def query(database_url: str, sql: str, **params) -> list:
    """Rows of a SQL statement on a service's database (committed at once)."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def move_valid_until(issuer_db: str, employee_id: str, achievement_id: str, valid_until: datetime) -> None:
    """Test set-up: the worker issues at the current time, so rather than wait months, move the date."""
    query(
        issuer_db,
        "UPDATE credentials SET valid_until = :v WHERE employee_id = :e AND achievement_id = :a",
        v=valid_until, e=employee_id, a=achievement_id,
    )


def test_expiry_is_announced_once_per_credential_across_a_worker_restart(platform, service_databases):
    academy = Academy(platform)
    employee = academy.employee
    academy.define_catalog()
    academy.define_pathway()
    academy.import_org_chart()
    for achievement_id in (academy.sql, academy.python):
        assert academy.post_completion(academy.completion(employee, achievement_id, 95)).status_code == 202
    wait_for(lambda: academy.open_requests(academy.manager), timeout=30, message="level 1 complete")
    wait_for(lambda: len(platform.mail.to(employee.email)) == 2, timeout=30, message="two 'you earned' emails")
    issuer_db, pathways_db = service_databases["issuer"], service_databases["pathways"]

    def subjects() -> list[str]:
        return sorted(message["Subject"] for message in platform.mail.to(employee.email) if "You earned" not in message["Subject"])

    def held(achievement_id: str) -> str:
        [(status,)] = query(
            pathways_db, "SELECT status FROM held_credentials WHERE employee_id = :e AND achievement_id = :a",
            e=employee.employee_id, a=achievement_id,
        )
        return status

    def level_one_missing() -> list[str]:
        response = platform.get(
            "pathways", f"/api/people/{employee.employee_id}/progress", headers=academy.as_person("pathways", employee)
        )
        assert response.status_code == 200, response.text
        return response.json()[0]["levels"][0]["missing"]

    # SQL Foundations passed its date a day ago; Python Foundations is ten days from it.
    now = datetime.now(UTC)
    move_valid_until(issuer_db, employee.employee_id, academy.sql, now - timedelta(days=1))
    python_until = now + timedelta(days=10)
    move_valid_until(issuer_db, employee.employee_id, academy.python, python_until)

    wait_for(lambda: len(subjects()) == 2, timeout=30, message="the expired and expiring emails")
    assert subjects() == [
        'Your credential "Python Foundations" expires on ' + format_date(python_until, "long", locale="en"),
        'Your credential "SQL Foundations" has expired',
    ]
    wait_for(lambda: held(academy.sql) == "expired", timeout=30, message="pathways to see the expiry")
    assert held(academy.python) == "valid"
    assert level_one_missing() == [academy.sql]  # the pathway shows the need to recertify

    # The issuer worker restarts; then Python Foundations passes its date too. Once the restarted
    # worker has announced that, it has looked at SQL Foundations again and must have left it alone.
    assert platform.workers["issuer"].stop() == 0
    platform.workers["issuer"].start()
    move_valid_until(issuer_db, employee.employee_id, academy.python, datetime.now(UTC) - timedelta(minutes=1))

    wait_for(lambda: len(subjects()) == 3, timeout=60, message="the second expired email")
    wait_for(lambda: held(academy.python) == "expired", timeout=30, message="pathways to see the second expiry")
    assert subjects() == [
        'Your credential "Python Foundations" expires on ' + format_date(python_until, "long", locale="en"),
        'Your credential "Python Foundations" has expired',
        'Your credential "SQL Foundations" has expired',
    ]
    assert sorted(level_one_missing()) == sorted([academy.sql, academy.python])
    expired_events = query(
        issuer_db, "SELECT key FROM outbox WHERE type = :t AND key = :e", t=EXPIRED, e=employee.employee_id
    )
    assert len(expired_events) == 2  # one per credential
    assert sorted(item["kind"] for item in academy.inbox(employee)) == [
        "credential-expired", "credential-expired", "credential-expiring", "credential-issued", "credential-issued"
    ]
