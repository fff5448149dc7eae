"""an index of open advancement requests by age, for HR's overview

Revision ID: 0009_open_requests
Revises: 0008_department
Create Date: 2026-11-28 22:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_open_requests'
down_revision = '0008_department'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # /overview reads open requests older than STUCK_AFTER_DAYS; without this it scans every request ever decided.
    op.create_index('ix_requests_open_opened_at', 'advancement_requests', ['opened_at'], unique=False,
                    postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index('ix_requests_open_opened_at', table_name='advancement_requests')
