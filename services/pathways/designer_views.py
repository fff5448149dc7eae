"""The pathway designer's intranet pages: HR defines pathways and makes new versions of their levels.

The form is only another way to write the JSON API's body: it is loaded into the same schemas
(PathwayInput / PathwayEditInput) and saved by the same `design` functions, so every rule stays there.
"""

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from services.pathways import design
from services.pathways.models import CatalogEntry
from services.pathways.schemas import PathwayEditInput, PathwayInput
from shared import audit
from shared.auth import HR_ADMIN, sign_in_required
from shared.errors import Conflict, InvalidInput
from shared.validation import flatten_messages
from shared.web import database, now

bp = Blueprint("designer", __name__, url_prefix="/designer", template_folder="templates")
LEVEL_ROWS = 5  # level rows the form offers; blank ones are ignored
ROW_FIELDS = ("name", "all_of", "n", "group", "months", "soft")  # a row with none of these is blank


def _row(form: MultiDict, index: int) -> dict:
    """One level row of the form as posted: texts stripped, multi-selects as lists."""
    return {
        "name": (form.get(f"level_{index}_name") or "").strip(),
        "all_of": [value for value in form.getlist(f"level_{index}_all_of") if value],
        "n": (form.get(f"level_{index}_n") or "").strip(),
        "group": [value for value in form.getlist(f"level_{index}_group") if value],
        "months": (form.get(f"level_{index}_months") or "").strip(),
        "soft": (form.get(f"level_{index}_soft") or "").strip(),
        "approval": form.get(f"level_{index}_approval") == "yes",
    }


def filled_rows(form: MultiDict) -> list[int]:
    """The indexes of the rows with any value: row k of these is the definition's level k."""
    return [index for index in range(LEVEL_ROWS) if any(_row(form, index)[name] for name in ROW_FIELDS)]


def submitted_definition(form: MultiDict, *, create: bool) -> dict:
    """The posted form as the API's body: blank fields absent (the schema's defaults apply)."""
    definition = {"name": (form.get("name") or "").strip()}
    if create and (form.get("id") or "").strip():
        definition["id"] = form["id"].strip()
    levels = []
    for index in filled_rows(form):
        row = _row(form, index)
        level = {"name": row["name"], "all_of": row["all_of"], "requires_approval": row["approval"]}
        if row["n"] or row["group"]:
            level["n_of"] = [{"credentials": row["group"]} | ({"n": row["n"]} if row["n"] else {})]
        if row["months"]:
            level["min_months_at_previous_level"] = row["months"]
        if row["soft"]:
            level["min_soft_skill_credentials"] = row["soft"]
        levels.append(level)
    definition["levels"] = levels
    return definition


def editable_here(pathway) -> None:
    """Refuse a pathway the form cannot show whole: saving it would silently drop requirements."""
    if len(pathway.levels) > LEVEL_ROWS or any(len(level.n_of or []) > 1 for level in pathway.levels):
        raise Conflict(
            f"{pathway.name} has more levels or n-of groups than this form shows; "
            f"edit it through the API (PUT /api/pathways/{pathway.id}) so nothing is lost"
        )


def form_of(pathway) -> MultiDict:
    """A pathway's current version as the form's fields (its first n-of group: the form has one)."""
    form = MultiDict({"name": pathway.name})
    for index, level in enumerate(pathway.levels[:LEVEL_ROWS]):
        group = (level.n_of or [{}])[0]
        form[f"level_{index}_name"] = level.name
        form.setlist(f"level_{index}_all_of", list(level.required_achievements or []))
        form[f"level_{index}_n"] = str(group.get("n", ""))
        form.setlist(f"level_{index}_group", list(group.get("credentials", [])))
        form[f"level_{index}_months"] = str(level.min_months_at_previous_level or "")
        form[f"level_{index}_soft"] = str(level.min_soft_skill_credentials or "")
        form[f"level_{index}_approval"] = "yes" if level.requires_approval else ""
    return form


def _by_row(errors: dict[str, list[str]], form: MultiDict) -> dict[str, list[str]]:
    """Errors keyed by dotted path, with a level's index turned into the index of its form row."""
    rows = filled_rows(form)
    shown: dict[str, list[str]] = {}
    for path, messages in errors.items():
        path = re.sub(r"\[(\d+)\]", r".\1", path)  # design.py's levels[1].credentials[0] -> levels.1.credentials.0
        found = re.match(r"levels\.(\d+)(.*)$", path)
        if found and int(found.group(1)) < len(rows):
            path = f"levels.{rows[int(found.group(1))]}{found.group(2)}"
        shown.setdefault(path, []).extend(messages)
    return shown


def _problems(error: InvalidInput) -> dict[str, list[str]]:
    """A design error's problems ([{"field", "message"}] or a dict) by field; its detail without any."""
    problems = error.errors or {}
    if isinstance(problems, list):
        by_field: dict[str, list[str]] = {}
        for problem in problems:
            by_field.setdefault(problem.get("field") or "form", []).append(problem["message"])
        return by_field
    return problems or {"form": [error.detail]}


def _load(schema: Schema, form: MultiDict, *, create: bool) -> tuple[dict | None, dict[str, list[str]]]:
    try:
        return schema.load(submitted_definition(form, create=create)), {}
    except ValidationError as error:
        return None, flatten_messages(error.messages)


@bp.get("")
@sign_in_required(role=HR_ADMIN)
def designer():
    """Every pathway with its current version's levels and what each needs."""
    with database().transaction() as session:
        pathways = design.list_pathways(session)
        names = {entry.achievement_id: entry.name for entry in session.scalars(select(CatalogEntry))}
        return render_template("pathways/designer/index.html", pathways=pathways, names=names)


@bp.get("/new")
@sign_in_required(role=HR_ADMIN)
def new_pathway_form():
    return _form(MultiDict(), {})


@bp.post("/new")
@sign_in_required(role=HR_ADMIN)
def define_pathway():
    """Define the posted pathway as version 1, or re-render the form with its errors."""
    definition, errors = _load(PathwayInput(), request.form, create=True)
    if errors:
        return _form(request.form, _by_row(errors, request.form)), 422
    try:
        with database().transaction() as session:
            pathway = design.define_pathway(session, definition, now=now())
            audit.record(session, "pathway.defined", "pathway", pathway.id, {"version": pathway.version})
            saved = f"{pathway.name} ({pathway.id}) is saved as version {pathway.version}."
    except Conflict as error:
        return _form(request.form, {"id": [error.detail]}), error.status
    except InvalidInput as error:
        return _form(request.form, _by_row(_problems(error), request.form)), error.status
    flash(saved)
    return redirect(url_for(".designer"))


@bp.get("/<pathway_id>/edit")
@sign_in_required(role=HR_ADMIN)
def edit_pathway_form(pathway_id: str):
    """The form prefilled with the pathway's current version."""
    with database().transaction() as session:
        pathway = design.get_pathway(session, pathway_id)
        editable_here(pathway)
        values = form_of(pathway)
    return _form(values, {}, pathway_id=pathway_id)


@bp.post("/<pathway_id>/edit")
@sign_in_required(role=HR_ADMIN)
def edit_pathway(pathway_id: str):
    """Save the posted levels as the pathway's next version, or re-render the form with its errors."""
    with database().transaction() as session:
        editable_here(design.get_pathway(session, pathway_id))
    definition, errors = _load(PathwayEditInput(), request.form, create=False)
    if errors:
        return _form(request.form, _by_row(errors, request.form), pathway_id=pathway_id), 422
    try:
        with database().transaction() as session:
            pathway = design.edit_pathway(session, pathway_id, definition)
            audit.record(session, "pathway.edited", "pathway", pathway.id, {"version": pathway.version})
            saved = f"{pathway.name} ({pathway.id}) is saved as version {pathway.version}."
    except InvalidInput as error:
        return _form(request.form, _by_row(_problems(error), request.form), pathway_id=pathway_id), error.status
    flash(saved)
    return redirect(url_for(".designer"))


def _form(values: MultiDict, errors: dict[str, list[str]], *, pathway_id: str | None = None) -> str:
    """The designer form (new or edit) with its values and the errors next to their fields."""
    with database().transaction() as session:
        pathway = design.get_pathway(session, pathway_id) if pathway_id else None
        catalog = list(session.scalars(select(CatalogEntry).order_by(CatalogEntry.name)))
        known = {entry.achievement_id: entry for entry in catalog}
        rows = []
        for index in range(LEVEL_ROWS):
            row = _row(values, index) if values else {"approval": True}
            row.setdefault("approval", True)
            rows.append(row)
        chosen = {value for row in rows for value in row.get("all_of", []) + row.get("group", [])}
        options = [(entry.achievement_id, entry.name, "") for entry in catalog if not entry.retired or entry.achievement_id in chosen]
        options = [(i, name, "retired" if known[i].retired else "") for i, name, _ in options]
        options += [(value, value, "unknown") for value in sorted(chosen - known.keys())]

        def errors_under(prefix: str) -> list[str]:
            """The messages of a field and of everything inside it (levels.0.all_of.1 is under levels.0.all_of)."""
            return [message for path, messages in errors.items() if path == prefix or path.startswith(prefix + ".") for message in messages]

        row_prefixes = {f"levels.{index}" for index in range(LEVEL_ROWS)}
        return render_template(
            "pathways/designer/form.html", pathway=pathway, values=values, errors=errors, rows=rows, options=options,
            errors_under=errors_under, row_level_errors=lambda index: errors.get(f"levels.{index}", []),
            other_errors=[message for path, messages in errors.items()
                          if path in ("form", "levels") and path not in row_prefixes for message in messages],
        )
