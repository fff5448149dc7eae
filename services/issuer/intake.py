"""Assessment intake: record a completion the LMS reports and announce it for issuance."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.issuer.models import AssessmentAttempt
from shared.bus.outbox import publish
from shared.errors import Conflict

ASSESSMENT_COMPLETED = "skillstack.academy.assessment.completed.v1"
_COMPARED = ("employee_id", "email", "assessment_id", "score", "completed_at", "passed", "rubric_level", "evidence", "assessor_id")


def record_completion(
    session: Session, completion: dict, *, now: datetime, source: str, channel: str = "intake-api"
) -> tuple[AssessmentAttempt, bool]:
    """Record an attempt once and publish its completion; return the attempt and whether it is new.

    A resubmission of the same attempt is accepted without a second event; the same attempt
    id with different content is a conflict. `channel` is the event's `source` field: where
    the result came from (the LMS through the intake API, or an assessor).
    """
    existing = session.get(AssessmentAttempt, completion["attempt_id"])
    if existing is None:
        try:
            with session.begin_nested():  # a concurrent resubmission may insert the same attempt first
                event = publish(session, ASSESSMENT_COMPLETED, {**completion, "source": channel}, source=source, now=lambda: now)
                attempt = AssessmentAttempt(**completion, received_at=now, event_id=event.id)
                session.add(attempt)
            return attempt, True
        except IntegrityError:
            existing = session.get(AssessmentAttempt, completion["attempt_id"], populate_existing=True)
    if any(_normalise(getattr(existing, name)) != _normalise(completion.get(name)) for name in _COMPARED):
        raise Conflict(f"attempt {completion['attempt_id']!r} was already reported with different content")
    return existing, False


def _normalise(value):
    """Compare datetimes by instant: the database may return another time zone representation."""
    if value == []:  # no evidence: stored as an empty list, absent from an LMS's completion
        return None
    return value.timestamp() if isinstance(value, datetime) else value
