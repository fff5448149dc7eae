"""Gap analysis: what an employee still needs for a level of any pathway, in an order they can earn it.

`gap_to_level` is the rule, on plain values; `gaps_of` reads those values for one employee.

Choices a reader would ask about:
- Prerequisites come first: a missing credential's missing prerequisites (transitively, on the
  pathway or not) are listed before it. A prerequisite cycle in the catalog is cut where found.
- For an n-of group the suggestion is the cheapest credentials still missing: cheapest by the
  estimated hours of the credential plus those of its missing prerequisites; credentials with
  no estimate (theirs or a prerequisite's) come after every estimated one, ties by id.
- The soft-skill balance is a count, not a list: any soft credential counts, including the
  soft ones this plan already suggests.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.pathways.enrollment import enrolled_levels
from services.pathways.models import CatalogEntry, HeldCredential, LevelAttainment, Pathway
from services.pathways.progress import SOFT, LevelRule, add_months, held_categories
from shared.errors import InvalidInput, NotFound

DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class CatalogDetails:
    """What the catalog says of one credential that matters to a plan."""

    name: str
    category: str | None = "technical"
    prerequisites: tuple[str, ...] = ()
    effort_hours: float | None = None


@dataclass
class _Plan:
    """Credentials chosen so far, why, and the catalog to look them up in."""

    held: Mapping[str, str | None]
    catalog: Mapping[str, CatalogDetails]
    reasons: dict[str, str] = field(default_factory=dict)

    def details(self, achievement_id: str) -> CatalogDetails:
        return self.catalog.get(achievement_id) or CatalogDetails(name=achievement_id, category=None)

    def missing_prerequisites(self, achievement_id: str) -> list[str]:
        return [p for p in self.details(achievement_id).prerequisites if p not in self.held]

    def closure(self, achievement_id: str) -> set[str]:
        """The credential and every missing prerequisite it needs, transitively."""
        found, stack = set(), [achievement_id]
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self.missing_prerequisites(current))
        return found

    def cost(self, achievement_id: str) -> tuple[bool, float, str]:
        """Sort key: unknown effort last, then the hours of the credential and its missing prerequisites not yet planned."""
        efforts = [self.details(a).effort_hours for a in self.closure(achievement_id) if a not in self.reasons]
        return (None in efforts, sum(e for e in efforts if e is not None), achievement_id)

    def need(self, achievement_id: str, reason: str) -> None:
        self.reasons.setdefault(achievement_id, reason)


def gap_to_level(
    levels: list[LevelRule],
    held: Mapping[str, str | None],
    catalog: Mapping[str, CatalogDetails],
    expiring: Mapping[str, datetime],
    *,
    now: datetime,
    attained: Mapping[int, datetime] | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> dict:
    """The missing credentials (prerequisites first), effort, soft-skill balance, waiting and expiring credentials for the top level.

    `levels` are the rules up to and including the target; `held` maps valid achievements to their category;
    `expiring` maps held achievements to when their last valid credential ends; `attained` maps levels to when.
    """
    attained = attained or {}
    open_levels = [rule for rule in sorted(levels, key=lambda rule: rule.number) if rule.number not in attained]
    plan = _Plan(held, catalog)
    for rule in open_levels:
        for achievement_id in sorted(rule.required - held.keys()):
            plan.need(achievement_id, "required")
    for rule in open_levels:
        for n, group in rule.n_of:
            for _ in range(n - len(group & held.keys()) - len(group & plan.reasons.keys())):
                candidates = group - held.keys() - plan.reasons.keys()
                if not candidates:
                    break  # the pathway's designer checked n against the group; a retired credential can still shrink it
                plan.need(min(candidates, key=plan.cost), "one_of_group")
    missing = [_item(plan, achievement_id) for achievement_id in _prerequisites_first(plan)]
    soft_planned = sum(1 for item in missing if item["category"] == SOFT)
    soft_held = sum(1 for category in held.values() if category == SOFT)
    soft_needed = max((rule.min_soft_skill_credentials for rule in open_levels), default=0)
    efforts = [item["effort_hours"] for item in missing]
    return {
        "missing": missing,
        "technical": [item for item in missing if item["category"] != SOFT],
        "soft": [item for item in missing if item["category"] == SOFT],
        "total_effort_hours": sum(effort for effort in efforts if effort is not None),
        "effort_unknown": [item["achievement_id"] for item in missing if item["effort_hours"] is None],
        "soft_credentials_needed": max(0, soft_needed - soft_held - soft_planned),
        "waiting": _waiting(open_levels, attained, now),
        "expiring": _expiring(open_levels, plan, expiring, now + timedelta(days=horizon_days)),
        "next_recommended": next((item for item in missing if not item["prerequisites_missing"]), None),
    }


def _prerequisites_first(plan: _Plan) -> list[str]:
    """Every planned credential and its missing prerequisites, each after what it needs (depth first, stable)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(achievement_id: str) -> None:
        if achievement_id in ordered or achievement_id in visiting:
            return  # placed already, or a cycle: cut here
        visiting.add(achievement_id)
        for prerequisite in plan.missing_prerequisites(achievement_id):
            plan.need(prerequisite, "prerequisite")
            visit(prerequisite)
        visiting.discard(achievement_id)
        ordered.append(achievement_id)

    for achievement_id in list(plan.reasons):
        visit(achievement_id)
    return ordered


def _item(plan: _Plan, achievement_id: str) -> dict:
    details = plan.details(achievement_id)
    return {
        "achievement_id": achievement_id,
        "name": details.name,
        "category": details.category or "technical",
        "effort_hours": details.effort_hours,
        "prerequisites_missing": plan.missing_prerequisites(achievement_id),
        "reason": plan.reasons[achievement_id],
    }


def _waiting(open_levels: list[LevelRule], attained: Mapping[int, datetime], now: datetime) -> list[dict]:
    """Each open level's time still to serve at the previous level; `eligible_from` None until that level is attained."""
    waiting = []
    for rule in open_levels:
        if rule.min_months_at_previous_level:
            since = attained.get(rule.number - 1)
            eligible_from = add_months(since, rule.min_months_at_previous_level) if since else None
            if eligible_from is None or eligible_from > now:
                waiting.append({"level": rule.number, "min_months": rule.min_months_at_previous_level, "eligible_from": eligible_from})
    return waiting


def _expiring(open_levels: list[LevelRule], plan: _Plan, expiring: Mapping[str, datetime], horizon: datetime) -> list[dict]:
    """Held credentials ending before the horizon without which an open level's rule would no longer be met."""
    ending = {achievement_id for achievement_id, until in expiring.items() if achievement_id in plan.held and until <= horizon}
    breaking: set[str] = set()
    soft_ending = {a for a in ending if plan.held[a] == SOFT}
    soft_held = sum(1 for category in plan.held.values() if category == SOFT)
    for rule in open_levels:
        breaking |= rule.required & ending
        for n, group in rule.n_of:
            if len(group & plan.held.keys()) - len(group & ending) < n:
                breaking |= group & ending
        if rule.min_soft_skill_credentials and soft_held - len(soft_ending) < rule.min_soft_skill_credentials:
            breaking |= soft_ending
    return [
        {"achievement_id": a, "name": plan.details(a).name, "valid_until": expiring[a]}
        for a in sorted(breaking, key=lambda a: (expiring[a], a))
    ]


def gaps_of(session: Session, employee_id: str, pathway_id: str, level: int, *, now: datetime, horizon_days: int) -> dict:
    """The employee's gap to one level of a pathway (404 for an unknown pathway, 422 for a level it does not have)."""
    pathway = session.get(Pathway, pathway_id)
    if pathway is None:
        raise NotFound(f"no pathway {pathway_id!r}")
    levels = enrolled_levels(session, employee_id, pathway)  # the version the employee progresses on
    if not 1 <= level <= len(levels):
        raise InvalidInput(f"pathway {pathway_id!r} has levels 1 to {len(levels)}", errors={"level": ["out of range"]})
    held = held_categories(session, employee_id, now)
    catalog = {
        entry.achievement_id: CatalogDetails(entry.name, entry.category, tuple(entry.prerequisites or ()), entry.effort_hours)
        for entry in session.scalars(select(CatalogEntry))
    }
    attained = dict(
        session.execute(
            select(LevelAttainment.level, LevelAttainment.attained_at).where(
                LevelAttainment.employee_id == employee_id, LevelAttainment.pathway_id == pathway_id
            )
        ).all()
    )
    rules = [LevelRule.of(stored) for stored in levels if stored.number <= level]
    gap = gap_to_level(rules, held, catalog, _last_valid_until(session, employee_id, held, now), now=now,
                       attained=attained, horizon_days=horizon_days)
    return {"pathway_id": pathway.id, "pathway_name": pathway.name, "level": level,
            "level_name": next(stored.name for stored in levels if stored.number == level), "attained": level in attained} | gap


def _last_valid_until(session: Session, employee_id: str, held: Mapping[str, str | None], now: datetime) -> dict[str, datetime]:
    """For each held achievement whose valid credentials all end, when the last of them ends."""
    ends: dict[str, datetime | None] = {}
    for credential in session.scalars(
        select(HeldCredential).where(HeldCredential.employee_id == employee_id, HeldCredential.status == "valid")
    ):
        if credential.achievement_id in held and (credential.valid_until is None or credential.valid_until > now):
            previous = ends.get(credential.achievement_id, now)
            ends[credential.achievement_id] = None if previous is None or credential.valid_until is None else max(previous, credential.valid_until)
    return {achievement_id: until for achievement_id, until in ends.items() if until is not None}
