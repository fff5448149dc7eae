"""HR's analytics: credentials issued per month, skills coverage per department, time to a decision.

Each figure is aggregated by the database (GROUP BY) in a fixed number of queries, whatever the
size of the company; Python only fills in empty months and reads percentiles off a histogram.
Months are calendar months in UTC: the last `MONTHS`, the current one included.

At 100 000 people and a million credentials the aggregates take seconds, not milliseconds (the
coverage joins every valid credential to its skills), so the page shows a stored snapshot of
them: the worker refreshes it every `REFRESH_SECONDS`, and a page finding none younger than
`MAX_AGE` computes and stores it at once (a company without a worker, or a first visit).
"""

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, String, delete, distinct, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from services.pathways.models import AdvancementRequest, AnalyticsSnapshot, CatalogSkill, HeldCredential, Person

MONTHS = 12
NO_DEPARTMENT = "No department"
DECIDED = ("approved", "rejected")  # a manager's decisions; withdrawn and closed requests were never decided
SNAPSHOT = "company"
MAX_AGE = timedelta(minutes=15)
REFRESH_SECONDS = 600.0
log = logging.getLogger(__name__)


class month_of(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """SQL: the UTC calendar month of a timestamp as 'YYYY-MM', on PostgreSQL and SQLite alike."""

    type = String()
    inherit_cache = True


@compiles(month_of, "postgresql")
def _month_of_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(month_of, "sqlite")
def _month_of_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"  # stored as naive UTC text


class tenths_of_days_between(FunctionElement):  # noqa: N801
    """SQL: the whole tenths of a day from a first timestamp to a second (2.4 hours each)."""

    type = Integer()
    inherit_cache = True


@compiles(tenths_of_days_between, "postgresql")
def _tenths_postgresql(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(floor(extract(epoch FROM ({end} - {start})) / 8640) AS INTEGER)"


@compiles(tenths_of_days_between, "sqlite")
def _tenths_sqlite(element, compiler, **kw):
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST((julianday({end}) - julianday({start})) * 10 AS INTEGER)"


def month_starts(now: datetime, count: int = MONTHS) -> list[datetime]:
    """The first instants (UTC) of the last `count` calendar months, oldest first, the current one last."""
    now = now.astimezone(UTC)
    index = now.year * 12 + now.month - 1
    return [datetime(first // 12, first % 12 + 1, 1, tzinfo=UTC) for first in range(index - count + 1, index + 1)]


def month_key(month: datetime) -> str:
    return month.strftime("%Y-%m")


def replace_skill_alignments(session: Session, achievement_id: str, skills: list[dict]) -> None:
    """Project a catalog entry's skill alignments (a credential.defined event's `skills`), replacing its older ones."""
    session.execute(delete(CatalogSkill).where(CatalogSkill.achievement_id == achievement_id))
    unique = {(skill["framework"], skill["code"]): skill["name"] for skill in skills}
    session.add_all(
        CatalogSkill(achievement_id=achievement_id, framework=framework, code=code, name=name)
        for (framework, code), name in unique.items()
    )


def credentials_issued_per_month(session: Session, *, now: datetime) -> list[dict]:
    """How many credentials were issued in each of the last months (revoked and expired ones included)."""
    months = month_starts(now)
    month = month_of(HeldCredential.issued_at)
    query = select(month, func.count()).where(HeldCredential.issued_at >= months[0]).group_by(month)
    counts = dict(session.execute(query).all())
    return [{"month": month_key(first), "credentials": counts.get(month_key(first), 0)} for first in months]


def _department(value: str | None) -> str:
    return value.strip() if value and value.strip() else NO_DEPARTMENT


def _valid(now: datetime):
    """A held credential that counts at `now`: neither revoked nor expired."""
    return (HeldCredential.status == "valid") & or_(HeldCredential.valid_until.is_(None), HeldCredential.valid_until > now)


def skills_coverage(session: Session, *, now: datetime) -> dict:
    """Departments with their active people, the catalog's skills, and per department and skill how many
    active people hold a valid credential aligned to it: {"departments", "skills", "covered"}."""
    departments: dict[str, int] = defaultdict(int)
    for department, people in session.execute(select(Person.department, func.count()).where(Person.active).group_by(Person.department)):
        departments[_department(department)] += people
    skills = session.execute(
        select(CatalogSkill.framework, CatalogSkill.code, func.min(CatalogSkill.name)).group_by(CatalogSkill.framework, CatalogSkill.code)
    ).all()
    covered: dict[tuple[str, str, str], int] = defaultdict(int)
    coverage = (
        select(Person.department, CatalogSkill.framework, CatalogSkill.code, func.count(distinct(Person.employee_id)))
        .select_from(HeldCredential)
        .join(CatalogSkill, CatalogSkill.achievement_id == HeldCredential.achievement_id)
        .join(Person, Person.employee_id == HeldCredential.employee_id)
        .where(Person.active, _valid(now))
        .group_by(Person.department, CatalogSkill.framework, CatalogSkill.code)
    )
    for department, framework, code, people in session.execute(coverage):
        covered[_department(department), framework, code] += people
    return {
        "departments": [{"name": name, "people": people} for name, people in
                        sorted(departments.items(), key=lambda item: (item[0] == NO_DEPARTMENT, item[0].casefold()))],
        "skills": [{"framework": framework, "code": code, "name": name} for framework, code, name in
                   sorted(skills, key=lambda skill: (skill[2].casefold(), skill[0], skill[1]))],
        "covered": [[department, framework, code, people] for (department, framework, code), people in sorted(covered.items())],
    }


def percentile(histogram: dict[int, int], fraction: float) -> int:
    """The nearest-rank percentile of values counted in a histogram {value: count}."""
    rank, seen = max(1, math.ceil(fraction * sum(histogram.values()))), 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise ValueError("an empty histogram has no percentile")


def time_to_decision(session: Session, *, now: datetime) -> dict:
    """Per month of decision, how many requests were decided and the median and 90th percentile of their
    wait from opened to decided, in days (to a tenth; None without decisions); and how many wait now."""
    months = month_starts(now)
    month = month_of(AdvancementRequest.decided_at)
    tenths = tenths_of_days_between(AdvancementRequest.opened_at, AdvancementRequest.decided_at)
    histograms: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for key, waited, count in session.execute(
        select(month, tenths, func.count())
        .where(AdvancementRequest.status.in_(DECIDED), AdvancementRequest.decided_at >= months[0])
        .group_by(month, tenths)
    ):
        histograms[key][max(waited, 0)] += count  # a clock step back must not make a negative wait
    waiting = session.scalar(select(func.count()).select_from(AdvancementRequest).where(AdvancementRequest.status == "open"))
    result = []
    for key in map(month_key, months):
        histogram = histograms.get(key) or {}
        result.append({
            "month": key, "decided": sum(histogram.values()),
            "median_days": percentile(histogram, 0.5) / 10 if histogram else None,
            "p90_days": percentile(histogram, 0.9) / 10 if histogram else None,
        })
    return {"months": result, "waiting": waiting}


def company_figures(session: Session, *, now: datetime) -> dict:
    """Every figure of the analytics page, as JSON values."""
    return {
        "issued": credentials_issued_per_month(session, now=now),
        "coverage": skills_coverage(session, now=now),
        "decisions": time_to_decision(session, now=now),
    }


def refresh_snapshot(session: Session, *, now: datetime) -> AnalyticsSnapshot:
    """Compute the figures and store them as the snapshot the page shows."""
    figures = company_figures(session, now=now)
    try:
        with session.begin_nested():
            return session.merge(AnalyticsSnapshot(name=SNAPSHOT, computed_at=now, figures=figures))
    except IntegrityError:  # a page or the worker stored the first one meanwhile: theirs stays, these are as fresh
        return AnalyticsSnapshot(name=SNAPSHOT, computed_at=now, figures=figures)


def current_snapshot(session: Session, *, now: datetime, max_age: timedelta = MAX_AGE) -> AnalyticsSnapshot:
    """The stored snapshot if computed within `max_age` of `now` (and not after it), else a fresh one."""
    snapshot = session.get(AnalyticsSnapshot, SNAPSHOT)
    if snapshot is None or not now - max_age <= snapshot.computed_at <= now:
        snapshot = refresh_snapshot(session, now=now)
    return snapshot


class SnapshotRefresher:
    """The worker's loop keeping the snapshot younger than `MAX_AGE`, so no page waits for the aggregates."""

    def __init__(self, database, clock: Callable[[], datetime], *, interval_seconds: float = REFRESH_SECONDS):
        self.database, self.clock, self.interval_seconds = database, clock, interval_seconds

    def run(self, stop: threading.Event) -> None:
        """Refresh the snapshot every `interval_seconds` until stopped."""
        while not stop.is_set():
            try:
                with self.database.transaction() as session:
                    refresh_snapshot(session, now=self.clock())
            except Exception:
                log.warning("refreshing the analytics snapshot failed; retrying", exc_info=True)
            stop.wait(self.interval_seconds)
