"""The credential catalog's intranet pages as HR uses them, against real PostgreSQL."""

import base64
import io
import re
from html import unescape

import pytest

from shared.auth import ASSESSOR, HR_ADMIN
from tests.integration.helpers import outbox_rows, rows, table_counts
from tests.integration.test_issuer_api import define
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import unique

pytestmark = pytest.mark.infra

DEFINED = "skillstack.issuer.credential.defined.v1"
CATALOG_TABLES = ("achievements", "achievement_versions", "outbox")
SCRIPTED_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><script>alert(1)</script><circle r="4"/></svg>'


def hr(issuer):
    """A browser signed in as an HR admin, and the CSRF token of its session."""
    browser = signed_in(issuer, unique("hr"), "Grace Hopper", roles=(HR_ADMIN,))
    return browser, csrf_token(browser.get("/catalog/new").get_data(as_text=True))


def form(token: str, **fields) -> dict:
    """A valid definition form of a percent-threshold credential, with a skill row and changes."""
    return {
        "csrf_token": token, "id": unique("sql-pages"), "name": "SQL Foundations", "description": "Joins and window functions.",
        "criteria_narrative": "Pass the SQL assessment.", "category": "technical", "level": "Intermediate",
        "issuing_unit": "Data Academy", "validity_months": "24", "effort_hours": "12.5", "colour": "#7a1f5c",
        "assessment_id": unique("sql-101"), "threshold": "percent", "min_score": "80", "rubric_levels": "", "min_rubric_level": "",
        "skill_framework": ["ESCO", ""], "skill_url": ["https://esco.example/skill/sql", ""], "skill_code": ["sql", ""],
        "skill_name": ["SQL", ""], "action": "save",
    } | fields


def preview_svg(page: str) -> str:
    """The SVG document of the page's badge preview (a data: URI)."""
    return base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)).decode()


def test_hr_sees_the_catalog_with_each_credential_and_a_link_to_edit_it(issuer):
    achievement = define(issuer, name="Data Literacy", level=2, validity_months=18)
    browser, _ = hr(issuer)

    page = browser.get("/catalog").get_data(as_text=True)

    assert "Data Literacy" in page and "2 · Intermediate" in page and "18 months" in page
    assert f'src="/achievements/{achievement["id"]}/v1/image"' in page
    assert f'href="/catalog/{achievement["id"]}/edit"' in page


@pytest.mark.parametrize("roles", [(), (ASSESSOR,)])
def test_the_catalog_pages_are_refused_to_everyone_but_hr(issuer, roles):
    achievement = define(issuer)
    browser = signed_in(issuer, unique("emp"), roles=roles)

    for path in ("/catalog", "/catalog/new", f"/catalog/{achievement['id']}/edit"):
        response = browser.get(path)
        assert response.status_code == 403, path
        assert "hr-admin" in response.get_data(as_text=True)


def test_an_anonymous_visitor_is_sent_to_sign_in(issuer):
    response = issuer.test_client().get("/catalog/new")

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/catalog/new"


def test_hr_defines_a_credential_through_the_form_as_version_1_and_it_is_announced(issuer):
    prerequisite = define(issuer)
    browser, token = hr(issuer)
    sent = form(token, prerequisites=[prerequisite["id"]])

    response = browser.post("/catalog/new", data=sent)

    assert response.status_code == 302 and response.headers["Location"] == "/catalog"
    [stored] = rows(issuer, "SELECT * FROM achievements WHERE id = :id", id=sent["id"])
    assert (stored["version"], stored["level"], stored["effort_hours"], stored["colour"]) == (1, 2, 12.5, "#7a1f5c")
    assert stored["prerequisites"] == [prerequisite["id"]] and stored["min_score"] == 80
    assert stored["skills"] == [{"framework": "ESCO", "url": "https://esco.example/skill/sql", "code": "sql", "name": "SQL"}]
    [announced] = outbox_rows(issuer, DEFINED, sent["id"])
    assert announced["payload"]["data"]["version"] == 1
    assert "is in the catalog as version 1" in browser.get("/catalog").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "Name", "Missing data for required field."),
        ({"prerequisites": ["no-such-credential"]}, "Prerequisites", "no credential &#39;no-such-credential&#39;"),
        ({"threshold": "rubric", "min_score": "", "min_rubric_level": "Expert"}, "Rubric levels",
         "a rubric threshold needs at least two levels, lowest first"),
    ],
    ids=["missing-name", "unknown-prerequisite", "rubric-without-levels"],
)
def test_an_invalid_form_is_shown_again_with_the_reasons_and_writes_nothing(issuer, changes, field, message):
    browser, token = hr(issuer)
    before = table_counts(issuer, *CATALOG_TABLES)

    response = browser.post("/catalog/new", data=form(token, **changes))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The credential was not saved" in page and f"{field}: {message}" in page
    assert 'aria-invalid="true"' in page
    assert 'value="Joins and window functions.' not in page  # a textarea keeps it as text
    assert "Joins and window functions." in page  # what was typed is kept
    assert table_counts(issuer, *CATALOG_TABLES) == before


def test_the_preview_button_draws_the_badge_and_saves_nothing(issuer):
    browser, token = hr(issuer)
    before = table_counts(issuer, *CATALOG_TABLES)

    default = preview_svg(browser.get("/catalog/new").get_data(as_text=True))
    response = browser.post("/catalog/new", data=form(token, name="Cloud Basics", colour="#ffee00", action="preview"))

    assert response.status_code == 200
    drawn = preview_svg(response.get_data(as_text=True))
    assert "Credential name" in default and 'fill="#1f5f8b"' in default
    assert "Cloud Basics" in drawn and 'fill="#ffee00"' in drawn and "Level 2" in drawn
    assert table_counts(issuer, *CATALOG_TABLES) == before


def test_a_name_with_markup_is_escaped_in_the_catalog_and_the_preview(issuer):
    name = "<script>alert(1)</script> SQL"
    achievement = define(issuer, name=name)
    browser, token = hr(issuer)

    listing = browser.get("/catalog").get_data(as_text=True)
    preview = browser.post("/catalog/new", data=form(token, name=name, action="preview")).get_data(as_text=True)
    edit_page = browser.get(f"/catalog/{achievement['id']}/edit").get_data(as_text=True)

    for page in (listing, preview, edit_page):
        assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; SQL" in page
    svg = preview_svg(preview)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_editing_through_the_form_creates_version_2(issuer):
    achievement = define(issuer, name="Data Literacy", min_score=70)
    browser, token = hr(issuer)

    page = browser.get(f"/catalog/{achievement['id']}/edit").get_data(as_text=True)
    assert 'value="Data Literacy"' in page and 'name="min_score" type="number" value="70"' in page
    sent = form(token, name="Data Literacy II", assessment_id=achievement["assessment_id"])
    del sent["id"]
    response = browser.post(f"/catalog/{achievement['id']}/edit", data=sent)

    assert response.status_code == 302, response.get_data(as_text=True)
    [stored] = rows(issuer, "SELECT name, version, min_score FROM achievements WHERE id = :id", id=achievement["id"])
    assert stored == {"name": "Data Literacy II", "version": 2, "min_score": 80}
    assert [row["payload"]["data"]["version"] for row in outbox_rows(issuer, DEFINED, achievement["id"])] == [1, 2]
    assert "Data Literacy II is now at version 2." in browser.get("/catalog").get_data(as_text=True)


def test_retiring_needs_the_confirmation_and_then_retires(issuer):
    achievement = define(issuer)
    browser, token = hr(issuer)
    path = f"/catalog/{achievement['id']}/retire"

    unconfirmed = browser.post(path, data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "tick the box to confirm" in unconfirmed.get_data(as_text=True)
    assert rows(issuer, "SELECT retired FROM achievements WHERE id = :id", id=achievement["id"]) == [{"retired": False}]

    response = browser.post(path, data={"csrf_token": token, "confirm": "yes"})

    assert response.status_code == 302
    assert rows(issuer, "SELECT retired FROM achievements WHERE id = :id", id=achievement["id"]) == [{"retired": True}]
    assert outbox_rows(issuer, DEFINED, achievement["id"])[-1]["payload"]["data"]["retired"] is True
    assert "Retired" in browser.get("/catalog").get_data(as_text=True)


def test_an_uploaded_svg_becomes_a_new_version_and_one_with_a_script_is_refused_with_the_reason(issuer):
    achievement = define(issuer)
    browser, token = hr(issuer)
    path = f"/catalog/{achievement['id']}/image"
    before = table_counts(issuer, *CATALOG_TABLES)

    refused = browser.post(path, data={"csrf_token": token, "image": (io.BytesIO(SCRIPTED_SVG), "badge.svg", "image/svg+xml")})

    assert refused.status_code == 422
    assert "The image was not saved" in unescape(refused.get_data(as_text=True))
    assert "&lt;script&gt; is not allowed in a badge image" in refused.get_data(as_text=True)
    assert table_counts(issuer, *CATALOG_TABLES) == before

    clean = SCRIPTED_SVG.replace(b"<script>alert(1)</script>", b"")
    accepted = browser.post(path, data={"csrf_token": token, "image": (io.BytesIO(clean), "badge.svg", "image/svg+xml")})
    assert accepted.status_code == 302
    [stored] = rows(issuer, "SELECT version, image_media_type FROM achievements WHERE id = :id", id=achievement["id"])
    assert stored == {"version": 2, "image_media_type": "image/svg+xml"}
    assert b"<circle" in issuer.test_client().get(f"/achievements/{achievement['id']}/v2/image").data


def test_a_form_post_without_a_csrf_token_is_refused_and_writes_nothing(issuer):
    achievement = define(issuer)
    browser, token = hr(issuer)
    before = table_counts(issuer, *CATALOG_TABLES)

    posts = [("/catalog/new", form(token)), (f"/catalog/{achievement['id']}/edit", form(token)),
             (f"/catalog/{achievement['id']}/retire", {"confirm": "yes"}),
             (f"/catalog/{achievement['id']}/image", {"image": (io.BytesIO(SCRIPTED_SVG), "badge.svg")})]
    for path, data in posts:
        data = {key: value for key, value in data.items() if key != "csrf_token"}
        response = browser.post(path, data=data)
        assert response.status_code == 400, path
        assert "CSRF" in response.get_data(as_text=True)
    assert table_counts(issuer, *CATALOG_TABLES) == before
