"""The org directory: import the org chart from CSV (validated as a whole before any change) or
provision one person at a time (SCIM), under the same rules and with the same event.

A person's `locale`, `time_zone` (see `locales`) and `department` are optional. In a CSV file an
empty cell clears them; a file without the column leaves what is stored, in an incremental import and a
full sync alike: a full sync decides who is in the org, and an HR export without these columns
must not wipe what the IdP provisioned.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.pathways.locales import CANONICAL, PROBLEMS
from services.pathways.models import Person
from shared.bus.outbox import publish
from shared.errors import Conflict, InvalidInput, NotFound

PERSON_UPSERTED = "skillstack.directory.person.upserted.v1"
COLUMNS = ("employee_id", "email", "name", "manager_id", "active", "locale", "time_zone", "department")
KEPT_WHEN_ABSENT = ("locale", "time_zone", "department")  # a file without the column keeps the stored value (not in the rows)
ACTIVE_VALUES = {"": True, "true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
REQUIRED_COLUMNS = ("employee_id", "email", "name")
MAX_LENGTHS = {"employee_id": 200, "email": 320, "name": 200, "manager_id": 200}
is_email = validate.Email()  # the rule the person.upserted event applies
MAX_DEPARTMENT_LENGTH = 200


def _department_problem(name: str) -> str | None:
    return f"longer than {MAX_DEPARTMENT_LENGTH} characters" if len(name.strip()) > MAX_DEPARTMENT_LENGTH else None


# The optional columns: what is wrong with a non-empty value, and its stored form (None when empty).
OPTIONAL_PROBLEMS = PROBLEMS | {"department": _department_problem}
OPTIONAL_CANONICAL = CANONICAL | {"department": lambda name: (name.strip() or None) if name else None}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0  # a full sync: active people not in the file


def parse_org_chart(text: str, max_rows: int) -> list[dict]:
    """Read CSV rows into dicts (row numbers as a spreadsheet shows them), or raise with what is wrong."""
    if "\x00" in text:  # PostgreSQL text cannot hold it: the file is refused here, not a 500 at the insert
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidInput(f"the file has a NUL character on line {line}: it is not a text CSV", errors=[{"row": line, "message": "NUL character"}])
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as error:
        raise InvalidInput(f"the file is not valid CSV: {error}", errors=[{"row": 1, "message": str(error)}]) from error
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidInput(
            "the CSV header is missing columns",
            errors=[{"row": 1, "column": name, "message": "missing column"} for name in missing],
        )
    reader.fieldnames = header
    rows = []
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise InvalidInput(f"the file is not valid CSV: {error}", errors=[{"row": first_line, "message": str(error)}]) from error
        if len(rows) >= max_rows:
            raise InvalidInput(f"the file has more than {max_rows} rows")
        if None in row:
            raise InvalidInput("a row has more fields than the header", errors=[{"row": reader.line_num, "message": "too many fields"}])
        rows.append({"row": reader.line_num} | {name: (row.get(name) or "").strip() for name in COLUMNS
                                                if name in header or name not in KEPT_WHEN_ABSENT})
    if not rows:
        raise InvalidInput("the file has no rows")
    return rows


def validate_org_chart(rows: list[dict], existing_managers: dict[str, str | None]) -> list[dict]:
    """Every problem of the rows: missing values, bad emails, duplicates, unknown managers, cycles."""
    problems = []
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for row in rows:
        for column in REQUIRED_COLUMNS:
            if not row[column]:
                problems.append({"row": row["row"], "column": column, "message": "required"})
        for column, limit in MAX_LENGTHS.items():
            if len(row[column]) > limit:
                problems.append({"row": row["row"], "column": column, "message": f"longer than {limit} characters"})
        if row["active"].lower() not in ACTIVE_VALUES:
            problems.append({"row": row["row"], "column": "active", "message": "use true or false (people who left: false)"})
        if row["email"] and not _valid_email(row["email"]):
            problems.append({"row": row["row"], "column": "email", "message": "not an email address"})
        for column, problem_of in OPTIONAL_PROBLEMS.items():
            message = problem_of(row[column]) if row.get(column) else None
            if message:
                problems.append({"row": row["row"], "column": column, "message": message})
        for column, seen in (("employee_id", seen_ids), ("email", seen_emails)):
            value = row[column].lower() if column == "email" else row[column]
            if value and value in seen:
                problems.append({"row": row["row"], "column": column, "message": f"duplicate of row {seen[value]}"})
            elif value:
                seen[value] = row["row"]
    managers = dict(existing_managers) | {row["employee_id"]: row["manager_id"] or None for row in rows}
    for row in rows:
        if row["manager_id"] and row["manager_id"] not in managers:
            problems.append({"row": row["row"], "column": "manager_id", "message": f"unknown manager {row['manager_id']!r}"})
        elif row["manager_id"] == row["employee_id"] and row["employee_id"]:
            problems.append({"row": row["row"], "column": "manager_id", "message": "a person cannot manage themselves"})
    in_cycles = _people_in_cycles(managers)
    for row in rows:
        if row["employee_id"] in in_cycles and row["manager_id"] != row["employee_id"]:
            problems.append({"row": row["row"], "column": "manager_id", "message": "the reporting line loops back to this person"})
    return sorted(problems, key=lambda problem: problem["row"])


def _valid_email(value: str) -> bool:
    try:
        is_email(value)
    except ValidationError:
        return False
    return True


def _people_in_cycles(manager_of: dict[str, str | None]) -> set[str]:
    """The people whose chain of managers comes back to them."""
    in_cycles: set[str] = set()
    settled: set[str] = set()
    for start in manager_of:
        path: list[str] = []
        position: dict[str, int] = {}
        person: str | None = start
        while person is not None and person not in settled and person not in position:
            position[person] = len(path)
            path.append(person)
            person = manager_of.get(person)
        if person is not None and person in position:
            in_cycles.update(path[position[person]:])
        settled.update(path)
    return in_cycles


def import_org_chart(
    session: Session, text: str, *, max_rows: int, now: datetime, source: str, full: bool = False, dry_run: bool = False
) -> ImportReport:
    """Create or update everyone in the file, announcing each change; nothing changes if any row is bad.

    People who leave are marked `active` false, never deleted: their history stays. A full sync
    (`full`) also deactivates everyone active who is not in the file; an incremental one leaves
    them alone. A dry run reports what the import would do and changes nothing.
    """
    rows = parse_org_chart(text, max_rows)
    people = {person.employee_id: person for person in session.scalars(select(Person))}
    in_file = {row["employee_id"] for row in rows}
    leavers = [person for pid, person in sorted(people.items()) if full and person.active and pid not in in_file]
    problems = validate_org_chart(rows, {pid: person.manager_id for pid, person in people.items()})
    if problems:
        leaving = f"; {len(leavers)} people not in the file would have been deactivated" if full else ""
        raise InvalidInput(f"the org chart has {len(problems)} problem(s); nothing was imported{leaving}", errors=problems)
    report = ImportReport(deactivated=len(leavers))
    for row in rows:
        values = {"email": row["email"], "name": row["name"], "manager_id": row["manager_id"] or None,
                  "active": ACTIVE_VALUES[row["active"].lower()]} | _settings(row, people.get(row["employee_id"]))
        change = _change(people.get(row["employee_id"]), values)
        setattr(report, change, getattr(report, change) + 1)
        if not dry_run:
            _write(session, people.get(row["employee_id"]), row["employee_id"], values, now=now, source=source)
    for person in [] if dry_run else leavers:
        _write(session, person, person.employee_id, person_values(person) | {"active": False}, now=now, source=source)
    return report


def _settings(row: dict, person: Person | None) -> dict:
    """A row's locale, time zone and department as stored; a column the file lacks keeps the person's (None for someone new)."""
    return {column: canonical(row[column]) if column in row else getattr(person, column, None)
            for column, canonical in OPTIONAL_CANONICAL.items()}


def upsert_person(session: Session, employee_id: str, values: dict, *, now: datetime, source: str) -> tuple[Person, str]:
    """Create or replace one person (email, name, manager_id, active, locale, time_zone, department) under the org chart's rules.

    Returns the person and what happened: "created", "updated" or "unchanged" (no event then).
    """
    row = {"row": 1, "employee_id": employee_id, "email": values["email"] or "", "name": values["name"] or "",
           "manager_id": values["manager_id"] or "", "active": "true" if values["active"] else "false",
           "locale": values.get("locale") or "", "time_zone": values.get("time_zone") or "", "department": values.get("department") or ""}
    managers = dict(session.execute(select(Person.employee_id, Person.manager_id)).all())
    problems = validate_org_chart([row], managers)
    if problems:
        raise InvalidInput("; ".join(f"{problem['column']}: {problem['message']}" for problem in problems), errors=problems)
    values = values | {column: canonical(values.get(column)) for column, canonical in OPTIONAL_CANONICAL.items()}
    person = session.get(Person, employee_id)
    change = _change(person, values)
    return _write(session, person, employee_id, values, now=now, source=source), change


def person_values(person: Person) -> dict:
    """What the directory keeps about a person besides their id: the values an upsert writes."""
    return {"email": person.email, "name": person.name, "manager_id": person.manager_id, "active": person.active,
            "locale": person.locale, "time_zone": person.time_zone, "department": person.department}


def _change(person: Person | None, values: dict) -> str:
    """What writing `values` would do to a person: "created", "updated" or "unchanged"."""
    if person is None:
        return "created"
    return "unchanged" if person_values(person) == values else "updated"


def _write(session: Session, person: Person | None, employee_id: str, values: dict, *, now: datetime, source: str) -> Person:
    """Store a person's new values and announce them, unless nothing changed."""
    change = _change(person, values)
    if change == "unchanged":
        return person
    if person is None:
        person = Person(employee_id=employee_id, updated_at=now, **values)
        session.add(person)
    else:
        for key, value in values.items():
            setattr(person, key, value)
        person.updated_at = now
    publish(session, PERSON_UPSERTED, {"employee_id": employee_id, **values}, source=source, now=lambda: now)
    return person


def get_person(session: Session, employee_id: str) -> Person:
    person = session.get(Person, employee_id)
    if person is None:
        raise NotFound(f"no person {employee_id!r}")
    return person


def add_person(session: Session, employee_id: str, values: dict, *, now: datetime, source: str) -> Person:
    """Create a person who must not exist yet (provisioning), under the org chart's rules."""
    if session.get(Person, employee_id) is not None:
        raise Conflict(f"a person {employee_id!r} already exists")
    person, _ = upsert_person(session, employee_id, values, now=now, source=source)
    return person


def list_people(session: Session, *, employee_id: str | None = None, offset: int = 0, limit: int = 100) -> tuple[list[Person], int]:
    """A page of the directory in employee id order (or the one person with that id), and the total."""
    query = select(Person).order_by(Person.employee_id)
    if employee_id is not None:
        query = query.where(Person.employee_id == employee_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    return list(session.scalars(query.offset(offset).limit(limit))), total
