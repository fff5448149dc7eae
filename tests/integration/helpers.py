"""Helpers of the integration level: read a service's rows, feed events to its handlers, read problems."""

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import text

from shared.events import Event, new_event
from shared.web import PROBLEM_JSON


def rows(app: Flask, sql: str, **params: Any) -> list[dict]:
    """The rows a SQL query returns from a service's database, as dicts."""
    with app.extensions["database"].transaction() as session:
        return [dict(row) for row in session.execute(text(sql), params).mappings()]


def execute(app: Flask, sql: str, **params: Any) -> None:
    """Run a SQL statement in a service's database (test set-up the API offers no way to do)."""
    with app.extensions["database"].transaction() as session:
        session.execute(text(sql), params)


def count(app: Flask, table: str, where: str = "TRUE", **params: Any) -> int:
    """How many rows of a table match a condition."""
    with app.extensions["database"].transaction() as session:
        return session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one()


def table_counts(app: Flask, *tables: str) -> dict[str, int]:
    """Row counts of several tables, to show that a refused request wrote nothing."""
    return {table: count(app, table) for table in tables}


def outbox_rows(app: Flask, event_type: str, key: str) -> list[dict]:
    """A service's outbox rows of one event type and key, oldest first, with the payload parsed."""
    found = rows(app, "SELECT * FROM outbox WHERE type = :type AND key = :key ORDER BY id", type=event_type, key=key)
    return [row | {"payload": json.loads(row["payload"])} for row in found]


def handle(
    app: Flask, handlers: Mapping[str, Callable], event_type: str, data: dict[str, Any], *, now: datetime | None = None
) -> Event:
    """Create an event and run a service's handler for it in one of its transactions; return the event."""
    options = {"now": lambda: now} if now else {}
    event, _ = new_event(event_type, data, source="/tests/integration", **options)
    return handle_event(app, handlers, event)


def handle_event(app: Flask, handlers: Mapping[str, Callable], event: Event) -> Event:
    """Run a service's handler for an event in one of its transactions, as its consumer does."""
    with app.extensions["database"].transaction() as session:
        handlers[event.type](session, event)
    return event


def problem(response, status: int) -> dict:
    """Assert a response is an RFC 9457 problem with this status; return its body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    assert response.mimetype == PROBLEM_JSON, response.mimetype
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    return body


def issuer_handlers(app: Flask, at: datetime) -> Mapping[str, Callable]:
    """The issuer worker's handlers, bound to this app's issuer profile and keys, its clock at `at`."""
    from services.issuer.handlers import build_handlers

    return build_handlers(
        source="/skillstack/issuer", clock=lambda: at, issuer=app.extensions["issuer_profile"], keys=app.extensions["signing_keys"]
    )
