"""The pathways JSON API: pathway designer and org chart (HR), progress, advancement decisions."""

from dataclasses import asdict

from flask import current_app, request

from services.pathways import advancement, design, directory, gaps, progress, request_history, request_lifecycle, version_migration
from services.pathways.schemas import (
    AdvancementRequestOutput,
    DecisionInput,
    GapOutput,
    GapQuery,
    ImportQuery,
    ImportReportOutput,
    MigrationInput,
    MigrationOutput,
    PathwayEditInput,
    PathwayInput,
    PathwayOutput,
    PathwayProgressOutput,
    PersonOutput,
    RequestHistoryOutput,
    RequestQuery,
    WithdrawalInput,
)
from shared import audit
from shared.auth import HR_ADMIN, current_principal, require
from shared.errors import Forbidden, InvalidInput
from shared.web import ApiBlueprint, database, event_source, now, problems

bp = ApiBlueprint("pathways_api", __name__, url_prefix="/api", description="Pathways, directory and advancement")



def _skip_level() -> bool:
    return bool(current_app.config["APPROVAL_SKIP_LEVEL"])


def _check_can_see(session, employee_id: str) -> None:
    """The employee themselves, the manager who decides for them, or HR."""
    principal = current_principal()
    if principal.subject == employee_id or principal.has_role(HR_ADMIN):
        return
    if principal.subject not in advancement.deciders_of(session, employee_id, skip_level=_skip_level()):
        raise Forbidden("you may only see yourself and your direct reports")


@bp.post("/pathways")
@require(role=HR_ADMIN)
@bp.arguments(PathwayInput)
@bp.response(201, PathwayOutput)
@bp.doc(responses=problems(400, 401, 403, 409, 415, 422))
def define_pathway(definition):
    """Define a pathway: ordered levels over catalog credentials (HR admins)."""
    with database().transaction() as session:
        pathway = design.define_pathway(session, definition, now=now())
        audit.record(session, "pathway.defined", "pathway", pathway.id, {"version": pathway.version})
        return pathway


@bp.get("/pathways")
@require()
@bp.response(200, PathwayOutput(many=True))
@bp.doc(responses=problems(401))
def list_pathways():
    """All pathways."""
    with database().transaction() as session:
        return design.list_pathways(session)


@bp.get("/pathways/<pathway_id>")
@require()
@bp.response(200, PathwayOutput)
@bp.doc(responses=problems(401, 404))
def get_pathway(pathway_id):
    """One pathway and its levels."""
    with database().transaction() as session:
        return design.get_pathway(session, pathway_id)


@bp.put("/pathways/<pathway_id>")
@require(role=HR_ADMIN)
@bp.arguments(PathwayEditInput)
@bp.response(200, PathwayOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 415, 422))
def edit_pathway(definition, pathway_id):
    """Make a new version of a pathway's levels; enrolled employees keep theirs until migrated (HR admins)."""
    with database().transaction() as session:
        pathway = design.edit_pathway(session, pathway_id, definition)
        audit.record(session, "pathway.edited", "pathway", pathway.id, {"version": pathway.version})
        return pathway


@bp.post("/pathways/<pathway_id>/migrations")
@require(role=HR_ADMIN)
@bp.arguments(MigrationInput)
@bp.response(200, MigrationOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 415, 422))
def migrate_employees(migration, pathway_id):
    """Move employees (or all enrolled) to a version and re-evaluate their progress on it (HR admins)."""
    with database().transaction() as session:
        employee_ids, opened = version_migration.migrate_employees(
            session, pathway_id, migration["version"], employee_ids=None if migration.get("all") else migration["employee_ids"],
            now=now(), source=event_source(),
        )
        audit.record(session, "pathway.employees_migrated", "pathway", pathway_id,
                     {"version": migration["version"], "employees": len(employee_ids), "opened_requests": len(opened)})
        return {"pathway_id": pathway_id, "version": migration["version"], "employee_ids": employee_ids, "opened_requests": opened}


@bp.post("/people/import")
@require(role=HR_ADMIN)
@bp.arguments(ImportQuery, location="query")
@bp.response(200, ImportReportOutput)
@bp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}})
@bp.doc(responses=problems(401, 403, 413, 422))
def import_people(query):
    """Import the org chart from CSV (employee_id, email, name, manager_id, active, locale, time_zone); all rows or none (HR admins).

    `mode=full` also deactivates everyone active who is not in the file; `dry_run=true` only reports.
    Without a `locale` or `time_zone` column the stored values stay; an empty cell clears one.
    """
    if request.mimetype != "text/csv":
        raise InvalidInput("send the org chart as text/csv")
    request.max_content_length = current_app.config["ORG_CHART_MAX_BYTES"]  # a whole company, not one JSON body
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the file is not UTF-8 text: {error}") from error
    with database().transaction() as session:
        report = directory.import_org_chart(
            session, text, max_rows=current_app.config["ORG_CHART_MAX_ROWS"], now=now(), source=event_source(),
            full=query["mode"] == "full", dry_run=query["dry_run"],
        )
        if not query["dry_run"]:  # a dry run changes nothing
            audit.record(session, "org_chart.imported", "directory", "people", asdict(report) | {"mode": query["mode"]})
        return report


@bp.get("/people/<employee_id>")
@require()
@bp.response(200, PersonOutput)
@bp.doc(responses=problems(401, 403, 404))
def get_person(employee_id):
    """A person in the directory (themselves, their manager, or HR)."""
    with database().transaction() as session:
        _check_can_see(session, employee_id)
        return directory.get_person(session, employee_id)


@bp.get("/people/<employee_id>/progress")
@require()
@bp.response(200, PathwayProgressOutput(many=True))
@bp.doc(responses=problems(401, 403))
def get_progress(employee_id):
    """An employee's progress on each pathway (themselves, their manager, or HR)."""
    with database().transaction() as session:
        _check_can_see(session, employee_id)
        return progress.progress_of(session, employee_id, now=now())


@bp.get("/people/<employee_id>/gaps")
@require()
@bp.arguments(GapQuery, location="query")
@bp.response(200, GapOutput)
@bp.doc(responses=problems(401, 403, 404, 422))
def get_gaps(query, employee_id):
    """What an employee still needs for a level of any pathway, prerequisites first (themselves, their manager, or HR)."""
    with database().transaction() as session:
        _check_can_see(session, employee_id)
        return gaps.gaps_of(session, employee_id, query["pathway_id"], query["level"], now=now(), horizon_days=query["horizon_days"])


@bp.get("/advancement-requests")
@require()
@bp.arguments(RequestQuery, location="query")
@bp.response(200, AdvancementRequestOutput(many=True))
@bp.doc(responses=problems(401, 422))
def list_requests(query):
    """Requests of the caller's direct reports and their own; HR sees all."""
    principal = current_principal()
    with database().transaction() as session:
        return advancement.requests_visible_to(
            session, principal.subject, everyone=principal.has_role(HR_ADMIN), status=query.get("status"), skip_level=_skip_level()
        )


@bp.get("/advancement-requests/<request_id>")
@require()
@bp.response(200, AdvancementRequestOutput)
@bp.doc(responses=problems(401, 403, 404))
def get_request(request_id):
    """One advancement request (the employee, their manager, or HR)."""
    with database().transaction() as session:
        found = advancement.get_request(session, request_id)
        _check_can_see(session, found.employee_id)
        return found


@bp.get("/advancement-requests/<request_id>/history")
@require()
@bp.response(200, RequestHistoryOutput(many=True))
@bp.doc(responses=problems(401, 403, 404))
def get_request_history(request_id):
    """Every status change of a request, oldest first, with who made it (the employee, their manager, or HR)."""
    with database().transaction() as session:
        found = advancement.get_request(session, request_id)
        _check_can_see(session, found.employee_id)
        return request_history.history_of(session, found.id)


@bp.post("/advancement-requests/<request_id>/withdraw")
@require()
@bp.arguments(WithdrawalInput)
@bp.response(200, AdvancementRequestOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 409, 415, 422))
def withdraw_request(withdrawal, request_id):
    """Withdraw your own open advancement request (the employee only)."""
    with database().transaction() as session:
        withdrawn = request_lifecycle.withdraw(
            session,
            request_id,
            employee_id=current_principal().subject,
            comment=withdrawal["comment"],
            now=now(),
            source=event_source(),
        )
        audit.record(session, f"advancement_request.{withdrawn.status}", "advancement_request", withdrawn.id,
                     {"employee_id": withdrawn.employee_id, "pathway_id": withdrawn.pathway_id, "level": withdrawn.level})
        return withdrawn


def _decide(request_id: str, decision: dict, approve: bool):
    with database().transaction() as session:
        decided = advancement.decide(
            session,
            request_id,
            decider_id=current_principal().subject,
            approve=approve,
            comment=decision["comment"],
            now=now(),
            source=event_source(),
            skip_level=_skip_level(),
        )
        audit.record(session, f"advancement_request.{decided.status}", "advancement_request", decided.id,
                     {"employee_id": decided.employee_id, "pathway_id": decided.pathway_id, "level": decided.level})
        return decided


@bp.post("/advancement-requests/<request_id>/approve")
@require()
@bp.arguments(DecisionInput)
@bp.response(200, AdvancementRequestOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 409, 415, 422))
def approve_request(decision, request_id):
    """Approve a direct report's advancement (their manager only)."""
    return _decide(request_id, decision, approve=True)


@bp.post("/advancement-requests/<request_id>/reject")
@require()
@bp.arguments(DecisionInput)
@bp.response(200, AdvancementRequestOutput)
@bp.doc(responses=problems(400, 401, 403, 404, 409, 415, 422))
def reject_request(decision, request_id):
    """Reject a direct report's advancement with a comment (their manager only)."""
    return _decide(request_id, decision, approve=False)
