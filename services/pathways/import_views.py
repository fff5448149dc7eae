"""The org chart import pages (HR): upload the CSV, read the dry run's row-by-row report, then apply it.

The same `directory.import_org_chart` as the API (`POST /api/people/import`) checks and imports the
file: a dry run changes nothing, and the import itself checks every row again, all or nothing.
The checked file travels back with the "apply" form, so what is applied is what HR read.
"""

from dataclasses import asdict

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from services.pathways import directory
from shared import audit
from shared.auth import HR_ADMIN, sign_in_required
from shared.errors import InvalidInput
from shared.intranet import raise_upload_limit
from shared.web import database, event_source, now

bp = Blueprint("org_chart", __name__, url_prefix="/people/import", template_folder="templates")
MODES = ("incremental", "full")
ROWS_SHOWN = 500  # rows of a valid file the report lists; every row with a problem is always listed


@bp.get("")
@sign_in_required(role=HR_ADMIN)
def import_form():
    """The upload form, with what the file holds and what each mode does."""
    return render_template("pathways/people/import.html", columns=directory.COLUMNS, report=None)


@bp.post("/check")
@raise_upload_limit("ORG_CHART_MAX_BYTES")
@sign_in_required(role=HR_ADMIN)
def check_import():
    """The dry run: what importing the uploaded file would do, row by row; nothing changes."""
    upload = request.files.get("chart")
    mode = _mode()
    if upload is None or not upload.filename:
        return _report(None, mode, problems=[{"row": None, "message": "choose the CSV file of the org chart"}]), 422
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return _report(None, mode, problems=[{"row": None, "message": f"the file is not UTF-8 text: {error}"}]), 422
    try:
        report = _import(text, mode, dry_run=True)
    except InvalidInput as error:
        return _refused(text, mode, error), error.status
    return _report(text, mode, report=report)


@bp.post("/apply")
@raise_upload_limit("ORG_CHART_MAX_BYTES")
@sign_in_required(role=HR_ADMIN)
def apply_import():
    """Import the file the dry run checked; every row is checked again and nothing changes if one is wrong."""
    text, mode = request.form.get("chart", ""), _mode()
    try:
        report = _import(text, mode, dry_run=False)
    except InvalidInput as error:
        return _refused(text, mode, error), error.status
    flash(f"The org chart is imported: {report.created} added, {report.updated} updated, {report.unchanged} unchanged"
          + (f", {report.deactivated} deactivated." if mode == "full" else "."))
    return redirect(url_for(".import_form"))


def _mode() -> str:
    mode = request.form.get("mode", "incremental")
    if mode not in MODES:
        raise InvalidInput("choose an incremental import or a full sync")
    return mode


def _import(text: str, mode: str, *, dry_run: bool) -> directory.ImportReport:
    """Import the file (or only say what importing it would do), as the API does."""
    with database().transaction() as session:
        report = directory.import_org_chart(
            session, text, max_rows=current_app.config["ORG_CHART_MAX_ROWS"], now=now(), source=event_source(),
            full=mode == "full", dry_run=dry_run,
        )
        if not dry_run:  # a dry run changes nothing
            audit.record(session, "org_chart.imported", "directory", "people", asdict(report) | {"mode": mode})
        return report


def _refused(text: str, mode: str, error: InvalidInput) -> str:
    """The report page of a file the import refused: every problem, next to its row."""
    return _report(text, mode, problems=error.errors or [{"row": None, "message": error.detail}], summary=error.detail)


def _report(text: str | None, mode: str, *, report=None, problems=(), summary: str | None = None) -> str:
    """The page with the dry run's report: each row of the file with its problems, and the totals."""
    by_row: dict[int | None, list[dict]] = {}
    for problem in problems:
        by_row.setdefault(problem.get("row"), []).append(problem)
    rows = _rows(text) if text is not None else []
    shown = [row for row in rows if row["row"] in by_row] + [row for row in rows if row["row"] not in by_row][:ROWS_SHOWN]
    shown.sort(key=lambda row: row["row"])
    listed = {row["row"] for row in shown}
    return render_template(
        "pathways/people/import.html", columns=directory.COLUMNS, report=report, mode=mode, chart=text if report else None,
        rows=shown, problems_by_row=by_row, total_rows=len(rows), hidden_rows=len(rows) - len(shown), summary=summary,
        unplaced=[problem for row, problems in by_row.items() if row not in listed for problem in problems],
    )


def _rows(text: str) -> list[dict]:
    """The file's rows as the import reads them, or none when it cannot be read as CSV (its problems say why)."""
    try:
        return directory.parse_org_chart(text, current_app.config["ORG_CHART_MAX_ROWS"])
    except InvalidInput:
        return []
