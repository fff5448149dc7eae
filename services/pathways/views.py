"""The pathways intranet pages: an employee's pathway and a manager's approvals."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from sqlalchemy import select

from services.pathways import advancement, progress
from services.pathways.models import Person
from shared.auth import current_principal, sign_in_required
from shared.errors import InvalidInput
from shared.web import database, now

bp = Blueprint("pathways", __name__, template_folder="templates")


@bp.get("/")
@sign_in_required()
def my_pathway():
    """The signed-in employee's pathways, level by level."""
    with database().transaction() as session:
        pathways = progress.progress_of(session, current_principal().subject, now=now())
    return render_template("pathways/my_pathway.html", pathways=pathways)


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
            source=current_app.config["EVENT_SOURCE"],
            skip_level=current_app.config["APPROVAL_SKIP_LEVEL"],
        )
        flash(f"Request {decided.status}.")
    return redirect(url_for(".approvals"))
