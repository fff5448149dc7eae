"""The audit log: who did which admin or approval action to what, when, and from where.

Each service keeps an `audit_log` table in its own database. A view calls `record` inside the
transaction of the action it reports, so an action that is refused or fails leaves no entry and
an entry never outlives a rolled-back action. The log is append-only: the application only
inserts, and triggers that the migrations create (`create_audit_log`) make the database refuse
UPDATE, DELETE (and, on PostgreSQL, TRUNCATE) of it. HR reads it at `GET /api/audit-log`.
Details name what changed, never a secret (a webhook's owner and scope, never its URL).
"""

from datetime import datetime
from typing import Any

from flask import g, request
from marshmallow import Schema, fields, validate
from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, insert, select
from sqlalchemy.orm import Session

from shared.auth import HR_ADMIN, current_principal, require
from shared.db import UtcDateTime
from shared.web import PROBLEM_JSON, ApiBlueprint, ProblemSchema, database, now

MAX_PAGE = 500
PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]+$", error="printable characters only")

audit_metadata = MetaData()  # included in each service's migrations environment, like the delivery tables

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),  # the principal's subject: an employee id, or client:<id>
    Column("action", String(100), nullable=False),  # e.g. credential.revoked
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(200), nullable=False),
    Column("details", JSON, nullable=False),
    Column("client_ip", String(64)),
    Column("user_agent", String(500)),
    Column("request_id", String(128)),  # to find the request's log lines
    Index("ix_audit_log_actor", "actor", "id"),
    Index("ix_audit_log_action", "action", "id"),
    Index("ix_audit_log_created_at", "created_at"),
)


def record(session: Session, action: str, target_type: str, target_id: Any, details: dict | None = None) -> None:
    """Write one entry for the current request's caller, in the transaction of the action it reports."""
    session.execute(insert(audit_log).values(
        created_at=now(), actor=current_principal().subject, action=action, target_type=target_type,
        target_id=str(target_id), details=details or {}, client_ip=request.remote_addr,
        user_agent=request.user_agent.string[:500] or None, request_id=g.get("request_id"),
    ))


def entries(session: Session, *, limit: int, actor: str | None = None, action: str | None = None,
            since: datetime | None = None, before: int | None = None) -> list[dict]:
    """Entries newest first, filtered; `before` (an id) gives the page after one ending there."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    for column, value in ((audit_log.c.actor, actor), (audit_log.c.action, action)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(audit_log.c.created_at >= since)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    return [dict(row) for row in session.execute(query).mappings()]


# --- the migrations' part -------------------------------------------------------------------
# Each service's audit-log migration calls these. What they create is a released schema: change
# the table with a new migration, never by editing them.

_POSTGRES_TRIGGERS = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} is not allowed'); END"
    for verb in ("UPDATE", "DELETE")
]


def create_audit_log(op) -> None:
    """Create `audit_log` and the triggers that refuse changing or removing its rows."""
    op.create_table(
        "audit_log",
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), autoincrement=True, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("actor", String(length=200), nullable=False),
        Column("action", String(length=100), nullable=False),
        Column("target_type", String(length=64), nullable=False),
        Column("target_id", String(length=200), nullable=False),
        Column("details", JSON(), nullable=False),
        Column("client_ip", String(length=64), nullable=True),
        Column("user_agent", String(length=500), nullable=True),
        Column("request_id", String(length=128), nullable=True),
        PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action", "id"])
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_TRIGGERS)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def drop_audit_log(op) -> None:
    """Undo `create_audit_log`."""
    op.drop_table("audit_log")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")


# --- HR reads it ----------------------------------------------------------------------------

bp = ApiBlueprint("audit", __name__, url_prefix="/api", description="The audit log of admin and approval actions (HR)")


class AuditQuery(Schema):
    actor = fields.String(validate=[validate.Length(max=200), PRINTABLE], metadata={"description": "an employee id or client:<id>"})
    action = fields.String(validate=[validate.Length(max=100), PRINTABLE], metadata={"description": "e.g. credential.revoked"})
    since = fields.AwareDateTime(metadata={"description": "only entries made at or after this time (ISO 8601 with offset)"})
    before = fields.Integer(validate=validate.Range(min=1), metadata={"description": "only entries older than this id: the next page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))


class AuditEntryOutput(Schema):
    id = fields.Integer()
    created_at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    details = fields.Dict()
    client_ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)


@bp.get("/audit-log")
@require(role=HR_ADMIN)
@bp.arguments(AuditQuery, location="query")
@bp.response(200, AuditEntryOutput(many=True))
@bp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM_JSON, description="No valid bearer token")
@bp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM_JSON, description="Not an HR admin")
def list_audit_log(query):
    """This service's audit log, newest first, filtered by actor, action and time (HR admins)."""
    with database().transaction() as session:
        return entries(session, **query)
