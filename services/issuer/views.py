"""The issuer's intranet pages: assessors record the results of reviewed assessments."""

from itertools import zip_longest

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from services.issuer import assessor_results
from services.issuer.schemas import AssessorResultInput
from shared import audit
from shared.auth import ASSESSOR, current_principal, sign_in_required
from shared.errors import InvalidInput
from shared.validation import flatten_messages
from shared.web import database, event_source, now

bp = Blueprint("issuer_pages", __name__, template_folder="templates")
EVIDENCE_ROWS = 3  # link inputs the form offers


@bp.get("/assessments/record")
@sign_in_required(role=ASSESSOR)
def record_assessment_form():
    """The form an assessor records a project, portfolio or practical result with."""
    return _form(MultiDict(), {})


@bp.post("/assessments/record")
@sign_in_required(role=ASSESSOR)
def record_assessment():
    """Record the posted result; a result the rule needs but lacks re-renders the form with errors (422)."""
    try:
        result = AssessorResultInput().load(_submitted(request.form))
        with database().transaction() as session:
            attempt = assessor_results.record_result(
                session, result, assessor_id=current_principal().subject, now=now(), source=event_source()
            )
            audit.record(session, "assessment_result.recorded", "assessment_attempt", attempt.attempt_id,
                         {"employee_id": result["employee_id"], "assessment_id": result["assessment_id"]})
    except ValidationError as error:
        return _form(request.form, flatten_messages(error.messages)), 422
    except InvalidInput as error:
        return _form(request.form, flatten_messages(error.errors or {"form": [error.detail]})), 422
    flash(
        f"Result recorded for {result['employee_id']} (attempt {attempt.attempt_id}). "
        "If it meets the credential's rule, the credential is issued in a moment."
    )
    return redirect(url_for(".record_assessment_form"))


def _form(values: MultiDict, errors: dict[str, list[str]]) -> str:
    with database().transaction() as session:
        assessments = assessor_results.reviewed_assessments(session)
        rubric_levels = list(dict.fromkeys(level for assessment in assessments for level in assessment.rubric_levels))
        page = render_template(
            "issuer/record_assessment.html", assessments=assessments, rubric_levels=rubric_levels, values=values,
            errors=errors, labels={name: _label(name) for name in errors}, evidence_rows=_evidence_rows(values),
            today=now().date().isoformat(),
        )
    return page


def _evidence_rows(values: MultiDict) -> list[tuple[str, str]]:
    pairs = zip_longest(values.getlist("evidence_url"), values.getlist("evidence_name"), fillvalue="")
    rows = [(url, name) for url, name in pairs if url.strip() or name.strip()]  # as numbered in errors
    return rows + [("", "")] * max(EVIDENCE_ROWS - len(rows), 0)


def _submitted(form: MultiDict) -> dict:
    """The form's fields as the API's body: blanks are absent, evidence rows paired up."""
    blank_to_none = {name: (form.get(name) or "").strip() or None for name in ("email", "score", "rubric_level")}
    evidence = [
        {"url": url.strip(), "name": name.strip() or None}
        for url, name in zip_longest(form.getlist("evidence_url"), form.getlist("evidence_name"), fillvalue="")
        if url.strip() or name.strip()
    ]
    return {
        "employee_id": (form.get("employee_id") or "").strip(),
        "assessment_id": form.get("assessment_id") or "",
        "passed": {"passed": True, "failed": False}.get(form.get("passed") or ""),
        "evidence": evidence,
        "completed_on": form.get("completed_on") or "",
    } | blank_to_none


LABELS = {
    "employee_id": "Employee id", "email": "Employee email", "assessment_id": "Assessment", "score": "Score",
    "passed": "Outcome", "rubric_level": "Rubric level", "evidence": "Evidence links", "completed_on": "Date", "form": "Result",
}


def _label(name: str) -> str:
    """The label a field error is shown under: 'evidence.0.url' is 'Link 1'."""
    if name.startswith("evidence."):
        _, index, part = (name.split(".") + ["url"])[:3]
        return f"{'Link' if part == 'url' else 'Name of link'} {int(index) + 1}" if index.isdigit() else "Evidence links"
    return LABELS.get(name, name)
