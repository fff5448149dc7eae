"""The pathway designer's intranet pages as HR uses them, against real PostgreSQL."""

from html import unescape

import pytest

from shared.auth import HR_ADMIN
from tests.integration.helpers import rows
from tests.integration.pathways_support import hr_admin, seed_catalog
from tests.integration.test_pathways_pages import csrf_token, signed_in
from tests.support import unique

pytestmark = pytest.mark.infra


def hr(pathways):
    browser = signed_in(pathways, unique("hr"), roles=(HR_ADMIN,))
    return browser, csrf_token(browser.get("/designer/new").get_data(as_text=True))


def form(token: str, **fields) -> dict:
    return {"csrf_token": token, "name": "Data Analyst", "level_0_approval": "yes"} | fields


def pathway_rows(pathways, pathway_id: str) -> list[dict]:
    return rows(pathways, "SELECT * FROM pathways WHERE id = :id", id=pathway_id)


def test_hr_sees_the_pathways_with_their_levels_and_a_designer_link(pathways, team):
    browser, _ = hr(pathways)

    page = browser.get("/designer").get_data(as_text=True)

    assert "Data Analyst" in page and "Junior" in page and "All of: SQL Foundations, Python Foundations" in page
    assert f'href="/designer/{team.pathway_id}/edit"' in page and 'href="/designer"' in page


def test_the_designer_is_refused_to_everyone_but_hr_and_sends_the_anonymous_to_sign_in(pathways, team):
    browser = signed_in(pathways, unique("emp"))
    for path in ("/designer", "/designer/new", f"/designer/{team.pathway_id}/edit"):
        assert browser.get(path).status_code == 403, path
    assert 'href="/designer"' not in browser.get("/").get_data(as_text=True)
    response = pathways.test_client().get("/designer/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")


def test_a_pathway_defined_through_the_form_is_saved_as_the_api_saves_it(pathways):
    sql, python, viz = seed_catalog(pathways, "SQL Foundations", "Python Foundations", "Data Visualisation")
    browser, token = hr(pathways)
    pathway_id = unique("analyst")

    response = browser.post("/designer/new", data=form(
        token, id=pathway_id, level_0_name="Junior", level_0_all_of=[sql], level_0_n="1", level_0_group=[python, viz],
        level_2_name="Senior", level_2_all_of=[], level_2_soft="", level_2_months="6", level_2_n="1", level_2_group=[]))
    assert response.status_code == 422  # level 2's group is empty; nothing saved
    assert not pathway_rows(pathways, pathway_id)

    response = browser.post("/designer/new", data=form(
        token, id=pathway_id, level_0_name="Junior", level_0_all_of=[sql], level_0_n="1", level_0_group=[python, viz]))
    assert response.status_code == 302 and response.headers["Location"] == "/designer"
    assert f"({pathway_id}) is saved as version 1" in browser.get("/designer").get_data(as_text=True)
    saved = pathways.test_client().get(f"/api/pathways/{pathway_id}", headers=hr_admin()).get_json()
    assert saved["version"] == 1 and saved["levels"] == [{
        "number": 1, "name": "Junior", "credentials": [sql], "all_of": [sql], "n_of": [{"n": 1, "credentials": [python, viz]}],
        "min_months_at_previous_level": 0, "min_soft_skill_credentials": 0, "requires_approval": True}]


def test_a_retired_credential_or_a_group_too_small_is_shown_at_422_and_nothing_is_written(pathways):
    [sql] = seed_catalog(pathways, "SQL Foundations")
    [old] = seed_catalog(pathways, "Old SQL", retired=True)
    browser, token = hr(pathways)
    pathway_id = unique("analyst")

    response = browser.post("/designer/new", data=form(
        token, id=pathway_id, level_1_name="Junior", level_1_all_of=[old], level_1_n="3", level_1_group=[sql]))

    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert f"credential '{old}' is retired" in page and "needs 3 of a group of 1" in page
    assert 'id="level_1_all_of-error"' in page and 'id="levels-1-n_of-0-n-error"' in page  # next to the row's fields
    assert not pathway_rows(pathways, pathway_id)


def test_editing_through_the_form_makes_version_two(pathways, team):
    browser, token = hr(pathways)
    page = browser.get(f"/designer/{team.pathway_id}/edit").get_data(as_text=True)
    assert 'value="Junior"' in page and 'value="Associate"' in page

    response = browser.post(f"/designer/{team.pathway_id}/edit", data=form(
        token, level_0_name="Junior", level_0_all_of=team.level_one, level_1_name="Senior", level_1_all_of=team.level_two))

    assert response.status_code == 302
    assert "Data Analyst" in browser.get("/designer").get_data(as_text=True)
    saved = pathways.test_client().get(f"/api/pathways/{team.pathway_id}", headers=hr_admin()).get_json()
    assert saved["version"] == 2 and [level["name"] for level in saved["levels"]] == ["Junior", "Senior"]


def test_a_post_without_the_csrf_token_is_refused(pathways):
    browser, _ = hr(pathways)
    pathway_id = unique("analyst")

    response = browser.post("/designer/new", data={"id": pathway_id, "name": "Analyst", "level_0_name": "Junior"})

    assert response.status_code == 400 and not pathway_rows(pathways, pathway_id)


def test_a_name_with_markup_is_escaped(pathways):
    [sql] = seed_catalog(pathways, "SQL Foundations")
    browser, token = hr(pathways)

    response = browser.post("/designer/new", data=form(
        token, id=unique("xss"), name="<script>alert(1)</script>", level_0_name="Junior", level_0_all_of=[sql]))

    assert response.status_code == 302
    page = browser.get("/designer").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_pathway_the_form_cannot_show_whole_is_not_edited_through_it(pathways):
    credentials = seed_catalog(pathways, *(f"Skill {n}" for n in range(6)))
    pathway_id = unique("long-ladder")
    levels = [{"name": f"Level {n}", "credentials": [credential]} for n, credential in enumerate(credentials, start=1)]
    created = pathways.test_client().post("/api/pathways", json={"id": pathway_id, "name": "Long ladder", "levels": levels}, headers=hr_admin())
    assert created.status_code == 201, created.get_data(as_text=True)
    browser, token = hr(pathways)

    page = browser.get(f"/designer/{pathway_id}/edit")
    posted = browser.post(f"/designer/{pathway_id}/edit", data=form(token, level_0_name="Only one", level_0_all_of=credentials[:1]))

    assert page.status_code == 409 and "edit it through the API" in unescape(page.get_data(as_text=True))
    assert posted.status_code == 409
    saved = pathways.test_client().get(f"/api/pathways/{pathway_id}", headers=hr_admin()).get_json()
    assert saved["version"] == 1 and len(saved["levels"]) == 6
