"""audit log: who did which admin or approval action, append-only

Revision ID: 0007_audit
Revises: 0006_locale
Create Date: 2026-11-28 20:00:00

The table and the triggers that make the database refuse UPDATE and DELETE of its rows are
the same in every service: shared.audit.create_audit_log (ADR 0016).
"""

from alembic import op

from shared.audit import create_audit_log, drop_audit_log

revision = '0007_audit'
down_revision = '0006_locale'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_log(op)


def downgrade() -> None:
    drop_audit_log(op)
