"""HR's pass rate per assessment: a section of the pathways analytics page (fetched with htmx), a
page of its own when opened directly, and its data as CSV."""

from flask import Blueprint, Response, render_template

from services.issuer import analytics
from shared.auth import HR_ADMIN, sign_in_required
from shared.charts import bar_chart, csv_text, download_headers
from shared.intranet import is_fragment_request
from shared.web import database, now

bp = Blueprint("issuer_analytics", __name__, template_folder="templates")


def _label(rate: analytics.PassRate) -> str:
    return f"{rate.assessment_id} ({', '.join(rate.credentials)})"


def _percent(rate: analytics.PassRate) -> int:
    return round(100 * rate.share)


@bp.get("/analytics/assessments")
@sign_in_required(role=HR_ADMIN)
def pass_rates():
    """The pass rate of each assessment over the last months: the section alone for htmx, else a whole page."""
    with database().transaction() as session:
        rates = analytics.pass_rates(session, now=now())
    chart = bar_chart(
        "chart-pass-rates", "Pass rate per assessment",
        f"Share of the attempts of the last {analytics.MONTHS} months that met the rule of a credential the assessment earns, "
        f"for {len(rates)} assessments, lowest first.",
        [_label(rate) for rate in rates], [rate.share for rate in rates],
        [f"{_percent(rate)} % ({rate.passed} of {rate.attempts})" for rate in rates],
    ) if rates else None
    rows = [(_label(rate), rate.attempts, rate.passed, _percent(rate)) for rate in rates]
    template = "issuer/analytics_assessments.html" if is_fragment_request() else "issuer/analytics.html"
    return render_template(template, chart=chart, rows=rows, months=analytics.MONTHS)


@bp.get("/analytics/assessments.csv")
@sign_in_required(role=HR_ADMIN)
def pass_rates_csv():
    """Each assessment's attempts, passes and pass rate over the last months, as CSV."""
    with database().transaction() as session:
        rates = analytics.pass_rates(session, now=now())
    rows = [(rate.assessment_id, "; ".join(rate.credentials), rate.attempts, rate.passed, round(100 * rate.share, 1)) for rate in rates]
    text = csv_text(["assessment", "credentials", "attempts", "passed", "pass rate (%)"], rows)
    return Response(text, mimetype="text/csv", headers=download_headers(f"pass-rates-{now():%Y-%m-%d}.csv"))
