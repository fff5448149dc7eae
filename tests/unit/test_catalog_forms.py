"""The catalog page's form read into the API's definition, and an achievement written back into the form."""

from types import SimpleNamespace

from werkzeug.datastructures import MultiDict

from services.issuer.catalog_forms import form_of, label, load, preview_svg, rows_to_show, submitted_definition
from services.issuer.schemas import AchievementInput

SKILL = {"framework": "ESCO", "url": "https://esco.example/skill/sql", "code": "sql", "name": "SQL"}


def posted(**fields) -> MultiDict:
    base = {"name": "SQL Foundations", "description": "Joins.", "assessment_id": "sql-101", "min_score": "80",
            "skill_framework": ["ESCO", ""], "skill_url": [SKILL["url"], ""], "skill_code": ["sql", ""], "skill_name": ["SQL", ""]}
    return MultiDict(base | fields)


def test_blank_fields_are_left_out_so_the_schema_defaults_apply_and_blank_skill_rows_are_dropped():
    definition, errors, _ = load(AchievementInput(), posted(level="", issuing_unit="  ", colour=""))

    assert errors == {}
    assert (definition["level"], definition["issuing_unit"], definition["colour"]) == (None, None, "#1f5f8b")
    assert definition["skills"] == [SKILL] and definition["threshold"] == "percent" and definition["assessor_reviewed"] is False


def test_rubric_levels_are_one_a_line_and_the_checkbox_and_multi_select_become_a_boolean_and_a_list():
    form = posted(threshold="rubric", min_score="", rubric_levels="Novice\r\n\r\nExpert\n", min_rubric_level="Expert",
                  assessor_reviewed="yes", prerequisites=["basics", "sql-intro"])

    definition = submitted_definition(form)

    assert definition["rubric_levels"] == ["Novice", "Expert"] and definition["assessor_reviewed"] is True
    assert definition["prerequisites"] == ["basics", "sql-intro"] and "min_score" not in definition


def test_errors_are_keyed_by_field_and_skill_row_and_labelled_for_the_summary():
    _, errors, valid = load(AchievementInput(), posted(name="", skill_url=["not a url", ""], colour="blue"))

    assert set(errors) == {"name", "skills.0.url", "colour"}
    assert label("skills.0.url") == "Skill 1 URL" and label("colour") == "Badge colour"
    assert "colour" not in valid and valid["description"] == "Joins."


def test_an_achievement_fills_the_form_it_can_be_saved_from_unchanged():
    achievement = SimpleNamespace(
        name="SQL", description="Joins.", criteria_narrative=None, category="technical", level=2, issuing_unit=None,
        validity_months=24, effort_hours=12.5, colour="#7a1f5c", assessment_id="sql-101", threshold="percent",
        min_score=80.0, min_rubric_level=None, rubric_levels=[], assessor_reviewed=False, prerequisites=["basics"], skills=[SKILL],
    )

    form = form_of(achievement)
    definition, errors, _ = load(AchievementInput(), form)

    assert errors == {}
    assert (form["level"], form["min_score"], form["effort_hours"]) == ("Intermediate", "80", "12.5")
    assert definition["skills"] == [SKILL] and definition["prerequisites"] == ["basics"] and definition["level"] == 2
    assert len(rows_to_show(form)) == 3  # the skill, then blank rows to add more


def test_the_preview_draws_the_valid_values_and_defaults_for_the_rest():
    assert "Credential name" in preview_svg({}) and 'fill="#1f5f8b"' in preview_svg({})
    assert "Level 3" in preview_svg({"name": "Cloud", "level": 3, "colour": "#ffee00"})
