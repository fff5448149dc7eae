"""The wallet page and the public credential page: an employee sees and shares their credentials,
and the public page names the holder only when they shared it."""

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from services.issuer.handlers import TOPICS
from tests.integration.helpers import handle, issuer_handlers, rows
from tests.integration.test_issuer_api import complete, completion_data, credentials_of, define, hr_admin
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import unique

pytestmark = pytest.mark.infra
PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"


def join_directory(issuer, employee_id: str, name: str, *, active: bool = True) -> None:
    """The directory announces a person; the issuer worker's handler projects them."""
    data = {"employee_id": employee_id, "email": f"{employee_id}@example.com", "name": name, "manager_id": None, "active": active}
    handle(issuer, issuer_handlers(issuer, datetime.now(UTC)), PERSON_UPSERTED, data)


def earn(issuer, employee_id: str | None = None, *, validity_months: int = 24, at: datetime | None = None) -> dict:
    """The employee passes a new credential's assessment; return the stored credential row."""
    achievement = define(issuer, validity_months=validity_months)
    data = completion_data(achievement, employee_id=employee_id or unique("emp"))
    complete(issuer, data, at=at or datetime.now(UTC))
    return next(row for row in credentials_of(issuer, data["employee_id"]) if row["achievement_id"] == achievement["id"])


def public_of(issuer, credential_id: str) -> bool:
    [row] = rows(issuer, "SELECT public FROM credentials WHERE id = :id", id=credential_id)
    return row["public"]


def meta(page: str, prop: str) -> str:
    """The content of an OpenGraph tag of a page."""
    return html.unescape(re.search(rf'<meta property="{prop}" content="([^"]*)">', page).group(1))


def share_from_wallet(issuer, employee_id: str, credential_id: str, public: bool):
    """The holder opens their wallet and presses the share (or stop sharing) button."""
    browser = signed_in(issuer, employee_id)
    page = browser.get("/wallet").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "public": "true" if public else "false"}
    return browser, browser.post(f"/wallet/{credential_id}/sharing", data=data)


# --- the people projection --------------------------------------------------------------


def test_the_issuer_worker_keeps_the_people_the_directory_announces(issuer):
    employee = unique("ada")
    assert "directory.people" in TOPICS

    join_directory(issuer, employee, "Ada Byron")
    join_directory(issuer, employee, "Ada Lovelace", active=False)  # renamed, then left

    assert rows(issuer, "SELECT employee_id, name, email, active FROM people WHERE employee_id = :e", e=employee) == [
        {"employee_id": employee, "name": "Ada Lovelace", "email": f"{employee}@example.com", "active": False}
    ]


# --- the public page --------------------------------------------------------------------


def test_the_public_page_names_the_holder_only_while_they_share_the_credential(issuer):
    credential = earn(issuer)
    join_directory(issuer, credential["employee_id"], "Ada Lovelace")
    client = issuer.test_client()

    private = client.get(f"/credentials/{credential['id']}").get_data(as_text=True)
    assert "Ada Lovelace" not in private
    assert "Held by a verified employee of Skillstack Academy." in private
    assert "linkedin.com" not in private and "verification-link" not in private

    _, response = share_from_wallet(issuer, credential["employee_id"], credential["id"], True)
    assert response.status_code == 302
    shared = client.get(f"/credentials/{credential['id']}").get_data(as_text=True)
    assert "Held by <strong>Ada Lovelace</strong>." in shared and "verified employee" not in shared
    linkedin = re.search(r'<a href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', shared).group(1)
    query = parse_qs(urlsplit(html.unescape(linkedin)).query)
    page_url = f"http://127.0.0.1:8001/credentials/{credential['id']}"
    assert (query["certUrl"], query["certId"], query["organizationName"]) == ([page_url], [credential["id"]], ["Skillstack Academy"])
    assert f'id="verification-link" value="{page_url}"' in shared

    share_from_wallet(issuer, credential["employee_id"], credential["id"], False)
    again_private = client.get(f"/credentials/{credential['id']}").get_data(as_text=True)
    assert "Ada Lovelace" not in again_private and "Held by a verified employee of Skillstack Academy." in again_private


def test_the_public_page_keeps_its_open_graph_tags_and_shows_the_badge_image(issuer):
    credential = earn(issuer)
    client = issuer.test_client()

    page = client.get(f"/credentials/{credential['id']}").get_data(as_text=True)

    assert meta(page, "og:title") == "SQL Foundations: a verified credential"
    assert meta(page, "og:url") == f"http://localhost/credentials/{credential['id']}"
    image = meta(page, "og:image")
    assert image == f"http://localhost/achievements/{credential['achievement_id']}/v{credential['achievement_version']}/image"
    served = client.get(urlsplit(image).path)
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"


def test_a_shared_credential_of_someone_the_directory_has_not_announced_names_no_one(issuer):
    credential = earn(issuer)
    share_from_wallet(issuer, credential["employee_id"], credential["id"], True)

    page = issuer.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)

    assert public_of(issuer, credential["id"]) is True
    assert "Held by a verified employee of Skillstack Academy." in page
    assert "linkedin.com/profile/add" in page  # shared all the same


def test_the_holders_name_is_escaped_on_the_public_page(issuer):
    credential = earn(issuer)
    join_directory(issuer, credential["employee_id"], "<script>alert(1)</script>")
    share_from_wallet(issuer, credential["employee_id"], credential["id"], True)

    page = issuer.test_client().get(f"/credentials/{credential['id']}").get_data(as_text=True)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


# --- the wallet page --------------------------------------------------------------------


def test_the_wallet_lists_only_the_signed_in_persons_credentials_with_their_status(issuer):
    valid = earn(issuer, validity_months=24)
    holder = valid["employee_id"]
    expired = earn(issuer, holder, validity_months=1, at=datetime(2025, 1, 1, tzinfo=UTC))
    revoked = earn(issuer, holder, validity_months=24)
    lasting = earn(issuer, holder, validity_months=None)
    issuer.test_client().post(f"/api/credentials/{revoked['id']}/revoke", json={"reason": "Issued in error"}, headers=hr_admin())
    someone_elses = earn(issuer)

    page = signed_in(issuer, holder).get("/wallet").get_data(as_text=True)

    def section(credential: dict) -> str:
        return re.search(rf'<section class="card credential" id="credential-{credential["id"]}".*?</section>', page, re.S).group(0)

    expires = valid["valid_until"].astimezone(UTC)  # as the page shows it
    assert f'<strong>Valid</strong>, expires on <time datetime="{expires.date().isoformat()}">{expires.strftime("%d %b %Y")}</time>' in section(valid)
    assert "<strong>Valid</strong>, does not expire" in section(lasting)
    assert '<strong>Expired</strong> on <time datetime="2025-02-01">01 Feb 2025</time>' in section(expired)
    assert "<strong>Revoked</strong> on" in section(revoked) and "Issued in error" in section(revoked)
    assert "Share SQL Foundations publicly" not in section(revoked)  # nothing to show off
    assert someone_elses["id"] not in page
    entry = section(valid)
    image = f'/achievements/{valid["achievement_id"]}/v{valid["achievement_version"]}/image'
    assert f'src="{image}"' in entry
    for download in (".json", ".jwt", "/badge.png", "/badge.svg"):
        assert f'href="/credentials/{valid["id"]}{download}"' in entry
    assert "Not shared" in entry and "linkedin.com" not in entry


def test_a_new_employee_is_told_how_to_earn_a_first_credential(issuer):
    page = signed_in(issuer, unique("new-hire")).get("/wallet").get_data(as_text=True)

    assert "No credentials yet" in page and "pass its assessment" in page


def test_an_anonymous_visitor_is_sent_to_sign_in_and_brought_back_to_the_wallet(issuer):
    response = issuer.test_client().get("/wallet")

    assert response.status_code == 302 and response.headers["Location"] == "/auth/login?next=/wallet"


def test_the_holder_shares_a_credential_from_the_wallet_and_stops_sharing_it(issuer):
    credential = earn(issuer)

    browser, response = share_from_wallet(issuer, credential["employee_id"], credential["id"], True)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/wallet#credential-{credential['id']}"
    assert public_of(issuer, credential["id"]) is True
    page = browser.get("/wallet").get_data(as_text=True)
    assert "Shared: anyone with the link sees your name" in page
    assert "Add to your LinkedIn profile" in page and f'href="/credentials/{credential["id"]}"' in page

    _, response = share_from_wallet(issuer, credential["employee_id"], credential["id"], False)

    assert response.status_code == 302 and public_of(issuer, credential["id"]) is False


def test_no_one_but_the_holder_shares_a_credential(issuer):
    credential = earn(issuer)
    someone = signed_in(issuer, unique("grace"))
    token = csrf_token(someone.get("/wallet").get_data(as_text=True))

    response = someone.post(f"/wallet/{credential['id']}/sharing", data={"csrf_token": token, "public": "true"})

    assert response.status_code == 403
    assert "only the credential's holder can share it" in html.unescape(response.get_data(as_text=True))
    assert public_of(issuer, credential["id"]) is False


def test_a_sharing_form_without_a_valid_csrf_token_is_refused_and_changes_nothing(issuer):
    credential = earn(issuer)
    browser = signed_in(issuer, credential["employee_id"])
    browser.get("/wallet")

    for form in ({"public": "true"}, {"public": "true", "csrf_token": "forged"}):
        response = browser.post(f"/wallet/{credential['id']}/sharing", data=form)
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
    assert public_of(issuer, credential["id"]) is False


def test_a_sharing_form_with_neither_choice_is_refused(issuer):
    credential = earn(issuer)
    browser = signed_in(issuer, credential["employee_id"])
    token = csrf_token(browser.get("/wallet").get_data(as_text=True))

    response = browser.post(f"/wallet/{credential['id']}/sharing", data={"csrf_token": token, "public": "maybe"})

    assert response.status_code == 422 and public_of(issuer, credential["id"]) is False
