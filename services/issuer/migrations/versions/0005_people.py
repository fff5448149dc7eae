"""people: the directory's names, for the public page of a shared credential

Revision ID: 0005
Revises: 0004_rules, 0004_bulk
Create Date: 2026-11-28 17:40:38.783278

Merges the two 0004 heads. The table fills from `directory.people` as the issuer's worker
consumes it (a topic new to its consumer group is read from its earliest kept event).
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = ('0004_rules', '0004_bulk')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('people',
    sa.Column('employee_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('employee_id')
    )


def downgrade() -> None:
    op.drop_table('people')
