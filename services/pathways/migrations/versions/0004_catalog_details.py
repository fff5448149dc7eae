"""catalog details: each credential's prerequisites and effort estimate, for gap analysis

Revision ID: 0004_gap
Revises: 0003
Create Date: 2026-11-28 18:16:07.158763
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_gap'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Entries projected before this know of no prerequisites and no estimate until their next catalog event.
    with op.batch_alter_table('catalog', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prerequisites', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('effort_hours', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('catalog', schema=None) as batch_op:
        batch_op.drop_column('effort_hours')
        batch_op.drop_column('prerequisites')
