"""The credential catalog against real PostgreSQL: rich definitions, versions, retirement and badge images."""

import json
import struct
import zlib
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from services.issuer.verification import schema_errors
from tests.integration.helpers import count, outbox_rows, problem, rows, table_counts
from tests.integration.test_issuer_api import complete, completion_data, credentials_of, define, definition, hr_admin
from tests.support import bearer, unique

pytestmark = pytest.mark.infra

DEFINED = "skillstack.issuer.credential.defined.v1"
CATALOG_TABLES = ("achievements", "achievement_versions", "outbox")
SQL_SKILL = {
    "framework": "ESCO",
    "url": "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d",
    "code": "ccd0a1d9-afda-43d9-b901-96344886e14d",
    "name": "SQL",
}
ANALYST_SKILL = {"framework": "O*NET", "url": "https://www.onetonline.org/link/summary/15-2051.00", "code": "15-2051.00", "name": "Data Scientists"}


def png(width: int = 64, height: int = 64, signature: bytes = b"\x89PNG\r\n\x1a\n") -> bytes:
    """A small valid PNG (a transparent square), or one with another signature."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (width * 4 + 1) * height)
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def upload(issuer, achievement_id: str, body: bytes, content_type: str, headers=None):
    return issuer.test_client().put(
        f"/api/achievements/{achievement_id}/image", data=body, content_type=content_type, headers=headers or hr_admin()
    )


def edit(issuer, achievement: dict, **changes):
    sent = {key: value for key, value in achievement.items() if key in EDITABLE} | changes
    return issuer.test_client().put(f"/api/achievements/{achievement['id']}", json=sent, headers=hr_admin())


EDITABLE = ("name", "description", "category", "assessment_id", "min_score", "validity_months", "criteria_narrative",
            "skills", "level", "issuing_unit", "prerequisites", "effort_hours", "colour")


def test_hr_defines_a_credential_with_skills_level_prerequisites_and_effort(issuer):
    basics = define(issuer, name="Data Literacy")
    sent = definition(
        criteria_narrative="Pass the SQL assessment and review a colleague's query.",
        skills=[SQL_SKILL, ANALYST_SKILL], level="Intermediate", issuing_unit="Data Academy",
        prerequisites=[basics["id"]], effort_hours=12.5, colour="#7a1f5c",
    )

    response = issuer.test_client().post("/api/achievements", json=sent, headers=hr_admin())

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["level"] == 2 and body["level_name"] == "Intermediate"
    assert body["skills"] == [SQL_SKILL, ANALYST_SKILL] and body["prerequisites"] == [basics["id"]]
    assert (body["effort_hours"], body["issuing_unit"], body["colour"]) == (12.5, "Data Academy", "#7a1f5c")
    assert body["image_path"] == f"/achievements/{sent['id']}/v1/image"
    [version] = rows(issuer, "SELECT * FROM achievement_versions WHERE achievement_id = :id", id=sent["id"])
    assert version["version"] == 1 and version["level"] == 2 and version["criteria_narrative"] == sent["criteria_narrative"]
    [announced] = outbox_rows(issuer, DEFINED, sent["id"])
    data = announced["payload"]["data"]
    assert (data["version"], data["level"], data["effort_hours"], data["retired"]) == (1, 2, 12.5, False)
    assert data["skills"] == [SQL_SKILL, ANALYST_SKILL] and data["prerequisites"] == [basics["id"]]


@pytest.mark.parametrize("case", ["unknown", "retired", "itself", "cycle"])
def test_a_bad_prerequisite_is_refused_naming_the_field_and_writes_nothing(issuer, case):
    other = define(issuer)
    own_id = unique("own")
    if case == "retired":
        assert issuer.test_client().post(f"/api/achievements/{other['id']}/retire", headers=hr_admin()).status_code == 200
    if case == "cycle":  # other already requires own_id: own_id cannot require other
        own = define(issuer, id=own_id)
        assert edit(issuer, other, prerequisites=[own["id"]]).status_code == 200
    prerequisite = {"unknown": unique("missing"), "retired": other["id"], "itself": own_id, "cycle": other["id"]}[case]
    before = table_counts(issuer, *CATALOG_TABLES)

    if case == "cycle":
        response = edit(issuer, own, prerequisites=[prerequisite])
    else:
        response = issuer.test_client().post(
            "/api/achievements", json=definition(id=own_id, prerequisites=[prerequisite]), headers=hr_admin()
        )

    body = problem(response, 422)
    assert list(body["errors"]) == ["prerequisites"]
    assert prerequisite in body["detail"] or case == "itself"
    assert table_counts(issuer, *CATALOG_TABLES) == before


def test_invalid_catalog_fields_say_which_are_wrong(issuer):
    sent = definition(level=9, colour="blue", skills=[{"framework": "Made-up", "url": "not a url"}], effort_hours=-1)

    body = problem(issuer.test_client().post("/api/achievements", json=sent, headers=hr_admin()), 422)

    assert set(body["errors"]) == {"level", "colour", "skills", "effort_hours"}


def test_an_edit_is_a_new_version_and_credentials_keep_the_version_they_were_issued_under(issuer):
    achievement = define(issuer, min_score=80)
    first = completion_data(achievement)
    complete(issuer, first, at=datetime(2027, 1, 2, tzinfo=UTC))

    response = edit(issuer, achievement, name="SQL Foundations II", min_score=70, skills=[SQL_SKILL], level=3,
                    criteria_narrative="Write a report query with a window function.")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["version"] == 2
    versions = rows(issuer, "SELECT version, name, min_score FROM achievement_versions WHERE achievement_id = :id ORDER BY version",
                    id=achievement["id"])
    assert versions == [{"version": 1, "name": "SQL Foundations", "min_score": 80.0},
                        {"version": 2, "name": "SQL Foundations II", "min_score": 70.0}]
    listed = issuer.test_client().get(f"/api/achievements/{achievement['id']}/versions", headers=bearer("issuer", unique("emp")))
    assert [version["version"] for version in listed.get_json()] == [1, 2]
    assert [event["payload"]["data"]["version"] for event in outbox_rows(issuer, DEFINED, achievement["id"])] == [1, 2]

    second = completion_data(achievement, score=72.0)
    complete(issuer, second, at=datetime(2027, 1, 3, tzinfo=UTC))

    [old] = credentials_of(issuer, first["employee_id"])
    [new] = credentials_of(issuer, second["employee_id"])
    old_document, new_document = json.loads(old["document"]), json.loads(new["document"])
    assert old["achievement_version"] == 1 and old_document["name"] == "SQL Foundations"
    assert old_document["credentialSubject"]["achievement"]["id"].endswith(f"/achievements/{achievement['id']}/v1")
    assert new["achievement_version"] == 2 and new_document["name"] == "SQL Foundations II"
    achievement_document = new_document["credentialSubject"]["achievement"]
    assert achievement_document["criteria"]["narrative"] == "Write a report query with a window function."
    assert achievement_document["image"] == {
        "id": f"http://127.0.0.1:8001/achievements/{achievement['id']}/v2/image", "type": "Image", "caption": "SQL Foundations II"}
    assert achievement_document["alignment"] == [{
        "type": ["Alignment"], "targetName": "SQL", "targetUrl": SQL_SKILL["url"], "targetCode": SQL_SKILL["code"],
        "targetFramework": "ESCO", "targetType": "ext:ESCOSkill"}]
    assert schema_errors(new_document) == []


def test_a_retired_credential_is_no_longer_issued_and_cannot_be_edited(issuer):
    achievement = define(issuer)
    client = issuer.test_client()

    response = client.post(f"/api/achievements/{achievement['id']}/retire", headers=hr_admin())

    assert response.status_code == 200 and response.get_json()["retired"] is True
    [_, retired] = outbox_rows(issuer, DEFINED, achievement["id"])
    assert retired["payload"]["data"]["retired"] is True and retired["payload"]["data"]["version"] == 1
    data = completion_data(achievement, score=100.0)
    complete(issuer, data, at=datetime(2027, 2, 1, tzinfo=UTC))
    assert credentials_of(issuer, data["employee_id"]) == []
    problem(client.post(f"/api/achievements/{achievement['id']}/retire", headers=hr_admin()), 409)
    problem(edit(issuer, achievement, name="Revived"), 409)


def test_the_generated_badge_is_well_formed_svg_with_the_name_as_text(issuer):
    achievement = define(issuer, name="<script>alert('x')</script> & SQL", level=4, colour="#f5d000")

    response = issuer.test_client().get(f"/achievements/{achievement['id']}/v1/image")

    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    svg = ElementTree.fromstring(response.data)
    namespace = "{http://www.w3.org/2000/svg}"
    assert svg.tag == f"{namespace}svg" and svg.find(f"{namespace}script") is None
    assert svg.find(f"{namespace}title").text.startswith("<script>alert('x')</script> & SQL")
    assert b"<script>" not in response.data and b"&lt;script&gt;" in response.data
    assert "Level 4" in "".join(svg.itertext())
    assert issuer.test_client().get(f"/achievements/{achievement['id']}/v1/image").data == response.data  # deterministic
    assert issuer.test_client().get(f"/achievements/{achievement['id']}/v2/image").status_code == 404


@pytest.mark.parametrize("content_type", ["image/png", "image/svg+xml"])
def test_a_valid_uploaded_image_becomes_a_new_version_and_is_served(issuer, content_type):
    achievement = define(issuer)
    body = png() if content_type == "image/png" else (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
        b'viewBox="0 0 8 8" inkscape:version="1.3"><title>SQL</title><defs><linearGradient id="g"/></defs>'
        b'<circle cx="4" cy="4" r="4" fill="url(#g)"/></svg>'
    )

    response = upload(issuer, achievement["id"], body, content_type)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["version"] == 2
    served = issuer.test_client().get(f"/achievements/{achievement['id']}/v2/image")
    assert served.status_code == 200 and served.mimetype == content_type
    if content_type == "image/png":
        assert served.data == body
    else:
        assert b"inkscape" not in served.data and b'fill="url(#g)"' in served.data
        ElementTree.fromstring(served.data)
    assert issuer.test_client().get(f"/achievements/{achievement['id']}/v1/image").mimetype == "image/svg+xml"
    kept = edit(issuer, achievement, name="SQL Foundations (2027)")
    assert kept.get_json()["version"] == 3
    assert issuer.test_client().get(f"/achievements/{achievement['id']}/v3/image").data == served.data


REFUSED_IMAGES = {
    "svg with a script": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 422, "script"),
    "svg with onload": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 422, "onload"),
    "svg with an external href": (
        "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><use href="https://evil.example/a.svg#x"/></svg>', 422, "evil.example"),
    "svg with foreignObject": (
        "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>', 422, "foreignObject"),
    "unparseable svg": ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'", 422, "well-formed"),
    "png with wrong magic bytes": ("image/png", png(signature=b"GIF89a\0\0"), 422, "PNG signature"),
    "png too many pixels": ("image/png", png(width=4096, height=16), 422, "4096"),
    "1 MiB body": ("image/png", png() + b"\0" * (1024 * 1024 - len(png())), 413, "256 KiB"),
    "not an image type": ("image/gif", b"GIF89a", 415, "image/png"),
}


@pytest.mark.parametrize("case", REFUSED_IMAGES)
def test_an_unsafe_or_invalid_image_is_refused_saying_why_and_writes_nothing(issuer, case):
    content_type, body, status, reason = REFUSED_IMAGES[case]
    achievement = define(issuer)
    before = table_counts(issuer, *CATALOG_TABLES)

    response = upload(issuer, achievement["id"], body, content_type)

    refusal = problem(response, status)
    assert reason in refusal["detail"] + json.dumps(refusal.get("errors"))
    assert table_counts(issuer, *CATALOG_TABLES) == before
    assert rows(issuer, "SELECT version, image_media_type FROM achievements WHERE id = :id", id=achievement["id"]) == [
        {"version": 1, "image_media_type": None}
    ]


def test_only_hr_changes_the_catalog(issuer):
    achievement = define(issuer)
    employee = bearer("issuer", unique("emp"))
    client = issuer.test_client()
    before = table_counts(issuer, *CATALOG_TABLES)

    responses = [
        client.put(f"/api/achievements/{achievement['id']}", json=definition(), headers=employee),
        client.post(f"/api/achievements/{achievement['id']}/retire", headers=employee),
        upload(issuer, achievement["id"], png(), "image/png", headers=employee),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403]
    assert table_counts(issuer, *CATALOG_TABLES) == before
    assert count(issuer, "achievement_versions", "achievement_id = :id", id=achievement["id"]) == 1
