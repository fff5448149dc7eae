"""The bulk issuance pages (HR): upload a CSV of awards, read its row-by-row report, start it, watch it progress.

The same `bulk_issuance` functions as the API (services/issuer/bulk_api.py) do the work; the worker
issues the rows. The progress bar is a fragment htmx polls every second while the job is issuing.
"""

import io

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from services.issuer import bulk_issuance
from services.issuer.bulk_uploads import COLUMNS
from services.issuer.models import BulkIssuance
from shared import audit
from shared.auth import HR_ADMIN, current_principal, sign_in_required
from shared.errors import InvalidInput
from shared.intranet import is_fragment_request, raise_upload_limit
from shared.web import database, now

bp = Blueprint("bulk_pages", __name__, url_prefix="/bulk-issuances", template_folder="templates")
RECENT_JOBS = 20  # on the upload page
PROBLEMS_PER_PAGE = 100


@bp.get("")
@sign_in_required(role=HR_ADMIN)
def bulk_issuances():
    """The upload form and the latest bulk issuances."""
    return _index({})


def _index(errors: dict) -> str:
    with database().transaction() as session:
        jobs = list(session.scalars(select(BulkIssuance).order_by(BulkIssuance.created_at.desc()).limit(RECENT_JOBS)))
        return render_template("issuer/bulk/index.html", jobs=jobs, errors=errors, columns=COLUMNS)


@bp.post("")
@raise_upload_limit("BULK_ISSUANCE_MAX_BYTES")
@sign_in_required(role=HR_ADMIN)
def upload_bulk_issuance():
    """Validate and store the uploaded file, then show its report; nothing is issued before HR starts it."""
    upload = request.files.get("awards")
    if upload is None or not upload.filename:
        return _index({"form": "Choose the CSV file of awards to upload."}), 422
    lines = io.TextIOWrapper(upload.stream, encoding="utf-8-sig", newline="")
    try:
        with database().transaction() as session:
            job = bulk_issuance.receive_bulk_issuance(
                session, lines, created_by=current_principal().subject, now=now(), max_rows=current_app.config["BULK_ISSUANCE_MAX_ROWS"]
            )
            audit.record(session, "bulk_issuance.uploaded", "bulk_issuance", job.id,
                         {"status": job.status, "rows": job.total_rows, "valid_rows": job.valid_rows})
            job_id = job.id
    except InvalidInput as error:
        return _index({"form": error.detail, "rows": error.errors or []}), error.status
    return redirect(url_for(".job_page", job_id=job_id))


@bp.get("/<job_id>")
@sign_in_required(role=HR_ADMIN)
def job_page(job_id):
    """One upload's report: counts, the rows with problems a page at a time, and its progress once started."""
    offset = max(request.args.get("offset", 0, type=int), 0)
    with database().transaction() as session:
        job = bulk_issuance.get_bulk_issuance(session, job_id)
        problems = bulk_issuance.rows_with_problems(session, job_id, offset=offset, limit=PROBLEMS_PER_PAGE)
        total = bulk_issuance.count_rows_with_problems(session, job_id)
        return render_template(
            "issuer/bulk/job.html", job=job, progress=bulk_issuance.progress_of(job), problems=problems,
            problem_rows=total, offset=offset, per_page=PROBLEMS_PER_PAGE,
        )


@bp.post("/<job_id>/start")
@sign_in_required(role=HR_ADMIN)
def start_bulk_issuance(job_id):
    """Have the worker issue the valid rows; in place (htmx) the button becomes the progress bar."""
    with database().transaction() as session:
        job = bulk_issuance.start_bulk_issuance(session, job_id, started_by=current_principal().subject, now=now())
        audit.record(session, "bulk_issuance.started", "bulk_issuance", job.id, {"valid_rows": job.valid_rows})
        if is_fragment_request():
            return render_template("issuer/bulk/_started.html", job=job, progress=bulk_issuance.progress_of(job))
    return redirect(url_for(".job_page", job_id=job_id))


@bp.get("/<job_id>/progress")
@sign_in_required(role=HR_ADMIN)
def bulk_issuance_progress(job_id):
    """The progress bar (an htmx fragment): it polls itself every second until the job is done."""
    with database().transaction() as session:
        job = bulk_issuance.get_bulk_issuance(session, job_id)
        return render_template("issuer/bulk/_progress.html", job=job, progress=bulk_issuance.progress_of(job))
