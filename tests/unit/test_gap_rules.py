"""Gap analysis on plain values: what an employee pivoting to another pathway still needs, and in what order."""

from datetime import UTC, datetime, timedelta

from services.pathways.gaps import CatalogDetails, gap_to_level
from services.pathways.progress import LevelRule

NOW = datetime(2027, 5, 4, 9, tzinfo=UTC)

CATALOG = {
    "sql": CatalogDetails("SQL", "technical", (), 10.0),
    "python": CatalogDetails("Python", "technical", ("programming-basics",), 20.0),
    "programming-basics": CatalogDetails("Programming Basics", "technical", (), 5.0),
    "pandas": CatalogDetails("Pandas", "technical", ("python",), 15.0),
    "tableau": CatalogDetails("Tableau", "technical", (), 12.0),
    "powerbi": CatalogDetails("Power BI", "technical", (), 8.0),
    "looker": CatalogDetails("Looker", "technical", ("sql",), 1.0),
    "excel": CatalogDetails("Excel Charts", "technical", (), None),
    "listening": CatalogDetails("Listening", "soft", (), 3.0),
    "mentoring": CatalogDetails("Mentoring", "soft", ("listening",), 6.0),
}


def level(number: int, *required: str, n_of=(), months: int = 0, soft: int = 0) -> LevelRule:
    return LevelRule(number, frozenset(required), True, tuple((n, frozenset(group)) for n, group in n_of), months, soft)


def ids(items: list[dict]) -> list[str]:
    return [item["achievement_id"] for item in items]


def gap(levels, held=None, expiring=None, **options) -> dict:
    return gap_to_level(levels, held or {}, CATALOG, expiring or {}, now=NOW, **options)


def test_each_credential_comes_after_its_prerequisites_even_those_off_the_pathway():
    result = gap([level(1, "pandas", "sql"), level(2, "mentoring")])

    order = ids(result["missing"])
    assert order.index("programming-basics") < order.index("python") < order.index("pandas")
    assert order.index("listening") < order.index("mentoring")
    assert set(order) == {"pandas", "sql", "python", "programming-basics", "mentoring", "listening"}
    reasons = {item["achievement_id"]: item["reason"] for item in result["missing"]}
    assert reasons["programming-basics"] == "prerequisite" and reasons["pandas"] == "required"
    assert ids(result["technical"]) == [a for a in order if a not in {"listening", "mentoring"}]
    assert ids(result["soft"]) == ["listening", "mentoring"]
    assert result["total_effort_hours"] == 10 + 20 + 5 + 15 + 3 + 6


def test_the_next_recommendation_is_the_first_missing_credential_whose_prerequisites_are_held():
    result = gap([level(1, "pandas")], held={"programming-basics": "technical"})

    assert ids(result["missing"]) == ["python", "pandas"]
    assert result["missing"][1]["prerequisites_missing"] == ["python"]
    assert result["next_recommended"]["achievement_id"] == "python"


def test_an_n_of_group_suggests_the_cheapest_counting_missing_prerequisites_and_unknown_effort_last():
    # looker costs 1 h plus its missing prerequisite sql (10 h) = 11 h: more than Power BI, less than Tableau.
    result = gap([level(1, n_of=[(2, ["tableau", "powerbi", "looker", "excel"])])])

    assert set(ids(result["missing"])) == {"powerbi", "looker", "sql"}
    assert {item["reason"] for item in result["missing"] if item["achievement_id"] != "sql"} == {"one_of_group"}


def test_an_n_of_group_already_partly_held_suggests_only_the_rest():
    result = gap([level(1, n_of=[(2, ["tableau", "powerbi", "excel"])])], held={"tableau": "technical"})

    assert ids(result["missing"]) == ["powerbi"]


def test_unknown_effort_is_named_and_left_out_of_the_total():
    result = gap([level(1, "excel", "sql")])

    assert result["effort_unknown"] == ["excel"]
    assert result["total_effort_hours"] == 10


def test_the_soft_skill_balance_counts_held_and_planned_soft_credentials():
    result = gap([level(1, "mentoring", soft=4)], held={"sql": "technical", "empathy": "soft"})

    # empathy is held, mentoring and its prerequisite listening are planned: one more soft credential, whichever.
    assert result["soft_credentials_needed"] == 1


def test_waiting_time_shows_when_it_ends_or_that_it_starts_with_the_previous_level():
    levels = [level(1, "sql"), level(2, "python", months=6), level(3, "pandas", months=12)]

    result = gap(levels, held={"sql": "technical"}, attained={1: NOW - timedelta(days=31)})

    assert result["waiting"] == [
        {"level": 2, "min_months": 6, "eligible_from": datetime(2027, 10, 3, 9, tzinfo=UTC)},
        {"level": 3, "min_months": 12, "eligible_from": None},
    ]


def test_held_credentials_the_level_needs_that_expire_within_the_horizon_are_flagged():
    held = {"sql": "technical", "tableau": "technical", "powerbi": "technical", "listening": "soft"}
    expiring = {"sql": NOW + timedelta(days=30), "tableau": NOW + timedelta(days=60), "listening": NOW + timedelta(days=200)}
    levels = [level(1, "sql", n_of=[(2, ["tableau", "powerbi", "looker"])], soft=1)]

    within_ninety = gap(levels, held, expiring)
    within_a_year = gap(levels, held, expiring, horizon_days=365)

    assert ids(within_ninety["expiring"]) == ["sql", "tableau"]
    assert within_ninety["expiring"][0] == {"achievement_id": "sql", "name": "SQL", "valid_until": NOW + timedelta(days=30)}
    assert ids(within_a_year["expiring"]) == ["sql", "tableau", "listening"]


def test_an_expiring_group_member_the_group_can_spare_is_not_flagged():
    held = {"tableau": "technical", "powerbi": "technical"}
    result = gap([level(1, n_of=[(1, ["tableau", "powerbi"])])], held, {"tableau": NOW + timedelta(days=10)})

    assert result["expiring"] == []


def test_nothing_missing_when_every_rule_is_met_or_the_level_is_attained():
    met = gap([level(1, "sql"), level(2, "python", soft=1)], held={"sql": "t", "python": "t", "listening": "soft"})
    attained = gap([level(1, "pandas")], attained={1: NOW})

    for result in (met, attained):
        assert result["missing"] == [] and result["next_recommended"] is None
        assert result["total_effort_hours"] == 0 and result["soft_credentials_needed"] == 0
        assert result["waiting"] == [] and result["expiring"] == []


def test_a_prerequisite_cycle_in_the_catalog_is_cut_not_looped():
    catalog = CATALOG | {"chicken": CatalogDetails("Chicken", prerequisites=("egg",)), "egg": CatalogDetails("Egg", prerequisites=("chicken",))}

    result = gap_to_level([level(1, "chicken")], {}, catalog, {}, now=NOW)

    assert ids(result["missing"]) == ["egg", "chicken"]
