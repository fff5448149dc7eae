"""The bulk issuance API (HR): upload a CSV of awards, read its report, start it, follow its progress.

`POST /api/bulk-issuances` takes `text/csv` with the columns employee_id, email, credential,
evidence_url (optional, https) and date (when the achievement was demonstrated). The body is
read as a stream and stored in batches, never held whole. The answer is the validation report:
counts and the first rows with problems; `/problems` pages through all of them.
"""

import io

from flask import current_app, request
from werkzeug.exceptions import UnsupportedMediaType

from services.issuer import bulk_issuance
from services.issuer.bulk_uploads import COLUMNS
from services.issuer.schemas import BulkIssuanceOutput, BulkIssuanceReport, ProblemsPage, ProblemsQuery
from shared import audit
from shared.auth import HR_ADMIN, current_principal, require
from shared.web import ApiBlueprint, database, now, problems

bp = ApiBlueprint("issuer_bulk_api", __name__, url_prefix="/api/bulk-issuances", description="Bulk issuance from a CSV (HR)")

REPORTED_PROBLEM_ROWS = 1000  # in the upload's answer; all are stored


def _summary(job) -> dict:
    return {name: getattr(job, name) for name in BulkIssuanceOutput().fields if hasattr(job, name)} | bulk_issuance.progress_of(job)


@bp.post("")
@require(role=HR_ADMIN)
@bp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}, "example": ",".join(COLUMNS)}}})
@bp.response(201, BulkIssuanceReport)
@bp.doc(responses=problems(401, 403, 413, 415, 422))
def upload_bulk_issuance():
    """Upload a CSV of awards (HR admins): every row is validated and stored; nothing is issued yet."""
    if request.mimetype != "text/csv":
        raise UnsupportedMediaType("send the awards as text/csv")
    request.max_content_length = current_app.config["BULK_ISSUANCE_MAX_BYTES"]  # a company's history, not one JSON body
    lines = io.TextIOWrapper(request.stream, encoding="utf-8-sig", newline="")
    with database().transaction() as session:
        job = bulk_issuance.receive_bulk_issuance(
            session, lines, created_by=current_principal().subject, now=now(),
            max_rows=current_app.config["BULK_ISSUANCE_MAX_ROWS"],
        )
        problems = bulk_issuance.rows_with_problems(session, job.id, offset=0, limit=REPORTED_PROBLEM_ROWS)
        audit.record(session, "bulk_issuance.uploaded", "bulk_issuance", job.id,
                     {"status": job.status, "rows": job.total_rows, "valid_rows": job.valid_rows})
        return _summary(job) | {
            "rows_with_problems": bulk_issuance.count_rows_with_problems(session, job.id), "problems": problems,
        }


@bp.get("/<job_id>")
@require(role=HR_ADMIN)
@bp.response(200, BulkIssuanceOutput)
@bp.doc(responses=problems(401, 403, 404))
def get_bulk_issuance(job_id):
    """A bulk issuance's status, counts and progress (HR admins)."""
    with database().transaction() as session:
        return _summary(bulk_issuance.get_bulk_issuance(session, job_id))


@bp.post("/<job_id>/start")
@require(role=HR_ADMIN)
@bp.response(200, BulkIssuanceOutput)
@bp.doc(responses=problems(401, 403, 404, 409))
def start_bulk_issuance(job_id):
    """Issue a ready bulk issuance's valid rows in the background (HR admins); invalid rows are left out."""
    with database().transaction() as session:
        job = bulk_issuance.start_bulk_issuance(session, job_id, started_by=current_principal().subject, now=now())
        audit.record(session, "bulk_issuance.started", "bulk_issuance", job.id, {"valid_rows": job.valid_rows})
        return _summary(job)


@bp.get("/<job_id>/problems")
@require(role=HR_ADMIN)
@bp.arguments(ProblemsQuery, location="query")
@bp.response(200, ProblemsPage)
@bp.doc(responses=problems(401, 403, 404, 422))
def list_problems(query, job_id):
    """Every row with an error or a warning, in file order, a page at a time (HR admins)."""
    with database().transaction() as session:
        bulk_issuance.get_bulk_issuance(session, job_id)
        return {
            "total": bulk_issuance.count_rows_with_problems(session, job_id),
            "offset": query["offset"], "limit": query["limit"],
            "rows": bulk_issuance.rows_with_problems(session, job_id, **query),
        }
