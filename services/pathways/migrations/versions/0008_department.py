"""department in the directory, the catalog's skill alignments, and HR's analytics snapshots

Revision ID: 0008_department
Revises: 0007_audit
Create Date: 2026-11-29 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008_department'
down_revision = '0007_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # People provisioned before this have no department until their next import or SCIM change ("No department").
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sa.String(length=200), nullable=True))
    # Empty until each credential is defined again or `replay-projections` rebuilds the catalog from issuer.catalog.
    op.create_table('catalog_skills',
    sa.Column('achievement_id', sa.String(length=64), nullable=False),
    sa.Column('framework', sa.String(length=50), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('achievement_id', 'framework', 'code')
    )
    # The page reads its figures from here (one row) rather than aggregating a million credentials per view.
    op.create_table('analytics_snapshots',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('analytics_snapshots')
    op.drop_table('catalog_skills')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('department')
