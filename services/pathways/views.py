"""The pathways intranet pages: an employee's pathway, a manager's team and approvals, HR's overview."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from sqlalchemy import select

from services.pathways import advancement, overviews, progress
from services.pathways.models import Person
from shared.auth import HR_ADMIN, current_principal, sign_in_required
from shared.errors import InvalidInput
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
            session, {achievement for pathway in pathways for level in pathway["levels"] for achievement in level["required"]}
        )
    for pathway in pathways:
        pathway["recommended"] = overviews.next_recommended(pathway["levels"])
    return render_template("pathways/my_pathway.html", pathways=pathways, names=names, expiring=expiring)


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
        waiting = [
            found
            for found in advancement.requests_visible_to(session, principal.subject, everyone=False, status="open", skip_level=skip_level)
            if advancement.may_decide(session, found, principal.subject, skip_level=skip_level)
        ]
        reports = select(Person).where(Person.employee_id.in_([found.employee_id for found in waiting]))
        names = {person.employee_id: person.name for person in session.scalars(reports)}
    return render_template("pathways/approvals.html", requests=waiting, names=names)


@bp.post("/approvals/<request_id>")
@sign_in_required()
def decide(request_id):
    """Approve or reject one request from the approvals page."""
    decision = request.form.get("decision")
    comment = request.form.get("comment", "")
    if decision not in ("approve", "reject") or len(comment) > 2000:
        raise InvalidInput("choose approve or reject, with a comment of at most 2000 characters")
    with database().transaction() as session:
        decided = advancement.decide(
            session,
            request_id,
            decider_id=current_principal().subject,
            approve=decision == "approve",
            comment=comment,
            now=now(),
            source=event_source(),
            skip_level=current_app.config["APPROVAL_SKIP_LEVEL"],
        )
        flash(f"Request {decided.status}.")
    return redirect(url_for(".approvals"))
