"""Bulk issuance: HR uploads a CSV of awards, reads the row-by-row report, then starts issuing the valid rows.

The upload is validated and stored in one transaction, rows inserted in batches as they are
read, so a file of any length takes bounded memory and a broken file stores nothing. A file
with invalid rows is still `ready` when some rows are valid: HR sees every problem and may
start issuing the valid rows only, or fix the file and upload it again. A file without a valid
row is `rejected`. Issuance itself runs in the worker (`bulk_issuer`).
"""

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, insert, or_, select, tuple_
from sqlalchemy.orm import Session

from services.issuer.bulk_uploads import check_award, error, parse_date, read_awards, warning
from services.issuer.models import Achievement, BulkIssuance, BulkIssuanceRow, Credential
from shared.errors import Conflict, InvalidInput, NotFound

INSERT_BATCH_SIZE = 1000
Row = BulkIssuanceRow


def receive_bulk_issuance(
    session: Session,
    lines: Iterable[str],
    *,
    created_by: str,
    now: datetime,
    max_rows: int,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> BulkIssuance:
    """Validate and store every row of an uploaded file; the job is ready if any row is valid, else rejected."""
    job = BulkIssuance(
        id=new_id(), created_by=created_by, created_at=now, status="validating",
        total_rows=0, valid_rows=0, invalid_rows=0, warned_rows=0, issued=0, skipped=0, problem_count=0,
    )
    session.add(job)
    session.flush()
    retired_by_id = dict(session.execute(select(Achievement.id, Achievement.retired)).all())
    batch: list[dict] = []
    for award in read_awards(lines, max_rows=max_rows):
        batch.append(_stored_row(job.id, award, check_award(award, retired_by_id, today=now.date())))
        if len(batch) == INSERT_BATCH_SIZE:
            _store(session, batch, now)
            batch = []
    _store(session, batch, now)
    _mark_duplicates(session, job.id)
    _count(session, job)
    if job.total_rows == 0:
        raise InvalidInput("the file has no rows; nothing was stored")
    job.status = "ready" if job.valid_rows else "rejected"
    return job


def _stored_row(job_id: str, award: dict, problems: list[dict]) -> dict:
    """The row as stored: values cut to their column, so an over-long value is still shown in the report."""
    return {
        "bulk_issuance_id": job_id,
        "row_number": award["row"],
        "employee_id": award["employee_id"][:200],
        "email": award["email"][:320],
        "achievement_id": award["credential"][:200],
        "evidence_url": award["evidence_url"][:2000] or None,
        "demonstrated_on": parse_date(award["date"]),
        "problems": problems,
    }


def _store(session: Session, batch: list[dict], now: datetime) -> None:
    """Warn of awards already held, then insert the batch in one statement."""
    if not batch:
        return
    held = _held(session, {(row["employee_id"], row["achievement_id"]) for row in batch if not row["problems"]}, now)
    for row in batch:
        if (row["employee_id"], row["achievement_id"]) in held and not row["problems"]:
            row["problems"].append(warning("credential", "already holds a valid credential of it: will be skipped"))
        row["valid"] = not any(problem["severity"] == "error" for problem in row["problems"])
        row["outcome"] = "pending" if row["valid"] else "invalid"
        row["problems"] = row["problems"] or None
    session.execute(insert(Row), batch)


def _held(session: Session, pairs: set[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
    """Which (employee, achievement) pairs have an unrevoked, unexpired credential."""
    if not pairs:
        return set()
    held = session.execute(
        select(Credential.employee_id, Credential.achievement_id).where(
            tuple_(Credential.employee_id, Credential.achievement_id).in_(pairs),
            Credential.revoked_at.is_(None),
            or_(Credential.valid_until.is_(None), Credential.valid_until > now),
        )
    )
    return {tuple(pair) for pair in held}


def _mark_duplicates(session: Session, job_id: str) -> None:
    """A second row for the same employee and credential is an error naming the first, found by the database."""
    first = func.min(Row.row_number).over(partition_by=(Row.employee_id, Row.achievement_id)).label("first")
    ranked = select(Row.row_number, first).where(Row.bulk_issuance_id == job_id, Row.employee_id != "", Row.achievement_id != "").subquery()
    duplicates = session.execute(select(ranked.c.row_number, ranked.c.first).where(ranked.c.row_number != ranked.c.first)).all()
    for start in range(0, len(duplicates), INSERT_BATCH_SIZE):
        first_of = dict(duplicates[start:start + INSERT_BATCH_SIZE])
        rows = list(session.scalars(select(Row).where(Row.bulk_issuance_id == job_id, Row.row_number.in_(first_of))))
        for row in rows:
            problem = error("credential", f"duplicate of row {first_of[row.row_number]}: same employee and credential")
            row.problems = [*(row.problems or ()), problem]
            row.valid, row.outcome = False, "invalid"
        session.flush()
        for row in rows:
            session.expunge(row)  # keep the session small however many duplicates there are


def _count(session: Session, job: BulkIssuance) -> None:
    """The job's row totals, counted by the database."""
    job.total_rows, job.valid_rows, job.warned_rows = session.execute(
        select(func.count(), func.count().filter(Row.valid), func.count().filter(Row.valid, Row.problems.is_not(None)))
        .where(Row.bulk_issuance_id == job.id)
    ).one()
    job.invalid_rows = job.total_rows - job.valid_rows
    job.problem_count = sum(len(problems) for problems in session.scalars(
        select(Row.problems).where(Row.bulk_issuance_id == job.id, Row.problems.is_not(None)).execution_options(yield_per=INSERT_BATCH_SIZE)
    ))


def start_bulk_issuance(session: Session, job_id: str, *, started_by: str, now: datetime) -> BulkIssuance:
    """Have the worker issue a ready job's valid rows."""
    job = session.get(BulkIssuance, job_id, with_for_update=True)
    if job is None:
        raise NotFound(f"no bulk issuance {job_id!r}")
    if job.status != "ready":
        raise Conflict(f"bulk issuance {job_id!r} is {job.status}: only a ready one can start")
    job.status, job.started_by, job.started_at = "issuing", started_by, now
    return job


def get_bulk_issuance(session: Session, job_id: str) -> BulkIssuance:
    job = session.get(BulkIssuance, job_id)
    if job is None:
        raise NotFound(f"no bulk issuance {job_id!r}")
    return job


def progress_of(job: BulkIssuance) -> dict:
    """What a progress bar shows: rows settled and remaining out of the valid ones."""
    settled = job.issued + job.skipped
    return {
        "remaining": job.valid_rows - settled,
        "percent": 100.0 if not job.valid_rows else round(100 * settled / job.valid_rows, 1),
    }


def rows_with_problems(session: Session, job_id: str, *, offset: int, limit: int) -> list[BulkIssuanceRow]:
    """The job's rows that have errors or warnings, in file order."""
    return list(
        session.scalars(
            select(Row).where(Row.bulk_issuance_id == job_id, Row.problems.is_not(None))
            .order_by(Row.row_number).offset(offset).limit(limit)
        )
    )


def count_rows_with_problems(session: Session, job_id: str) -> int:
    return session.scalar(select(func.count()).where(Row.bulk_issuance_id == job_id, Row.problems.is_not(None)))
