"""HR's analytics page and each chart's data as CSV, drawn from the stored snapshot of the figures.

The pass rate per assessment is the issuer's (only it knows attempts): the page loads that
section from the issuer with htmx, and links to it when htmx or the gateway is not there.
"""

from datetime import datetime

from flask import Blueprint, Response, render_template

from services.pathways import analytics
from shared.auth import HR_ADMIN, sign_in_required
from shared.charts import ORANGE, Series, column_chart, csv_text, download_headers, heat_map
from shared.web import database, now

bp = Blueprint("analytics", __name__, template_folder="templates")
MAX_DEPARTMENTS_SHOWN, MAX_SKILLS_SHOWN = 25, 30  # a heat map wider or taller than this is unreadable; the table and CSV hold all


def _month_name(key: str) -> str:
    return datetime.strptime(key, "%Y-%m").strftime("%b %Y")


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def issued_chart(issued: list[dict]) -> dict:
    total = sum(month["credentials"] for month in issued)
    labels = [_month_name(month["month"]) for month in issued]
    chart = column_chart(
        "chart-issued", "Credentials issued per month",
        f"{total} credentials issued in the last {len(issued)} months, from {labels[0]} to {labels[-1]}.",
        labels, [Series("Credentials issued", [month["credentials"] for month in issued])],
    )
    return {"chart": chart, "rows": list(zip(labels, [month["credentials"] for month in issued], strict=True)), "total": total}


def shown_coverage(coverage: dict) -> tuple[list[dict], list[dict], dict]:
    """The largest departments and most covered skills (a heat map's worth), and people covering per cell."""
    covered = {(department, framework, code): people for department, framework, code, people in coverage["covered"]}
    holders: dict[tuple[str, str], int] = {}
    for (_, framework, code), people in covered.items():
        holders[framework, code] = holders.get((framework, code), 0) + people
    largest = {d["name"] for d in sorted(coverage["departments"], key=lambda d: -d["people"])[:MAX_DEPARTMENTS_SHOWN]}
    most = {(s["framework"], s["code"]) for s in sorted(coverage["skills"], key=lambda s: -holders.get((s["framework"], s["code"]), 0))[:MAX_SKILLS_SHOWN]}
    departments = [department for department in coverage["departments"] if department["name"] in largest]
    skills = [skill for skill in coverage["skills"] if (skill["framework"], skill["code"]) in most]
    return departments, skills, covered


def coverage_chart(coverage: dict) -> dict:
    departments, skills, covered = shown_coverage(coverage)
    cells = [[covered.get((department["name"], skill["framework"], skill["code"]), 0) for skill in skills] for department in departments]
    shares = [[people / department["people"] for people in row] for department, row in zip(departments, cells, strict=True)]
    complete = len(departments) == len(coverage["departments"]) and len(skills) == len(coverage["skills"])
    chart = heat_map(
        "chart-coverage", "Skills coverage per department",
        f"Share of each department's active people holding a valid credential aligned to each skill: {len(departments)} "
        f"departments by {len(skills)} skills{'' if complete else ' (the largest departments and most covered skills)'}.",
        [department["name"] for department in departments], [skill["name"] for skill in skills], shares,
    ) if departments and skills else None
    texts = [[f"{people} of {department['people']} ({round(100 * share)} %)" for people, share in zip(row, row_shares, strict=True)]
             for department, row, row_shares in zip(departments, cells, shares, strict=True)]
    return {"chart": chart, "departments": departments, "skills": skills, "cells": list(zip(departments, texts, strict=True)),
            "complete": complete, "has_people": bool(coverage["departments"]), "has_skills": bool(coverage["skills"])}


def decisions_chart(decisions: dict) -> dict:
    months = decisions["months"]
    labels = [_month_name(month["month"]) for month in months]
    decided = sum(month["decided"] for month in months)
    chart = column_chart(
        "chart-decisions", "Time from eligibility to decision",
        f"Median and 90th percentile of the days advancement requests waited from opened to approved or rejected, per month "
        f"of decision; {decided} decisions in the last {len(months)} months, {decisions['waiting']} requests waiting now.",
        labels, [Series("Median (days)", [month["median_days"] for month in months]),
                 Series("90th percentile (days)", [month["p90_days"] for month in months], ORANGE)],
    )
    rows = [(label, month["decided"], _days(month["median_days"]), _days(month["p90_days"])) for label, month in zip(labels, months, strict=True)]
    return {"chart": chart, "rows": rows, "decided": decided, "waiting": decisions["waiting"]}


@bp.get("/analytics")
@sign_in_required(role=HR_ADMIN)
def analytics_page():
    """HR's charts: credentials issued, pass rates (from the issuer), skills coverage, time to decision."""
    with database().transaction() as session:
        snapshot = analytics.current_snapshot(session, now=now())
    figures = snapshot.figures
    return render_template(
        "pathways/analytics.html", computed_at=snapshot.computed_at, refresh_minutes=round(analytics.REFRESH_SECONDS / 60),
        issued=issued_chart(figures["issued"]), coverage=coverage_chart(figures["coverage"]),
        decisions=decisions_chart(figures["decisions"]),
    )


def _issued_rows(figures: dict) -> tuple[list[str], list]:
    return ["month", "credentials issued"], [(month["month"], month["credentials"]) for month in figures["issued"]]


def _coverage_rows(figures: dict) -> tuple[list[str], list]:
    coverage = figures["coverage"]
    covered = {(department, framework, code): people for department, framework, code, people in coverage["covered"]}
    rows = [
        (department["name"], skill["framework"], skill["code"], skill["name"], people, department["people"], round(100 * people / department["people"], 1))
        for department in coverage["departments"] for skill in coverage["skills"]
        for people in [covered.get((department["name"], skill["framework"], skill["code"]), 0)]
    ]
    return ["department", "skill framework", "skill code", "skill", "people covering", "active people", "share (%)"], rows


def _decision_rows(figures: dict) -> tuple[list[str], list]:
    decisions = figures["decisions"]
    rows = [(month["month"], month["decided"], month["median_days"], month["p90_days"]) for month in decisions["months"]]
    return ["month", "requests decided", "median days", "90th percentile days"], rows + [("waiting now", decisions["waiting"], None, None)]


def _download(name: str, rows_of) -> Response:
    """One chart's figures of the current snapshot as a CSV file named after the chart and the day."""
    with database().transaction() as session:
        snapshot = analytics.current_snapshot(session, now=now())
    header, rows = rows_of(snapshot.figures)
    return Response(csv_text(header, rows), mimetype="text/csv", headers=download_headers(f"{name}-{snapshot.computed_at:%Y-%m-%d}.csv"))


@bp.get("/analytics/credentials-per-month.csv")
@sign_in_required(role=HR_ADMIN)
def issued_csv():
    """Credentials issued per month, as CSV."""
    return _download("credentials-per-month", _issued_rows)


@bp.get("/analytics/skills-coverage.csv")
@sign_in_required(role=HR_ADMIN)
def coverage_csv():
    """Every department and skill: people covering it, active people, share, as CSV."""
    return _download("skills-coverage", _coverage_rows)


@bp.get("/analytics/time-to-decision.csv")
@sign_in_required(role=HR_ADMIN)
def decisions_csv():
    """Decisions per month with their median and 90th percentile wait, and the requests waiting now, as CSV."""
    return _download("time-to-decision", _decision_rows)
