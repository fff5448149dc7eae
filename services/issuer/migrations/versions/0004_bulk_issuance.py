"""bulk issuance: uploaded CSVs of awards, their rows, and credentials without a score

Revision ID: 0004_bulk
Revises: 0003
Create Date: 2026-11-28 17:31:14.621103

A sibling of 0004_rules (also off 0003): the project upgrades to every head, so both apply.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_bulk'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bulk_issuances',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('valid_rows', sa.Integer(), nullable=False),
    sa.Column('invalid_rows', sa.Integer(), nullable=False),
    sa.Column('warned_rows', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('started_by', sa.String(length=200), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bulk_issuances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_issuances_status'), ['status'], unique=False)

    op.create_table('bulk_issuance_rows',
    sa.Column('bulk_issuance_id', sa.String(length=64), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('achievement_id', sa.String(length=200), nullable=False),
    sa.Column('evidence_url', sa.String(length=2000), nullable=True),
    sa.Column('demonstrated_on', sa.Date(), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('credential_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['bulk_issuance_id'], ['bulk_issuances.id'], ),
    sa.PrimaryKeyConstraint('bulk_issuance_id', 'row_number')
    )
    with op.batch_alter_table('bulk_issuance_rows', schema=None) as batch_op:
        batch_op.create_index('ix_bulk_issuance_rows_outcome', ['bulk_issuance_id', 'outcome', 'row_number'], unique=False)

    # A manual award has no assessment score.
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('score', existing_type=sa.FLOAT(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.alter_column('score', existing_type=sa.FLOAT(), nullable=False)

    with op.batch_alter_table('bulk_issuance_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_bulk_issuance_rows_outcome')

    op.drop_table('bulk_issuance_rows')
    with op.batch_alter_table('bulk_issuances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_issuances_status'))

    op.drop_table('bulk_issuances')
