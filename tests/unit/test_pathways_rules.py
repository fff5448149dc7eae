"""Pathway rules on plain values: how an employee climbs a ladder, what an org chart must be, what a level may require."""

from datetime import UTC, datetime

import pytest

from services.pathways.design import validate_levels
from services.pathways.directory import parse_org_chart, validate_org_chart
from services.pathways.models import CatalogEntry
from services.pathways.progress import AdvancementPlan, LevelRule, plan_advancement
from shared.errors import InvalidInput

HEADER = "employee_id,email,name,manager_id\n"


NOW = datetime(2027, 5, 4, 9, tzinfo=UTC)


def ladder(*levels: tuple[str, bool]) -> list[LevelRule]:
    """Levels numbered from 1, each given as (space-separated credentials, needs approval)."""
    return [LevelRule(number, frozenset(credentials.split()), approval) for number, (credentials, approval) in enumerate(levels, start=1)]


def holding(*technical: str, soft: tuple[str, ...] = ()) -> dict[str, str]:
    """Held achievements with their catalog category."""
    return dict.fromkeys(technical, "technical") | dict.fromkeys(soft, "soft")


def since(*levels: int, at: datetime = NOW) -> dict[int, datetime]:
    """Levels attained, all at the same moment."""
    return dict.fromkeys(levels, at)


def plan(levels: list[LevelRule], held: dict[str, str], attained: dict[int, datetime] | None = None) -> AdvancementPlan:
    return plan_advancement(levels, held, attained or {}, now=NOW)


def chart(*rows: str, max_rows: int = 100) -> list[dict]:
    return parse_org_chart(HEADER + "".join(row + "\n" for row in rows), max_rows)


def refused(text: str, max_rows: int = 100) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        parse_org_chart(text, max_rows)
    return error.value


def problems(*rows: str, existing_managers=None) -> list[tuple[int, str, str]]:
    found = validate_org_chart(chart(*rows), existing_managers or {})
    return [(problem["row"], problem["column"], problem["message"]) for problem in found]


# --- climbing a pathway -----------------------------------------------------------------


def test_levels_without_approval_are_attained_in_order_as_far_as_credentials_go():
    levels = ladder(("sql", False), ("python", False), ("stats", False))

    assert plan(levels, holding("sql", "python")) == AdvancementPlan((1, 2), None)


def test_a_level_needing_approval_is_requested_and_stops_the_walk():
    levels = ladder(("sql", False), ("python", True), ("stats", False))

    assert plan(levels, holding("sql", "python", "stats")) == AdvancementPlan((1,), 2)


def test_levels_already_attained_are_skipped_even_when_they_needed_approval():
    levels = ladder(("sql", True), ("python", True))

    assert plan(levels, holding("sql", "python"), since(1)) == AdvancementPlan((), 2)


def test_an_n_of_group_is_met_by_any_n_of_its_credentials():
    level = LevelRule(1, frozenset({"sql"}), False, n_of=((2, frozenset({"tableau", "powerbi", "looker"})),))

    assert plan([level], holding("sql", "tableau")) == AdvancementPlan((), None)
    assert plan([level], holding("sql", "tableau", "looker")) == AdvancementPlan((1,), None)
    assert plan([level], holding("tableau", "looker", "powerbi")) == AdvancementPlan((), None)  # all_of still applies


def test_every_n_of_group_must_be_met():
    level = LevelRule(1, frozenset(), True, n_of=((1, frozenset({"a", "b"})), (1, frozenset({"c", "d"}))))

    assert plan([level], holding("a", "b")) == AdvancementPlan((), None)
    assert plan([level], holding("b", "d")) == AdvancementPlan((), 1)


def test_the_balance_rule_counts_soft_skill_credentials_among_all_those_held():
    level = LevelRule(1, frozenset({"sql"}), False, min_soft_skill_credentials=2)

    assert plan([level], holding("sql", "python", soft=("listening",))) == AdvancementPlan((), None)
    assert plan([level], holding("sql", soft=("listening", "mentoring"))) == AdvancementPlan((1,), None)


def test_a_credential_of_no_known_category_is_not_soft():
    level = LevelRule(1, frozenset(), False, min_soft_skill_credentials=1)

    assert plan([level], {"mystery": None}) == AdvancementPlan((), None)


def test_a_level_waits_the_minimum_months_after_the_previous_level_was_attained():
    levels = [LevelRule(1, frozenset({"sql"}), True), LevelRule(2, frozenset({"python"}), True, min_months_at_previous_level=6)]
    held = holding("sql", "python")

    assert plan(levels, held, since(1, at=datetime(2026, 11, 5, tzinfo=UTC))) == AdvancementPlan((), None)
    assert plan(levels, held, since(1, at=datetime(2026, 11, 4, 9, tzinfo=UTC))) == AdvancementPlan((), 2)


def test_months_are_calendar_months_clamped_to_the_end_of_a_short_month():
    levels = [LevelRule(1, frozenset(), True, min_soft_skill_credentials=1), LevelRule(2, frozenset(), True, min_months_at_previous_level=1)]
    held = holding(soft=("listening",))

    at_month_end = datetime(2027, 1, 31, tzinfo=UTC)
    assert plan_advancement(levels, held, since(1, at=at_month_end), now=datetime(2027, 2, 27, tzinfo=UTC)) == AdvancementPlan((), None)
    assert plan_advancement(levels, held, since(1, at=at_month_end), now=datetime(2027, 2, 28, tzinfo=UTC)) == AdvancementPlan((), 2)


def test_a_level_attained_just_now_does_not_count_as_time_served_for_the_next():
    levels = [LevelRule(1, frozenset({"sql"}), False), LevelRule(2, frozenset({"python"}), False, min_months_at_previous_level=3)]

    assert plan(levels, holding("sql", "python")) == AdvancementPlan((1,), None)


def test_a_missing_credential_stops_the_walk_even_if_higher_levels_are_met():
    levels = ladder(("sql", False), ("python", False), ("stats", False))

    assert plan(levels, holding("sql", "stats")) == AdvancementPlan((1,), None)


def test_the_ladder_is_walked_by_level_number_whatever_order_it_comes_in():
    levels = list(reversed(ladder(("sql", False), ("python", False))))

    assert plan(levels, holding("sql", "python")) == AdvancementPlan((1, 2), None)


# --- reading the org chart --------------------------------------------------------------


def test_rows_are_read_with_their_spreadsheet_row_numbers_and_trimmed():
    rows = chart(" e1 , ann@example.com , Ann Smith ,", "e2,bob@example.com,Bob Jones,e1")

    assert rows == [
        {"row": 2, "employee_id": "e1", "email": "ann@example.com", "name": "Ann Smith", "manager_id": "", "active": ""},
        {"row": 3, "employee_id": "e2", "email": "bob@example.com", "name": "Bob Jones", "manager_id": "e1", "active": ""},
    ]


def test_a_header_missing_columns_is_reported_on_row_1():
    error = refused("employee_id,full_name\ne1,Ann\n")

    assert error.errors == [
        {"row": 1, "column": "email", "message": "missing column"},
        {"row": 1, "column": "name", "message": "missing column"},
    ]


@pytest.mark.parametrize(
    "text",
    [
        HEADER + 'e1,ann@example.com,"Ann\ne2,bob@example.com,Bob,e1\n',  # a quote never closed swallows Bob
        HEADER + "e1,ann@example.com," + "A" * 200_000 + ",\n",
    ],
    ids=["unclosed-quote", "huge-field"],
)
def test_a_broken_csv_is_refused_rather_than_half_read(text):
    error = refused(text)

    assert "not valid CSV" in error.detail
    assert error.errors[0]["row"] == 2  # where the broken record starts, not the header


def test_a_row_with_more_fields_than_the_header_is_refused_naming_it():
    error = refused(HEADER + "e1,ann@example.com,Ann,,\ne2,bob@example.com,Bob,e1,extra\n")

    assert error.errors == [{"row": 2, "message": "too many fields"}]


@pytest.mark.parametrize("text", ["", HEADER], ids=["empty", "header-only"])
def test_a_file_without_people_is_refused(text):
    assert isinstance(refused(text), InvalidInput)


def test_a_file_over_the_row_limit_is_refused():
    text = HEADER + "".join(f"e{n},p{n}@example.com,Person {n},\n" for n in range(4))

    assert "more than 3 rows" in refused(text, max_rows=3).detail
    assert len(parse_org_chart(text, max_rows=4)) == 4


# --- validating the org chart -----------------------------------------------------------


def test_a_sound_org_chart_has_no_problems():
    assert problems("e1,ann@example.com,Ann,", "e2,bob@example.com,Bob,e1") == []


def test_required_values_and_email_addresses_are_checked_per_row():
    assert problems(",ann@example.com,Ann,", "e2,,Bob,", "e3,carol-at-example.com,,") == [
        (2, "employee_id", "required"),
        (3, "email", "required"),
        (4, "name", "required"),
        (4, "email", "not an email address"),
    ]


def test_duplicate_ids_and_emails_name_the_first_row():
    assert problems("e1,ann@example.com,Ann,", "e2,ANN@example.com,Ann Again,", "e1,carl@example.com,Carl,") == [
        (3, "email", "duplicate of row 2"),
        (4, "employee_id", "duplicate of row 2"),
    ]


def test_a_manager_must_be_in_the_file_or_already_in_the_directory():
    assert problems("e1,ann@example.com,Ann,boss") == [(2, "manager_id", "unknown manager 'boss'")]
    assert problems("e1,ann@example.com,Ann,boss", existing_managers={"boss": None}) == []


def test_nobody_manages_themselves():
    assert problems("e1,ann@example.com,Ann,e1") == [(2, "manager_id", "a person cannot manage themselves")]


def test_a_reporting_loop_is_reported_on_every_row_in_it():
    found = problems("e1,ann@example.com,Ann,e3", "e2,bob@example.com,Bob,e1", "e3,carol@example.com,Carol,e2", "e4,dan@example.com,Dan,e1")

    assert found == [(row, "manager_id", "the reporting line loops back to this person") for row in (2, 3, 4)]


def test_a_loop_closed_through_people_already_in_the_directory_is_found():
    found = problems("e1,ann@example.com,Ann,boss", existing_managers={"boss": "e1"})

    assert found == [(2, "manager_id", "the reporting line loops back to this person")]


# --- designing a pathway ----------------------------------------------------------------


CATALOG = {
    "sql": CatalogEntry(achievement_id="sql", version=1, name="SQL", category="technical", retired=False),
    "python": CatalogEntry(achievement_id="python", version=1, name="Python", category="technical", retired=False),
    "cobol": CatalogEntry(achievement_id="cobol", version=3, name="COBOL", category="technical", retired=True),
}


def test_levels_over_current_credentials_are_valid():
    assert validate_levels([{"credentials": ["sql"]}, {"credentials": ["python"]}], CATALOG) == []


def found(levels: list[dict]) -> list[tuple[str, str]]:
    return [(problem["field"], problem["message"]) for problem in validate_levels(levels, CATALOG | SOFT_CATALOG)]


SOFT_CATALOG = {
    "listening": CatalogEntry(achievement_id="listening", version=1, name="Listening", category="soft", retired=False),
    "mentoring": CatalogEntry(achievement_id="mentoring", version=1, name="Mentoring", category="soft", retired=False),
    "telex": CatalogEntry(achievement_id="telex", version=1, name="Telex etiquette", category="soft", retired=True),
}


def test_a_level_with_every_kind_of_requirement_is_valid():
    levels = [
        {"all_of": ["sql"]},
        {"all_of": [], "n_of": [{"n": 1, "credentials": ["python", "listening"]}], "min_months_at_previous_level": 6,
         "min_soft_skill_credentials": 2},
    ]

    assert found(levels) == []


def test_an_n_of_group_needing_more_than_it_holds_or_than_can_be_earned_is_reported_on_n():
    levels = [{"n_of": [{"n": 3, "credentials": ["sql", "python"]}, {"n": 2, "credentials": ["python", "cobol"]}]}]

    assert found(levels) == [
        ("levels[0].n_of[0].n", "needs 3 of a group of 2"),
        ("levels[0].n_of[1].credentials[0]", "credential 'python' is already required by this or an earlier level"),
        ("levels[0].n_of[1].credentials[1]", "credential 'cobol' is retired"),
        ("levels[0].n_of[1].n", "needs 2 but only 0 of the group can be earned"),
    ]


def test_a_credential_in_an_n_of_group_and_all_of_is_a_repeat():
    assert found([{"all_of": ["sql"], "n_of": [{"n": 1, "credentials": ["sql", "python"]}]}]) == [
        ("levels[0].n_of[0].credentials[0]", "credential 'sql' is already required by this or an earlier level"),
    ]


def test_the_balance_rule_cannot_ask_for_more_soft_skills_than_the_catalog_has_current():
    assert found([{"all_of": ["sql"], "min_soft_skill_credentials": 3}]) == [
        ("levels[0].min_soft_skill_credentials", "needs 3 soft-skill credentials but the catalog has 2"),
    ]


def test_the_first_level_has_no_previous_level_to_wait_at_and_a_level_needs_some_credential():
    assert found([{"all_of": ["sql"], "min_months_at_previous_level": 3}, {"all_of": [], "min_months_at_previous_level": 3}]) == [
        ("levels[0].min_months_at_previous_level", "the first level has no previous level"),
        ("levels[1]", "a level needs all_of, n_of or min_soft_skill_credentials"),
    ]


def test_unknown_retired_and_repeated_credentials_are_reported_by_field():
    levels = [{"credentials": ["sql", "sql"]}, {"credentials": ["rust", "cobol", "sql"]}]

    assert [(problem["field"], problem["message"]) for problem in validate_levels(levels, CATALOG)] == [
        ("levels[0].credentials[1]", "credential 'sql' is already required by this or an earlier level"),
        ("levels[1].credentials[0]", "unknown credential 'rust'"),
        ("levels[1].credentials[1]", "credential 'cobol' is retired"),
        ("levels[1].credentials[2]", "credential 'sql' is already required by this or an earlier level"),
    ]
