"""Pathway rules on plain values: how an employee climbs a ladder, what an org chart must be, what a level may require."""

import pytest

from services.pathways.design import validate_levels
from services.pathways.directory import parse_org_chart, validate_org_chart
from services.pathways.models import CatalogEntry
from services.pathways.progress import AdvancementPlan, LevelRule, plan_advancement
from shared.errors import InvalidInput

HEADER = "employee_id,email,name,manager_id\n"


def ladder(*levels: tuple[str, bool]) -> list[LevelRule]:
    """Levels numbered from 1, each given as (space-separated credentials, needs approval)."""
    return [LevelRule(number, frozenset(credentials.split()), approval) for number, (credentials, approval) in enumerate(levels, start=1)]


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

    assert plan_advancement(levels, {"sql", "python"}, set()) == AdvancementPlan((1, 2), None)


def test_a_level_needing_approval_is_requested_and_stops_the_walk():
    levels = ladder(("sql", False), ("python", True), ("stats", False))

    assert plan_advancement(levels, {"sql", "python", "stats"}, set()) == AdvancementPlan((1,), 2)


def test_levels_already_attained_are_skipped_even_when_they_needed_approval():
    levels = ladder(("sql", True), ("python", True))

    assert plan_advancement(levels, {"sql", "python"}, {1}) == AdvancementPlan((), 2)


def test_a_missing_credential_stops_the_walk_even_if_higher_levels_are_met():
    levels = ladder(("sql", False), ("python", False), ("stats", False))

    assert plan_advancement(levels, {"sql", "stats"}, set()) == AdvancementPlan((1,), None)


def test_the_ladder_is_walked_by_level_number_whatever_order_it_comes_in():
    levels = list(reversed(ladder(("sql", False), ("python", False))))

    assert plan_advancement(levels, {"sql", "python"}, set()) == AdvancementPlan((1, 2), None)


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


def test_unknown_retired_and_repeated_credentials_are_reported_by_field():
    levels = [{"credentials": ["sql", "sql"]}, {"credentials": ["rust", "cobol", "sql"]}]

    assert [(problem["field"], problem["message"]) for problem in validate_levels(levels, CATALOG)] == [
        ("levels[0].credentials[1]", "credential 'sql' is already required by this or an earlier level"),
        ("levels[1].credentials[0]", "unknown credential 'rust'"),
        ("levels[1].credentials[1]", "credential 'cobol' is retired"),
        ("levels[1].credentials[2]", "credential 'sql' is already required by this or an earlier level"),
    ]
