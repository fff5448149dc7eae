"""The public reads (verification, the credential page) run on read-only, autocommit connections:
one round trip per query, writes refused by PostgreSQL, a revocation seen at once by every process,
and a dropped connection costing at most one failed request."""

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from services.issuer.app import create_app
from services.issuer.models import Credential
from tests.conftest import service_config
from tests.integration.test_issuer_api import hr_admin
from tests.integration.test_openbadges import failed, issue

pytestmark = pytest.mark.infra


@pytest.fixture
def other_process(service_databases, kafka_bootstrap):
    """A second issuer app on the same database: its own engines and pools, as another gunicorn worker has."""
    app = create_app(service_config("issuer", service_databases["issuer"], kafka_bootstrap))
    yield app
    app.extensions["database"].dispose()


def statements_on(engine) -> list[str]:
    """The SQL statements sent on `engine` from now on (the list grows as they run)."""
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _conn, _cursor, statement, *_: sent.append(statement))
    return sent


def test_a_read_session_refuses_to_write(issuer):
    credential = issue(issuer, at=datetime.now(UTC))

    with pytest.raises(DBAPIError) as refused:
        with issuer.extensions["database"].read() as session:
            session.execute(text("UPDATE credentials SET public = true WHERE id = :id"), {"id": credential["id"]})

    assert isinstance(refused.value.orig, psycopg.errors.ReadOnlySqlTransaction)
    with issuer.extensions["database"].read() as session:
        assert session.get(Credential, credential["id"]).public is False


def test_a_read_session_is_in_autocommit_so_a_query_is_one_round_trip(issuer):
    with issuer.extensions["database"].read() as session:
        session.execute(text("SELECT 1"))
        connection = session.connection().connection.driver_connection
        assert connection.autocommit is True
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # no BEGIN was sent


def test_verify_and_the_page_each_send_one_query_and_nothing_on_the_write_pool(issuer):
    credential = issue(issuer, at=datetime.now(UTC))
    database = issuer.extensions["database"]
    reads, writes = statements_on(database.read_engine), statements_on(database.engine)
    client = issuer.test_client()

    assert client.post("/verify", json={"credential": credential["jwt"]}).get_json()["valid"] is True
    assert len(reads) == 1
    assert client.get(f"/credentials/{credential['id']}").status_code == 200
    assert len(reads) == 2  # credential, achievement and holder in one query; revocation read from that row
    assert writes == []


def test_a_revocation_in_one_process_is_seen_by_verify_and_the_page_of_another_at_once(issuer, other_process):
    credential = issue(issuer, at=datetime.now(UTC))
    elsewhere = other_process.test_client()
    assert elsewhere.post("/verify", json={"credential": credential["jwt"]}).get_json()["valid"] is True  # its pool is warm

    revoked = issuer.test_client().post(f"/api/credentials/{credential['id']}/revoke", json={"reason": "Exam irregularity"}, headers=hr_admin())

    assert revoked.status_code == 200, revoked.get_data(as_text=True)
    report = elsewhere.post("/verify", json={"credential": credential["jwt"]}).get_json()
    assert report["valid"] is False and "Exam irregularity" in failed(report)["status"]
    page = elsewhere.get(f"/credentials/{credential['id']}").get_data(as_text=True)
    assert "Not valid" in page and "Exam irregularity" in page


def test_connections_the_server_dropped_cost_at_most_one_failed_verification_per_process(issuer, other_process):
    credential = issue(issuer, at=datetime.now(UTC))
    client = other_process.test_client()
    database = other_process.extensions["database"]

    def verification() -> int | str:
        try:
            return client.post("/verify", json={"credential": credential["jwt"]}).status_code
        except DBAPIError as error:  # TESTING propagates what would be a 500
            return error.__class__.__name__

    assert verification() == 200  # the read pool's connection is open
    with database.read() as session, database.transaction() as writing:
        backends = [session.execute(text("SELECT pg_backend_pid()")).scalar_one(), writing.execute(text("SELECT pg_backend_pid()")).scalar_one()]
    with issuer.extensions["database"].transaction() as session:  # what a server restart does to those connections
        session.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"), {"pids": backends})

    answers = [verification() for _ in range(5)]

    assert answers[1:] == [200] * 4, answers  # at most the first fails: the pool then drops every older connection
    with database.transaction() as session:  # the write pool pings before use: no failure there
        assert session.execute(text("SELECT 1")).scalar_one() == 1
