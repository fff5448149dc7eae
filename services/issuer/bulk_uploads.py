"""Bulk issuance files: read HR's CSV of awards one row at a time and check each row on its own.

Nothing here holds the whole file: `read_awards` yields rows as the CSV reader produces them,
and `check_award` judges one row against the catalog. Checks that span rows (a duplicate) and
that need the credentials table (already held) are made where the rows are stored.
"""

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from marshmallow import ValidationError, validate

from shared.errors import InvalidInput

COLUMNS = ("employee_id", "email", "credential", "evidence_url", "date")
REQUIRED_COLUMNS = ("employee_id", "email", "credential", "date")
MAX_LENGTHS = {"employee_id": 200, "email": 320, "credential": 64, "evidence_url": 2000}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
is_email = validate.Email()
is_https_url = validate.URL(schemes={"https"}, require_tld=True)


def error(column: str | None, message: str) -> dict:
    """A problem that makes its row invalid."""
    return {"column": column, "message": message, "severity": "error"}


def warning(column: str | None, message: str) -> dict:
    """A problem HR should know of that does not stop the row from being issued."""
    return {"column": column, "message": message, "severity": "warning"}


def read_awards(lines: Iterable[str], *, max_rows: int) -> Iterator[dict]:
    """Yield each data row as {row, too_many_fields, <column>: value}; raise InvalidInput if the CSV is broken.

    `row` is the row number a spreadsheet shows (the header is row 1); blank lines are skipped.
    """
    reader = csv.reader(lines, strict=True)
    records = _records(reader)
    header = next(records, None)
    if header is None:
        raise InvalidInput("the file is empty: send a header (" + ", ".join(COLUMNS) + ") and one row per award")
    positions = _positions(header[1])
    data_rows = 0
    for row_number, record in records:
        if not record:
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise InvalidInput(f"the file has more than {max_rows} rows: split it")
        values = {column: (record[index].strip() if index < len(record) else "") for column, index in positions.items()}
        yield {"row": row_number, "too_many_fields": len(record) > len(header[1])} | values


def _records(reader) -> Iterator[tuple[int, list[str]]]:
    """(row number, fields) of each CSV record; a CSV error names the row and line where it starts."""
    row_number = 0
    while True:
        row_number += 1
        first_line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as problem:
            raise InvalidInput(
                f"the file is not valid UTF-8 CSV at row {row_number} (line {first_line}): {problem}; nothing was stored",
                errors=[{"row": row_number, "line": first_line, "message": str(problem)}],
            ) from problem
        if any("\x00" in field for field in record):  # PostgreSQL text cannot hold it: refused here, not a 500 at the insert
            raise InvalidInput(
                f"the file has a NUL character at row {row_number} (line {first_line}): it is not a text CSV; nothing was stored",
                errors=[{"row": row_number, "line": first_line, "message": "NUL character"}],
            )
        yield row_number, record


def _positions(header: list[str]) -> dict[str, int]:
    """Where each known column is; unknown, repeated or missing required columns are refused."""
    names = [name.strip().lower() for name in header]
    problems = [
        {"row": 1, "column": name, "message": "unknown column; expected " + ", ".join(COLUMNS)}
        for name in names if name not in COLUMNS
    ]
    problems += [{"row": 1, "column": name, "message": "repeated column"} for name in COLUMNS if names.count(name) > 1]
    problems += [{"row": 1, "column": name, "message": "missing column"} for name in REQUIRED_COLUMNS if name not in names]
    if problems:
        raise InvalidInput("the CSV header is wrong; nothing was stored", errors=problems)
    return {name: names.index(name) for name in COLUMNS if name in names}


def check_award(award: dict, retired_by_id: Mapping[str, bool], *, today: date) -> list[dict]:
    """Every problem of one row on its own: values, email, credential, date and evidence URL."""
    problems = [error(None, "more fields than the header")] if award["too_many_fields"] else []
    problems += [error(column, "required") for column in REQUIRED_COLUMNS if not award[column]]
    problems += [
        error(column, f"longer than {limit} characters") for column, limit in MAX_LENGTHS.items() if len(award[column]) > limit
    ]
    if award["email"] and not _passes(is_email, award["email"]):
        problems.append(error("email", "not an email address"))
    credential = award["credential"]
    if credential and credential not in retired_by_id:
        problems.append(error("credential", f"no credential {credential!r} in the catalog"))
    elif credential and retired_by_id[credential]:
        problems.append(error("credential", f"credential {credential!r} is retired"))
    if award["date"]:
        demonstrated_on = parse_date(award["date"])
        if demonstrated_on is None:
            problems.append(error("date", "use an ISO date such as 2024-03-31"))
        elif demonstrated_on > today:
            problems.append(error("date", "in the future"))
    if award["evidence_url"] and not _passes(is_https_url, award["evidence_url"]):
        problems.append(error("evidence_url", "use an https:// address"))
    return problems


def parse_date(text: str) -> date | None:
    """The date of a strict YYYY-MM-DD value, or None."""
    if not ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _passes(validator, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True
