"""The worker side of bulk issuance: issue the valid rows of started jobs, one batch per transaction.

Each row is issued through the same code as a completion (`issuance.issue_credential`: signed,
given a status entry, announced through the outbox) with the attempt id `bulk:<job>:<row>`.
A row's outcome, the job's counts and the credentials of a batch commit together, and the
credentials table allows one credential per (attempt, achievement): a crash mid-batch and a
rerun never issue a row twice. The job is locked with SKIP LOCKED, so two workers share jobs,
never a job's rows. Manual awards carry no score; their evidence is the row's URL and date.
"""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from services.issuer.issuance import holds_valid, issue_credential
from services.issuer.models import Achievement, BulkIssuance, BulkIssuanceRow, Credential
from services.issuer.openbadges import IssuerProfile
from services.issuer.signing import SigningKeys
from shared.db import Database

log = logging.getLogger(__name__)
Row = BulkIssuanceRow


def attempt_id_of(row: BulkIssuanceRow) -> str:
    """The attempt id a row's credential carries: the same on every rerun."""
    return f"bulk:{row.bulk_issuance_id}:{row.row_number}"


def issue_next_batch(
    session: Session, *, now: datetime, source: str, issuer: IssuerProfile, keys: SigningKeys, batch_size: int
) -> int:
    """Issue up to `batch_size` pending rows of the oldest started job; return how many rows were settled."""
    job = session.scalars(
        select(BulkIssuance).where(BulkIssuance.status == "issuing")
        .order_by(BulkIssuance.started_at, BulkIssuance.id).limit(1).with_for_update(skip_locked=True)
    ).first()
    if job is None:
        return 0
    rows = list(
        session.scalars(
            select(Row).where(Row.bulk_issuance_id == job.id, Row.outcome == "pending").order_by(Row.row_number).limit(batch_size)
        )
    )
    achievements = {a.id: a for a in session.scalars(select(Achievement).where(Achievement.id.in_({r.achievement_id for r in rows})))}
    for row in rows:
        _settle(session, job, row, achievements[row.achievement_id], now=now, source=source, issuer=issuer, keys=keys)
    pending = select(Row.row_number).where(Row.bulk_issuance_id == job.id, Row.outcome == "pending")
    if not session.scalar(select(exists(pending))):
        job.status, job.finished_at = "done", now
    return len(rows)


def _settle(
    session: Session, job: BulkIssuance, row: BulkIssuanceRow, achievement: Achievement,
    *, now: datetime, source: str, issuer: IssuerProfile, keys: SigningKeys,
) -> None:
    """Issue one row's credential, or skip it; count it in the job."""
    attempt_id = attempt_id_of(row)
    already = session.scalar(
        select(Credential.id).where(Credential.attempt_id == attempt_id, Credential.achievement_id == achievement.id)
    )
    if already is not None:  # issued by an earlier run of this row
        row.outcome, row.credential_id = "issued", already
        job.issued += 1
    elif achievement.retired or holds_valid(session, row.employee_id, achievement.id, now):
        row.outcome = "skipped"
        if achievement.retired:
            row.problems = [*(row.problems or ()), {"column": "credential", "message": "retired before issuance", "severity": "warning"}]
        job.skipped += 1
    else:
        credential = issue_credential(
            session, achievement, employee_id=row.employee_id, email=row.email, attempt_id=attempt_id, score=None,
            completed_at=datetime.combine(row.demonstrated_on, time(), UTC), source_event_id=f"bulk:{job.id}",
            now=now, source=source, issuer=issuer, keys=keys, evidence=[evidence_of(row)],
        )
        row.outcome, row.credential_id = "issued", credential.id
        job.issued += 1


def evidence_of(row: BulkIssuanceRow) -> dict:
    """The OB 3.0 evidence of a manual award: where it is documented and when it was demonstrated."""
    evidence = {
        "type": ["Evidence"],
        "name": "Awarded by HR",
        "narrative": f"Demonstrated on {row.demonstrated_on.isoformat()}; imported in bulk issuance {row.bulk_issuance_id}, row {row.row_number}.",
    }
    return ({"id": row.evidence_url} | evidence) if row.evidence_url else evidence


class BulkIssuer:
    """Issues started bulk issuances in the worker, batch after batch, checking every `interval_seconds`."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime],
        *,
        source: str,
        issuer: IssuerProfile,
        keys: SigningKeys,
        interval_seconds: float,
        batch_size: int = 200,
    ):
        self.database, self.clock = database, clock
        self.source, self.issuer, self.keys = source, issuer, keys
        self.interval_seconds, self.batch_size = interval_seconds, batch_size

    def issue_batch(self) -> int:
        """Issue one batch in its own transaction; return how many rows it settled."""
        with self.database.transaction() as session:
            return issue_next_batch(
                session, now=self.clock(), source=self.source, issuer=self.issuer, keys=self.keys, batch_size=self.batch_size
            )

    def issue_pending(self, stop: threading.Event | None = None) -> int:
        """Issue batches until no started job has pending rows; return how many rows were settled."""
        total = 0
        while stop is None or not stop.is_set():
            settled = self.issue_batch()
            total += settled
            if settled == 0:
                break
        return total

    def run(self, stop: threading.Event) -> None:
        """Issue started bulk issuances until stopped."""
        while not stop.is_set():
            try:
                settled = self.issue_pending(stop)
                if settled:
                    log.info("bulk issuance: settled %d rows", settled)
            except Exception:
                log.warning("bulk issuance failed; retrying", exc_info=True)
            stop.wait(self.interval_seconds)
