"""level requirements: n-of groups, minimum time at the previous level, a soft-skill balance rule

Revision ID: 0002_requirements
Revises: 0001
Create Date: 2026-11-28 18:00:22.130378
"""

from alembic import op
import sqlalchemy as sa


revision = '0002_requirements'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing levels keep meaning exactly what they meant: no groups, no waiting time, no balance rule.
    with op.batch_alter_table('levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_of', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('min_months_at_previous_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('min_soft_skill_credentials', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('levels', schema=None) as batch_op:
        batch_op.drop_column('min_soft_skill_credentials')
        batch_op.drop_column('min_months_at_previous_level')
        batch_op.drop_column('n_of')
