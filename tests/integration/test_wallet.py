"""The employee's wallet: status of each credential, and sharing that only its holder controls."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.helpers import problem
from tests.integration.test_issuer_api import complete, completion_data, credentials_of, define, hr_admin
from tests.support import bearer

pytestmark = pytest.mark.infra


def test_the_wallet_shows_each_credential_with_its_status_and_share_links(issuer):
    holder = None
    for validity, at in ((24, datetime.now(UTC)), (1, datetime(2025, 1, 1, tzinfo=UTC)), (24, datetime.now(UTC))):
        achievement = define(issuer, validity_months=validity)
        data = completion_data(achievement, **({"employee_id": holder} if holder else {}))
        holder = data["employee_id"]
        complete(issuer, data, at=at)
    valid, expired, revoked = credentials_of(issuer, holder)[1], credentials_of(issuer, holder)[0], credentials_of(issuer, holder)[2]
    issuer.test_client().post(f"/api/credentials/{revoked['id']}/revoke", json={"reason": "Issued in error"}, headers=hr_admin())

    wallet = issuer.test_client().get("/api/credentials", query_string={"employee_id": holder}, headers=bearer("issuer", holder)).get_json()

    statuses = {entry["id"]: entry["status"] for entry in wallet}
    assert statuses == {valid["id"]: "valid", expired["id"]: "expired", revoked["id"]: "revoked"}
    entry = next(entry for entry in wallet if entry["id"] == valid["id"])
    assert entry["share_url"] == f"http://127.0.0.1:8001/credentials/{valid['id']}"
    linkedin = parse_qs(urlsplit(entry["linkedin_url"]).query)
    assert (linkedin["certUrl"], linkedin["name"], linkedin["organizationName"]) == ([entry["share_url"]], [entry["achievement_name"]], ["Skillstack Academy"])
    assert entry["public"] is False


def test_only_the_holder_shares_a_credential(issuer):
    achievement = define(issuer)
    data = completion_data(achievement)
    complete(issuer, data, at=datetime.now(UTC))
    [credential] = credentials_of(issuer, data["employee_id"])
    path = f"/api/credentials/{credential['id']}/sharing"
    client = issuer.test_client()

    assert client.put(path, json={"public": True}, headers=hr_admin()).status_code == 403
    assert client.put(path, json={"public": True}, headers=bearer("issuer", "someone-else")).status_code == 403
    problem(client.put(path, json={"public": "yes please"}, headers=bearer("issuer", data["employee_id"])), 422)
    assert credentials_of(issuer, data["employee_id"])[0]["public"] is False

    shared = client.put(path, json={"public": True}, headers=bearer("issuer", data["employee_id"]))

    assert shared.status_code == 200 and shared.get_json()["public"] is True
    assert credentials_of(issuer, data["employee_id"])[0]["public"] is True
    problem(client.put("/api/credentials/no-such-credential/sharing", json={"public": True}, headers=bearer("issuer", data["employee_id"])), 404)
