"""The pathways intranet pages: an employee's pathway, a manager's team and approvals, HR's overview."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from sqlalchemy import select

from services.pathways import advancement, overviews, progress
from services.pathways.models import Person
from shared import audit
from shared.auth import HR_ADMIN, current_principal, sign_in_required
from shared.errors import InvalidInput
from shared.intranet import is_fragment_request
from shared.web import database, event_source, now

bp = Blueprint("pathways", __name__, template_folder="templates")


@bp.get("/")
@sign_in_required()
def my_pathway():
    """The signed-in employee's pathways, level by level."""
    employee_id = current_principal().subject
    with database().transaction() as session:
        pathways = progress.progress_of(session, employee_id, now=now())
        expiring = overviews.expiring_credentials(
            session, employee_id, now=now(), within_days=current_app.config["PATHWAYS_EXPIRING_WITHIN_DAYS"]
        )
        names = overviews.catalog_names(
            session,
            {achievement for pathway in pathways for level in pathway["levels"] for achievement in level["required"]} | expiring.keys(),
        )
    for pathway in pathways:
        pathway["recommended"] = overviews.next_recommended(pathway["levels"])
    return render_template(
        "pathways/my_pathway.html", pathways=pathways, names=names, expiring=expiring, next_step=next_step_of(pathways),
        expiring_soon=sorted(expiring.items(), key=lambda item: item[1]),
        expiring_within_days=current_app.config["PATHWAYS_EXPIRING_WITHIN_DAYS"],
    )


def next_step_of(pathways: list[dict]) -> dict | None:
    """The start page's one suggestion: the first recommended credential and the level it counts towards,
    else a level waiting for the manager or for time at the previous level; None when all are reached."""
    for pathway in pathways:
        if pathway["recommended"]:
            level = next(level for level in pathway["levels"] if pathway["recommended"] in level["missing"])
            return {"kind": "earn", "achievement": pathway["recommended"], "level": level["name"], "pathway": pathway["pathway_name"]}
    for pathway in pathways:
        for level in pathway["levels"]:
            if not level["attained"] and level["request_status"] == "open":
                return {"kind": "approval", "level": level["name"], "pathway": pathway["pathway_name"]}
            if not level["attained"] and level["eligible_from"]:
                return {"kind": "time", "level": level["name"], "pathway": pathway["pathway_name"], "from": level["eligible_from"]}
    return None


@bp.get("/team")
@sign_in_required()
def team():
    """The signed-in manager's reports: their levels, what waits for approval, and the team's skills."""
    with database().transaction() as session:
        summary = overviews.team_of(
            session, current_principal().subject, now=now(), skip_level=current_app.config["APPROVAL_SKIP_LEVEL"]
        )
    return render_template("pathways/team.html", **summary)


@bp.get("/overview")
@sign_in_required(role=HR_ADMIN)
def overview():
    """HR's view of every pathway's levels and of requests waiting too long for a decision."""
    stuck_after_days = current_app.config["PATHWAYS_STUCK_AFTER_DAYS"]
    with database().transaction() as session:
        summary = overviews.company_overview(session, now=now(), stuck_after_days=stuck_after_days)
    return render_template("pathways/overview.html", stuck_after_days=stuck_after_days, **summary)


@bp.get("/approvals")
@sign_in_required()
def approvals():
    """Open advancement requests of the signed-in manager's direct reports."""
    principal = current_principal()
    skip_level = current_app.config["APPROVAL_SKIP_LEVEL"]
    with database().transaction() as session:
        visible = advancement.requests_visible_to(session, principal.subject, everyone=False, status="open", skip_level=skip_level)
        people = _load_with_managers(session, {found.employee_id for found in visible})
        waiting = [found for found in visible if advancement.may_decide(session, found, principal.subject, skip_level=skip_level)]
        names = {found.employee_id: people[found.employee_id].name for found in waiting if found.employee_id in people}
    return render_template("pathways/approvals.html", requests=waiting, names=names)


def _load_with_managers(session, employee_ids: set[str]) -> dict[str, Person]:
    """The people and their managers in two queries, so deciding who may approve each request
    finds them in the session instead of asking the database twice per request."""
    people = {person.employee_id: person for person in session.scalars(select(Person).where(Person.employee_id.in_(employee_ids)))}
    managers = {person.manager_id for person in people.values() if person.manager_id} - people.keys()
    people |= {person.employee_id: person for person in session.scalars(select(Person).where(Person.employee_id.in_(managers)))}
    return people


@bp.post("/approvals/<request_id>")
@sign_in_required()
def decide(request_id):
    """Approve or reject one request from the approvals page."""
    decision = request.form.get("decision")
    comment = request.form.get("comment", "")
    if decision not in ("approve", "reject") or len(comment) > 2000:
        raise InvalidInput("choose approve or reject, with a comment of at most 2000 characters")
    decider, skip_level = current_principal().subject, current_app.config["APPROVAL_SKIP_LEVEL"]
    with database().transaction() as session:
        decided = advancement.decide(
            session,
            request_id,
            decider_id=decider,
            approve=decision == "approve",
            comment=comment,
            now=now(),
            source=event_source(),
            skip_level=skip_level,
        )
        audit.record(session, f"advancement_request.{decided.status}", "advancement_request", decided.id,
                     {"employee_id": decided.employee_id, "pathway_id": decided.pathway_id, "level": decided.level})
        if is_fragment_request():  # decided in place: the request's card becomes its outcome
            person = session.get(Person, decided.employee_id)
            visible = advancement.requests_visible_to(session, decider, everyone=False, status="open", skip_level=skip_level)
            remaining = any(advancement.may_decide(session, found, decider, skip_level=skip_level) for found in visible)
            return render_template("pathways/_decided.html", decided=decided, name=person.name if person else decided.employee_id,
                                   remaining=remaining)
        flash(f"Request {decided.status}.")
    return redirect(url_for(".approvals"))
