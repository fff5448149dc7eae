"""The server-drawn charts: well-formed, accessible, escaped, readable colours; CSV safe to open; the figures' arithmetic."""

import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime

import pytest

from services.issuer.badges import _contrast as contrast  # the WCAG 2 contrast ratio the badge colours are held to
from services.pathways.analytics import month_starts, percentile
from shared.charts import (
    BLUE, HEAT, HEAT_LABELS, INK, MUTED, ORANGE, Series, bar_chart, column_chart, csv_text, download_headers, heat_bin, heat_map,
    nice_ceiling,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "Ops"'


def parsed(svg) -> ElementTree.Element:
    return ElementTree.fromstring(str(svg))


def texts(svg) -> list[str]:
    return ["".join(element.itertext()) for element in parsed(svg).iter(f"{SVG}text")]


CHARTS = {
    "column": lambda: column_chart("c", HOSTILE, HOSTILE, [HOSTILE, "Feb 2027"], [Series(HOSTILE, [3, None]), Series("p90", [1.5, 2], ORANGE)]),
    "bar": lambda: bar_chart("b", HOSTILE, HOSTILE, [HOSTILE], [0.5], [HOSTILE]),
    "heat map": lambda: heat_map("h", HOSTILE, HOSTILE, [HOSTILE], [HOSTILE, "SQL"], [[0.25, 1.0]]),
}


@pytest.mark.parametrize("draw", CHARTS.values(), ids=CHARTS.keys())
def test_a_chart_is_an_image_labelled_by_its_title_and_description_with_every_text_escaped(draw):
    svg = draw()
    root = parsed(svg)  # well-formed XML: nothing hostile broke out of its text

    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id and root.find(f"{SVG}desc").get("id") == desc_id
    assert root.find(f"{SVG}title").text == HOSTILE and root.find(f"{SVG}desc").text == HOSTILE
    assert "<script" not in str(svg) and "&lt;script&gt;" in str(svg)
    assert root.find(f".//{SVG}script") is None


def test_a_long_label_is_cut_with_its_whole_text_as_a_tooltip():
    label = "Data & Analytics — Customer Insights and Reporting"
    svg = bar_chart("b", "Pass rates", "Per assessment", [label], [1.0], ["100 % (2 of 2)"])

    [cut] = [element for element in parsed(svg).iter(f"{SVG}text") if element.find(f"{SVG}title") is not None]
    assert cut.find(f"{SVG}title").text == label and cut.find(f"{SVG}title").tail.endswith("…")


def test_columns_print_their_values_and_skip_months_without_data():
    svg = column_chart("c", "Issued", "Per month", ["Jan 2027", "Feb 2027"], [Series("Issued", [4, None])])

    assert len(list(parsed(svg).iter(f"{SVG}rect"))) == 1
    assert "4" in texts(svg) and {"Jan 2027", "Feb 2027"} <= set(texts(svg))


def test_a_heat_map_prints_each_cells_percentage_and_a_legend_of_its_bins():
    svg = heat_map("h", "Coverage", "Departments × skills", ["Sales", "No department"], ["SQL", "Python"], [[0.0, 0.5], [0.19, 1.0]])
    cells = [rect for rect in parsed(svg).iter(f"{SVG}rect") if rect.get("stroke") is None]

    assert {"0 %", "50 %", "19 %", "100 %"} <= set(texts(svg))
    assert [rect.get("fill") for rect in cells] == [HEAT[0][0], HEAT[2][0], HEAT[0][0], HEAT[4][0]]
    assert set(HEAT_LABELS) <= set(texts(svg))


@pytest.mark.parametrize(("share", "expected"), [(0.0, 0), (0.194, 0), (0.195, 1), (0.4, 2), (0.79, 3), (0.8, 4), (1.0, 4)])
def test_a_share_falls_in_the_bin_of_its_printed_percentage(share, expected):
    assert heat_bin(share) == expected


def test_every_colour_reads_on_its_background():
    for fill, ink in HEAT:
        assert contrast(fill, ink) >= 4.5, (fill, ink)  # the value printed in each cell (WCAG 1.4.3)
    for colour in (BLUE, ORANGE):
        assert contrast(colour, "#ffffff") >= 3  # bars against the page (WCAG 1.4.11)
    assert contrast(INK, "#ffffff") >= 4.5 and contrast(MUTED, "#ffffff") >= 4.5


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (120, 200), (44330, 50000)])
def test_an_axis_ends_at_the_next_round_value(value, top):
    assert nice_ceiling(value) == top


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised():
    text = csv_text(["department", "people"], [("=HYPERLINK(\"http://evil\")", 3), ("+1", -2), ("-x", 0), ("@SUM(A1)", 1), ("\tTab", 1), ("Sales", 4)])

    assert text.splitlines() == [
        "department,people", "\"'=HYPERLINK(\"\"http://evil\"\")\",3", "'+1,-2", "'-x,0", "'@SUM(A1),1", "'\tTab,1", "Sales,4",
    ]


def test_a_download_is_named_and_never_sniffed():
    assert download_headers("skills-coverage-2027-05-04.csv") == {
        "Content-Disposition": 'attachment; filename="skills-coverage-2027-05-04.csv"', "X-Content-Type-Options": "nosniff",
    }


def test_the_last_twelve_months_end_with_the_current_one_across_a_new_year():
    months = month_starts(datetime(2027, 2, 14, 23, 30, tzinfo=UTC))

    assert [(month.year, month.month) for month in (months[0], months[1], months[-1])] == [(2026, 3), (2026, 4), (2027, 2)]
    assert len(months) == 12 and all(month.day == 1 and month.hour == 0 for month in months)


def test_percentiles_are_read_off_a_histogram_by_nearest_rank():
    histogram = {10: 4, 25: 5, 300: 1}  # ten values

    assert (percentile(histogram, 0.5), percentile(histogram, 0.9), percentile(histogram, 1.0)) == (25, 25, 300)
    assert percentile({7: 1}, 0.5) == 7
