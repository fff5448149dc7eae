"""What the pathway pages show beyond one request: a ladder's names and next step, a team, the company.

Each function loads what its page needs in a fixed number of queries, however large the team or company.
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from services.pathways.advancement import reports_of
from services.pathways.models import AdvancementRequest, CatalogEntry, HeldCredential, LevelAttainment, Pathway, Person


def catalog_names(session: Session, achievement_ids) -> dict[str, str]:
    """Catalog names of these achievements (an achievement the catalog does not know keeps its id)."""
    ids = set(achievement_ids)
    if not ids:
        return {}
    query = select(CatalogEntry.achievement_id, CatalogEntry.name).where(CatalogEntry.achievement_id.in_(ids))
    found = dict(session.execute(query).all())
    return {achievement_id: found.get(achievement_id, achievement_id) for achievement_id in ids}


def next_recommended(levels: list[dict]) -> str | None:
    """The first missing credential of the lowest level not attained yet (a level only waiting for approval is skipped)."""
    return next((level["missing"][0] for level in levels if not level["attained"] and level["missing"]), None)


def expiring_credentials(session: Session, employee_id: str, *, now: datetime, within_days: int) -> dict[str, datetime]:
    """Achievements whose valid credential runs out within `within_days`, with when it does."""
    rows = session.execute(
        select(HeldCredential.achievement_id, HeldCredential.valid_until).where(
            HeldCredential.employee_id == employee_id,
            HeldCredential.status == "valid",
            HeldCredential.valid_until > now,
            HeldCredential.valid_until <= now + timedelta(days=within_days),
        )
    ).all()
    return {achievement_id: valid_until for achievement_id, valid_until in rows}


def _valid(now: datetime):
    """The condition of a credential that counts at `now`."""
    return (HeldCredential.status == "valid") & or_(HeldCredential.valid_until.is_(None), HeldCredential.valid_until > now)


def team_of(session: Session, manager_id: str, *, now: datetime, skip_level: bool) -> dict:
    """A manager's reports with their highest level per pathway, open requests to decide, and skills coverage."""
    in_team = Person.employee_id.in_(reports_of(manager_id, skip_level=skip_level))
    reports = list(session.scalars(select(Person).where(in_team, Person.employee_id != manager_id).order_by(Person.name)))
    report_ids = [person.employee_id for person in reports]
    highest: dict[str, dict[str, int]] = defaultdict(dict)
    for employee_id, pathway_id, level in session.execute(
        select(LevelAttainment.employee_id, LevelAttainment.pathway_id, func.max(LevelAttainment.level))
        .where(LevelAttainment.employee_id.in_(report_ids))
        .group_by(LevelAttainment.employee_id, LevelAttainment.pathway_id)
    ):
        highest[employee_id][pathway_id] = level
    pathway_ids = {pathway_id for levels in highest.values() for pathway_id in levels}
    pathways = list(session.scalars(select(Pathway).where(Pathway.id.in_(pathway_ids)).order_by(Pathway.name)))
    pending = session.scalar(
        select(func.count())
        .select_from(AdvancementRequest)
        .where(AdvancementRequest.status == "open", AdvancementRequest.employee_id.in_(report_ids))
    )
    holders = dict(
        session.execute(
            select(HeldCredential.achievement_id, func.count(func.distinct(HeldCredential.employee_id)))
            .where(HeldCredential.employee_id.in_(report_ids), _valid(now))
            .group_by(HeldCredential.achievement_id)
        ).all()
    )
    names = catalog_names(session, holders)
    coverage = sorted(((names[a], count) for a, count in holders.items()), key=lambda row: (-row[1], row[0]))
    level_names = {(pathway.id, level.number): level.name for pathway in pathways for level in pathway.levels}
    members = [
        {
            "name": person.name,
            "levels": {
                pathway.id: level_names.get((pathway.id, highest[person.employee_id].get(pathway.id))) for pathway in pathways
            },
        }
        for person in reports
    ]
    return {"members": members, "pathways": pathways, "pending": pending, "coverage": coverage}


def company_overview(session: Session, *, now: datetime, stuck_after_days: int) -> dict:
    """Every pathway with how many employees attained each level, and open requests older than `stuck_after_days`."""
    pathways = list(session.scalars(select(Pathway).order_by(Pathway.name)))
    attained = Counter(
        {
            (pathway_id, level): count
            for pathway_id, level, count in session.execute(
                select(LevelAttainment.pathway_id, LevelAttainment.level, func.count()).group_by(
                    LevelAttainment.pathway_id, LevelAttainment.level
                )
            )
        }
    )
    # The stuck requests with both names in one query: a big company has hundreds, and loading them
    # as objects and then their people by a list of ids cost more than the rest of the page.
    employee, manager = aliased(Person), aliased(Person)
    stuck = session.execute(
        select(
            AdvancementRequest.employee_id, AdvancementRequest.manager_id, AdvancementRequest.pathway_id,
            AdvancementRequest.level, AdvancementRequest.opened_at,
            employee.name.label("employee_name"), manager.name.label("manager_name"),
        )
        .select_from(AdvancementRequest)
        .outerjoin(employee, employee.employee_id == AdvancementRequest.employee_id)
        .outerjoin(manager, manager.employee_id == AdvancementRequest.manager_id)
        .where(AdvancementRequest.status == "open", AdvancementRequest.opened_at < now - timedelta(days=stuck_after_days))
        .order_by(AdvancementRequest.opened_at)
    ).all()
    level_names = {(pathway.id, level.number): level.name for pathway in pathways for level in pathway.levels}
    pathway_names = {pathway.id: pathway.name for pathway in pathways}
    return {
        "pathways": [
            {
                "name": pathway.name,
                "levels": [{"name": level.name, "attained": attained[pathway.id, level.number]} for level in pathway.levels],
            }
            for pathway in pathways
        ],
        "stuck": [
            {
                "employee": request.employee_name or request.employee_id,
                "manager": (request.manager_name or request.manager_id) if request.manager_id else "—",
                "pathway": pathway_names.get(request.pathway_id, request.pathway_id),
                "level": level_names.get((request.pathway_id, request.level), str(request.level)),
                "age_days": (now - request.opened_at).days,
            }
            for request in stuck
        ],
    }
