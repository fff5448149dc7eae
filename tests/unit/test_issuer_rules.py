"""Issuer rules on plain values: when a credential stops being valid, and how a credential name becomes an id."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.issuer.catalog import slugify
from services.issuer.issuance import add_months


@pytest.mark.parametrize(
    ("issued", "months", "valid_until"),
    [
        (datetime(2025, 1, 31, 14, 5, tzinfo=UTC), 1, datetime(2025, 2, 28, 14, 5, tzinfo=UTC)),
        (datetime(2024, 1, 31, 14, 5, tzinfo=UTC), 1, datetime(2024, 2, 29, 14, 5, tzinfo=UTC)),
        (datetime(2025, 3, 31, 8, 0, tzinfo=UTC), 1, datetime(2025, 4, 30, 8, 0, tzinfo=UTC)),
        (datetime(2025, 11, 15, 9, 30, tzinfo=UTC), 3, datetime(2026, 2, 15, 9, 30, tzinfo=UTC)),
        (datetime(2025, 12, 31, 23, 59, tzinfo=UTC), 1, datetime(2026, 1, 31, 23, 59, tzinfo=UTC)),
        (datetime(2025, 12, 1, tzinfo=UTC), 12, datetime(2026, 12, 1, tzinfo=UTC)),
        (datetime(2025, 3, 14, 9, 30, tzinfo=UTC), 24, datetime(2027, 3, 14, 9, 30, tzinfo=UTC)),
        (datetime(2024, 2, 29, 12, 0, tzinfo=UTC), 24, datetime(2026, 2, 28, 12, 0, tzinfo=UTC)),
    ],
    ids=["31-jan-to-28-feb", "leap-year-29-feb", "31-mar-to-30-apr", "over-new-year", "december-rollover", "a-year", "24-months", "leap-day-24-months"],
)
def test_a_validity_in_months_ends_on_the_same_day_or_the_last_day_of_a_shorter_month(issued, months, valid_until):
    assert add_months(issued, months) == valid_until


def test_adding_months_keeps_the_time_of_day_and_the_timezone():
    paris = timezone(timedelta(hours=1))

    valid_until = add_months(datetime(2025, 1, 31, 17, 45, 12, 500, tzinfo=paris), 13)

    assert valid_until == datetime(2026, 2, 28, 17, 45, 12, 500, tzinfo=paris)
    assert valid_until.tzinfo is paris


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("SQL Foundations", "sql-foundations"),
        ("  Python 3: Data Wrangling!  ", "python-3-data-wrangling"),
        ("C++ / Rust -- Systems", "c-rust-systems"),
        ("Machine-Learning 101", "machine-learning-101"),
    ],
)
def test_a_credential_name_becomes_a_readable_id(name, slug):
    assert slugify(name) == slug


def test_a_long_name_is_cut_to_64_characters_without_a_trailing_dash():
    assert slugify("Advanced " * 6 + "Data Visualisation") == "advanced-" * 6 + "data-visua"
    assert slugify("X" * 63 + " Y") == "x" * 63  # the cut lands on the dash, which is dropped


@pytest.mark.parametrize("name", ["C", "!!!", "日本語"])
def test_a_name_too_short_for_an_id_falls_back_to_credential(name):
    assert slugify(name) == "credential"
