"""Nothing lost, nothing doubled: redelivery, duplicates and crashed workers."""

import time
from collections import Counter

from sqlalchemy import create_engine, text

from tests.e2e.scenario import Academy
from tests.support import completion_record, consumer_lag, produce, unique, wait_for

WORKER_TOPICS = {
    "issuer": ["academy.assessments", "directory.people"],
    "pathways": ["issuer.catalog", "issuer.credentials"],
    "notifications": ["directory.people", "issuer.credentials", "pathways.advancements"],
}


def count(database_url: str, sql: str, **params) -> int:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        value = connection.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def caught_up(platform) -> bool:
    return all(consumer_lag(platform.kafka_bootstrap, group, topics) == 0 for group, topics in WORKER_TOPICS.items())


def test_a_completion_delivered_twice_issues_one_credential_and_one_request(platform, service_databases):
    academy = Academy(platform)
    employee = academy.employee
    academy.define_catalog()
    academy.define_pathway()
    academy.import_org_chart()

    # The LMS retries its POST: the second answer is "duplicate", and only one event is published.
    sql = academy.completion(employee, academy.sql, 90)
    assert academy.post_completion(sql).json()["status"] == "accepted"
    assert academy.post_completion(sql).json()["status"] == "duplicate"
    # An LMS on Kafka delivers one event twice, and the same attempt again under a new event id.
    python = academy.completion(employee, academy.python, 80)
    event_id = unique("event")
    produce(platform.kafka_bootstrap, "academy.assessments", [completion_record(python, event_id=event_id)] * 2)
    produce(platform.kafka_bootstrap, "academy.assessments", [completion_record(python)])
    # A last completion on the same key travels behind the duplicates: once it is issued, they were handled.
    assert academy.post_completion(academy.completion(employee, academy.viz, 99)).status_code == 202

    wait_for(lambda: len(platform.mail.to(employee.email)) >= 3, timeout=30, message="three credential emails")
    wait_for(lambda: caught_up(platform), timeout=30, message="consumers to catch up")
    issuer_db, pathways_db = service_databases["issuer"], service_databases["pathways"]
    assert count(issuer_db, "SELECT count(*) FROM credentials WHERE employee_id = :e", e=employee.employee_id) == 3
    assert count(pathways_db, "SELECT count(*) FROM advancement_requests WHERE employee_id = :e", e=employee.employee_id) == 1
    assert sorted(m["Subject"] for m in platform.mail.to(employee.email)) == [
        'You earned "Data Visualisation"', 'You earned "Python Foundations"', 'You earned "SQL Foundations"'
    ]
    assert len(academy.inbox(employee)) == 3


def test_workers_killed_mid_batch_lose_nothing_and_double_nothing(platform, service_databases):
    employees = 60
    academy = Academy(platform, employees=employees)
    academy.define_catalog()
    academy.define_pathway()
    academy.import_org_chart()
    wait_for(
        lambda: count(service_databases["notifications"], "SELECT count(*) FROM recipients WHERE manager_id = :m", m=academy.manager.employee_id) == employees,
        timeout=30, message="the directory to reach notifications",
    )
    records = [
        completion_record(academy.completion(person, achievement_id, 90))
        for person in academy.employees
        for achievement_id in (academy.sql, academy.python)
    ]
    produce(platform.kafka_bootstrap, "academy.assessments", records)

    tag = academy.manager.employee_id.split("mgr-")[1]
    issuer_db, pathways_db, notifications_db = (service_databases[s] for s in ("issuer", "pathways", "notifications"))
    issued = lambda: count(issuer_db, "SELECT count(*) FROM credentials WHERE employee_id LIKE :p", p=f"%{tag}")
    requested = lambda: count(pathways_db, "SELECT count(*) FROM advancement_requests WHERE manager_id = :m", m=academy.manager.employee_id)
    kills = Counter()
    for service, progress in (("issuer", issued), ("pathways", requested), ("notifications", lambda: len(platform.mail.to(academy.manager.email)))):
        wait_for(lambda: progress() > 0, timeout=60, interval=0.02, message=f"{service} to start working")
        platform.workers[service].kill()
        kills[service] += 1
        time.sleep(0.5)  # the crashed worker stays down a moment, as in a real restart
        platform.workers[service].start()

    expected_items = employees * 2 + employees * 2 + employees  # earned (employee), earned (manager), review
    expected_emails = employees * 2 + employees  # the manager's news of earned credentials waits for their digest
    wait_for(lambda: issued() == employees * 2, timeout=120, message="every credential")
    wait_for(lambda: requested() == employees, timeout=120, message="every advancement request")
    wait_for(lambda: sum(len(platform.mail.to(p.email)) for p in academy.employees) >= employees * 2, timeout=120, message="employee emails")
    wait_for(lambda: len(platform.mail.to(academy.manager.email)) >= employees, timeout=120, message="manager emails")
    wait_for(lambda: caught_up(platform), timeout=60, message="consumers to catch up")

    assert issued() == employees * 2
    assert count(issuer_db, "SELECT count(DISTINCT (employee_id, achievement_id)) FROM credentials WHERE employee_id LIKE :p", p=f"%{tag}") == employees * 2
    assert requested() == employees
    assert count(pathways_db, "SELECT count(DISTINCT employee_id) FROM advancement_requests WHERE manager_id = :m", m=academy.manager.employee_id) == employees
    inbox_items = count(notifications_db, "SELECT count(*) FROM inbox_items WHERE recipient_id LIKE :p", p=f"%{tag}")
    assert inbox_items == expected_items
    emails = [m for p in (*academy.employees, academy.manager) for m in platform.mail.to(p.email)]
    message_ids = Counter(m["Message-ID"] for m in emails)
    assert len(message_ids) == expected_emails  # every notification arrived
    # SMTP has no idempotency: a kill between the server's 250 and our record of it may resend one
    # message, recognisable by its Message-ID. At most one per kill of the notifications worker.
    resent = sum(n - 1 for n in message_ids.values())
    print(f"emails: {len(emails)} received, {expected_emails} distinct, {resent} resent after {kills['notifications']} kill(s)")
    assert resent <= kills["notifications"]
